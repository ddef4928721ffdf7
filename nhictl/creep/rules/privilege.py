"""priv.admin, priv.wildcard and priv.escalation."""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass
from typing import Any

from nhictl.creep.catalog import held_bits
from nhictl.creep.context import Context
from nhictl.creep.effective import Effective
from nhictl.creep.graph import MAX_PATHS, Edge, Path, PrincipalGraph
from nhictl.creep.graph_build import method_resolvable
from nhictl.creep.knowledge import EscalationMethod
from nhictl.creep.model import SEVERITIES, SEVERITY_RANK, Finding, Severity

# Holding this share of the catalog unconditionally on "*" is AdministratorAccess-equivalent even
# when a few actions are denied.
ADMIN_SHARE = 0.95


def iam_admin_mask(ctx: Context) -> int:
    """The actions of IAM administration (``knowledge.iam_admin``) as a bitset, expanded again
    only when the catalog has grown (unknown actions can match the patterns)."""
    all_mask = ctx.catalog.all_mask
    cached: tuple[int, int] | None = ctx.cache.get("iam_admin")
    if cached is None or cached[0] is not all_mask:
        m = 0
        for pat in ctx.knowledge.iam_admin:
            m |= ctx.catalog.expand(pat)
        cached = ctx.cache["iam_admin"] = (all_mask, m)
    return cached[1]


def _catalog_size(ctx: Context) -> int:
    """Actions in the catalog, counted again only when it has grown (unknown actions)."""
    all_mask = ctx.catalog.all_mask
    cached: tuple[int, int] | None = ctx.cache.get("catalog_size")
    if cached is None or cached[0] is not all_mask:
        cached = ctx.cache["catalog_size"] = (all_mask, all_mask.bit_count())
    return cached[1]


def admin(ctx: Context, eff: Effective) -> list[Finding]:
    star_any = 0
    for g in eff.grants:
        if g.any_resource:
            star_any |= g.mask
    total = _catalog_size(ctx)
    iam = iam_admin_mask(ctx)
    for mask, conditional in ((eff.unconditional_star, False), (star_any, True)):
        # A set has at most bit_length() members: most principals are ruled out without
        # counting (popcount of a 20,000-bit int is not free).
        need = ADMIN_SHARE * total
        count = mask.bit_count() if mask.bit_length() >= need else 0
        full = count >= need
        iam_all = bool(iam) and (mask & iam) == iam
        if not (full or iam_all):
            continue
        what = "every action" if full else "all of IAM"
        cond_grants = [g for g in eff.grants if g.conditional and g.any_resource and g.mask & iam]
        sev: Severity = "high" if conditional else "critical"
        msg = f"{eff.principal.kind} {eff.principal.name} has {what} on every resource"
        evidence: dict[str, Any] = {
            "scope": "full" if full else "iam",
            "conditional": conditional,
            "granted_actions": count if count else mask.bit_count(),
            "catalog_actions": total,
            "policies": sorted({g.policy_id for g in eff.grants if g.any_resource and g.mask}),
        }
        if conditional:
            msg += " but only under a condition"
            evidence["conditions"] = [g.statement.condition for g in cond_grants][:5]
        return [
            Finding(
                "priv.admin",
                sev,
                eff.principal.id,
                msg,
                evidence,
                "Replace the administrative grant with the least-privilege policy; "
                "keep break-glass "
                "admins in an exclusions entry with a reason.",
            )
        ]
    return []


def _wildcard_service(pattern: str) -> str | None:
    """'' for "*", the service for "svc:*", None for any other pattern."""
    svc, _, act = pattern.partition(":")
    if pattern.strip() == "*":
        return ""
    return svc if act == "*" else None


# What one grant contributes to priv.wildcard: the wildcard patterns it still holds (at
# least half of their scope after Deny and boundary) and the severity rank they imply.
_GrantWildcards = tuple[tuple[str, ...], int]


def _scope_size(sizes: dict[str, int], svc: str, scope: int) -> int:
    size = sizes.get(svc)
    if size is None:
        size = sizes[svc] = scope.bit_count()
    return size


def _grant_wildcards(
    ctx: Context,
    actions: tuple[str, ...],
    not_actions: tuple[str, ...],
    mask: int,
    sizes: dict[str, int],
) -> _GrantWildcards:
    """``sizes``: actions per scope ("" for the catalog), for the catalog as it is now."""
    cat = ctx.catalog
    kinds: dict[str, str | None] = ctx.cache.setdefault("wildcard_kinds", {})
    classify = ctx.knowledge.wildcard_service or _wildcard_service
    hits: list[str] = []
    sev_rank = 0  # 0 low, 1 medium, 2 high
    for pat in actions:
        if pat in kinds:
            svc = kinds[pat]
        else:  # classify each distinct pattern once
            svc = kinds[pat] = classify(pat)
        if svc is None:
            continue
        # Judge the wildcard by what survives Deny and the boundary: "s3:*" cut down to
        # three actions by a permissions boundary is not a service-wide grant any more.
        scope = cat.all_mask if svc == "" else cat.service_mask(svc)
        size = _scope_size(sizes, svc, scope)
        held = mask & scope
        if (size if held == scope else held.bit_count()) * 2 >= size:
            hits.append(pat)
            if svc == "":
                sev_rank = 2
            elif cat.service_mask(svc) & cat.level_mask("Permissions management"):
                sev_rank = max(sev_rank, 1)
    # NotAction alone grants everything else; beside actions it only narrows them (Azure).
    if not actions and not_actions and mask.bit_count() * 2 >= _scope_size(sizes, "", cat.all_mask):
        hits.append("NotAction:" + ",".join(not_actions))
        sev_rank = 2
    return tuple(hits), sev_rank


def wildcard(ctx: Context, eff: Effective) -> list[Finding]:
    cat = ctx.catalog
    patterns: dict[str, set[str]] = {}
    sev_rank = 0  # 0 low, 1 medium, 2 high
    all_conditional = True
    # Grants repeat across principals (same statement, same surviving mask): judge each
    # once while the catalog is unchanged (an unknown action added to it changes the scopes).
    memo: dict[tuple[tuple[str, ...], tuple[str, ...], int], _GrantWildcards]
    sizes: dict[str, int]
    cached = ctx.cache.get("wildcard_grants")
    if cached is not None and cached[0] is cat.all_mask:
        memo, sizes = cached[1], cached[2]
    else:
        memo, sizes = {}, {}
        ctx.cache["wildcard_grants"] = (cat.all_mask, memo, sizes)
    for g in eff.grants:
        st = g.statement
        key = (st.actions, st.not_actions, g.mask)
        found = memo.get(key)
        if found is None:
            found = memo[key] = _grant_wildcards(ctx, st.actions, st.not_actions, g.mask, sizes)
        hits, rank = found
        if not hits:
            continue
        for pat in hits:
            patterns.setdefault(pat, set()).add(g.policy_id)
        sev_rank = max(sev_rank, rank)
        if not g.conditional:
            all_conditional = False
    out: list[Finding] = []
    if patterns:
        # A wildcard that only applies under a condition is one step less severe, and says so.
        if all_conditional:
            sev_rank = max(0, sev_rank - 1)
        sev: Severity = ("low", "medium", "high")[sev_rank]
        msg = f"wildcard action grants: {', '.join(sorted(patterns)[:6])}"
        if all_conditional:
            msg += " (only under conditions)"
        out.append(
            Finding(
                "priv.wildcard",
                sev,
                eff.principal.id,
                msg,
                {
                    "patterns": {p: sorted(v) for p, v in sorted(patterns.items())},
                    "conditional": all_conditional,
                    "policies": sorted({x for v in patterns.values() for x in v}),
                },
                "List the actions the workload needs instead of service-wide or global wildcards.",
            )
        )
    # Scopable write/permissions actions on Resource "*" without a condition. Actions that
    # cannot take a resource (wildcard-only, e.g. xray:PutTraceSegments) are never flagged.
    base: int | None = ctx.cache.get("scopable_writes")
    if base is None:
        base = cat.scopable_mask() & (
            cat.level_mask("Write") | cat.level_mask("Permissions management")
        )
        ctx.cache["scopable_writes"] = base
    risky = eff.unconditional_star & base
    if risky:
        n_risky = risky.bit_count()
        # Resource "*" (AWS), or the account-wide scopes that grant them (Azure subscription,
        # management group, root).
        scopes = sorted(
            {
                r
                for g in eff.grants
                if g.any_resource and not g.conditional and g.mask & risky
                for r in (("*",) if "*" in g.statement.resources else g.statement.resources)
            }
        )
        resource: str | list[str] = "*"
        where, fix = "Resource '*'", "Scope Resource to the ARNs the workload touches."
        if scopes != ["*"]:
            where = "account-wide scope " + ", ".join(scopes[:3])
            resource = scopes
            fix = "Assign the roles at the resource groups or resources the workload touches."
        out.append(
            Finding(
                "priv.wildcard",
                "medium" if risky & cat.level_mask("Permissions management") else "low",
                eff.principal.id,
                f"{n_risky} write/permissions actions that support resource scoping are "
                f"granted on {where} without a condition",
                {
                    "resource": resource,
                    "actions": n_risky,
                    "sample": ctx.sample(risky, n_risky),
                    "by_service": ctx.by_service(risky, eff.per_service),
                },
                fix,
            )
        )
    return out


_MethodBits = list[tuple[EscalationMethod, list[list[tuple[str, int]]], list[frozenset[int]]]]


def _method_bits(ctx: Context) -> tuple[_MethodBits, int]:
    """Each method's action groups as (action, bit index) pairs, and the union of all of
    them as a bitset; computed once per run."""
    cached: tuple[_MethodBits, int] | None = ctx.cache.get("escalation")
    if cached is None:
        cat = ctx.catalog
        methods: _MethodBits = []
        union = 0
        for m in ctx.knowledge.escalation:
            groups = [
                [(a, bit) for a in group if (bit := cat.index(a)) is not None]
                for group in m.requires
            ]
            for group in groups:
                for _, bit in group:
                    union |= 1 << bit
            methods.append((m, groups, [frozenset(b for _, b in g) for g in groups]))
        cached = (methods, union)
        ctx.cache["escalation"] = cached
    return cached


# A matched method: the action picked for each of its groups (name, bit index) and the
# weakest level among them (0 conditional, 1 scoped resources, 2 resource "*").
_Match = tuple[EscalationMethod, tuple[tuple[str, int], ...], int]

_RANK_SEV: tuple[Severity, ...] = ("low", "medium", "high")


@dataclass(frozen=True, slots=True)
class _Matched:
    """Methods matched by one combination of escalation-relevant grants and principal kind,
    with what every principal of that combination shares: the chosen bits, the severity
    rank, the message."""

    methods: tuple[_Match, ...]  # confirmed ones first
    confirmed: int  # how many of ``methods`` need no existing target
    chosen: int  # union of every chosen bit
    worst: int
    message: str
    # Each distinct chosen bit with its byte and the bit within it, for ``bytes`` lookups.
    bytes_at: tuple[tuple[int, int, int], ...] = ()


def _names(found: list[_Match]) -> str:
    """ "id name, ..." of the first three methods, "(+n more)" included."""
    names = ", ".join(f"{m.id} {m.name}" for m, _, _ in found[:3])
    if len(found) > 3:
        names += f" (+{len(found) - 3} more)"
    return names


def _message(confirmed: list[_Match], targeted: list[_Match]) -> str:
    if confirmed:
        msg = f"can escalate privileges via {_names(confirmed)}"
        if targeted:
            msg += f"; {len(targeted)} more path(s) need an existing target"
        return msg
    perms = sorted({m.target_permission for m, _, _ in targeted})
    shown = ", ".join(perms[:3]) + (f" (+{len(perms) - 3} more)" if len(perms) > 3 else "")
    return f"may escalate privileges via {_names(targeted)}; needs an existing target: {shown}"


def _match_methods(
    methods: _MethodBits, relevant: int, uncond: int, star: int, kind: str, bounded: bool
) -> _Matched:
    """Methods whose every action group is held, from the escalation-relevant bits alone."""
    # A handful of relevant bits: work on sets of bit indices, not 20,000-bit integers.
    positions = set().union(*(g for _, _, group_bits in methods for g in group_bits))
    allowed = held_bits(relevant, positions)
    uncond_bits = held_bits(uncond, allowed)
    star_bits = held_bits(star, allowed)
    confirmed: list[_Match] = []
    targeted: list[_Match] = []
    for m, groups, group_bits in methods:
        # Cheap test first: every group needs one held action (set ops in C).
        if any(allowed.isdisjoint(g) for g in group_bits):
            continue
        level = 2
        chosen: dict[str, int] = {}
        for group in groups:
            best, pick, pick_bit = -1, "", 0
            for action, bit in group:
                if bit not in allowed:
                    continue
                lv = 2 if bit in star_bits else 1 if bit in uncond_bits else 0
                if lv > best:
                    best, pick, pick_bit = lv, action, bit
            if best < 0:
                break
            level = min(level, best)
            chosen[pick] = pick_bit
        else:
            hit = (m, tuple(chosen.items()), level)
            (confirmed if m.confirmed_for(kind, bounded) else targeted).append(hit)
    out = confirmed + targeted
    union = 0
    for _, picks, _ in out:
        for _, bit in picks:
            union |= 1 << bit
    # A path that pays off only through an existing target is one step less severe: whether
    # that target exists is not in the permissions.
    worst = max(
        [lv for _, _, lv in confirmed] + [max(0, lv - 1) for _, _, lv in targeted], default=-1
    )
    distinct = sorted({bit for _, picks, _ in out for _, bit in picks})
    return _Matched(
        tuple(out),
        len(confirmed),
        union,
        worst,
        _message(confirmed, targeted) if out else "",
        tuple((bit, bit >> 3, 1 << (bit & 7)) for bit in distinct),
    )


def matched_methods(ctx: Context, eff: Effective, iam_admins: bool = False) -> _Matched | None:
    """The escalation methods whose actions the principal holds (confirmed ones first), or
    None when it holds none; all of IAM on every resource is left to priv.admin unless
    ``iam_admins`` (the principal graph: an admin's edges are what its fix must not keep)."""
    iam = iam_admin_mask(ctx)
    if not iam_admins and iam and (eff.unconditional_star & iam) == iam:
        # All of IAM on every resource, unconditionally: priv.admin reports it (critical),
        # and every path here would only restate that it can grant itself anything.
        return None
    methods, union = _method_bits(ctx)
    relevant = eff.allowed & union
    if not relevant:
        return None
    # Which methods match depends only on the relevant bits and the principal's kind, and few
    # distinct combinations occur (334 for 3,370 principals at 5k roles): match each once.
    who = eff.principal
    key = (
        relevant,
        eff.unconditional & relevant,
        eff.unconditional_star & relevant,
        who.kind,
        who.boundary is not None,
    )
    memo: dict[tuple[int, int, int, str, bool], _Matched]
    memo = ctx.cache.setdefault("escalation_hits", {})
    matched = memo.get(key)
    if matched is None:
        matched = memo[key] = _match_methods(methods, *key)
    return matched if matched.methods else None


def is_admin(ctx: Context, eff: Effective) -> bool:
    """Unconditional administrator (priv.admin with no condition: every action or all of
    IAM on every resource): what the principal graph calls admin."""
    found = (ctx.knowledge.admin_rule or admin)(ctx, eff)
    return any(not f.evidence.get("conditional") for f in found)


_RULED_OUT = "no target more privileged than the caller"


def escalation(ctx: Context, eff: Effective, is_full_admin: bool) -> list[Finding]:
    if is_full_admin:
        return []  # already administrator: escalation adds nothing to the verdict
    matched = matched_methods(ctx, eff)
    if matched is None:
        return []
    # Each policy's chosen bits, by policy id: which policies grant a chosen action is then
    # one test per policy (admin-like principals match dozens of methods, each naming the
    # policies behind its actions).
    by_policy: dict[str, int] = {}
    for g in eff.grants:
        bits = g.mask & matched.chosen
        if bits:
            by_policy[g.policy_id] = by_policy.get(g.policy_id, 0) | bits
    # As bytes: testing one bit of a 20,000-bit int allocates a big int, indexing bytes not.
    width = (matched.chosen.bit_length() + 7) // 8
    ordered = [(pid, bits.to_bytes(width, "little")) for pid, bits in sorted(by_policy.items())]
    sources = {
        bit: [pid for pid, raw in ordered if raw[at] & one] for bit, at, one in matched.bytes_at
    }
    verdicts = target_verdicts(ctx, eff.principal.id, matched)
    hits: list[dict[str, Any]] = []
    split = 0
    ruled_out: list[str] = []
    proven: list[_Match] = []
    unknown: list[_Match] = []
    levels: list[int] = []
    for i, found in enumerate(matched.methods):
        m, chosen, level = found
        paths: list[Path] | None = None
        if i < matched.confirmed:
            status = "confirmed"
            levels.append(level)
        else:
            paths = verdicts.get(m.id)
            if paths is None:
                status = "needs-target"
                unknown.append(found)
                levels.append(max(0, level - 1))
            elif not paths:
                ruled_out.append(m.id)
                continue
            else:
                status = "path"
                proven.append(found)
                # A proven path counts like a confirmed method; one that holds only under a
                # condition (trust or grant) counts as conditional.
                levels.append(0 if all(p.conditional for p in paths) else level)
        by_action = {a: sources[bit] for a, bit in chosen}
        # More than one policy behind the method's actions.
        several = len({p for ps in by_action.values() for p in ps}) > 1
        hit: dict[str, Any] = {
            "id": m.id,
            "name": m.name,
            "reference": m.reference,
            "status": status,
            "actions": by_action,
            "split_across_policies": several,
            "scope": ("conditional", "scoped resources", "resource *")[level],
        }
        if status == "needs-target":
            hit["needs_target"] = {"permission": m.target_permission, "target": m.needs_target}
        if paths:
            hit["paths"] = [p.as_dict() for p in paths]
        if m.note:
            hit["note"] = m.note
        hits.append(hit)
        split += several
    if not hits:
        return []
    confirmed = list(matched.methods[: matched.confirmed])
    graph_msg = ctx.graph is not None
    msg = _graph_message(confirmed, proven, unknown, hits) if graph_msg else matched.message
    if split:
        msg += f"; {split} method(s) combine actions from several policies"
    evidence: dict[str, Any] = {
        "confirmed": bool(confirmed or proven),
        "methods": hits,
        "policies": [pid for pid, _ in ordered],
    }
    if ruled_out:
        evidence["ruled_out"] = ruled_out
        evidence["ruled_out_reason"] = _RULED_OUT
    return [
        Finding(
            "priv.escalation",
            _RANK_SEV[max(levels)],
            eff.principal.id,
            msg,
            evidence,
            ctx.knowledge.escalation_fix,
        )
    ]


def _graph_message(
    confirmed: list[_Match], proven: list[_Match], unknown: list[_Match], hits: list[dict[str, Any]]
) -> str:
    if confirmed or proven:
        msg = f"can escalate privileges via {_names(confirmed + proven)}"
        first = next((h["paths"][0]["text"] for h in hits if h.get("paths")), None)
        if first and not confirmed:
            msg += f": {first}"
        if unknown:
            msg += f"; {len(unknown)} more path(s) need an existing target"
        return msg
    return _message([], unknown)


def target_verdicts(ctx: Context, pid: str, matched: _Matched) -> dict[str, list[Path]]:
    """For each target-dependent method the graph can judge: the paths through a target more
    privileged than the caller (shortest first; empty: every target ruled out). Methods it
    cannot judge (the target's kind was not inventoried) are absent."""
    graph = ctx.graph
    if graph is None:
        return {}
    facts = ctx.facts.get(pid)
    mine = set(facts.confirmed) if facts else set()
    out: dict[str, list[Path]] = {}
    for m, _, _ in matched.methods[matched.confirmed :]:
        if not method_resolvable(m, ctx.snapshot):
            continue
        paths = graph.paths(pid, MAX_PATHS, first=_carries(m.id))
        out[m.id] = [p for p in paths if stronger(graph, p, mine)]
    return out


def _carries(method_id: str) -> Callable[[Edge], bool]:
    return lambda e: method_id in e.methods


def stronger(graph: PrincipalGraph, path: Path, caller_confirmed: set[str]) -> bool:
    """The path's end is more privileged than the caller: admin, admin after a rewrite, or
    holding a confirmed escalation method the caller lacks."""
    last = path.edges[-1]
    if last.makes_admin:
        return True
    term = graph.terminals.get(last.target)
    if term is None:
        return False
    return term.admin or not set(term.methods) <= caller_confirmed


# priv.reachable-admin severity by steps to admin (index: steps - 1, the last for 3 or more);
# a principal whose every shortest path holds only under a condition is one step lower.
REACHABLE_SEVERITY: tuple[Severity, ...] = ("high", "high", "medium")


def reachable_admin(ctx: Context, eff: Effective) -> list[Finding]:
    """A non-admin principal that reaches admin (or a principal that can make itself admin)
    in N >= 1 steps through other principals."""
    graph = ctx.graph
    pid = eff.principal.id
    if graph is None or pid in graph.terminals:
        return []
    steps = graph.distance(pid)
    if steps is None or steps < 1:
        return []
    paths = graph.paths(pid, MAX_PATHS)
    if not paths:
        return []
    shortest = [p for p in paths if p.steps == paths[0].steps]
    conditional = all(p.conditional for p in shortest)
    rank = SEVERITY_RANK[REACHABLE_SEVERITY[min(paths[0].steps, 3) - 1]]
    if conditional:
        rank = max(SEVERITY_RANK["low"], rank - 1)
    n = paths[0].steps
    msg = f"reaches admin in {n} step{'s' if n > 1 else ''}: {paths[0].text}"
    if conditional:
        msg += " (only under conditions)"
    if len(paths) > 1:
        msg += f" (+{len(paths) - 1} more path(s))"
    return [
        Finding(
            "priv.reachable-admin",
            SEVERITIES[rank],
            pid,
            msg,
            {
                "steps": n,
                "conditional": conditional,
                "paths": [p.as_dict() for p in paths],
            },
            "Break the first edge of each path: narrow the trust policy, the sts:AssumeRole / "
            "iam:PassRole grant, or the permission on the resource that runs as the stronger "
            "role; or make the target less privileged.",
        )
    ]
