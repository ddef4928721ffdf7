"""Builders for small authorization-details exports and one-call audits."""

from __future__ import annotations

import copy
from datetime import UTC, datetime
from typing import Any

import pytest

from nhictl.creep.context import AuditOptions
from nhictl.creep.engine import analyse
from nhictl.creep.exclusions import Exclusion
from nhictl.creep.knowledge import ProviderKnowledge
from nhictl.creep.model import Declaration, Finding, Report, Snapshot
from nhictl.providers.aws.knowledge import aws_knowledge
from nhictl.providers.aws.snapshot import snapshot_from_pages
from nhictl.providers.aws.usage import credentials_from_doc, usage_from_mapping

NOW = datetime(2026, 11, 28, tzinfo=UTC)
ACCT = "111122223333"
OLD = "2024-01-01T00:00:00Z"
RECENT = "2026-11-20T00:00:00Z"


def arn(kind: str, name: str, acct: str = ACCT) -> str:
    return f"arn:aws:iam::{acct}:{kind}/{name}"


def doc(*statements: dict[str, Any]) -> dict[str, Any]:
    return {"Version": "2012-10-17", "Statement": list(statements)}


def allow(actions: Any, resources: Any = "*", **extra: Any) -> dict[str, Any]:
    return {"Effect": "Allow", "Action": actions, "Resource": resources, **extra}


def deny(actions: Any, resources: Any = "*", **extra: Any) -> dict[str, Any]:
    return {"Effect": "Deny", "Action": actions, "Resource": resources, **extra}


SERVICE_TRUST = doc(
    {
        "Effect": "Allow",
        "Principal": {"Service": "lambda.amazonaws.com"},
        "Action": "sts:AssumeRole",
    }
)


def role(
    name: str,
    *inline: dict[str, Any],
    managed: tuple[str, ...] = (),
    trust: dict[str, Any] | None = None,
    boundary: str | None = None,
    created: str = OLD,
    last_used: str | None = RECENT,
) -> dict[str, Any]:
    r: dict[str, Any] = {
        "Path": "/",
        "RoleName": name,
        "RoleId": "AROA" + name,
        "Arn": arn("role", name),
        "CreateDate": created,
        "AssumeRolePolicyDocument": trust or SERVICE_TRUST,
        "RolePolicyList": [
            {"PolicyName": f"p{i}", "PolicyDocument": d} for i, d in enumerate(inline)
        ],
        "AttachedManagedPolicies": [
            {"PolicyName": m.rsplit("/", 1)[-1], "PolicyArn": m} for m in managed
        ],
        "RoleLastUsed": {"LastUsedDate": last_used} if last_used else {},
    }
    if boundary:
        r["PermissionsBoundary"] = {
            "PermissionsBoundaryType": "Policy",
            "PermissionsBoundaryArn": boundary,
        }
    return r


def user(
    name: str, *inline: dict[str, Any], groups: tuple[str, ...] = (), managed: tuple[str, ...] = ()
) -> dict[str, Any]:
    return {
        "Path": "/",
        "UserName": name,
        "UserId": "AIDA" + name,
        "Arn": arn("user", name),
        "CreateDate": OLD,
        "GroupList": list(groups),
        "UserPolicyList": [
            {"PolicyName": f"p{i}", "PolicyDocument": d} for i, d in enumerate(inline)
        ],
        "AttachedManagedPolicies": [
            {"PolicyName": m.rsplit("/", 1)[-1], "PolicyArn": m} for m in managed
        ],
    }


def group(name: str, *inline: dict[str, Any], managed: tuple[str, ...] = ()) -> dict[str, Any]:
    return {
        "Path": "/",
        "GroupName": name,
        "GroupId": "AGPA" + name,
        "Arn": arn("group", name),
        "CreateDate": OLD,
        "GroupPolicyList": [
            {"PolicyName": f"g{i}", "PolicyDocument": d} for i, d in enumerate(inline)
        ],
        "AttachedManagedPolicies": [
            {"PolicyName": m.rsplit("/", 1)[-1], "PolicyArn": m} for m in managed
        ],
    }


def policy(name: str, *versions: dict[str, Any], default: int | None = None) -> dict[str, Any]:
    n = len(versions)
    d = default if default is not None else n
    return {
        "PolicyName": name,
        "PolicyId": "ANPA" + name,
        "Arn": arn("policy", name),
        "Path": "/",
        "DefaultVersionId": f"v{d}",
        "PolicyVersionList": [
            {
                "Document": v,
                "VersionId": f"v{i + 1}",
                "IsDefaultVersion": i + 1 == d,
                "CreateDate": f"202{i}-01-01T00:00:00Z",
            }
            for i, v in enumerate(versions)
        ],
    }


def export(
    roles: list[dict[str, Any]] | None = None,
    users: list[dict[str, Any]] | None = None,
    groups: list[dict[str, Any]] | None = None,
    policies: list[dict[str, Any]] | None = None,
) -> dict[str, Any]:
    return {
        "RoleDetailList": roles or [],
        "UserDetailList": users or [],
        "GroupDetailList": groups or [],
        "Policies": policies or [],
    }


def svc_row(ns: str, last: str | None, actions: dict[str, str | None] | None = None) -> Any:
    row: dict[str, Any] = {"ServiceName": ns, "ServiceNamespace": ns}
    if last:
        row["LastAuthenticated"] = last
    if actions is not None:
        row["TrackedActionsLastAccessed"] = [
            {"ActionName": a, **({"LastAccessedTime": t} if t else {})} for a, t in actions.items()
        ]
    return row


def la_resp(*rows: Any) -> dict[str, Any]:
    return {"JobStatus": "COMPLETED", "ServicesLastAccessed": list(rows)}


@pytest.fixture(scope="session")
def knowledge() -> ProviderKnowledge:
    return aws_knowledge()


def snapshot_of(
    page: dict[str, Any],
    last_accessed: dict[str, Any] | None = None,
    keys: dict[str, Any] | None = None,
) -> Snapshot:
    snap = snapshot_from_pages([(page, "$")], "test.json")
    if last_accessed:
        snap.usage.update(usage_from_mapping(last_accessed, "la.json"))
    if keys:
        users = {p.name: p.id for p in snap.principals.values() if p.kind == "user"}
        snap.credentials.extend(credentials_from_doc(keys, "keys.json", users))
    return snap


def audit(
    page: dict[str, Any],
    *,
    last_accessed: dict[str, Any] | None = None,
    keys: dict[str, Any] | None = None,
    declarations: list[Declaration] | None = None,
    baseline: dict[str, Any] | None = None,
    exclusions: list[Exclusion] | None = None,
    manifests_given: bool | None = None,
) -> Report:
    snap = snapshot_of(page, last_accessed, keys)
    opts = AuditOptions(
        now=NOW,
        declarations=declarations or [],
        baseline=snapshot_of(baseline) if baseline else None,
        manifests_given=bool(declarations) if manifests_given is None else manifests_given,
        remediate=True,
    )
    # A fresh catalog per audit: unknown actions are appended to it during a run.
    return analyse(snap, aws_knowledge(), opts, exclusions, keys_known=keys is not None)


def hits(report: Report, rule: str, principal: str | None = None) -> list[Finding]:
    return [
        f
        for f in report.findings
        if f.rule_id == rule and (principal is None or f.principal.endswith(principal))
    ]


# -- a fix applied: what the audit says once the principal's policies are replaced by it -------
ESCALATION_RULES = ("priv.escalation", "priv.admin", "priv.reachable-admin")


def with_fix(export: dict[str, Any], pid: str, documents: list[dict[str, Any]]) -> dict[str, Any]:
    """The export with ``pid``'s policies replaced by the fix (inline, one per part); a user
    also leaves its groups, as replacing its policies means."""
    out = copy.deepcopy(export)
    fix = [{"PolicyName": f"nhictl-fix-{i}", "PolicyDocument": d} for i, d in enumerate(documents)]
    for r in out["RoleDetailList"]:
        if r["Arn"] == pid:
            r["RolePolicyList"], r["AttachedManagedPolicies"] = fix, []
    for u in out["UserDetailList"]:
        if u["Arn"] == pid:
            u["UserPolicyList"], u["AttachedManagedPolicies"], u["GroupList"] = fix, [], []
    return out


def escalations_left(report: Report, pid: str) -> list[tuple[str, list[str]]]:
    """(rule, path texts) of ``pid``'s active escalation findings."""
    return [
        (f.rule_id, [p["text"] for p in f.evidence.get("paths", [])])
        for f in report.findings
        if f.principal == pid and f.rule_id in ESCALATION_RULES and f.suppressed is None
    ]
