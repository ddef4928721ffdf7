"""A grant naming concrete resource ARNs becomes explicit edges to those resources (not an
open-target holder tested against every resource of the kind); answers stay the same."""

from __future__ import annotations

from typing import Any

from nhictl.creep.context import AuditOptions, Context
from nhictl.creep.effective import Expander
from nhictl.creep.engine import analyse
from nhictl.creep.graph_pass import attach_graph
from nhictl.creep.model import Resource, Snapshot
from nhictl.providers.aws.knowledge import aws_knowledge

from .conftest import NOW, allow, arn, deny, doc, export, hits, role, snapshot_of

FN = "arn:aws:lambda:eu-west-1:111122223333:function:"
LAMBDA_TRUST = doc(
    {
        "Effect": "Allow",
        "Principal": {"Service": "lambda.amazonaws.com"},
        "Action": "sts:AssumeRole",
    }
)


def _estate(*ci: dict[str, Any]) -> Snapshot:
    """role/ci with ``ci``; function deploy runs as role/admin, function logs as role/weak."""
    page = export(
        roles=[
            role("ci", doc(*ci)),
            role("admin", doc(allow("*")), trust=LAMBDA_TRUST),
            role("weak", doc(allow("logs:PutLogEvents")), trust=LAMBDA_TRUST),
        ]
    )
    snap = snapshot_of(page)
    snap.resources = [
        Resource("lambda-function", FN + "deploy", arn("role", "admin"), "111122223333"),
        Resource("lambda-function", FN + "logs", arn("role", "weak"), "111122223333"),
    ]
    snap.inventory = frozenset({"lambda-function"})
    return snap


def _graph(snap: Snapshot) -> Context:
    k = aws_knowledge()
    ctx = Context(snap, k, AuditOptions(now=NOW), Expander(k.catalog), {})
    attach_graph(ctx)
    return ctx


def _methods(snap: Snapshot) -> dict[str, Any]:
    found = hits(analyse(snap, aws_knowledge(), AuditOptions(now=NOW)), "priv.escalation", "ci")
    return {m["id"]: m for f in found for m in f.evidence["methods"]}


def test_a_named_function_running_as_admin_is_an_explicit_edge() -> None:
    snap = _estate(allow(["lambda:UpdateFunctionCode", "lambda:InvokeFunction"], FN + "deploy"))
    ctx = _graph(snap)
    assert ctx.graph is not None
    (edge,) = ctx.graph.out[arn("role", "ci")]
    assert (edge.kind, edge.target, edge.via) == ("resource", arn("role", "admin"), FN + "deploy")
    assert edge.methods == ("lambda-003", "lambda-004")  # one read of UpdateFunctionCode
    assert arn("role", "ci") not in ctx.graph.holder_keys
    assert ctx.graph.distance(arn("role", "ci")) == 1
    paths = [p["text"] for p in _methods(snap)["lambda-003"]["paths"]]
    assert paths == ["role/ci -lambda:UpdateFunctionCode-> role/admin (admin)"]


def test_naming_only_the_weak_function_rules_the_method_out() -> None:
    snap = _estate(allow("lambda:UpdateFunctionCode", FN + "logs"))
    ctx = _graph(snap)
    assert ctx.graph is not None and ctx.graph.distance(arn("role", "ci")) is None
    assert _methods(snap) == {}  # lambda-003 ruled out: its only target runs as a weak role


def test_a_denied_named_function_gives_no_edge() -> None:
    snap = _estate(
        allow("lambda:UpdateFunctionCode", [FN + "deploy", FN + "logs"]),
        deny("lambda:UpdateFunctionCode", FN + "deploy"),
    )
    ctx = _graph(snap)
    assert ctx.graph is not None
    assert [e.via for e in ctx.graph.out.get(arn("role", "ci"), [])] == [FN + "logs"]
    assert ctx.graph.distance(arn("role", "ci")) is None


def test_a_pattern_keeps_the_open_holder_and_the_same_answer() -> None:
    snap = _estate(allow("lambda:UpdateFunctionCode", [FN + "logs", FN + "dep*"]))
    ctx = _graph(snap)
    assert ctx.graph is not None
    keys = [key for key, _ in ctx.graph.holder_keys[arn("role", "ci")]]
    assert keys == ["res:lambda-function:111122223333", "res:lambda-function:"]
    assert ctx.graph.out.get(arn("role", "ci"), []) == []
    assert ctx.graph.distance(arn("role", "ci")) == 1
    assert _methods(snap)["lambda-003"]["status"] == "path"
