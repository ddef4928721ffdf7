"""The principal graph: who can become whom, and how far every principal is from admin.

Cloud-agnostic: nodes are principal ids; a provider's builder (``graph_build``) adds the edges.
Two kinds of edges keep the graph near-linear in principals:

- explicit edges (a trust naming its caller, an exact-ARN grant, one rewrite edge per holder);
- open targets: a role trusting a whole account (or a service, or every principal) accepts
  *any* holder of a matching grant. Materialising those would be holders x trusting roles
  (n^2 when many hold ``sts:AssumeRole`` on ``*``); instead each open target lists its keys
  and each holder registers under a key with a matcher, and the reverse BFS visits each
  holder once (a holder that matches is settled and leaves the key's pending list).

Terminals (distance 0) are admins and principals holding a confirmed escalation method; an edge
marked ``makes_admin`` (rewrite a role's trust and policies, a user's policy) ends a path by
itself. Distances come from ONE multi-source reverse BFS; paths walk next hops forward (A*,
the exact distance as heuristic), shortest first, several per principal (PMapper#117 returns
only the first).
"""

from __future__ import annotations

import heapq
from collections.abc import Callable, Iterator
from dataclasses import dataclass, field

MAX_PATHS = 3
# Bounds on the forward walk for one principal: open targets tried per key, and partial paths
# expanded, so a principal with "*" grants over thousands of targets costs a constant.
_HOPS_PER_KEY = 8
_MAX_EXPANSIONS = 200


@dataclass(frozen=True, slots=True)
class Edge:
    """One way ``source`` acts as ``target``.

    ``kind``: "assume", "pass-role", "resource" (acts through an existing resource that runs as
    the target), "credentials" (takes over a user's credentials), "rewrite" (rewrites the
    target's trust or policies), "group". ``label``: the text between the arrows. ``via``: the
    resource or service the edge goes through. ``makes_admin``: the target becomes whatever the
    source writes, so the edge reaches admin on its own. ``by_trust``: the target's trust alone
    lets the source in (it names the source, in the source's own account), so no change to the
    source's own policies breaks the edge.
    """

    source: str
    target: str
    kind: str
    label: str
    methods: tuple[str, ...] = ()
    permissions: tuple[str, ...] = ()
    via: str = ""
    conditional: bool = False
    makes_admin: bool = False
    by_trust: bool = False

    def as_dict(self) -> dict[str, object]:
        out: dict[str, object] = {
            "from": self.source,
            "to": self.target,
            "kind": self.kind,
            "methods": list(self.methods),
            "permissions": list(self.permissions),
            "conditional": self.conditional,
        }
        if self.via:
            out["via"] = self.via
        if self.makes_admin:
            out["makes_admin"] = True
        if self.by_trust:
            out["by_trust"] = True
        return out


# A holder's matcher: (target, detail of the open entry) -> the edge, or None when its grant
# does not reach that target.
Matcher = Callable[[str, str], "Edge | None"]


@dataclass(frozen=True, slots=True)
class Terminal:
    """Why a node ends a path: admin, or it can make itself admin (confirmed methods)."""

    admin: bool
    methods: tuple[str, ...] = ()

    def suffix(self) -> str:
        if self.admin:
            return " (admin)"
        return f" (escalates via {', '.join(self.methods[:3])})"


@dataclass(slots=True)
class Path:
    """A path from a principal to a terminal, shortest first when listed."""

    edges: tuple[Edge, ...]
    text: str

    @property
    def steps(self) -> int:
        return len(self.edges)

    @property
    def conditional(self) -> bool:
        return any(e.conditional for e in self.edges)

    def as_dict(self) -> dict[str, object]:
        return {
            "text": self.text,
            "steps": self.steps,
            "conditional": self.conditional,
            "edges": [e.as_dict() for e in self.edges],
        }


def tail_name(pid: str) -> str:
    """The default short name: the text after the last ":"."""
    return pid.rsplit(":", 1)[-1] or pid


@dataclass(slots=True)
class PrincipalGraph:
    """Nodes, edges, terminals; ``solve`` computes every node's distance to a terminal."""

    short_name: Callable[[str], str] = tail_name
    terminals: dict[str, Terminal] = field(default_factory=dict)
    out: dict[str, list[Edge]] = field(default_factory=dict)
    into: dict[str, list[Edge]] = field(default_factory=dict)
    # target -> [(key, detail)]; key -> [(holder, matcher)]
    open_entries: dict[str, list[tuple[str, str]]] = field(default_factory=dict)
    holders: dict[str, list[tuple[str, Matcher]]] = field(default_factory=dict)
    holder_keys: dict[str, list[tuple[str, Matcher]]] = field(default_factory=dict)
    dist: dict[str, int] = field(default_factory=dict)
    # After solve: key -> [(target, detail)] of open entries whose target has a distance,
    # nearest first (the forward walk reads these instead of every open target).
    reachable_open: dict[str, list[tuple[str, str]]] = field(default_factory=dict)
    nodes: set[str] = field(default_factory=set)
    edges_added: int = 0

    def add_node(self, pid: str, terminal: Terminal | None = None) -> None:
        self.nodes.add(pid)
        if terminal is not None:
            self.terminals[pid] = terminal

    def add_edge(self, edge: Edge) -> None:
        self.out.setdefault(edge.source, []).append(edge)
        self.into.setdefault(edge.target, []).append(edge)
        self.edges_added += 1

    def add_open(self, target: str, key: str, detail: str = "") -> None:
        """``target`` accepts any holder registered under ``key`` whose matcher says so."""
        self.open_entries.setdefault(target, []).append((key, detail))

    def add_holder(self, key: str, pid: str, matcher: Matcher) -> None:
        self.holders.setdefault(key, []).append((pid, matcher))
        self.holder_keys.setdefault(pid, []).append((key, matcher))

    @property
    def open_count(self) -> int:
        return sum(len(v) for v in self.open_entries.values())

    @property
    def holder_count(self) -> int:
        return sum(len(v) for v in self.holders.values())

    # -- distances ---------------------------------------------------------------------------
    def solve(self) -> None:
        """One multi-source reverse BFS from every terminal (and every makes_admin edge)."""
        dist: dict[str, int] = dict.fromkeys(self.terminals, 0)
        frontier = list(self.terminals)
        seeds = [
            e.source
            for edges in self.out.values()
            for e in edges
            if e.makes_admin and e.source not in dist
        ]
        pending = {k: list(v) for k, v in self.holders.items()}
        level = 0
        while frontier or seeds:
            nxt: list[str] = []
            if level == 0:
                for s in seeds:
                    if s not in dist:
                        dist[s] = 1
                        nxt.append(s)
                seeds = []
            for node in frontier:
                for e in self.into.get(node, ()):
                    if e.source not in dist:
                        dist[e.source] = level + 1
                        nxt.append(e.source)
                for key, detail in self.open_entries.get(node, ()):
                    waiting = pending.get(key)
                    if not waiting:
                        continue
                    kept: list[tuple[str, Matcher]] = []
                    for holder, match in waiting:
                        if holder in dist:
                            continue  # settled through another key or edge: never again
                        if holder != node and match(node, detail) is not None:
                            dist[holder] = level + 1
                            nxt.append(holder)
                        else:
                            kept.append((holder, match))
                    pending[key] = kept
            frontier = nxt
            level += 1
        self.dist = dist
        reach: dict[str, list[tuple[int, str, str]]] = {}
        for target, entries in self.open_entries.items():
            d = dist.get(target)
            if d is None:
                continue
            for key, detail in entries:
                reach.setdefault(key, []).append((d, target, detail))
        self.reachable_open = {k: [(t, det) for _, t, det in sorted(v)] for k, v in reach.items()}

    def distance(self, pid: str) -> int | None:
        return self.dist.get(pid)

    # -- walking forward ---------------------------------------------------------------------
    def next_hops(self, pid: str) -> Iterator[Edge]:
        """Edges from ``pid`` to nodes that reach a terminal (explicit first, then open
        targets nearest first, a bounded number per key)."""
        dist = self.dist
        for e in self.out.get(pid, ()):
            if e.makes_admin or e.target in dist:
                yield e
        for key, match in self.holder_keys.get(pid, ()):
            found = 0
            for target, detail in self.reachable_open.get(key, ()):
                if target == pid:
                    continue
                hop = match(target, detail)
                if hop is not None:
                    yield hop
                    found += 1
                    if found >= _HOPS_PER_KEY:
                        break

    def paths(
        self, pid: str, k: int = MAX_PATHS, first: Callable[[Edge], bool] | None = None
    ) -> list[Path]:
        """Up to ``k`` simple paths from ``pid`` to a terminal, shortest first (conditional
        ones after unconditional ones of the same length). ``first``: only paths whose first
        edge passes it."""
        dist = self.dist
        if pid in self.terminals and first is None:
            return []
        out: list[Path] = []
        seen: set[tuple[Edge, ...]] = set()
        counter = 0
        heap: list[tuple[int, int, int, tuple[Edge, ...]]] = []

        def push(path: tuple[Edge, ...]) -> None:
            nonlocal counter
            last = path[-1]
            h = 0 if last.makes_admin else dist.get(last.target, 0)
            cond = sum(e.conditional for e in path)
            counter += 1
            heapq.heappush(heap, (len(path) + h, cond, counter, path))

        for e in self.next_hops(pid):
            if first is None or first(e):
                push((e,))
        expansions = 0
        while heap and len(out) < k and expansions < _MAX_EXPANSIONS:
            _, _, _, path = heapq.heappop(heap)
            expansions += 1
            last = path[-1]
            if last.makes_admin or last.target in self.terminals:
                key = tuple(path)
                if key not in seen:
                    seen.add(key)
                    out.append(Path(path, self.text(path)))
                continue
            visited = {pid, *(e.target for e in path)}
            for e in self.next_hops(last.target):
                if e.target not in visited:
                    push((*path, e))
        return out

    def text(self, path: tuple[Edge, ...]) -> str:
        """``A -assume-> B -PassRole+lambda:CreateFunction-> C (admin)``."""
        if not path:
            return ""
        parts = [self.short_name(path[0].source)]
        parts.extend(f" -{e.label}-> {self.short_name(e.target)}" for e in path)
        last = path[-1]
        if last.makes_admin:
            parts.append(" (admin after rewrite)")
        else:
            term = self.terminals.get(last.target)
            if term is not None:
                parts.append(term.suffix())
        return "".join(parts)
