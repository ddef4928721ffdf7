"""What a fix says about the escalations it removes, and about the paths it cannot close."""

from __future__ import annotations

from typing import Any

from nhictl.creep.context import AuditOptions, Context
from nhictl.creep.effective import Expander
from nhictl.creep.engine import analyse
from nhictl.creep.graph_pass import attach_graph
from nhictl.creep.model import Resource
from nhictl.providers.aws.knowledge import aws_knowledge

from .conftest import (
    ACCT,
    NOW,
    OLD,
    RECENT,
    allow,
    arn,
    audit,
    doc,
    export,
    hits,
    la_resp,
    role,
    snapshot_of,
    svc_row,
)

OTHER = "444455556666"


def _trust_naming(who: str) -> dict[str, Any]:
    return doc({"Effect": "Allow", "Principal": {"AWS": who}, "Action": "sts:AssumeRole"})


def _assume_estate(caller: str) -> dict[str, Any]:
    """role/agent holds sts:AssumeRole on role/admin (every action), whose trust names
    ``caller``; role/agent used its AssumeRole (sts tracked at action level)."""
    return export(
        roles=[
            role("agent", doc(allow("sts:AssumeRole", arn("role", "admin")))),
            role("admin", doc(allow("*")), trust=_trust_naming(caller)),
        ]
    )


USED_STS = {arn("role", "agent"): la_resp(svc_row("sts", RECENT, {"AssumeRole": RECENT}))}


def test_a_trust_naming_the_caller_in_its_account_is_a_by_trust_edge() -> None:
    snap = snapshot_of(_assume_estate(arn("role", "agent")))
    k = aws_knowledge()
    ctx = Context(snap, k, AuditOptions(now=NOW), Expander(k.catalog), {})
    attach_graph(ctx)
    assert ctx.graph is not None
    (edge,) = ctx.graph.out[arn("role", "agent")]
    assert (edge.kind, edge.by_trust, edge.methods) == ("assume", True, ("sts-001",))
    assert edge.as_dict()["by_trust"] is True


def test_a_path_the_callers_fix_cannot_close_is_remaining_not_removed() -> None:
    report = audit(_assume_estate(arn("role", "agent")), last_accessed=USED_STS)
    rem = report.remediations[arn("role", "agent")]
    # the AssumeRole grant is left for review (every role it may assume is stronger) ...
    assert [r["action"] for r in rem["review"]] == ["sts:AssumeRole"]
    # ... but that does not remove the escalation: admin's trust names role/agent itself
    assert rem["escalations_removed"] == []
    (left,) = rem["remaining"]
    assert left["path"] == "role/agent -assume-> role/admin (admin)"
    assert left["steps"] == 1
    assert left["reason"].startswith("the trust policy of role/admin names role/agent in its own")
    (reach,) = hits(report, "priv.reachable-admin", "role/agent")
    assert [p["text"] for p in reach.evidence["paths"]] == [left["path"]]


def test_a_trust_naming_the_callers_account_needs_the_grant_so_the_fix_removes_it() -> None:
    # admin trusts the whole account: the grant is what lets role/agent in; removing it closes
    # the path, so sts-001 is removed and nothing remains.
    report = audit(_assume_estate(f"arn:aws:iam::{ACCT}:root"), last_accessed=USED_STS)
    rem = report.remediations[arn("role", "agent")]
    assert rem["escalations_removed"] == ["sts-001"]
    assert rem["remaining"] == []


def test_a_named_trust_from_another_account_needs_the_grant_too() -> None:
    page = export(
        roles=[
            role("agent", doc(allow("sts:AssumeRole", arn("role", "admin", OTHER)))),
            {
                **role("admin", doc(allow("*")), trust=_trust_naming(arn("role", "agent"))),
                "Arn": arn("role", "admin", OTHER),
            },
        ]
    )
    report = audit(page, last_accessed=USED_STS)
    rem = report.remediations[arn("role", "agent")]
    assert rem["escalations_removed"] == ["sts-001"] and rem["remaining"] == []


def test_methods_dropped_with_unused_actions_are_listed_as_removed() -> None:
    # role/ci holds lambda-001 (PassRole + CreateFunction + InvokeFunction) and lambda-003/004
    # (UpdateFunctionCode [+ InvokeFunction]) toward role/admin; it used none of the lambda
    # writes, so its fix keeps neither method: all three are removed, not only the one the
    # escalation check itself had to break.
    page = export(
        roles=[
            role(
                "ci",
                doc(
                    allow(
                        [
                            "iam:PassRole",
                            "lambda:CreateFunction",
                            "lambda:InvokeFunction",
                            "lambda:UpdateFunctionCode",
                            "lambda:GetFunction",
                        ]
                    )
                ),
            ),
            role("admin", doc(allow("*"))),  # trusts lambda.amazonaws.com (the default)
        ]
    )
    snap_la = {
        arn("role", "ci"): la_resp(
            svc_row(
                "lambda",
                RECENT,
                {
                    "GetFunction": RECENT,
                    "CreateFunction": None,
                    "InvokeFunction": None,
                    "UpdateFunctionCode": None,
                },
            ),
            svc_row("iam", OLD, {"PassRole": None}),
        )
    }
    report = audit(page, last_accessed=snap_la)
    (esc,) = hits(report, "priv.escalation", "role/ci")
    reported = [m["id"] for m in esc.evidence["methods"]]
    assert reported == ["lambda-001", "lambda-003", "lambda-004"]
    rem = report.remediations[arn("role", "ci")]
    assert rem["actions_after"] == 1  # lambda:GetFunction
    assert rem["escalations_removed"] == reported
    assert rem["escalations_scoped"] == [] and rem["review"] == [] and rem["remaining"] == []


def test_an_admins_fix_does_not_keep_its_paths_to_other_admins() -> None:
    # role/ops is an admin (every action) that used sts:AssumeRole and
    # lambda:UpdateFunctionCode. Its fix is no longer admin, so what those reach matters:
    # role/other (admin) trusts the account, function deploy runs as role/other, function
    # logs as the weak role/weak. The graph once gave an admin no outgoing edges (it ends
    # every path), and the fix kept both actions on "*".
    fn = "arn:aws:lambda:eu-west-1:111122223333:function:"
    lambda_trust = doc(
        {"Effect": "Allow", "Principal": {"Service": "lambda.amazonaws.com"},
         "Action": "sts:AssumeRole"},
        {"Effect": "Allow", "Principal": {"AWS": f"arn:aws:iam::{ACCT}:root"},
         "Action": "sts:AssumeRole"},
    )  # fmt: skip
    page = export(
        roles=[
            role("ops", doc(allow("*"))),
            role("other", doc(allow("*")), trust=lambda_trust),
            role("weak", doc(allow("logs:PutLogEvents"))),
        ]
    )
    la = {
        arn("role", "ops"): la_resp(
            svc_row("sts", RECENT, {"AssumeRole": RECENT}),
            svc_row("lambda", RECENT, {"UpdateFunctionCode": RECENT, "GetFunction": RECENT}),
        )
    }
    snap = snapshot_of(page, la)
    snap.resources = [
        Resource("lambda-function", fn + "deploy", arn("role", "other"), ACCT),
        Resource("lambda-function", fn + "logs", arn("role", "weak"), ACCT),
    ]
    snap.inventory = frozenset({"lambda-function"})
    report = analyse(snap, aws_knowledge(), AuditOptions(now=NOW, remediate=True))
    rem = report.remediations[arn("role", "ops")]
    by_action: dict[str, Any] = {}
    for st in rem["policy"]["Statement"]:
        for a in st["Action"]:
            by_action[a] = st["Resource"]
    assert "sts:AssumeRole" not in by_action  # every role it may assume is an admin
    assert [r["action"] for r in rem["review"]][-1] == "sts:AssumeRole"
    assert by_action["lambda:UpdateFunctionCode"] == [fn + "logs"]  # not the admin's function
    assert by_action["lambda:GetFunction"] == "*"
    assert {"admin", "sts-001", "lambda-003"} <= set(rem["escalations_removed"])
    assert rem["escalations_scoped"] == ["lambda:UpdateFunctionCode"]
