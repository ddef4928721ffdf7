"""What a least-privilege fix may grant: never an escalation method or admin equivalence.

``secure_target`` takes the set of actions a proposal would keep and returns what it may keep as
plain grants, the actions it may keep only with a narrower Resource/Condition, and the actions
left out for a human to decide, each with the method it would have completed.
"""

from __future__ import annotations

from collections.abc import Iterable
from dataclasses import dataclass, field
from typing import TYPE_CHECKING, Any

from nhictl.creep.graph import Path
from nhictl.creep.graph_build import method_resolvable
from nhictl.creep.graph_facts import Scope
from nhictl.creep.knowledge import EscalationMethod
from nhictl.creep.model import RESOURCE_KINDS
from nhictl.creep.rules.privilege import ADMIN_SHARE, iam_admin_mask, stronger

if TYPE_CHECKING:
    from nhictl.creep.context import Context
    from nhictl.creep.effective import Effective

# Services whose own actions never need a role passed to them.
_IDENTITY_SERVICES = frozenset({"iam", "sts"})


@dataclass(slots=True)
class SafeTarget:
    """The safe part of a proposal.

    ``keep``: actions (bitset) the fix may grant as the current grant scopes them;
    ``scoped``: action name -> the statement body (``Resource``, ``Condition``) it may be granted
    with instead (e.g. iam:PassRole on the roles it may pass, with iam:PassedToService);
    ``review``: actions left out, each ``{"action", "methods", "reason"}``;
    ``removed``: ids of the escalation methods (or "admin") the fix no longer grants.
    """

    keep: int
    scoped: dict[str, dict[str, Any]] = field(default_factory=dict)
    review: list[dict[str, Any]] = field(default_factory=list)
    removed: list[str] = field(default_factory=list)


def secure_target(ctx: Context, eff: Effective, target: int, used: int | None) -> SafeTarget:
    """``target``: what the proposal would keep; ``used``: the actions seen used (None when
    unknown).

    Admin equivalence (all of the provider's ``iam_admin`` set, or nearly every action, on
    every resource) is never kept. For each escalation method ``target`` would complete (a
    method whose every target the graph rules out is none): actions not seen used are left
    out; when all were used, the pivot permission is scoped to the targets that are not more
    privileged than the caller (iam:PassRole with iam:PassedToService, the existing
    resources, the roles to assume) or, where nothing safe is known, left out for review.
    An iam:PassRole kept otherwise is limited to the services the principal used.
    """
    out = SafeTarget(target)
    _drop_admin(ctx, eff, out, used)
    for m, actions in _completed(ctx, eff, out.keep):
        _break(ctx, eff, out, m, actions, used)
    _scope_plain_pass(ctx, eff, out, used)
    return out


def completes(ctx: Context, m: EscalationMethod, mask: int) -> bool:
    """Whether ``mask`` (a bitset of actions) holds one action of every group of ``m``."""
    return all(any(mask & _bit(ctx, a) for a in group) for group in m.requires)


def grants_admin(ctx: Context, eff: Effective, mask: int) -> bool:
    """Whether ``mask``, as the principal's grants scope it on every resource unconditionally,
    is admin equivalence (all of ``iam_admin``, or nearly every action)."""
    iam = iam_admin_mask(ctx)
    star = mask & eff.unconditional_star
    everything = star.bit_count() >= ADMIN_SHARE * ctx.catalog.all_mask.bit_count()
    return bool(iam) and (everything or (star & iam) == iam)


def trust_only_paths(ctx: Context, pid: str) -> list[Path]:
    """Paths to admin whose first edge no fix of ``pid``'s own policies can break: a stronger
    role's trust names ``pid`` in its own account, where AWS needs no sts:AssumeRole grant."""
    graph = ctx.graph
    # by_trust edges are explicit: most principals have none, and walk nothing
    if graph is None or not any(e.by_trust for e in graph.out.get(pid, ())):
        return []
    return graph.paths(pid, first=lambda e: e.by_trust)


def _bit(ctx: Context, action: str) -> int:
    i = ctx.catalog.index(action)
    return 0 if i is None else 1 << i


def _drop_admin(ctx: Context, eff: Effective, out: SafeTarget, used: int | None) -> None:
    if not grants_admin(ctx, eff, out.keep):
        return
    iam = iam_admin_mask(ctx)
    # Keep the IAM actions actually used; the rest of the set goes, so the fix is not admin.
    dropped = iam & out.keep & ~(used or 0)
    if (iam & out.keep & ~dropped) == iam:  # every IAM action was used: a human decides
        dropped = iam & out.keep
    out.keep &= ~dropped
    out.removed.append("admin")
    out.review.append(
        {
            "action": ", ".join(ctx.knowledge.iam_admin),
            "methods": ["admin"],
            "reason": f"administrator equivalence: {dropped.bit_count()} IAM action(s) left out",
        }
    )


def _completed(ctx: Context, eff: Effective, keep: int) -> list[tuple[EscalationMethod, list[str]]]:
    """Escalation methods every group of which ``keep`` holds, that really escalate: confirmed
    for the principal, or a target-dependent one the graph cannot rule out."""
    p = eff.principal
    out: list[tuple[EscalationMethod, list[str]]] = []
    for m, groups in _method_bits(ctx):
        actions: list[str] = []
        for group in groups:
            held = [a for a, bit in group if keep & bit]
            if not held:
                break
            actions.extend(held)
        else:
            if m.confirmed_for(p.kind, p.boundary is not None) or _not_ruled_out(ctx, p.id, m):
                out.append((m, actions))
    return out


def _method_bits(
    ctx: Context,
) -> list[tuple[EscalationMethod, list[list[tuple[str, int]]]]]:
    """Every escalation method with its groups' (action, bit) pairs, once per run."""
    found = ctx.cache.get("fix_safety.methods")
    if found is None:
        found = [
            (m, [[(a, _bit(ctx, a)) for a in group] for group in m.requires])
            for m in ctx.knowledge.escalation
        ]
        ctx.cache["fix_safety.methods"] = found
    return found


@dataclass(slots=True)
class _Trusts:
    """Who each principal's trust lets in, indexed once per run: by service, by the
    principal it names, by account, and anyone."""

    service: dict[str, list[str]] = field(default_factory=dict)
    principal: dict[str, list[str]] = field(default_factory=dict)
    account: dict[str, list[str]] = field(default_factory=dict)
    anyone: list[str] = field(default_factory=list)


def _trusts(ctx: Context) -> _Trusts:
    found = ctx.cache.get("fix_safety.trusts")
    if isinstance(found, _Trusts):
        return found
    out = _Trusts()
    for q in ctx.snapshot.principals.values():
        for t in q.trust:
            if t.kind == "service":
                bucket = out.service.setdefault(t.value, [])
            elif t.kind == "principal":
                bucket = out.principal.setdefault(t.value, [])
            elif t.kind == "account" and t.account:
                bucket = out.account.setdefault(t.account, [])
            elif t.kind == "any":
                bucket = out.anyone
            else:
                continue
            if not bucket or bucket[-1] != q.id:
                bucket.append(q.id)
    ctx.cache["fix_safety.trusts"] = out
    return out


def _not_ruled_out(ctx: Context, pid: str, m: EscalationMethod) -> bool:
    graph = ctx.graph
    if graph is None or not method_resolvable(m, ctx.snapshot):
        return True  # unknown target: treat as an escalation
    facts = ctx.facts.get(pid)
    # An admin's fix leaves out its IAM methods: judge targets as a caller without them.
    mine = set(facts.confirmed) if facts and not facts.admin else set()
    paths = graph.paths(pid, 1, first=lambda e: m.id in e.methods)
    return any(stronger(graph, path, mine) for path in paths)


def _weaker(ctx: Context, pid: str) -> bool:
    """Not more privileged than any caller: reaches no admin through the graph."""
    return ctx.graph is not None and ctx.graph.distance(pid) is None


def _break(
    ctx: Context,
    eff: Effective,
    out: SafeTarget,
    m: EscalationMethod,
    actions: list[str],
    used: int | None,
) -> None:
    unused = [a for a in actions if not (used or 0) & _bit(ctx, a)]
    if unused:  # leave out what was not seen used: the method is no longer complete
        for a in unused:
            out.keep &= ~_bit(ctx, a)
            out.scoped.pop(a, None)
        out.removed.append(m.id)
        return
    pivot, body, reason = _safe_scope(ctx, eff, m, actions)
    out.keep &= ~_bit(ctx, pivot)
    if body is not None:
        prev = out.scoped.get(pivot)
        out.scoped[pivot] = body if prev is None else _merge(prev, body)
    else:
        out.scoped.pop(pivot, None)
        out.review.append({"action": pivot, "methods": [m.id], "reason": reason})
    out.removed.append(m.id)


def _safe_scope(
    ctx: Context, eff: Effective, m: EscalationMethod, actions: list[str]
) -> tuple[str, dict[str, Any] | None, str]:
    """(pivot action, the statement body that makes the method safe or None, why not)."""
    k = ctx.knowledge
    facts = ctx.facts.get(eff.principal.id)
    snap = ctx.snapshot
    me = eff.principal
    if m.edge == "pass-role" and k.pass_permission in actions and facts is not None:
        roles = passable_roles(ctx, eff, m.passed_to)
        if roles:
            cond = {"StringEquals": {k.passed_to_key: sorted(m.passed_to)}}
            return k.pass_permission, {"Resource": roles, "Condition": cond}, ""
        return k.pass_permission, None, "no role it may pass to the service is less privileged"
    if m.target_kind in RESOURCE_KINDS and m.target_permission in actions:
        if m.target_kind not in snap.inventory:
            return m.target_permission, None, f"{m.target_kind} not inventoried: targets unknown"
        ids = sorted(
            r.id
            for r in snap.resources
            if r.kind == m.target_kind
            and r.account in ("", me.account)
            and _weaker(ctx, r.runs_as)
            and (facts is None or facts.grant_on(m.target_permission, r.id) is not None)
        )
        if ids:
            return m.target_permission, {"Resource": ids}, ""
        return m.target_permission, None, f"every {m.target_kind} runs as a stronger role"
    if m.edge == "assume" and ctx.graph is not None:
        roles = sorted(
            rid
            for rid in _assume_targets(ctx, me.id)
            if _weaker(ctx, rid)
            and (facts is None or facts.grant_on(k.assume_permission, rid) is not None)
        )
        if roles:
            return k.assume_permission, {"Resource": roles}, ""
        return k.assume_permission, None, "every role it may assume is more privileged"
    pivot = m.target_permission if m.target_permission in actions else actions[0]
    return pivot, None, "no scope makes this method safe"


def passable_roles(ctx: Context, eff: Effective, services: Iterable[str]) -> list[str]:
    """Roles of the principal's account that trust one of ``services``, are not more privileged
    than any caller, and that its grant lets it pass to that service."""
    k = ctx.knowledge
    facts = ctx.facts.get(eff.principal.id)
    me = eff.principal
    wanted = frozenset(services)
    if facts is None:
        return []
    weaker = _weaker_trusting(ctx, me.account, wanted)
    if _everywhere(facts.allow.get(k.pass_permission, ())) and not facts.deny.get(
        k.pass_permission
    ):  # PassRole on "*" without a condition: every one of them (as grant_on would say)
        return [qid for qid in weaker if qid != me.id]
    return [
        qid
        for qid in weaker
        if qid != me.id
        and any(
            facts.grant_on(k.pass_permission, qid, k.passed_to_key, s) is not None for s in wanted
        )
    ]


def _everywhere(scopes: Iterable[Scope]) -> bool:
    return any(sc.resources == ("*",) and not sc.condition for sc in scopes)


def _weaker_trusting(ctx: Context, account: str, services: frozenset[str]) -> list[str]:
    """The roles of ``account`` trusting one of ``services`` that reach no admin, sorted; once
    per (account, services) in a run."""
    memo: dict[tuple[str, frozenset[str]], list[str]] = ctx.cache.setdefault(
        "fix_safety.weaker_trusting", {}
    )
    found = memo.get((account, services))
    if found is None:
        trusts = _trusts(ctx).service
        principals = ctx.snapshot.principals
        found = sorted(
            {
                qid
                for s in services
                for qid in trusts.get(s, ())
                if principals[qid].account == account and _weaker(ctx, qid)
            }
        )
        memo[(account, services)] = found
    return found


def _assume_targets(ctx: Context, pid: str) -> list[str]:
    """Roles whose trust lets ``pid`` assume them (named, its account, or anyone)."""
    me = ctx.snapshot.principals[pid]
    trusts = _trusts(ctx)
    found = [*trusts.anyone, *trusts.account.get(me.account, ()), *trusts.principal.get(pid, ())]
    return [qid for qid in dict.fromkeys(found) if qid != pid]


def _merge(a: dict[str, Any], b: dict[str, Any]) -> dict[str, Any]:
    out = dict(a)
    out["Resource"] = sorted(set(a.get("Resource", [])) | set(b.get("Resource", [])))
    ca, cb = a.get("Condition"), b.get("Condition")
    if ca and cb:
        (op, tests), (_, other) = next(iter(ca.items())), next(iter(cb.items()))
        out["Condition"] = {op: {k: sorted(set(tests[k]) | set(other.get(k, []))) for k in tests}}
    else:
        out.pop("Condition", None)  # one side unconditional: the union is too
    return out


def _scope_plain_pass(ctx: Context, eff: Effective, out: SafeTarget, used: int | None) -> None:
    """An iam:PassRole the fix keeps as granted: only to the services the principal used."""
    k = ctx.knowledge
    pass_bit = _bit(ctx, k.pass_permission) if k.pass_permission else 0
    if not pass_bit or not out.keep & pass_bit:
        return
    out.keep &= ~pass_bit
    services: set[str] = set()
    if used is not None and k.service_principal is not None:
        for svc, part in eff.per_service.items():
            if part & used and svc not in _IDENTITY_SERVICES:
                services.add(k.service_principal(svc))
    if not services:
        out.review.append(
            {
                "action": k.pass_permission,
                "methods": [],
                "reason": "no service use seen: cannot tell which services it passes roles to",
            }
        )
        return
    # Only the roles it could pass today that are no stronger than any caller: a later
    # CreateFunction-style grant then cannot turn this PassRole into an escalation.
    roles = passable_roles(ctx, eff, services)
    if not roles:
        out.review.append(
            {
                "action": k.pass_permission,
                "methods": [],
                "reason": "no role trusting " + ", ".join(sorted(services)) + " is both passable "
                "and less privileged",
            }
        )
        return
    out.scoped[k.pass_permission] = {
        "Resource": roles if len(roles) > 1 else roles[0],
        "Condition": {"StringEquals": {k.passed_to_key: sorted(services)}},
    }
