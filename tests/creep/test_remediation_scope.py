"""No Resource "*" in a fix where the manifest names resources; say so where nothing does."""

from __future__ import annotations

from typing import Any

from nhictl.creep.model import Declaration
from nhictl.creep.remediation.resources import arn_service, named_resources, resources_for

from .conftest import RECENT, allow, arn, audit, doc, export, la_resp, role, svc_row

TABLE = "arn:aws:dynamodb:eu-west-1:111122223333:table/tickets"
QUEUE = "arn:aws:sqs:eu-west-1:111122223333:inbox"
BUCKET, OBJECTS = "arn:aws:s3:::reports", "arn:aws:s3:::reports/*"


def _by_action(rem: dict[str, Any]) -> dict[str, Any]:
    return {a: st["Resource"] for st in rem["policy"]["Statement"] for a in st["Action"]}


def test_manifest_star_is_narrowed_per_service() -> None:
    # support-triage's shape: the manifest lists ARNs *and* "*"; the grant is "*" throughout,
    # except sqs, which the grant already scopes to its own queues.
    page = export(
        roles=[
            role(
                "triage",
                doc(
                    allow(["dynamodb:*", "s3:GetObject", "s3:ListBucket", "bedrock:InvokeModel"]),
                    allow("sqs:*", "arn:aws:sqs:eu-west-1:111122223333:support-*"),
                    allow("cloudwatch:PutMetricData"),
                ),
            )
        ]
    )
    actions = (
        "dynamodb:GetItem",
        "dynamodb:Query",
        "s3:GetObject",
        "s3:ListBucket",
        "sqs:ReceiveMessage",
        "bedrock:InvokeModel",
        "cloudwatch:PutMetricData",
    )
    decl = Declaration(
        "triage", arn("role", "triage"), actions, (TABLE, QUEUE, BUCKET, OBJECTS, "*")
    )
    rem = audit(page, declarations=[decl]).remediations[arn("role", "triage")]
    res = _by_action(rem)
    assert res["dynamodb:GetItem"] == res["dynamodb:Query"] == TABLE
    assert res["s3:GetObject"] == res["s3:ListBucket"] == [BUCKET, OBJECTS]
    # the grant's own resources where they are already specific (never widened to the manifest)
    assert res["sqs:ReceiveMessage"] == "arn:aws:sqs:eu-west-1:111122223333:support-*"
    assert res["bedrock:InvokeModel"] == "*"  # takes a resource, none named: unscoped
    assert res["cloudwatch:PutMetricData"] == "*"  # takes no resource: "*" is right
    assert rem["resources_narrowed"] == 4
    assert rem["unscoped"] == [
        {
            "service": "bedrock",
            "actions": ["bedrock:InvokeModel"],
            "reason": "resource scope could not be narrowed: no declared or used resource "
            "for bedrock",
        }
    ]
    assert "*" not in [r for r in res.values() if isinstance(r, list) for r in r]


def test_a_grant_pattern_is_narrowed_to_the_named_resources_it_covers() -> None:
    # sqs on two patterns: support-* covers the manifest's support-inbox (narrowed to it),
    # audit-* covers nothing named (kept as granted); s3 on reports/* stays as granted: the
    # manifest names no s3 resource.
    inbox = "arn:aws:sqs:eu-west-1:111122223333:support-inbox"
    other = "arn:aws:sqs:eu-west-1:111122223333:billing-inbox"  # named, not inside the grant
    page = export(
        roles=[
            role(
                "triage",
                doc(
                    allow(
                        ["sqs:ReceiveMessage", "sqs:DeleteMessage", "sqs:SendMessage"],
                        [
                            "arn:aws:sqs:eu-west-1:111122223333:support-*",
                            "arn:aws:sqs:eu-west-1:111122223333:audit-*",
                        ],
                    ),
                    allow("s3:GetObject", OBJECTS),
                ),
            )
        ]
    )
    actions = ("sqs:ReceiveMessage", "sqs:DeleteMessage", "s3:GetObject")
    decl = Declaration("triage", arn("role", "triage"), actions, (inbox, other, "*"))
    rem = audit(page, declarations=[decl]).remediations[arn("role", "triage")]
    res = _by_action(rem)
    expected = [inbox, "arn:aws:sqs:eu-west-1:111122223333:audit-*"]
    assert res["sqs:ReceiveMessage"] == res["sqs:DeleteMessage"] == expected
    assert res["s3:GetObject"] == OBJECTS
    assert "sqs:SendMessage" not in res  # not declared
    assert rem["resources_narrowed"] == 2


def test_a_concrete_grant_resource_is_never_replaced() -> None:
    # the grant names the queue itself: the manifest's other queue never widens it
    queue = "arn:aws:sqs:eu-west-1:111122223333:support-inbox"
    page = export(roles=[role("r", doc(allow("sqs:ReceiveMessage", queue)))])
    decl = Declaration("r", arn("role", "r"), ("sqs:ReceiveMessage",), (QUEUE,))
    rem = audit(page, declarations=[decl]).remediations[arn("role", "r")]
    assert rem["skipped"] == "nothing to remove" and rem["resources_narrowed"] == 0


def test_no_resources_named_reports_every_scopable_service() -> None:
    page = export(roles=[role("r", doc(allow(["s3:GetObject", "sqs:SendMessage", "sns:Publish"])))])
    la = {
        arn("role", "r"): la_resp(
            svc_row("s3", RECENT), svc_row("sqs", RECENT), svc_row("sns", None)
        )
    }
    rem = audit(page, last_accessed=la).remediations[arn("role", "r")]
    assert rem["resources_narrowed"] == 0
    assert [(u["service"], u["actions"]) for u in rem["unscoped"]] == [
        ("s3", ["s3:GetObject"]),
        ("sqs", ["sqs:SendMessage"]),
    ]


def test_arn_services() -> None:
    assert arn_service(OBJECTS) == "s3" and arn_service("*") is None
    assert arn_service("arn:aws:iam::1:role/x") == "iam" and arn_service("bucket") is None
    named = named_resources([TABLE, "*", TABLE, "arn:aws:iam::111122223333:role/deploy"])
    assert named == {"dynamodb": [TABLE], "iam": ["arn:aws:iam::111122223333:role/deploy"]}
    # STS assumes IAM roles: sts:AssumeRole narrows to the role ARNs
    assert resources_for("sts", named) == ["arn:aws:iam::111122223333:role/deploy"]
    assert resources_for("lambda", named) == []
