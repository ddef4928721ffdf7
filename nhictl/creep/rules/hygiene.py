"""cred.stale-key, inv.unregistered, inv.orphan-manifest, trust.broad."""

from __future__ import annotations

from datetime import timedelta

from nhictl.creep.context import Context
from nhictl.creep.model import Credential, Declaration, Finding, Principal, Severity

# Trust-policy condition keys that pin who may assume a role.
_PINNING_KEYS = (
    "sts:externalid",
    "aws:principalarn",
    "aws:principalorgid",
    "aws:principalaccount",
    "aws:sourcearn",
    "aws:sourceaccount",
    "aws:sourceorgid",
    "aws:principalorgpaths",
)


def stale_key(ctx: Context, cred: Credential) -> list[Finding]:
    if cred.status != "Active":
        return []
    max_age = ctx.options.key_max_age_days
    cutoff = ctx.options.now - timedelta(days=max_age)
    old = cred.created is not None and cred.created < cutoff
    # Never used: stale once it is old enough to have been used.
    idle = old if cred.last_used is None else cred.last_used < cutoff
    if not (old or idle):
        return []
    reasons = []
    if old and cred.created is not None:
        reasons.append(f"created {cred.created.date().isoformat()}")
    if idle:
        reasons.append(
            f"last used {cred.last_used.date().isoformat()}" if cred.last_used else "never used"
        )
    sev: Severity = "high" if old and idle else "medium"
    return [
        Finding(
            "cred.stale-key",
            sev,
            cred.principal_id,
            f"active {cred.kind.replace('-', ' ')} {cred.id} is stale "
            f"({', '.join(reasons)}; limit {max_age} days)",
            {
                "key_id": cred.id,
                "created": cred.created.isoformat() if cred.created else None,
                "last_used": cred.last_used.isoformat() if cred.last_used else None,
                "last_service": cred.last_service,
                "max_age_days": max_age,
            },
            "Rotate the key (or delete it if unused); prefer role-based, short-lived credentials.",
        )
    ]


def is_workload(p: Principal, creds: dict[str, list[Credential]]) -> bool:
    """Roles and key-holding users are workloads; SSO/SAML and service-linked roles are not."""
    if p.human or p.kind == "service-linked-role":
        return False
    if p.kind == "user":
        return any(c.status == "Active" for c in creds.get(p.id, ()))
    return True


def unregistered(ctx: Context, p: Principal) -> list[Finding]:
    return [
        Finding(
            "inv.unregistered",
            "medium",
            p.id,
            f"{p.kind} {p.name} acts as a workload but has no registration manifest",
            {"kind": p.kind, "path": p.path, "tags": dict(p.tags)},
            f"Register it (an AgentRegistration with {ctx.knowledge.principal_ref}) or delete it.",
        )
    ]


def orphan_manifest(ctx: Context, decl: Declaration) -> list[Finding]:
    loc = (decl.source, decl.line or 1, decl.column or 1) if decl.source else None
    return [
        Finding(
            "inv.orphan-manifest",
            "medium",
            decl.principal_id,
            f"manifest {decl.manifest!r} names {decl.principal_id}, which does not exist in the "
            "snapshot",
            {"manifest": decl.manifest, "source": decl.source},
            f"Fix the {ctx.knowledge.principal_ref.rsplit('.', 1)[-1]}, or retire the manifest if "
            "the agent is gone.",
            location=loc,
        )
    ]


def broad_trust(ctx: Context, p: Principal) -> list[Finding]:
    out: list[Finding] = []
    for t in p.trust:
        keys = {
            k.lower() for ops in (t.condition or {}).values() if isinstance(ops, dict) for k in ops
        }
        pinned = any(k in keys for k in _PINNING_KEYS)
        sev: Severity | None = None
        why = ""
        if t.kind == "any":
            sev = "critical" if not t.condition else "medium" if not pinned else None
            why = "any AWS principal can assume it" + (" (with conditions)" if t.condition else "")
        elif (
            t.kind in ("account", "principal")
            and t.account
            and t.account != p.account
            and not pinned
        ):
            sev = "high" if not t.condition else "medium"
            why = f"cross-account trust to {t.value} without an ExternalId or principal pin"
        if (
            t.kind == "federated"
            and "oidc-provider/" in t.value
            and not any(k.endswith(":sub") for k in keys)
        ):
            sev, why = (
                "high",
                f"web-identity trust to {t.value} without a subject (sub) condition",
            )
        if sev is None:
            continue
        out.append(
            Finding(
                "trust.broad",
                sev,
                p.id,
                f"role {p.name}: {why}",
                {
                    "trusted": t.value,
                    "kind": t.kind,
                    "account": t.account,
                    "condition": t.condition,
                },
                "Name the exact trusted principal and require sts:ExternalId (vendors) or a "
                "subject condition (OIDC).",
            )
        )
    return out
