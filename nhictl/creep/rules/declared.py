"""creep.beyond-declared and creep.growth."""

from __future__ import annotations

from dataclasses import dataclass

from nhictl.creep.context import Context
from nhictl.creep.effective import Effective, policies_granting, resource_covered
from nhictl.creep.model import Declaration, Finding, Policy


def declared_mask(ctx: Context, decl: Declaration) -> int:
    mask = 0
    for pat in decl.actions:
        mask |= ctx.catalog.expand(pat)
    return mask


def beyond_declared(ctx: Context, eff: Effective, decl: Declaration) -> list[Finding]:
    """Actions outside the declared set, and declared actions granted on undeclared resources."""
    pid = eff.principal.id
    dmask = declared_mask(ctx, decl)
    extra = eff.allowed & ~dmask
    out: list[Finding] = []
    loc = (decl.source, decl.line or 1, decl.column or 1) if decl.source else None
    if extra:
        conditional_only = extra & ~eff.unconditional
        n_extra = extra.bit_count()
        sample = ctx.sample(extra, n_extra)
        out.append(
            Finding(
                "creep.beyond-declared",
                ctx.level_severity(extra) if extra & eff.unconditional else "low",
                pid,
                f"grant exceeds manifest {decl.manifest!r}: "
                f"{n_extra} actions not declared "
                f"(e.g. {', '.join(sample[:3])})",
                {
                    "manifest": decl.manifest,
                    "declared_actions": list(decl.actions),
                    "undeclared_actions": n_extra,
                    "conditional_only": conditional_only.bit_count(),
                    "by_service": ctx.by_service(extra, eff.per_service),
                    "sample": sample,
                    "policies": policies_granting(eff, extra),
                },
                "Remove the undeclared actions, or declare them in the manifest and have it "
                "reviewed.",
                location=loc,
                mask=extra,
            )
        )
    if decl.resources:
        scopable = ctx.catalog.scopable_mask()
        wide: set[str] = set()
        wide_mask = 0
        for g in eff.grants:
            # Only declared actions that *can* be scoped: Resource "*" is the only valid value
            # for wildcard-only actions and is not a violation.
            m = g.mask & dmask & scopable
            if not m:
                continue
            st = g.statement
            res = ("*",) if st.not_resources else st.resources
            over = [r for r in res if not resource_covered(r, decl.resources)]
            if over:
                wide.update(over)
                wide_mask |= m
        if wide:
            out.append(
                Finding(
                    "creep.beyond-declared",
                    ctx.level_severity(wide_mask),
                    pid,
                    f"declared actions granted on resources outside manifest {decl.manifest!r}: "
                    f"{', '.join(sorted(wide)[:5])}",
                    {
                        "manifest": decl.manifest,
                        "declared_resources": list(decl.resources),
                        "granted_resources": sorted(wide),
                        "actions": ctx.sample(wide_mask),
                        "policies": policies_granting(eff, wide_mask),
                    },
                    ctx.knowledge.scope_fix,
                    location=loc,
                )
            )
    return out


@dataclass(frozen=True, slots=True)
class VersionGrowth:
    """Actions a customer policy's current version adds over its oldest stored version."""

    policy: Policy
    added: int
    from_version: str
    to_version: str


def policy_version_growth(ctx: Context, policy: Policy) -> VersionGrowth | None:
    if policy.kind != "managed" or len(policy.versions) < 2:
        return None
    ordered = sorted(policy.versions, key=lambda v: (v.created is None, v.created, v.version_id))
    oldest = ordered[0]
    current = next((v for v in policy.versions if v.is_default), ordered[-1])
    if oldest is current:
        return None

    def allow(stmts: tuple[object, ...]) -> int:
        m = 0
        for es in ctx.expander.expand_statements(stmts):  # type: ignore[arg-type]
            if es.statement.effect == "Allow":
                m |= es.mask
        return m

    added = allow(current.statements) & ~allow(oldest.statements)
    if not added:
        return None
    return VersionGrowth(policy, added, oldest.version_id, current.version_id)


def growth(
    ctx: Context,
    eff: Effective,
    baseline_allowed: int | None,
    versions: dict[str, VersionGrowth],
) -> list[Finding]:
    """Grant growth against a baseline snapshot and across attached policies' versions."""
    pid = eff.principal.id
    out: list[Finding] = []
    if baseline_allowed is not None:
        added = eff.allowed & ~baseline_allowed
        if added:
            sample = ctx.sample(added)
            out.append(
                Finding(
                    "creep.growth",
                    ctx.level_severity(added),
                    pid,
                    f"{added.bit_count()} actions granted since the baseline "
                    f"(e.g. {', '.join(sample[:3])})",
                    {
                        "against": "baseline",
                        "added_actions": added.bit_count(),
                        "by_service": ctx.by_service(added, eff.per_service),
                        "sample": sample,
                        "policies": policies_granting(eff, added),
                    },
                    "Review the change that added these grants; revert what the workload does not "
                    "need.",
                    mask=added,
                )
            )
    seen: set[str] = set()
    for att in eff.principal.attachments:
        vg = versions.get(att.policy_id)
        if vg is None or att.policy_id in seen:
            continue
        seen.add(att.policy_id)
        added = vg.added & eff.allowed
        if not added:
            continue
        sample = ctx.sample(added)
        out.append(
            Finding(
                "creep.growth",
                ctx.level_severity(added),
                pid,
                f"policy {vg.policy.name} grew from {vg.from_version} to {vg.to_version}: "
                f"+{added.bit_count()} actions (e.g. {', '.join(sample[:3])})",
                {
                    "against": "policy-versions",
                    "policy": vg.policy.id,
                    "from_version": vg.from_version,
                    "to_version": vg.to_version,
                    "added_actions": added.bit_count(),
                    "sample": sample,
                    "via_group": att.inherited_from,
                },
                f"Compare {vg.from_version} and {vg.to_version} of {vg.policy.name}; "
                "set the default "
                "version back or remove the added statements.",
                mask=added,
            )
        )
    return out
