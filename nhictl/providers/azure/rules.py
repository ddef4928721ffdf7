"""Azure's own readings of shared rules, and rules only Azure has, on the common model.

- ``priv.admin``: Owner, Contributor, User Access Administrator, Role Based Access Control
  Administrator, or a custom role with actions ``*``, held at subscription, management-group or
  root scope. An ABAC condition or a time-bound PIM schedule lowers the severity one step.
- ``azure.standing-privileged-assignment``: such a role (at any scope) assigned permanently while
  PIM data shows no time-bound schedule instance for it (runs only with pim-instances.json).
- ``azure.custom-role-locks``: a custom role that may write or delete resource locks.
- ``cred.stale-key`` for client secrets and certificates: expired, no expiry, a lifetime over a
  year, or unused (from the application's last sign-in with a credential).
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import timedelta
from typing import Any

from nhictl.creep.context import Context
from nhictl.creep.effective import Effective
from nhictl.creep.model import SEVERITIES, Credential, Finding, Severity
from nhictl.providers.azure import scopes
from nhictl.providers.azure.snapshot import AzureInventory, PolicyInfo

OWNER = "8e3af657-a8ff-443c-a75c-2fe8c4bcb635"
CONTRIBUTOR = "b24988ac-6180-42a0-ab88-20f7382dd24c"
USER_ACCESS_ADMIN = "18d7d88d-d35e-4fb5-a5c3-7773c20a72d9"
RBAC_ADMIN = "f58310d9-a9f6-439a-9e8d-f62e7b41a168"
# Role -> what it administers: "full" (every action), "iam" (who can do what), "contributor"
# (everything but access control).
PRIVILEGED = {
    OWNER: "full",
    USER_ACCESS_ADMIN: "iam",
    RBAC_ADMIN: "iam",
    CONTRIBUTOR: "contributor",
}
MAX_LIFETIME = timedelta(days=365)


def _lower(sev: Severity) -> Severity:
    return SEVERITIES[max(1, SEVERITIES.index(sev) - 1)]


@dataclass(frozen=True, slots=True)
class _Held:
    """One privileged role a principal holds at one scope."""

    policy_id: str
    info: PolicyInfo
    kind: str  # full | iam | contributor
    time_bound_until: str | None


class AzureRules:
    """Rules bound to one tenant's inventory (the facts beside the common model)."""

    def __init__(self, inventory: AzureInventory) -> None:
        self.inv = inventory
        self._kinds: dict[str, str | None] = {}

    # -- privileged roles -------------------------------------------------------------------
    def _kind(self, info: PolicyInfo) -> str | None:
        """full | iam | contributor for a privileged role, None otherwise (memoised)."""
        if info.role_id in self._kinds:
            return self._kinds[info.role_id]
        kind = PRIVILEGED.get(info.role_id)
        role = self.inv.catalog.role(info.role_id)
        star = role is not None and any("*" in p.actions for p in role.permissions)
        if kind is None and role is not None and not role.builtin and star:
            cat = self.inv.catalog
            write = cat.index("Microsoft.Authorization/roleAssignments/write")
            mask = cat.role_mask(role)
            kind = "full" if write is not None and mask >> write & 1 else "contributor"
        self._kinds[info.role_id] = kind
        return kind

    def _held(self, principal_id: str, policy_ids: list[str]) -> list[_Held]:
        out = []
        for pid in policy_ids:
            info = self.inv.policies.get(pid)
            if info is None:
                continue
            kind = self._kind(info)
            if kind is None:
                continue
            out.append(_Held(pid, info, kind, self._time_bound(principal_id, info)))
        return out

    def _time_bound(self, principal_id: str, info: PolicyInfo) -> str | None:
        """The end of a time-bound PIM schedule instance for this assignment, if any."""
        for inst in self.inv.pim or ():
            if (
                inst.principal_id == principal_id
                and inst.role_id == info.role_id
                and inst.scope == info.scope
                and inst.end is not None
            ):
                return inst.end.isoformat()
        return None

    def admin(self, ctx: Context, eff: Effective) -> list[Finding]:
        p = eff.principal
        held = [
            h
            for h in self._held(p.id, [a.policy_id for a in p.attachments])
            if scopes.account_wide(h.info.scope)
        ]
        if not held:
            return []
        entries: list[dict[str, Any]] = []
        worst: Severity = "info"
        full_unconditional = False
        for h in held:
            sev: Severity = "high" if h.kind == "contributor" else "critical"
            mitigated = bool(h.info.condition) or h.time_bound_until is not None
            if mitigated:
                sev = _lower(sev)
            elif h.kind == "full":
                full_unconditional = True
            if SEVERITIES.index(sev) > SEVERITIES.index(worst):
                worst = sev
            entries.append(
                {
                    "role": h.info.role_name,
                    "role_id": h.info.role_id,
                    "scope": h.info.scope,
                    "scope_level": h.info.level,
                    "administers": h.kind,
                    "condition": h.info.condition,
                    "time_bound_until": h.time_bound_until,
                }
            )
        first = entries[0]
        more = f" (+{len(entries) - 1} more)" if len(entries) > 1 else ""
        kinds = {h.kind for h in held}
        scope = "full" if "full" in kinds else "iam" if "iam" in kinds else "contributor"
        msg = (
            f"{p.kind} {p.name} holds {first['role']} at {first['scope_level']} scope "
            f"{first['scope']}{more}"
        )
        if not full_unconditional and all(e["condition"] or e["time_bound_until"] for e in entries):
            msg += " (conditional or time-bound)"
        return [
            Finding(
                "priv.admin",
                worst,
                p.id,
                msg,
                {
                    # "full" and unconditional: priv.escalation adds nothing to this verdict.
                    "scope": scope,
                    "conditional": not full_unconditional,
                    "assignments": entries,
                    "policies": sorted({h.policy_id for h in held}),
                },
                "Replace the role with a custom role of the actions the workload uses, at the "
                "resource group or resource it touches; make remaining admin access eligible "
                "(PIM), not standing.",
            )
        ]

    def standing(self, ctx: Context, eff: Effective) -> list[Finding]:
        if self.inv.pim is None:
            return []  # the rule could not run: the loader's warning says so
        p = eff.principal
        standing = [
            h
            for h in self._held(p.id, [a.policy_id for a in p.attachments])
            if h.time_bound_until is None
        ]
        if not standing:
            return []
        wide = any(scopes.account_wide(h.info.scope) for h in standing)
        return [
            Finding(
                "azure.standing-privileged-assignment",
                "high" if wide else "medium",
                p.id,
                f"{p.kind} {p.name} holds {standing[0].info.role_name} at "
                f"{standing[0].info.scope} permanently: PIM shows no time-bound assignment"
                + (f" (+{len(standing) - 1} more)" if len(standing) > 1 else ""),
                {
                    "assignments": [
                        {"role": h.info.role_name, "scope": h.info.scope, "level": h.info.level}
                        for h in standing
                    ],
                    "policies": sorted({h.policy_id for h in standing}),
                },
                "Make the assignment time-bound with PIM (roleAssignmentScheduleRequests with an "
                "expiration), or remove it.",
            )
        ]

    def custom_role_locks(self, ctx: Context, eff: Effective) -> list[Finding]:
        cat = self.inv.catalog
        locks = cat.expand("Microsoft.Authorization/locks/write") | cat.expand(
            "Microsoft.Authorization/locks/delete"
        )
        hits: dict[str, str] = {}
        for g in eff.grants:
            info = self.inv.policies.get(g.policy_id)
            if info is None or info.builtin or not g.mask & locks:
                continue
            hits[g.policy_id] = info.role_name
        if not hits:
            return []
        roles = sorted(set(hits.values()))
        return [
            Finding(
                "azure.custom-role-locks",
                "medium",
                eff.principal.id,
                f"custom role {', '.join(roles)} can write or delete resource locks",
                {"roles": roles, "policies": sorted(hits)},
                "Remove Microsoft.Authorization/locks/* from the custom role: locks guard "
                "resources against deletion by anyone, workloads included.",
            )
        ]

    # -- credentials ------------------------------------------------------------------------
    def credential(self, ctx: Context, cred: Credential) -> list[Finding]:
        now = ctx.options.now
        max_age = ctx.options.key_max_age_days
        cutoff = now - timedelta(days=max_age)
        secret = self.inv.secrets.get(cred.id)
        origin = secret.origin if secret else "application"
        reasons: list[str] = []
        sev_rank = 0
        lifetime = None
        if cred.expires is not None and cred.created is not None:
            lifetime = cred.expires - cred.created
        if cred.expires is not None and cred.expires < now:
            reasons.append(f"expired {cred.expires.date().isoformat()}")
            sev_rank = max(sev_rank, 1)
        else:
            if cred.expires is None:
                reasons.append("no expiry")
                sev_rank = max(sev_rank, 3)
            elif lifetime is not None and lifetime > MAX_LIFETIME:
                reasons.append(f"lifetime {lifetime.days} days (over a year)")
                sev_rank = max(sev_rank, 2)
            reported = secret is not None and secret.app_id in self.inv.sign_in_apps
            if reported and cred.created is not None and cred.created < cutoff:
                # Sign-in data is per application: unused only when the whole application
                # has not signed in with a credential for that long.
                if cred.last_used is None:
                    reasons.append("application never signed in with a credential")
                    sev_rank = max(sev_rank, 2)
                elif cred.last_used < cutoff:
                    reasons.append(
                        f"application last signed in with a credential "
                        f"{cred.last_used.date().isoformat()}"
                    )
                    sev_rank = max(sev_rank, 2)
        if not reasons:
            return []
        sev: Severity = ("low", "low", "medium", "high")[sev_rank]
        what = cred.kind.replace("-", " ")
        return [
            Finding(
                "cred.stale-key",
                sev,
                cred.principal_id,
                f"{what} {cred.id} on the {origin.replace('-', ' ')}: {', '.join(reasons)}",
                {
                    "key_id": cred.id,
                    "kind": cred.kind,
                    "origin": origin,
                    "name": secret.name if secret else None,
                    "created": cred.created.isoformat() if cred.created else None,
                    "expires": cred.expires.isoformat() if cred.expires else None,
                    "lifetime_days": lifetime.days if lifetime is not None else None,
                    "last_used": cred.last_used.isoformat() if cred.last_used else None,
                    "last_used_scope": "application",
                    "max_age_days": max_age,
                    "reasons": reasons,
                },
                "Delete expired and unused credentials; give the rest an expiry within a year, "
                "or replace them with a managed identity or a federated credential.",
            )
        ]
