"""Edges of the principal graph from the common model (trust entries, resources, grants).

Reads only the snapshot, the knowledge's permission names and each principal's facts, so a
provider plugs in by filling ``ProviderKnowledge.assume_permission`` / ``pass_permission`` /
``passed_to_key`` and ``EscalationMethod.edge``. Both sides of every edge are checked:

- assume A->B: B's trust names A (same account: enough), A's account or anyone, AND, unless the
  trust names A in its own account, A holds the assume permission on B (NotResource, Deny);
- pass-role A->B via S: A may pass B (honouring the passed-to-service condition), B trusts the
  service S, and A holds the other actions of a pass-role method whose ``passed_to`` has S;
- resource A->B via R: A holds a method whose target kind is R's and its target permission on
  R, and R runs as B (only for kinds the snapshot's inventory lists);
- takeover / rewrite A->B: A holds every action of a principal-access method on B (B's ARN or
  a policy attached to B); a method that also needs the assume permission needs B's trust too.
  A rewrite makes B whatever A writes: the edge reaches admin by itself.
"""

from __future__ import annotations

from collections.abc import Iterable
from dataclasses import dataclass, field

from nhictl.creep.graph import Edge, PrincipalGraph, Terminal, tail_name
from nhictl.creep.graph_facts import PrincipalFacts
from nhictl.creep.knowledge import EscalationMethod, ProviderKnowledge
from nhictl.creep.model import RESOURCE_KINDS, Principal, Resource, Snapshot, TrustEntry

_COND = "cond"  # open-entry detail: the target's side holds only under a condition
_REWRITE_TARGETS = 3  # explicit rewrite edges kept per holder (one is enough to reach admin)


def graph_enabled(knowledge: ProviderKnowledge) -> bool:
    return bool(knowledge.assume_permission)


def method_resolvable(m: EscalationMethod, snapshot: Snapshot) -> bool:
    """True when the graph can say whether the method's target exists: roles and users are
    always listed; an existing resource only when its kind's listing was in the input."""
    if m.edge:
        return True
    return m.target_kind in RESOURCE_KINDS and m.target_kind in snapshot.inventory


def _trusts_assume(t: TrustEntry, assume: str) -> bool:
    if not t.actions:
        return True
    svc = assume.split(":", 1)[0]
    return any(a in ("*", f"{svc}:*") or a.lower() == assume.lower() for a in t.actions)


@dataclass(slots=True)
class GraphBuilder:
    snapshot: Snapshot
    knowledge: ProviderKnowledge
    facts: dict[str, PrincipalFacts]
    graph: PrincipalGraph = field(init=False)
    methods: dict[str, EscalationMethod] = field(init=False)
    by_name: dict[tuple[str, str, str], str] = field(init=False)
    # Roles by the key their trust opens them to (account, "*"); roles trusting each principal.
    open_roles: dict[str, list[tuple[str, bool]]] = field(default_factory=dict)
    named_trust: dict[str, list[tuple[str, bool]]] = field(default_factory=dict)
    # Listed resources that run as a principal of the graph, by id.
    resources_by_id: dict[str, list[Resource]] = field(default_factory=dict)
    # (methods held, edge kind) -> those methods: principals share few distinct method sets.
    held_cache: dict[tuple[tuple[str, ...], str], list[EscalationMethod]] = field(
        default_factory=dict
    )

    def __post_init__(self) -> None:
        self.graph = PrincipalGraph(self.knowledge.short_name or tail_name)
        self.methods = {m.id: m for m in self.knowledge.escalation}
        self.by_name = {}
        for p in self.snapshot.principals.values():
            self.by_name[(p.account, p.kind, p.name)] = p.id

    # -- helpers -----------------------------------------------------------------------------
    def _principal_ref(self, value: str) -> str | None:
        """A trust entry's principal ARN -> the snapshot's id (paths may differ)."""
        if value in self.snapshot.principals:
            return value
        parts = value.split(":", 5)
        if len(parts) != 6:
            return None
        kind, _, rest = parts[5].partition("/")
        return self.by_name.get((parts[4], kind, rest.rsplit("/", 1)[-1]))

    def _held(self, f: PrincipalFacts, edge: str) -> list[EscalationMethod]:
        key = (f.held, edge)
        found = self.held_cache.get(key)
        if found is None:
            found = [m for mid in f.held if (m := self.methods[mid]).edge == edge]
            self.held_cache[key] = found
        return found

    def _covers_all(
        self, f: PrincipalFacts, actions: Iterable[str], target: Principal
    ) -> bool | None:
        """Whether ``f`` holds every action on ``target`` (its ARN or an attached policy);
        None when one is missing, else whether only under a condition."""
        cond = False
        for a in actions:
            g = f.grant_on(a, target.id)
            if g is None:
                for att in target.attachments:
                    if att.inherited_from is None and "#" not in att.policy_id:
                        g = f.grant_on(a, att.policy_id)
                        if g is not None:
                            break
            if g is None:
                return None
            cond = cond or g
        return cond

    # -- build -------------------------------------------------------------------------------
    def build(self) -> PrincipalGraph:
        graph = self.graph
        for pid, f in self.facts.items():
            term = None
            if f.admin or f.confirmed:
                term = Terminal(f.admin, () if f.admin else f.confirmed)
            graph.add_node(pid, term)
        self._trust_entries()
        self._resources()
        for pid, f in self.facts.items():
            p = self.snapshot.principals[pid]
            self._assume_holder(f, p)
            self._pass_holder(f)
            self._resource_holder(f)
            self._principal_access(f, p)
        graph.solve()
        return graph

    def _trust_entries(self) -> None:
        assume = self.knowledge.assume_permission
        graph = self.graph
        for p in self.snapshot.principals.values():
            if p.id not in self.facts:
                continue
            if p.kind == "role":
                graph.add_open(p.id, f"role:{p.account}")
            elif p.kind == "user":
                graph.add_open(p.id, f"user:{p.account}")
            for t in p.trust:
                cond = bool(t.condition)
                detail = _COND if cond else ""
                if t.kind == "service":
                    graph.add_open(p.id, f"pass:{t.value}", detail)
                    continue
                if not _trusts_assume(t, assume):
                    continue
                if t.kind == "any":
                    graph.add_open(p.id, "assume:*", detail)
                    self.open_roles.setdefault("assume:*", []).append((p.id, cond))
                elif t.kind == "account" and t.account:
                    key = f"assume:{t.account}"
                    graph.add_open(p.id, key, detail)
                    self.open_roles.setdefault(key, []).append((p.id, cond))
                elif t.kind == "principal":
                    src = self._principal_ref(t.value)
                    if src is None or src not in self.facts or src == p.id:
                        continue
                    self.named_trust.setdefault(src, []).append((p.id, cond))
                    a = self.facts[src]
                    if a.account == p.account:  # the trust alone is enough
                        granted = a.grant_on(assume, p.id) is not None
                        graph.add_edge(self._assume_edge(a, p.id, cond, granted, by_trust=True))
                    else:
                        g = a.grant_on(assume, p.id)
                        if g is not None:
                            graph.add_edge(self._assume_edge(a, p.id, cond or g))

    def _assume_edge(
        self,
        a: PrincipalFacts,
        target: str,
        conditional: bool,
        granted: bool = True,
        by_trust: bool = False,
    ) -> Edge:
        methods = tuple(m.id for m in self._held(a, "assume")) if granted else ()
        return Edge(
            a.id,
            target,
            "assume",
            "assume",
            methods,
            (self.knowledge.assume_permission,),
            conditional=conditional,
            by_trust=by_trust,
        )

    def _assume_holder(self, f: PrincipalFacts, p: Principal) -> None:
        assume = self.knowledge.assume_permission
        if assume not in f.allow:
            return

        def match(target: str, detail: str) -> Edge | None:
            g = f.grant_on(assume, target)
            if g is None:
                return None
            return self._assume_edge(f, target, g or detail == _COND)

        for key in (f"assume:{f.account}", "assume:*"):
            self.graph.add_holder(key, f.id, match)

    def _pass_holder(self, f: PrincipalFacts) -> None:
        pass_perm, key_name = self.knowledge.pass_permission, self.knowledge.passed_to_key
        held = self._held(f, "pass-role")
        if not held or pass_perm not in f.allow:
            return
        services = sorted({s for m in held for s in m.passed_to})
        for svc in services:
            ms = [m for m in held if svc in m.passed_to]
            others = [a for g in ms[0].requires for a in g[:1] if a != pass_perm]
            label = "+".join([pass_perm.split(":", 1)[-1], *others[:1]])

            def match(
                target: str,
                detail: str,
                svc: str = svc,
                ms: list[EscalationMethod] = ms,
                label: str = label,
            ) -> Edge | None:
                t = self.snapshot.principals.get(target)
                if t is None or t.account != f.account:
                    return None  # a role is passed within its own account
                g = f.grant_on(pass_perm, target, key_name, svc)
                if g is None:
                    return None
                perms = sorted({a for m in ms for grp in m.requires for a in grp[:1]})
                return Edge(
                    f.id,
                    target,
                    "pass-role",
                    label,
                    tuple(m.id for m in ms),
                    tuple(perms),
                    via=svc,
                    conditional=g or detail == _COND,
                )

            self.graph.add_holder(f"pass:{svc}", f.id, match)

    def _resource_holder(self, f: PrincipalFacts) -> None:
        inventory = self.snapshot.inventory
        by_kind: dict[str, list[EscalationMethod]] = {}
        for mid in f.held:
            m = self.methods[mid]
            if not m.edge and m.target_kind in inventory and m.target_kind in RESOURCE_KINDS:
                by_kind.setdefault(m.target_kind, []).append(m)
        for kind, ms in by_kind.items():
            perms = sorted({m.target_permission for m in ms})

            def match(
                target: str, rid: str, ms: list[EscalationMethod] = ms, perms: list[str] = perms
            ) -> Edge | None:
                # Methods share a target permission (lambda-003/004/005): read each once.
                granted = {a: g for a in perms if (g := f.grant_on(a, rid)) is not None}
                hit = [m for m in ms if m.target_permission in granted]
                if not hit:
                    return None
                names = sorted(granted)
                return Edge(
                    f.id,
                    target,
                    "resource",
                    "+".join(names),
                    tuple(m.id for m in hit),
                    tuple(names),
                    via=rid,
                    conditional=all(granted.values()),
                )

            named = self._named_resources(f, perms)
            if named is not None:
                # Only concrete ARNs: explicit edges to those resources, so the BFS does not
                # test this holder against every resource of the kind it reaches.
                for rid in named:
                    for r in self.resources_by_id.get(rid, ()):
                        mine = r.kind == kind and r.account in (f.account, "")
                        if mine and r.runs_as != f.id and (edge := match(r.runs_as, r.id)):
                            self.graph.add_edge(edge)
                continue
            for key in (f"res:{kind}:{f.account}", f"res:{kind}:"):
                self.graph.add_holder(key, f.id, match)

    @staticmethod
    def _named_resources(f: PrincipalFacts, perms: Iterable[str]) -> set[str] | None:
        """The resources ``f``'s grants of ``perms`` name, when every grant names concrete
        ARNs only (None: a wildcard or NotResource, so any resource may match)."""
        named: set[str] = set()
        for a in perms:
            for scope in f.allow.get(a, ()):
                if not scope.exact:
                    return None
                named.update(scope.resources)
        return named

    def _resources(self) -> None:
        inventory = self.snapshot.inventory
        for r in self.snapshot.resources:
            if r.kind in inventory and r.runs_as in self.facts:
                self.graph.add_open(r.runs_as, f"res:{r.kind}:{r.account}", r.id)
                self.resources_by_id.setdefault(r.id, []).append(r)

    def _principal_access(self, f: PrincipalFacts, p: Principal) -> None:
        assume = self.knowledge.assume_permission
        for edge_kind in ("takeover", "rewrite"):
            for m in self._held(f, edge_kind):
                actions = [g[0] for g in m.requires]
                needs_trust = assume in actions
                writes = [a for a in actions if a != assume]
                kind = "user" if m.target_kind == "iam-user" else "role"
                label = "+".join(actions)
                if edge_kind == "takeover":
                    self._takeover_holder(f, m, writes, kind, label)
                else:
                    self._rewrite_edges(f, m, writes, kind, label, needs_trust)

    def _takeover_holder(
        self, f: PrincipalFacts, m: EscalationMethod, writes: list[str], kind: str, label: str
    ) -> None:
        def match(target: str, detail: str) -> Edge | None:
            t = self.snapshot.principals.get(target)
            if t is None:
                return None
            g = self._covers_all(f, writes, t)
            if g is None:
                return None
            return Edge(
                f.id,
                target,
                "credentials" if kind == "user" else "rewrite",
                label,
                (m.id,),
                tuple(writes),
                conditional=g,
            )

        self.graph.add_holder(f"{kind}:{f.account}", f.id, match)

    def _rewrite_edges(
        self,
        f: PrincipalFacts,
        m: EscalationMethod,
        writes: list[str],
        kind: str,
        label: str,
        needs_trust: bool,
    ) -> None:
        """A few explicit edges: any one target the holder can rewrite makes it admin."""
        assume = self.knowledge.assume_permission
        if needs_trust:
            candidates: Iterable[tuple[str, bool]] = [
                *self.named_trust.get(f.id, ()),
                *self.open_roles.get(f"assume:{f.account}", ()),
                *self.open_roles.get("assume:*", ()),
            ]
        else:
            candidates = (
                (q.id, False)
                for q in self.snapshot.principals.values()
                if q.kind == kind and q.account == f.account and q.id in self.facts
            )
        found = 0
        for tid, trust_cond in candidates:
            t = self.snapshot.principals.get(tid)
            if t is None or tid == f.id or t.kind != kind:
                continue
            g = self._covers_all(f, writes, t)
            if g is None:
                continue
            if needs_trust:
                a = f.grant_on(assume, tid)
                named = (tid, trust_cond) in self.named_trust.get(f.id, ()) and (
                    t.account == f.account
                )
                if a is None and not named:
                    continue
                g = g or bool(a) or trust_cond
            self.graph.add_edge(
                Edge(
                    f.id,
                    tid,
                    "rewrite",
                    label,
                    (m.id,),
                    tuple(writes),
                    conditional=g,
                    makes_admin=True,
                )
            )
            found += 1
            if found >= _REWRITE_TARGETS:
                break


def build_graph(
    snapshot: Snapshot, knowledge: ProviderKnowledge, facts: dict[str, PrincipalFacts]
) -> PrincipalGraph:
    """The solved graph over ``facts`` (every principal the first pass read)."""
    return GraphBuilder(snapshot, knowledge, facts).build()
