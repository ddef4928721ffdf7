"""``analyse``: snapshot + declarations + baseline -> findings, per-principal results, fixes."""

from __future__ import annotations

from collections import Counter
from dataclasses import dataclass, field
from typing import Any

from nhictl.creep.activity import Activity, activity_for
from nhictl.creep.catalog import weight
from nhictl.creep.context import AuditOptions, Context
from nhictl.creep.effective import Effective, Expander, effective_for
from nhictl.creep.exclusions import Exclusion, apply_exclusions
from nhictl.creep.graph_pass import attach_graph
from nhictl.creep.index import IndexResult, bucket, creep_index, rollup
from nhictl.creep.knowledge import ProviderKnowledge
from nhictl.creep.model import (
    SEVERITY_RANK,
    Credential,
    Declaration,
    Finding,
    Principal,
    PrincipalResult,
    Report,
    Snapshot,
)
from nhictl.creep.remediation.plan import propose_fix
from nhictl.creep.risk import apply_risk, top_risks
from nhictl.creep.rules import declared as r_declared
from nhictl.creep.rules import hygiene, privilege, usage


def _is_nonhuman(p: Principal, creds: dict[str, list[Credential]], keys_known: bool) -> bool:
    if p.human or p.kind == "service-linked-role":
        return False
    if p.kind == "user" and keys_known:
        return hygiene.is_workload(p, creds) or p.tags.get("nhictl:nhi", "").lower() == "true"
    return True


def analyse(
    snapshot: Snapshot,
    knowledge: ProviderKnowledge,
    options: AuditOptions,
    exclusions: list[Exclusion] | None = None,
    keys_known: bool = False,
) -> Report:
    """Run every rule over every non-human principal of the snapshot."""
    expander = Expander(knowledge.catalog)
    declared: dict[str, Declaration] = {}
    orphans: list[Declaration] = []
    for d in options.declarations:
        if d.principal_id in snapshot.principals:
            declared[d.principal_id] = d
        else:
            orphans.append(d)
    ctx = Context(snapshot, knowledge, options, expander, declared)
    cat = knowledge.catalog
    # Target-dependent escalation needs every principal's facts first: one pass, small facts.
    attach_graph(ctx)

    creds: dict[str, list[Credential]] = {}
    for c in snapshot.credentials:
        creds.setdefault(c.principal_id, []).append(c)

    baseline_allowed: dict[str, int] | None = None
    if options.baseline is not None:
        baseline_allowed = {
            pid: effective_for(bp, options.baseline, expander).allowed
            for pid, bp in options.baseline.principals.items()
        }
    versions: dict[str, r_declared.VersionGrowth] = {}
    for pol in snapshot.policies.values():
        vg = r_declared.policy_version_growth(ctx, pol)
        if vg is not None:
            versions[pol.id] = vg

    names = {p.id: p.name for p in snapshot.principals.values()}
    exclusion_list = exclusions or []
    today = options.now.date()
    run = _Run(
        ctx,
        creds,
        keys_known,
        baseline_allowed,
        versions,
        names,
        exclusion_list,
        weight(cat, cat.all_mask),
        _unobserved_mask(knowledge),
    )
    pids = sorted(snapshot.principals)
    expanded_before = expander.expanded_documents
    # One process: a forked second worker was measured and lost (pickling the findings back
    # cost what the split saved on a 2-core machine).
    chunk = run.chunk(pids)
    findings, results, per_account = chunk.findings, chunk.results, chunk.per_account
    remediations, suppressed = chunk.remediations, chunk.suppressed

    tail: list[Finding] = []
    credential_rule = knowledge.credential_rule or hygiene.stale_key
    for c in snapshot.credentials:
        if c.principal_id not in snapshot.principals:
            tail += credential_rule(ctx, c)
    for d in orphans:
        tail += hygiene.orphan_manifest(ctx, d)
    suppressed += apply_exclusions(tail, exclusion_list, today, names)
    findings += tail

    findings.sort(key=lambda f: (-SEVERITY_RANK[f.severity], f.rule_id, f.principal, f.message))
    # Last: risk needs every finding of a principal, those added after the loop included.
    apply_risk(results, findings, run.catalog_weight)
    active = [f for f in findings if f.suppressed is None]
    overall = rollup(x for items in per_account.values() for x in items)
    summary: dict[str, Any] = {
        "principals": len(results),
        "principals_in_snapshot": len(snapshot.principals),
        "findings": len(active),
        "suppressed": suppressed,
        "by_severity": dict(
            sorted(
                Counter(f.severity for f in active).items(), key=lambda kv: -SEVERITY_RANK[kv[0]]
            )
        ),
        "by_rule": dict(sorted(Counter(f.rule_id for f in active).items())),
        "creep_index": overall,
        "bucket": bucket(overall),
        "top_risks": top_risks(results),
        "accounts": {
            a: {"creep_index": rollup(v), "bucket": bucket(rollup(v)), "principals": len(v)}
            for a, v in sorted(per_account.items())
        },
        "window_days": options.unused_days,
        "key_max_age_days": options.key_max_age_days,
        "treat_untracked": options.treat_untracked,
        "inputs": {
            "snapshot": snapshot.source,
            "collected_at": snapshot.collected_at.isoformat() if snapshot.collected_at else None,
            "usage_principals": len(snapshot.usage),
            "access_keys": len(snapshot.credentials),
            "manifests": len(options.declarations),
            "baseline": options.baseline.source if options.baseline else None,
        },
        "policy_documents": len({pol.digest for pol in snapshot.policies.values()}),
        "expanded_documents": expanded_before + chunk.expanded,
        "warnings": list(snapshot.warnings),
    }
    return Report(snapshot.provider, options.now, summary, results, findings, remediations)


def _unobserved_mask(knowledge: ProviderKnowledge) -> int:
    mask = 0
    for pat in knowledge.unobserved:
        mask |= knowledge.catalog.expand(pat)
    return mask


def _granted(eff: Effective) -> dict[str, Any]:
    # Often all of the grant is unconditional, and on any resource: compare, not recount.
    if eff.unconditional == eff.allowed:
        unconditional = eff.allowed_count
    else:
        unconditional = eff.unconditional.bit_count()
    if eff.unconditional_star == eff.unconditional:
        star = unconditional
    else:
        star = eff.unconditional_star.bit_count()
    return {
        "actions": eff.allowed_count,
        "unconditional_actions": unconditional,
        "conditional_only_actions": eff.allowed_count - unconditional,  # a subset of allowed
        "on_any_resource": star,
        "services": len(eff.services),
        "denied_actions": eff.denied.bit_count(),
        "denied_conditionally": eff.denied_conditional.bit_count(),
        "denied_on_some_resources": eff.denied_scoped.bit_count(),
        "boundary": eff.principal.boundary,
        "boundary_removed": eff.boundary_removed.bit_count(),
        "policies": sorted({a.policy_id for a in eff.principal.attachments}),
        "unresolved_policies": list(eff.unresolved),
    }


def _used(act: Activity) -> dict[str, Any]:
    """``actions`` (seen used), ``unknown_actions`` and ``unused_actions`` are disjoint and add
    up to the grant; ``used_by_evidence`` says how the used ones were seen."""
    if not act.known:
        return {
            "known": False,
            "reason": act.reason,
            "last_activity": act.last_activity.isoformat() if act.last_activity else None,
        }
    grans = {s.granularity for s in act.services}
    used = act.used.bit_count()
    by_service = act.used_by_service.bit_count()
    return {
        "known": True,
        "granularity": "mixed" if len(grans) > 1 else (grans.pop() if grans else None),
        "actions": used,
        "unknown_actions": act.unknown.bit_count(),
        "unused_actions": act.unused.bit_count(),
        "used_by_evidence": {"action": used - by_service, "service": by_service},
        "services_used": sorted(s.service for s in act.services if s.used or s.in_window),
        "last_activity": act.last_activity.isoformat() if act.last_activity else None,
    }


def over_threshold(report: Report, fail_on: str | None) -> bool:
    """True when an unsuppressed finding is at or above ``fail_on`` (``--fail-on``)."""
    if fail_on is None:
        return False
    floor = SEVERITY_RANK[fail_on]
    return any(f.suppressed is None and SEVERITY_RANK[f.severity] >= floor for f in report.findings)


def _locate(findings: list[Finding], decl: Declaration | None) -> None:
    """Findings about a registered principal point at its manifest (SARIF annotates it)."""
    if decl is None or not decl.source:
        return
    for f in findings:
        if f.location is None:
            f.location = (decl.source, decl.line or 1, decl.column or 1)


def _result(
    p: Principal,
    eff: Effective,
    act: Activity,
    decl: Declaration | None,
    ix: IndexResult,
    ctx: Context,
) -> PrincipalResult:
    return PrincipalResult(
        id=p.id,
        kind=p.kind,
        name=p.name,
        account=p.account,
        creep_index=ix.index,
        bucket=bucket(ix.index),
        granted=_granted(eff),
        used=_used(act),
        declared=None
        if decl is None
        else {
            "manifest": decl.manifest,
            "actions": list(decl.actions),
            "resources": list(decl.resources),
            "expanded_actions": r_declared.declared_mask(ctx, decl).bit_count(),
        },
        index_detail={
            "granted_weight": ix.granted_weight,
            "excess_weight": ix.excess_weight,
            "ratio": ix.ratio,
            "reach": ix.reach,
            "excess_actions": ix.excess_actions,
            "from_rules": list(ix.findings),
        },
        manifest=decl.manifest if decl else None,
        provider=p.provider,
    )


@dataclass(slots=True)
class _Chunk:
    """Results for a list of principals (bitsets already dropped)."""

    findings: list[Finding] = field(default_factory=list)
    results: list[PrincipalResult] = field(default_factory=list)
    per_account: dict[str, list[tuple[int, int]]] = field(default_factory=dict)
    remediations: dict[str, dict[str, Any]] = field(default_factory=dict)
    suppressed: int = 0
    expanded: int = 0  # policy documents expanded while analysing this chunk


@dataclass(slots=True)
class _Run:
    """Everything the per-principal loop needs, prepared once."""

    ctx: Context
    creds: dict[str, list[Credential]]
    keys_known: bool
    baseline_allowed: dict[str, int] | None
    versions: dict[str, r_declared.VersionGrowth]
    names: dict[str, str]
    exclusions: list[Exclusion]
    catalog_weight: int
    unobserved: int = 0  # actions the usage data cannot see (ProviderKnowledge.unobserved)

    def chunk(self, pids: list[str]) -> _Chunk:
        out = _Chunk()
        before = self.ctx.expander.expanded_documents
        for pid in pids:
            self.principal(pid, out)
        out.expanded = self.ctx.expander.expanded_documents - before
        return out

    def principal(self, pid: str, out: _Chunk) -> None:
        ctx, options = self.ctx, self.ctx.options
        cat, snapshot = ctx.catalog, ctx.snapshot
        p = snapshot.principals[pid]
        creds = self.creds
        if not _is_nonhuman(p, creds, self.keys_known):
            return
        eff = effective_for(p, snapshot, ctx.expander)
        knowledge = ctx.knowledge
        act = activity_for(
            eff,
            snapshot.usage.get(pid),
            cat,
            options.window_start,
            self.unobserved,
            knowledge.usage_source,
        )
        pf: list[Finding] = []
        pf += usage.unused_permission(ctx, eff, act)
        pf += usage.unused_principal(ctx, eff, act)
        decl = ctx.declared.get(pid)
        if decl is not None:
            pf += r_declared.beyond_declared(ctx, eff, decl)
        base = None if self.baseline_allowed is None else self.baseline_allowed.get(pid)
        pf += r_declared.growth(ctx, eff, base, self.versions)
        admin = (knowledge.admin_rule or privilege.admin)(ctx, eff)
        pf += admin
        pf += privilege.wildcard(ctx, eff)
        full_admin = any(
            f.evidence.get("scope") == "full" and not f.evidence.get("conditional") for f in admin
        )
        pf += privilege.escalation(ctx, eff, full_admin)
        if not full_admin:
            pf += privilege.reachable_admin(ctx, eff)
        if p.kind == "role":
            pf += hygiene.broad_trust(ctx, p)
        if options.manifests_given and decl is None and hygiene.is_workload(p, creds):
            pf += hygiene.unregistered(ctx, p)
        credential_rule = knowledge.credential_rule or hygiene.stale_key
        for c in creds.get(pid, ()):
            pf += credential_rule(ctx, c)
        for rule in knowledge.extra_rules:
            pf += rule(ctx, eff)
        # Finish the principal now and keep only small results: holding every principal's
        # bitsets until the end cost ~0.5 GB at 5k roles.
        _locate(pf, decl)
        out.suppressed += apply_exclusions(pf, self.exclusions, options.now.date(), self.names)
        if options.remediate:  # after the exclusions: an excluded principal gets no fix
            dmask = r_declared.declared_mask(ctx, decl) if decl else None
            rem = propose_fix(ctx, eff, act, dmask, decl, pf)
            if rem is not None:
                out.remediations[pid] = rem
        ix = creep_index(cat, eff.allowed, pf, self.catalog_weight, eff.allowed_count)
        out.results.append(_result(p, eff, act, decl, ix, ctx))
        out.per_account.setdefault(p.account, []).append((ix.index, ix.granted_weight))
        for f in pf:
            f.mask = 0
        out.findings += pf
