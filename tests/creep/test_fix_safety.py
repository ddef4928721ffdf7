"""secure_target on its own: a fix never re-grants an escalation method or admin."""

from __future__ import annotations

from typing import Any

from nhictl.creep.context import AuditOptions, Context
from nhictl.creep.effective import Expander, effective_for
from nhictl.creep.fix_safety import SafeTarget, passable_roles, secure_target
from nhictl.creep.graph_pass import attach_graph
from nhictl.creep.model import Resource
from nhictl.providers.aws.knowledge import aws_knowledge

from .conftest import NOW, allow, arn, deny, doc, export, role, snapshot_of

LAMBDA = ["iam:PassRole", "lambda:CreateFunction", "lambda:InvokeFunction"]
LAMBDA_TRUST = doc(
    {
        "Effect": "Allow",
        "Principal": {"Service": "lambda.amazonaws.com"},
        "Action": "sts:AssumeRole",
    }
)


def _secure(
    page: dict[str, Any], who: str, keep: list[str], used: list[str] | None, **snap_extra: Any
) -> tuple[SafeTarget, Context]:
    snap = snapshot_of(page)
    for field, value in snap_extra.items():
        setattr(snap, field, value)
    k = aws_knowledge()
    ctx = Context(snap, k, AuditOptions(now=NOW), Expander(k.catalog), {})
    attach_graph(ctx)
    eff = effective_for(snap.principals[arn("role", who)], snap, ctx.expander)
    cat = k.catalog

    def mask(names: list[str]) -> int:
        m = 0
        for n in names:
            m |= cat.expand(n)
        return m

    return secure_target(ctx, eff, mask(keep), None if used is None else mask(used)), ctx


def _names(ctx: Context, mask: int) -> set[str]:
    return set(ctx.catalog.names(mask))


def _estate(extra: list[dict[str, Any]]) -> dict[str, Any]:
    return export(roles=[role("ci", doc(allow(LAMBDA))), *extra])


def test_unused_action_of_a_method_is_left_out() -> None:
    page = _estate([role("admin", doc(allow("*")), trust=LAMBDA_TRUST)])
    out, ctx = _secure(page, "ci", LAMBDA, ["lambda:CreateFunction", "lambda:InvokeFunction"])
    assert _names(ctx, out.keep) == {"lambda:CreateFunction", "lambda:InvokeFunction"}
    assert "lambda-001" in out.removed and "iam:PassRole" not in out.scoped


def test_a_used_pass_role_is_scoped_to_weaker_roles_with_passed_to_service() -> None:
    # The fix would otherwise re-grant PassRole on "*": the admin role trusting lambda is the
    # target. Only the weak role is kept, and only for Lambda.
    page = _estate(
        [
            role("admin", doc(allow("*")), trust=LAMBDA_TRUST),
            role("weak", doc(allow("logs:PutLogEvents")), trust=LAMBDA_TRUST),
        ]
    )
    out, ctx = _secure(page, "ci", LAMBDA, LAMBDA)
    assert "iam:PassRole" not in _names(ctx, out.keep)
    assert out.scoped["iam:PassRole"] == {
        "Resource": [arn("role", "weak")],
        "Condition": {"StringEquals": {"iam:PassedToService": ["lambda.amazonaws.com"]}},
    }
    assert {"lambda-001", "lambda-002", "lambda-006"} & set(out.removed) == {"lambda-001"}


def test_nothing_safe_to_pass_goes_to_review() -> None:
    page = _estate([role("admin", doc(allow("*")), trust=LAMBDA_TRUST)])
    out, ctx = _secure(page, "ci", LAMBDA, LAMBDA)
    assert "iam:PassRole" not in _names(ctx, out.keep) and "iam:PassRole" not in out.scoped
    assert out.review == [
        {
            "action": "iam:PassRole",
            "methods": ["lambda-001"],
            "reason": "no role it may pass to the service is less privileged",
        }
    ]


def test_a_method_whose_targets_are_all_ruled_out_is_kept() -> None:
    page = _estate([role("weak", doc(allow("logs:PutLogEvents")), trust=LAMBDA_TRUST)])
    out, ctx = _secure(page, "ci", ["lambda:CreateFunction", "lambda:InvokeFunction"], LAMBDA)
    assert _names(ctx, out.keep) == {"lambda:CreateFunction", "lambda:InvokeFunction"}
    assert out.removed == [] and out.review == []


def test_update_function_code_is_scoped_to_functions_of_weaker_roles() -> None:
    page = export(
        roles=[
            role("ci", doc(allow("lambda:UpdateFunctionCode"))),
            role("admin", doc(allow("*")), trust=LAMBDA_TRUST),
            role("weak", doc(allow("logs:PutLogEvents")), trust=LAMBDA_TRUST),
        ]
    )
    fn = "arn:aws:lambda:eu-west-1:111122223333:function:"
    res = [
        Resource("lambda-function", fn + "prod", arn("role", "admin"), "111122223333"),
        Resource("lambda-function", fn + "docs", arn("role", "weak"), "111122223333"),
    ]
    inv = frozenset({"lambda-function"})
    kept = ["lambda:UpdateFunctionCode"]
    out, _ = _secure(page, "ci", kept, kept, resources=res, inventory=inv)
    assert out.scoped["lambda:UpdateFunctionCode"] == {"Resource": [fn + "docs"]}
    # not inventoried: no safe scope is known
    out, _ = _secure(page, "ci", kept, kept, resources=[], inventory=frozenset())
    assert out.review[0]["action"] == "lambda:UpdateFunctionCode"
    assert "not inventoried" in out.review[0]["reason"]


def test_admin_equivalence_is_never_kept() -> None:
    page = export(roles=[role("ops", doc(allow("iam:*")))])
    out, ctx = _secure(page, "ops", ["iam:*"], ["iam:GetRole"])
    assert _names(ctx, out.keep) == {"iam:GetRole"}
    assert "admin" in out.removed


ECS_TRUST = doc(
    {
        "Effect": "Allow",
        "Principal": {"Service": "ecs-tasks.amazonaws.com"},
        "Action": "sts:AssumeRole",
    }
)


def test_a_plain_pass_role_is_limited_to_the_services_used_and_weaker_roles() -> None:
    page = export(
        roles=[
            role("app", doc(allow(["iam:PassRole", "ecs:RunTask"]))),
            role("task", doc(allow("s3:GetObject")), trust=ECS_TRUST),
            role("ops", doc(allow("*")), trust=ECS_TRUST),  # admin: never passable by the fix
            role("fn", doc(allow("s3:GetObject")), trust=LAMBDA_TRUST),  # a service not used
        ]
    )
    out, _ = _secure(page, "app", ["iam:PassRole", "ecs:RunTask"], ["iam:PassRole", "ecs:RunTask"])
    assert out.scoped["iam:PassRole"] == {
        "Resource": arn("role", "task"),
        "Condition": {"StringEquals": {"iam:PassedToService": ["ecs-tasks.amazonaws.com"]}},
    }


def test_a_plain_pass_role_with_only_stronger_roles_goes_to_review() -> None:
    page = export(
        roles=[
            role("app", doc(allow(["iam:PassRole", "ecs:RunTask"]))),
            role("ops", doc(allow("*")), trust=ECS_TRUST),
        ]
    )
    out, ctx = _secure(
        page, "app", ["iam:PassRole", "ecs:RunTask"], ["iam:PassRole", "ecs:RunTask"]
    )
    assert "iam:PassRole" not in out.scoped and "iam:PassRole" not in _names(ctx, out.keep)
    assert [r["action"] for r in out.review] == ["iam:PassRole"]
    assert "less privileged" in out.review[0]["reason"]


def test_passable_roles_on_star_honours_a_deny_and_a_passed_to_service_condition() -> None:
    # PassRole on "*" (every weaker role trusting lambda, the indexed fast path), the same with
    # a Deny on one of them, and PassRole limited to EC2: known answers for each.
    weak = [
        role(n, doc(allow("logs:PutLogEvents")), trust=LAMBDA_TRUST) for n in ("w1", "w2", "w3")
    ]
    admin = role("admin", doc(allow("*")), trust=LAMBDA_TRUST)
    to_ec2 = {"Condition": {"StringEquals": {"iam:PassedToService": "ec2.amazonaws.com"}}}
    page = export(
        roles=[
            role("star", doc(allow("iam:PassRole")), trust=ECS_TRUST),
            role(
                "denied",
                doc(allow("iam:PassRole"), deny("iam:PassRole", arn("role", "w2"))),
                trust=ECS_TRUST,
            ),
            role("ec2", doc(allow("iam:PassRole", **to_ec2)), trust=ECS_TRUST),
            admin,
            *weak,
        ]
    )
    snap = snapshot_of(page)
    k = aws_knowledge()
    ctx = Context(snap, k, AuditOptions(now=NOW), Expander(k.catalog), {})
    attach_graph(ctx)

    def passable(who: str) -> list[str]:
        eff = effective_for(snap.principals[arn("role", who)], snap, ctx.expander)
        return [r.rsplit("/", 1)[-1] for r in passable_roles(ctx, eff, ["lambda.amazonaws.com"])]

    assert passable("star") == ["w1", "w2", "w3"]  # never admin, never itself
    assert passable("denied") == ["w1", "w3"]
    assert passable("ec2") == []
    # the trust index and the weaker roles per (account, services) are built once per run
    assert {"fix_safety.trusts", "fix_safety.weaker_trusting"} <= set(ctx.cache)
