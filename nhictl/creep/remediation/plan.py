"""What a principal's fix keeps, and whether it gets one at all.

Decided after exclusions: a principal whose findings a fix would address (``creep.*``,
``priv.*``) are all suppressed gets no fix, only an index entry saying why.

- kept set: used ∩ declared (both known), used (only usage known), granted ∩ declared (only a
  manifest); "used" is what was seen used plus, with ``--treat-untracked-as used`` (the
  default), the actions whose use is unknown (untracked or unobservable);
- ``fix_safety.secure_target`` takes out what would re-grant an escalation or admin, scoping
  it or leaving it for review;
- no fix when nothing would change (same actions, nothing narrowed, no escalation scoped),
  ``detach-all`` when nothing is kept, otherwise the IAM policy (``document``), split to fit
  AWS's quotas (``split``) or reported as not expressible within them.
"""

from __future__ import annotations

from collections.abc import Iterable, Sequence
from dataclasses import dataclass
from typing import Any

from nhictl.creep.activity import Activity
from nhictl.creep.context import Context
from nhictl.creep.effective import Effective
from nhictl.creep.fix_safety import (
    SafeTarget,
    completes,
    grants_admin,
    secure_target,
    trust_only_paths,
)
from nhictl.creep.graph import Path
from nhictl.creep.knowledge import PolicyLimits
from nhictl.creep.model import Declaration, Finding
from nhictl.creep.remediation.document import FixDocument, build_document
from nhictl.creep.remediation.resources import named_resources
from nhictl.creep.remediation.split import policy, policy_chars, split_policy

FIX_RULES = ("creep.", "priv.")  # the findings a least-privilege fix addresses
NOTHING_TO_REMOVE = "nothing to remove"
UNSCOPED_REASON = "resource scope could not be narrowed: no declared or used resource for {}"


@dataclass(frozen=True, slots=True)
class KeptSet:
    """What a fix may keep before the escalation check, and what it rests on."""

    target: int
    basis: str
    seen_used: int | None  # actions seen used; None without usage data
    used: int | None  # seen used plus the unknown ones when they count as used
    unknown: int  # granted actions whose use is unknown (within the basis)
    unknown_kept: int  # of those, kept


def excluded_reason(findings: list[Finding]) -> str | None:
    """The exclusions' reasons when every finding a fix would address is suppressed (and
    there is at least one), else None."""
    relevant = [f for f in findings if f.rule_id.startswith(FIX_RULES)]
    reasons = {f.suppressed for f in relevant}
    if not relevant or None in reasons:
        return None
    return "; ".join(sorted(r for r in reasons if r is not None))


def proposal_target(
    eff: Effective, used: int | None, declared: int | None
) -> tuple[int, str] | None:
    """The actions a least-privilege fix keeps of the grant and its basis; None when there is
    nothing to base it on."""
    if used is not None and declared is not None:
        return used & declared & eff.allowed, "used ∩ declared"
    if used is not None:
        return used & eff.allowed, "used"
    if declared is not None:
        return declared & eff.allowed, "declared ∩ granted"
    return None


def kept_set(
    eff: Effective, act: Activity, declared: int | None, treat_untracked: str
) -> KeptSet | None:
    """The kept set of one principal (``treat_untracked``: "used" keeps unknown-use actions)."""
    seen = act.used if act.known else None
    used = None
    unknown = 0
    if seen is not None:
        # Activity.unknown holds unobserved actions too once usage separates them; both kept
        # apart here so a fix judges unknown use the same way either way.
        unknown = (act.unknown | act.unobserved) & ~seen
        used = seen | unknown if treat_untracked == "used" else seen
    found = proposal_target(eff, used, declared)
    if found is None:
        return None
    target, basis = found
    if declared is not None:
        unknown &= declared
    unknown &= eff.allowed
    return KeptSet(target, basis, seen, used, unknown, unknown & target)


def skipped(eff: Effective, reason: str, **extra: Any) -> dict[str, Any]:
    """The index entry of a principal that gets no fix file."""
    return {"principal": eff.principal.id, "skipped": reason, **extra}


def propose_fix(
    ctx: Context,
    eff: Effective,
    act: Activity,
    declared: int | None,
    decl: Declaration | None,
    findings: list[Finding],
) -> dict[str, Any] | None:
    """The fix (or the reason there is none) of one principal, its findings already judged
    against the exclusions; None when there is nothing to base it on (neither usage data nor
    a manifest). The provider's ``remediate`` shapes it where it has one."""
    reason = excluded_reason(findings)
    if reason is not None:
        return skipped(eff, f"excluded: {reason}")
    kept = kept_set(eff, act, declared, ctx.options.treat_untracked)
    if kept is None:
        return None  # nothing to base a fix on: not listed (the report says usage is unknown)
    remediate = ctx.knowledge.remediate
    if remediate is not None:
        return remediate(ctx, eff, kept.used, declared, decl)
    safe = secure_target(ctx, eff, kept.target, kept.seen_used)
    named = named_resources(decl.resources) if decl else {}
    doc = build_document(ctx.catalog, eff, safe, named)
    return iam_fix(ctx, eff, kept, safe, doc, findings)


def reported_escalations(findings: Iterable[Finding]) -> list[str]:
    """The escalation method ids (and "admin") the principal's active findings report."""
    out: list[str] = []
    for f in findings:
        if f.suppressed is not None:
            continue
        if f.rule_id == "priv.admin":
            out.append("admin")
        elif f.rule_id == "priv.escalation":
            out += [m["id"] for m in f.evidence.get("methods", ())]
    return list(dict.fromkeys(out))


def remaining_paths(ctx: Context, paths: list[Path]) -> list[dict[str, Any]]:
    """``paths`` (``fix_safety.trust_only_paths``: open whatever this principal's fix grants)
    as index entries, each with why."""
    name = ctx.graph.short_name if ctx.graph is not None else str
    out: list[dict[str, Any]] = []
    for path in paths:
        first = path.edges[0]
        out.append(
            {
                "path": path.text,
                "steps": path.steps,
                "reason": (
                    f"the trust policy of {name(first.target)} names {name(first.source)} "
                    "in its own account, so it needs no permission of its own to assume it: "
                    "narrow that trust policy, or make the target less privileged"
                ),
            }
        )
    return out


def escalations_removed(
    ctx: Context,
    eff: Effective,
    findings: Iterable[Finding],
    safe: SafeTarget,
    kept: int,
    still_open: set[str],
) -> list[str]:
    """What the fix no longer grants of the escalations reported (and of those the escalation
    check broke): a method it does not complete, "admin" when it is not admin equivalence.
    ``still_open``: methods whose path stays open whatever the fix grants; never removed."""
    by_id = {m.id: m for m in ctx.knowledge.escalation}
    out: list[str] = []
    for mid in [*safe.removed, *reported_escalations(findings)]:
        if mid in out or mid in still_open:
            continue
        if mid in safe.removed:
            out.append(mid)
        elif mid == "admin":
            if not grants_admin(ctx, eff, kept):
                out.append(mid)
        else:
            m = by_id.get(mid)
            if m is not None and not completes(ctx, m, kept):
                out.append(mid)
    return out


def iam_fix(
    ctx: Context,
    eff: Effective,
    kept: KeptSet,
    safe: SafeTarget,
    doc: FixDocument,
    findings: Sequence[Finding] = (),
) -> dict[str, Any]:
    """The index entry of an IAM policy fix; ``policy`` (the whole document) and ``documents``
    (the managed policies to write) ride along for the writer and the GCP conversion."""
    removed = eff.allowed & ~doc.kept
    open_paths = trust_only_paths(ctx, eff.principal.id)
    still_open = {m for p in open_paths for m in p.edges[0].methods}
    entry: dict[str, Any] = {
        "principal": eff.principal.id,
        "basis": kept.basis,
        "unknown_use": {
            "treated_as": ctx.options.treat_untracked,
            "actions": kept.unknown.bit_count(),
            "kept": kept.unknown_kept.bit_count(),
        },
        "actions_before": eff.allowed_count,
        "actions_after": doc.kept.bit_count(),
        "actions_removed": {"count": removed.bit_count(), "sample": ctx.sample(removed)},
        "escalations_removed": escalations_removed(ctx, eff, findings, safe, doc.kept, still_open),
        "escalations_scoped": sorted(safe.scoped),
        "review": list(safe.review),
        "remaining": remaining_paths(ctx, open_paths),
        "resources_narrowed": doc.narrowed.bit_count(),
        "unscoped": unscoped_entries(ctx, eff, doc.unscoped),
    }
    if (
        not removed
        and not doc.narrowed
        and not safe.scoped
        and not safe.removed
        and not safe.review
    ):
        return skipped(eff, NOTHING_TO_REMOVE, **entry)
    if not doc.statements:
        return {**entry, "recommendation": "detach-all", "policy": None, "documents": []}
    whole = policy(doc.statements)
    limits = ctx.knowledge.policy_limits
    if limits is None:  # not written as IAM policies: one document, no AWS quotas
        return {
            **entry,
            "recommendation": "replace-policies",
            "size_chars": policy_chars(whole),
            "policy": whole,
            "documents": [whole],
        }
    return {**entry, **_within_quotas(eff, doc, limits)}


def _within_quotas(eff: Effective, doc: FixDocument, limits: PolicyLimits) -> dict[str, Any]:
    """The fix as managed policies of at most ``limits.managed_chars`` each, or why it cannot
    be expressed within the default quotas."""
    limit = limits.managed_chars
    docs = split_policy(doc.statements, limit)
    whole = policy([st for d in docs or () for st in d["Statement"]] or doc.statements)
    total = policy_chars(whole)
    out: dict[str, Any] = {"size_chars": total, "size_limit": limit}
    inline = limits.inline_chars(eff.principal.kind)
    if inline is not None:
        out["inline_limit"] = inline
        out["fits_inline"] = total <= inline
    quota = limits.managed_per_principal
    if docs is None:
        problem = (
            f"cannot be expressed: one action on one resource is over {limit:,} characters "
            "(the managed-policy limit)"
        )
    elif len(docs) > quota:
        problem = (
            f"cannot be expressed within the default quota: needs {len(docs)} managed "
            f"policies of at most {limit:,} characters, AWS allows {quota} per "
            f"{eff.principal.kind} ({limits.managed_per_principal_raised} with a quota "
            "increase)"
        )
    else:
        out.update(
            recommendation="replace-policies",
            policy=whole,
            documents=docs,
            parts=[{"size_chars": policy_chars(d)} for d in docs],
        )
        return out
    out.update(
        recommendation="not-expressible",
        not_expressible=problem,
        parts_needed=len(docs) if docs else None,
        policy=None,
        documents=[],
    )
    return out


def unscoped_entries(ctx: Context, eff: Effective, mask: int) -> list[dict[str, Any]]:
    """Per service, the kept actions that take a resource but stay on "*", and why."""
    out: list[dict[str, Any]] = []
    if not mask:
        return out
    for svc, smask in eff.per_service.items():
        part = mask & smask
        if part:
            out.append(
                {
                    "service": svc,
                    "actions": ctx.catalog.names(part),
                    "reason": UNSCOPED_REASON.format(svc),
                }
            )
    return out
