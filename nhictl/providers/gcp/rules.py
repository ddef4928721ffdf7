"""GCP's own rules, judged on the common model (policy ids name the binding: see
``nhictl.providers.gcp.bindings``).

- ``priv.admin`` (basic roles): the account holds ``roles/owner`` or ``roles/editor`` at any
  level, and the shared rule did not already report it as an administrator;
- ``gcp.default-sa-editor``: a default compute (``N-compute@developer``) or App Engine
  (``P@appspot``) account holds Editor or Owner;
- ``gcp.project-impersonation``: Service Account User / Token Creator / Workload Identity User /
  OpenID Token Creator / Key Admin bound at project level or higher, so every account below
  can be impersonated;
- ``gcp.sa-separation-of-duties``: one account holds Service Account Admin and User;
- ``gcp.user-managed-key``: an active user-managed key (any age; ``cred.stale-key`` judges age
  and use);
- ``trust.broad``: the account's own policy lets ``allUsers``/``allAuthenticatedUsers``, a
  whole domain or a whole workload-identity pool impersonate it.

Time-bound grants (``request.time < timestamp(...)``) are a mitigation: each rule here lowers its
severity one step when every grant it found is time-bound, and says until when.
"""

from __future__ import annotations

from collections.abc import Iterable
from datetime import datetime
from typing import Any

from nhictl.creep.context import Context
from nhictl.creep.effective import Effective
from nhictl.creep.knowledge import PrincipalRule
from nhictl.creep.model import SEVERITIES, Credential, Finding, Principal, Severity
from nhictl.creep.rules import RuleInfo, privilege, register
from nhictl.providers.gcp.bindings import BASIC_ROLES, LEVEL_RANK, BindingRef, parse_policy_id
from nhictl.providers.gcp.conditions import time_bound_until
from nhictl.providers.gcp.members import is_default_account

IMPERSONATION_ROLES = (
    "roles/iam.serviceAccountUser",
    "roles/iam.serviceAccountTokenCreator",
    "roles/iam.workloadIdentityUser",
    "roles/iam.serviceAccountOpenIdTokenCreator",
    "roles/iam.serviceAccountKeyAdmin",
)
SA_ADMIN = "roles/iam.serviceAccountAdmin"
SA_USER = "roles/iam.serviceAccountUser"
_LEVEL_WORDS = {
    "organization": "organization level (inherited by every folder and project below)",
    "folder": "folder level (inherited by every project below)",
    "project": "project level",
    "service-account": "one service account",
    "other": "a resource",
}


class Bound:
    """One binding of a principal, as the rules read it."""

    __slots__ = ("condition", "inherited_from", "policy_id", "ref", "until")

    def __init__(
        self,
        policy_id: str,
        ref: BindingRef,
        inherited_from: str | None,
        condition: Any,
        until: datetime | None,
    ) -> None:
        self.policy_id = policy_id
        self.ref = ref
        self.inherited_from = inherited_from
        self.condition = condition
        self.until = until

    def evidence(self) -> dict[str, Any]:
        out: dict[str, Any] = {
            "role": self.ref.role,
            "resource": self.ref.resource,
            "level": self.ref.level,
            "policy": self.policy_id,
        }
        if self.inherited_from:
            out["inherited_from"] = self.inherited_from
        if self.condition:
            out["condition"] = self.condition
        if self.until is not None:
            out["time_bound_until"] = self.until.isoformat()
        return out


def bindings_of(ctx: Context, p: Principal) -> list[Bound]:
    """The principal's bindings (resolved or not), parsed from their policy ids."""
    out: list[Bound] = []
    policies = ctx.snapshot.policies
    for att in p.attachments:
        ref = parse_policy_id(att.policy_id)
        if ref is None:
            continue
        pol = policies.get(att.policy_id)
        cond = pol.statements[0].condition if pol is not None and pol.statements else None
        out.append(Bound(att.policy_id, ref, att.inherited_from, cond, time_bound_until(cond)))
    return out


def binding_evidence(ctx: Context, policy_ids: Iterable[str]) -> dict[str, Any]:
    """``bindings`` (role, resource, level, condition) and the widest ``level`` of the given
    policies; empty for ids that are not GCP bindings."""
    found: list[Bound] = []
    policies = ctx.snapshot.policies
    for pid in policy_ids:
        ref = parse_policy_id(pid)
        if ref is None:
            continue
        pol = policies.get(pid)
        cond = pol.statements[0].condition if pol is not None and pol.statements else None
        found.append(Bound(pid, ref, None, cond, time_bound_until(cond)))
    if not found:
        return {}
    widest = max(found, key=lambda b: LEVEL_RANK[b.ref.level]).ref.level
    out: dict[str, Any] = {"level": widest, "bindings": [b.evidence() for b in found]}
    bound = [b for b in found if b.until is not None]
    if bound and len(bound) == len(found):
        out["time_bound"] = {"until": min(b.until for b in bound if b.until).isoformat()}
    return out


def _lower(sev: Severity) -> Severity:
    return SEVERITIES[max(1, SEVERITIES.index(sev) - 1)]


def _mitigated(found: list[Bound], sev: Severity) -> tuple[Severity, str]:
    """Severity one step lower when every binding found is conditional; the note says why."""
    if found and all(b.condition for b in found):
        until = [b.until for b in found if b.until is not None]
        if len(until) == len(found):
            return _lower(sev), f" (time-bound, until {min(until).date().isoformat()})"
        return _lower(sev), " (only under a condition)"
    return sev, ""


def _widest(found: list[Bound]) -> str:
    return max(found, key=lambda b: LEVEL_RANK[b.ref.level]).ref.level


def basic_roles(ctx: Context, eff: Effective) -> list[Finding]:
    """priv.admin for Owner/Editor at any level, unless the shared rule already said admin."""
    p = eff.principal
    found = [b for b in bindings_of(ctx, p) if b.ref.role in BASIC_ROLES]
    if not found or privilege.admin(ctx, eff):
        return []
    level = _widest(found)
    owner = any(b.ref.role == "roles/owner" for b in found)
    sev: Severity = "critical" if owner or LEVEL_RANK[level] >= LEVEL_RANK["folder"] else "high"
    sev, note = _mitigated(found, sev)
    roles = sorted({b.ref.role for b in found})
    return [
        Finding(
            "priv.admin",
            sev,
            p.id,
            f"service account {p.name} holds basic role {', '.join(roles)} at "
            f"{_LEVEL_WORDS[level]}{note}",
            {
                "scope": "basic-role",
                "conditional": all(b.condition for b in found),
                "granted_actions": eff.allowed_count,
                "level": level,
                "bindings": [b.evidence() for b in found],
                "policies": sorted(b.policy_id for b in found),
            },
            "Replace the basic role with predefined roles for what the workload does "
            "(--remediate-out proposes them from the insights or the manifest).",
        )
    ]


def default_sa_editor(ctx: Context, eff: Effective) -> list[Finding]:
    p = eff.principal
    which = is_default_account(p.id)
    if which is None:
        return []
    found = [b for b in bindings_of(ctx, p) if b.ref.role in BASIC_ROLES]
    if not found:
        return []
    sev, note = _mitigated(found, "high")
    label = "compute" if which == "compute" else "App Engine"
    roles = sorted({b.ref.role for b in found})
    return [
        Finding(
            "gcp.default-sa-editor",
            sev,
            p.id,
            f"default {label} service account holds {', '.join(roles)}{note}: every VM, "
            "function or app left on the default account gets it",
            {
                "default_account": which,
                "level": _widest(found),
                "bindings": [b.evidence() for b in found],
                "policies": sorted(b.policy_id for b in found),
            },
            "Remove the basic role from the default account, give each workload its own "
            "account, and enforce the organization policy "
            "iam.automaticIamGrantsForDefaultServiceAccounts.",
        )
    ]


def project_impersonation(ctx: Context, eff: Effective) -> list[Finding]:
    p = eff.principal
    found = [
        b
        for b in bindings_of(ctx, p)
        if b.ref.role in IMPERSONATION_ROLES and LEVEL_RANK[b.ref.level] >= LEVEL_RANK["project"]
    ]
    if not found:
        return []
    level = _widest(found)
    sev: Severity = "critical" if LEVEL_RANK[level] >= LEVEL_RANK["folder"] else "high"
    sev, note = _mitigated(found, sev)
    per_project = _accounts_per_project(ctx)
    reach = sum(
        per_project.get(b.ref.resource.removeprefix("projects/"), 0)
        for b in found
        if b.ref.level == "project"
    )
    roles = sorted({b.ref.role for b in found})
    return [
        Finding(
            "gcp.project-impersonation",
            sev,
            p.id,
            f"{', '.join(roles)} granted at {_LEVEL_WORDS[level]}{note}: it can act as every "
            "service account there",
            {
                "level": level,
                "accounts_in_reach": reach if level == "project" else None,
                "bindings": [b.evidence() for b in found],
                "policies": sorted(b.policy_id for b in found),
            },
            "Grant the role on the service accounts the workload must use (their own IAM "
            "policy), not on the project, folder or organization.",
        )
    ]


def _accounts_per_project(ctx: Context) -> dict[str, int]:
    hit: dict[str, int] | None = ctx.cache.get("gcp_accounts_per_project")
    if hit is None:
        hit = {}
        for q in ctx.snapshot.principals.values():
            hit[q.account] = hit.get(q.account, 0) + 1
        ctx.cache["gcp_accounts_per_project"] = hit
    return hit


def separation_of_duties(ctx: Context, eff: Effective) -> list[Finding]:
    p = eff.principal
    found = [b for b in bindings_of(ctx, p) if b.ref.role in (SA_ADMIN, SA_USER)]
    if {b.ref.role for b in found} != {SA_ADMIN, SA_USER}:
        return []
    sev, note = _mitigated(found, "medium")
    return [
        Finding(
            "gcp.sa-separation-of-duties",
            sev,
            p.id,
            f"service account {p.name} holds both Service Account Admin and Service Account "
            f"User{note}: it can create accounts and act as them",
            {
                "bindings": [b.evidence() for b in found],
                "policies": sorted(b.policy_id for b in found),
            },
            "Split the roles between two principals (CIS GCP 1.8).",
        )
    ]


def _keys(ctx: Context) -> dict[str, list[Credential]]:
    hit: dict[str, list[Credential]] | None = ctx.cache.get("gcp_keys")
    if hit is None:
        hit = {}
        for c in ctx.snapshot.credentials:
            if c.kind == "sa-key" and c.status == "Active":
                hit.setdefault(c.principal_id, []).append(c)
        ctx.cache["gcp_keys"] = hit
    return hit


def user_managed_key(ctx: Context, eff: Effective) -> list[Finding]:
    p = eff.principal
    keys = _keys(ctx).get(p.id)
    if not keys:
        return []
    no_expiry = sum(1 for k in keys if k.expires is None)
    return [
        Finding(
            "gcp.user-managed-key",
            "low",
            p.id,
            f"service account {p.name} has {len(keys)} active user-managed key(s)"
            + (f", {no_expiry} without expiry" if no_expiry else ""),
            {
                "keys": [
                    {
                        "key_id": k.id,
                        "created": k.created.isoformat() if k.created else None,
                        "expires": k.expires.isoformat() if k.expires else None,
                        "last_used": k.last_used.isoformat() if k.last_used else None,
                    }
                    for k in keys[:10]
                ],
                "count": len(keys),
            },
            "Use attached service accounts or workload identity federation instead of keys; "
            "enforce iam.disableServiceAccountKeyCreation.",
        )
    ]


def broad_trust(ctx: Context, eff: Effective) -> list[Finding]:
    p = eff.principal
    out: list[Finding] = []
    for t in p.trust:
        sev: Severity | None = None
        if t.kind == "any":
            sev, why = ("medium" if t.condition else "critical"), f"{t.value} can act as it"
        elif t.kind == "account":
            sev, why = "high", f"every account of {t.value} can act as it"
        elif t.kind == "federated" and t.value.startswith("principalSet://"):
            sev, why = "high", f"every identity of {t.value} can act as it"
        if sev is None:
            continue
        if t.condition and sev != "medium":
            sev = _lower(sev)
        out.append(
            Finding(
                "trust.broad",
                sev,
                p.id,
                f"service account {p.name}: {why}",
                {
                    "trusted": t.value,
                    "kind": t.kind,
                    "permissions": list(t.actions),
                    "condition": t.condition,
                },
                "Remove the binding from the service account's own policy; grant impersonation "
                "to the named principals that need it.",
            )
        )
    return out


RULES: tuple[PrincipalRule, ...] = (
    basic_roles,
    default_sa_editor,
    project_impersonation,
    separation_of_duties,
    user_managed_key,
    broad_trust,
)


register(
    RuleInfo(
        "gcp.default-sa-editor",
        "Default service account with a basic role",
        "high",
        "The default compute or App Engine service account holds Editor or Owner.",
    ),
    RuleInfo(
        "gcp.project-impersonation",
        "Impersonation granted at project level or above",
        "high",
        "Service Account User / Token Creator (or alike) bound on a project, folder or "
        "organization: every service account below can be impersonated.",
    ),
    RuleInfo(
        "gcp.sa-separation-of-duties",
        "Service Account Admin and User on one principal",
        "medium",
        "The same principal holds Service Account Admin and Service Account User.",
    ),
    RuleInfo(
        "gcp.user-managed-key",
        "User-managed service-account key",
        "low",
        "The service account has an active user-managed key (a long-lived secret).",
    ),
)
