"""The first pass of an audit: every principal's graph facts, then the solved graph.

Target-dependent escalation methods can only be judged once every principal's facts are known,
so this runs before the per-principal rules. It keeps only ``PrincipalFacts`` (admin flag,
method ids, a few permissions' resource patterns): the bitsets are dropped at once, and the
second pass's ``effective_for`` is cheap because the Expander has every document cached.
"""

from __future__ import annotations

import time
from dataclasses import dataclass

from nhictl.creep.context import Context
from nhictl.creep.effective import Expander, effective_for
from nhictl.creep.graph import PrincipalGraph
from nhictl.creep.graph_build import build_graph, graph_enabled
from nhictl.creep.graph_facts import FactReader, PrincipalFacts
from nhictl.creep.rules.privilege import is_admin, matched_methods


@dataclass(frozen=True, slots=True)
class GraphCost:
    """What building the graph cost: seconds of the facts pass and of the build + BFS."""

    facts_s: float
    build_s: float
    nodes: int
    edges: int
    open_targets: int
    holders: int
    reach_admin: int  # nodes at distance >= 1


def graph_facts(ctx: Context) -> dict[str, PrincipalFacts]:
    """Facts of every principal that can act (service-linked roles only serve their service)."""
    reader = FactReader(ctx.knowledge)
    snapshot = ctx.snapshot
    out: dict[str, PrincipalFacts] = {}
    for pid in sorted(snapshot.principals):
        p = snapshot.principals[pid]
        if p.kind == "service-linked-role":
            continue
        eff = effective_for(p, snapshot, ctx.expander)
        admin = is_admin(ctx, eff)
        # With fixes to write, an admin's own methods too: it ends every path anyway, but its
        # outgoing edges tell the fix check what its least-privilege fix (no longer admin) must
        # not keep. Only then: on a broad 5,000-role estate they are 59,000 of 61,000 edges and
        # cost ~3 s, and no finding reads them.
        wanted = ctx.options.remediate or not admin
        matched = matched_methods(ctx, eff, iam_admins=True) if wanted else None
        confirmed: tuple[str, ...] = ()
        held: tuple[str, ...] = ()
        if matched is not None:
            ids = tuple(m.id for m, _, _ in matched.methods)
            confirmed, held = ids[: matched.confirmed], ids
        out[pid] = reader.read(eff, snapshot, ctx.expander, admin, confirmed, held)
    return out


def attach_graph(ctx: Context) -> GraphCost | None:
    """Build the graph onto ``ctx`` (``ctx.graph``, ``ctx.facts``) when the provider supports
    it; returns what it cost."""
    if not graph_enabled(ctx.knowledge):
        return None
    t0 = time.perf_counter()
    grown_from = ctx.catalog.all_mask
    facts = graph_facts(ctx)
    if ctx.catalog.all_mask is not grown_from:
        # Unknown actions joined the catalog while documents were expanded: documents expanded
        # before that hold "svc:*" without them. The rules judge every principal against the
        # final catalog instead, whatever the order (a fresh Expander re-expands them once).
        ctx.expander = Expander(ctx.catalog)
    t1 = time.perf_counter()
    graph: PrincipalGraph = build_graph(ctx.snapshot, ctx.knowledge, facts)
    t2 = time.perf_counter()
    ctx.graph, ctx.facts = graph, facts
    return GraphCost(
        t1 - t0,
        t2 - t1,
        len(graph.nodes),
        graph.edges_added,
        graph.open_count,
        graph.holder_count,
        sum(1 for d in graph.dist.values() if d >= 1),
    )
