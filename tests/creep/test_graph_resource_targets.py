"""The target-dependent paths of the DataDog/pathfinding.cloud catalog that act on an existing
resource: found when a listed resource runs as a stronger role, ruled out when every listed
one runs as a weaker role, needs-target when the kind was not listed."""

from __future__ import annotations

from typing import Any

import pytest

from nhictl.creep.context import AuditOptions
from nhictl.creep.engine import analyse
from nhictl.creep.model import Resource, Snapshot
from nhictl.providers.aws.knowledge import aws_knowledge

from .conftest import ACCT, NOW, allow, arn, doc, export, hits, role, snapshot_of

REGION = "eu-west-1"
# method id, its permissions, resource kind, a resource ARN of that kind, the service it trusts
CASES = [
    (
        "codebuild-002",
        ["codebuild:StartBuild"],
        "codebuild-project",
        f"arn:aws:codebuild:{REGION}:{ACCT}:project/build",
        "codebuild.amazonaws.com",
    ),
    (
        "cloudformation-002",
        ["cloudformation:UpdateStack"],
        "cloudformation-stack",
        f"arn:aws:cloudformation:{REGION}:{ACCT}:stack/app/0a1b",
        "cloudformation.amazonaws.com",
    ),
    (
        "apprunner-002",
        ["apprunner:UpdateService"],
        "apprunner-service",
        f"arn:aws:apprunner:{REGION}:{ACCT}:service/web/0a1b",
        "tasks.apprunner.amazonaws.com",
    ),
    (
        "ssm-001",
        ["ssm:StartSession"],
        "ec2-instance",
        f"arn:aws:ec2:{REGION}:{ACCT}:instance/i-0a1b2c3d",
        "ec2.amazonaws.com",
    ),
]


def _trust(service: str) -> dict[str, object]:
    return doc({"Effect": "Allow", "Principal": {"Service": service}, "Action": "sts:AssumeRole"})


def _estate(actions: list[str], kind: str, rid: str, service: str, runs_as: str) -> Snapshot:
    """role/caller holds ``actions`` on every resource; one ``kind`` resource runs as
    role/``runs_as`` (role/admin: every action; role/weak: one log action)."""
    page = export(
        roles=[
            role("caller", doc(allow(actions))),
            role("admin", doc(allow("*")), trust=_trust(service)),
            role("weak", doc(allow("logs:PutLogEvents")), trust=_trust(service)),
        ]
    )
    snap = snapshot_of(page)
    snap.resources = [Resource(kind, rid, arn("role", runs_as), ACCT)]
    snap.inventory = frozenset({kind})
    return snap


def _method(snap: Snapshot, mid: str) -> dict[str, Any] | None:
    report = analyse(snap, aws_knowledge(), AuditOptions(now=NOW))
    found = hits(report, "priv.escalation", "role/caller")
    methods = {m["id"]: m for f in found for m in f.evidence["methods"]}
    return methods.get(mid)


@pytest.mark.parametrize(("mid", "actions", "kind", "rid", "service"), CASES)
def test_existing_resource_running_as_a_stronger_role_is_a_path(
    mid: str, actions: list[str], kind: str, rid: str, service: str
) -> None:
    snap = _estate(actions, kind, rid, service, "admin")
    m = _method(snap, mid)
    assert m is not None and m["status"] == "path"
    (path,) = m["paths"]
    assert path["text"] == f"role/caller -{actions[0]}-> role/admin (admin)"
    assert path["edges"][0]["kind"] == "resource" and path["edges"][0]["via"] == rid
    report = analyse(snap, aws_knowledge(), AuditOptions(now=NOW))
    (reach,) = hits(report, "priv.reachable-admin", "role/caller")
    assert reach.evidence["steps"] == 1


@pytest.mark.parametrize(("mid", "actions", "kind", "rid", "service"), CASES)
def test_existing_resource_running_as_a_weaker_role_is_ruled_out(
    mid: str, actions: list[str], kind: str, rid: str, service: str
) -> None:
    snap = _estate(actions, kind, rid, service, "weak")
    assert _method(snap, mid) is None
    report = analyse(snap, aws_knowledge(), AuditOptions(now=NOW))
    assert hits(report, "priv.reachable-admin", "role/caller") == []


@pytest.mark.parametrize(("mid", "actions", "kind", "rid", "service"), CASES)
def test_kind_not_listed_needs_a_target(
    mid: str, actions: list[str], kind: str, rid: str, service: str
) -> None:
    snap = _estate(actions, kind, rid, service, "admin")
    snap.resources, snap.inventory = [], frozenset()
    m = _method(snap, mid)
    assert m is not None and m["status"] == "needs-target"
