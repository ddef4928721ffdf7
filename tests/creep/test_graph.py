"""The principal graph on small estates with known answers: edges, distances, paths."""

from __future__ import annotations

from typing import Any

from nhictl.creep.context import AuditOptions, Context
from nhictl.creep.effective import Expander
from nhictl.creep.engine import analyse
from nhictl.creep.graph import Edge, PrincipalGraph, Terminal
from nhictl.creep.graph_pass import attach_graph
from nhictl.creep.model import Report, Resource, Snapshot
from nhictl.providers.aws.knowledge import aws_knowledge

from .conftest import NOW, allow, arn, deny, doc, export, hits, role, snapshot_of

OTHER = "444455556666"


def trust(*principals: str, service: str | None = None, **extra: Any) -> dict[str, Any]:
    sts: list[dict[str, Any]] = []
    if principals:
        sts.append(
            {"Effect": "Allow", "Principal": {"AWS": list(principals)}, "Action": "sts:AssumeRole"}
            | extra
        )
    if service:
        sts.append(
            {"Effect": "Allow", "Principal": {"Service": service}, "Action": "sts:AssumeRole"}
        )
    return doc(*sts)


def root(acct: str) -> str:
    return f"arn:aws:iam::{acct}:root"


ADMIN = doc(allow("*"))
LAMBDA = ["iam:PassRole", "lambda:CreateFunction", "lambda:InvokeFunction"]


def graph_of(snap: Snapshot) -> Context:
    k = aws_knowledge()
    ctx = Context(snap, k, AuditOptions(now=NOW), Expander(k.catalog), {})
    attach_graph(ctx)
    return ctx


def run(snap: Snapshot) -> Report:
    return analyse(snap, aws_knowledge(), AuditOptions(now=NOW))


def _texts(report: Report, rule: str, name: str) -> list[str]:
    (f,) = hits(report, rule, f"role/{name}")
    return [p["text"] for p in f.evidence["paths"]]


# -- the generic graph ------------------------------------------------------------------
def test_one_reverse_bfs_and_shortest_paths_first() -> None:
    g = PrincipalGraph()
    for n in "abcd":
        g.add_node(n, Terminal(True) if n == "d" else None)
    g.add_edge(Edge("a", "b", "assume", "assume"))
    g.add_edge(Edge("b", "c", "assume", "assume"))
    g.add_edge(Edge("c", "d", "assume", "assume"))
    g.add_edge(Edge("a", "d", "pass-role", "PassRole+x:Run", conditional=True))
    g.solve()
    assert {n: g.distance(n) for n in "abcd"} == {"a": 1, "b": 2, "c": 1, "d": 0}
    assert [p.text for p in g.paths("a")] == [
        "a -PassRole+x:Run-> d (admin)",
        "a -assume-> b -assume-> c -assume-> d (admin)",
    ]
    assert [p.text for p in g.paths("b")] == ["b -assume-> c -assume-> d (admin)"]
    # a terminal needs no path; a node that reaches nothing has none
    assert g.paths("d") == [] and g.distance("zz") is None


def test_open_targets_settle_each_holder_once() -> None:
    # 50 holders of "*" and 50 roles open to their account: no holder x role edge is made.
    g = PrincipalGraph()
    g.add_node("admin", Terminal(True))
    calls = []

    def match(target: str, detail: str, h: str = "") -> Edge | None:
        calls.append(target)
        return Edge("h", target, "assume", "assume")

    for i in range(50):
        g.add_node(f"r{i}")
        g.add_open(f"r{i}", "assume:1")
        g.add_edge(Edge(f"r{i}", "admin", "assume", "assume"))
        g.add_node(f"h{i}")
        g.add_holder("assume:1", f"h{i}", match)
    g.solve()
    assert g.edges_added == 50  # only the explicit r -> admin edges
    assert all(g.distance(f"h{i}") == 2 for i in range(50))
    assert len(calls) == 50  # every holder matched once, at the first open role visited


# -- AWS edges from the snapshot --------------------------------------------------------
def _multi_hop() -> dict[str, Any]:
    return export(
        roles=[
            role("a", doc(allow("sts:AssumeRole"))),
            role("b", doc(allow(LAMBDA)), trust=trust(arn("role", "a"))),
            role("c", ADMIN, trust=trust(service="lambda.amazonaws.com")),
        ]
    )


def test_multi_hop_path_a_to_b_to_admin() -> None:
    report = run(snapshot_of(_multi_hop()))
    assert _texts(report, "priv.reachable-admin", "a") == [
        "role/a -assume-> role/b -PassRole+lambda:CreateFunction-> role/c (admin)"
    ]
    (f,) = hits(report, "priv.reachable-admin", "role/a")
    assert f.evidence["steps"] == 2 and f.severity == "high"
    (b,) = hits(report, "priv.reachable-admin", "role/b")
    assert b.evidence["steps"] == 1


def test_two_paths_of_different_lengths_are_both_listed_shortest_first() -> None:
    page = _multi_hop()
    page["RoleDetailList"].append(role("d", ADMIN, trust=trust(root("111122223333"))))
    report = run(snapshot_of(page))
    assert _texts(report, "priv.reachable-admin", "a") == [
        "role/a -assume-> role/d (admin)",
        "role/a -assume-> role/b -PassRole+lambda:CreateFunction-> role/c (admin)",
    ]
    (f,) = hits(report, "priv.escalation", "role/a")
    (m,) = f.evidence["methods"]
    assert m["id"] == "sts-001" and m["status"] == "path"
    assert [p["steps"] for p in m["paths"]] == [1, 2]


def test_a_trust_naming_the_principal_needs_no_identity_grant() -> None:
    page = export(
        roles=[
            role("a", doc(allow("s3:GetObject"))),
            role("d", ADMIN, trust=trust(arn("role", "a"))),
        ]
    )
    ctx = graph_of(snapshot_of(page))
    assert ctx.graph is not None and ctx.graph.distance(arn("role", "a")) == 1
    # but a trust of the whole account needs the grant too
    page["RoleDetailList"][1] = role("d", ADMIN, trust=trust(root("111122223333")))
    ctx = graph_of(snapshot_of(page))
    assert ctx.graph is not None and ctx.graph.distance(arn("role", "a")) is None


def test_cross_account_assume_needs_both_sides() -> None:
    x = role("x", ADMIN, trust=trust(root("111122223333")))
    x["Arn"] = arn("role", "x", OTHER)
    ours = arn("role", "x", OTHER)
    for grant, expected in (
        (doc(allow("s3:GetObject")), None),  # trust only
        (doc(allow("sts:AssumeRole", ours)), 1),  # both sides
        (doc(allow("sts:AssumeRole", ours), deny("sts:AssumeRole", ours)), None),
        (doc(allow("sts:AssumeRole", arn("role", "other-*", OTHER))), None),
        (doc({"Effect": "Allow", "Action": "sts:AssumeRole", "NotResource": ours}), None),
    ):
        ctx = graph_of(snapshot_of(export(roles=[role("a", grant), x])))
        assert ctx.graph is not None
        assert ctx.graph.distance(arn("role", "a")) == expected, grant
    # the grant alone, without the other account's trust, is no edge either
    y = role("x", ADMIN, trust=trust(service="lambda.amazonaws.com"))
    y["Arn"] = ours
    ctx = graph_of(snapshot_of(export(roles=[role("a", doc(allow("sts:AssumeRole"))), y])))
    assert ctx.graph is not None and ctx.graph.distance(arn("role", "a")) is None


def test_conditional_trust_gives_a_conditional_edge() -> None:
    cond: dict[str, Any] = {"Condition": {"Bool": {"aws:MultiFactorAuthPresent": "true"}}}
    page = export(
        roles=[
            role("a", doc(allow("sts:AssumeRole"))),
            role("d", ADMIN, trust=trust(root("111122223333"), **cond)),
        ]
    )
    (f,) = hits(run(snapshot_of(page)), "priv.reachable-admin", "role/a")
    assert f.evidence["conditional"] is True
    assert f.severity == "medium"  # one step below the unconditional one
    assert f.message.endswith("(only under conditions)")


def test_pass_role_honours_passed_to_service() -> None:
    def with_condition(service: str) -> dict[str, Any]:
        return export(
            roles=[
                role(
                    "a",
                    doc(
                        allow(
                            "iam:PassRole",
                            Condition={"StringEquals": {"iam:PassedToService": service}},
                        ),
                        allow(["lambda:CreateFunction", "lambda:InvokeFunction"]),
                    ),
                ),
                role("c", ADMIN, trust=trust(service="lambda.amazonaws.com")),
            ]
        )

    report = run(snapshot_of(with_condition("ecs-tasks.amazonaws.com")))
    assert hits(report, "priv.escalation", "role/a") == []  # lambda-001 ruled out
    report = run(snapshot_of(with_condition("lambda.amazonaws.com")))
    (f,) = hits(report, "priv.escalation", "role/a")
    (m,) = f.evidence["methods"]
    assert m["status"] == "path" and m["paths"][0]["conditional"] is False


def _function_estate(runs_as: str) -> Snapshot:
    page = export(
        roles=[
            role("ci", doc(allow("lambda:UpdateFunctionCode"))),
            role("admin", ADMIN, trust=trust(service="lambda.amazonaws.com")),
            role("weak", doc(allow("logs:PutLogEvents")), trust=trust(service="x.amazonaws.com")),
        ]
    )
    snap = snapshot_of(page)
    fn = "arn:aws:lambda:eu-west-1:111122223333:function:deploy"
    snap.resources = [Resource("lambda-function", fn, arn("role", runs_as), "111122223333")]
    snap.inventory = frozenset({"lambda-function"})
    return snap


def test_existing_function_running_as_admin_is_a_path() -> None:
    report = run(_function_estate("admin"))
    (f,) = hits(report, "priv.escalation", "role/ci")
    (m,) = f.evidence["methods"]
    assert m["id"] == "lambda-003" and m["status"] == "path"
    assert m["paths"][0]["text"] == "role/ci -lambda:UpdateFunctionCode-> role/admin (admin)"
    assert m["paths"][0]["edges"][0]["via"].endswith(":function:deploy")


def test_function_running_as_a_weaker_role_is_ruled_out() -> None:
    report = run(_function_estate("weak"))
    assert hits(report, "priv.escalation", "role/ci") == []
    assert hits(report, "priv.reachable-admin", "role/ci") == []


def test_a_kind_not_inventoried_stays_needs_target() -> None:
    snap = _function_estate("admin")
    snap.inventory = frozenset()
    (f,) = hits(run(snap), "priv.escalation", "role/ci")
    (m,) = f.evidence["methods"]
    assert m["status"] == "needs-target"
    assert m["needs_target"]["permission"] == "lambda:UpdateFunctionCode"


def test_user_credentials_and_rewrites_are_principal_edges() -> None:
    page = export(
        roles=[role("a", doc(allow("iam:CreateAccessKey")))],
        users=[
            {
                "Path": "/",
                "UserName": "root-ish",
                "UserId": "AIDAX",
                "Arn": arn("user", "root-ish"),
                "CreateDate": "2024-01-01T00:00:00Z",
                "GroupList": [],
                "UserPolicyList": [{"PolicyName": "p", "PolicyDocument": ADMIN}],
                "AttachedManagedPolicies": [],
            }
        ],
    )
    assert _texts(run(snapshot_of(page)), "priv.reachable-admin", "a") == [
        "role/a -iam:CreateAccessKey-> user/root-ish (admin)"
    ]
    page["RoleDetailList"] = [
        role("a", doc(allow(["iam:PutRolePolicy", "iam:UpdateAssumeRolePolicy"]))),
        role("b", doc(allow("s3:GetObject"))),
    ]
    page["UserDetailList"] = []
    (f,) = hits(run(snapshot_of(page)), "priv.escalation", "role/a")
    by_id = {m["id"]: m for m in f.evidence["methods"]}
    assert by_id["iam-021"]["paths"][0]["text"] == (
        "role/a -iam:PutRolePolicy+iam:UpdateAssumeRolePolicy-> role/b (admin after rewrite)"
    )
