"""AWS privilege-escalation methods: the pathfinding.cloud catalogue plus nhictl's own few.

The catalogue is ``data/escalation.v1.json``, built by ``scripts/build_aws_escalation.py`` from
https://github.com/DataDog/pathfinding.cloud (repository, commit and date are in the file's
``source``). Each path keeps its own id and page link; a path whose gain comes from something that
already exists (a role to pass or assume, a function or instance running as a stronger role)
carries that target, and the rule reports it as needing one rather than as a confirmed escalation.

``NHICTL_ONLY`` holds the techniques pathfinding does not list at that commit; their ids start
with ``nhictl-`` so they can never collide with a catalogue id, and they link to the write-up or
AWS documentation they come from.
"""

from __future__ import annotations

import json
from functools import lru_cache
from importlib import resources
from typing import Any

from nhictl.creep.knowledge import EscalationMethod

_RHINO = "https://rhinosecuritylabs.com/aws/aws-privilege-escalation-methods-mitigation/"
_IAM_API = "https://docs.aws.amazon.com/IAM/latest/APIReference/"
_PASS_ECS = (
    "A role must exist that trusts ecs-tasks.amazonaws.com and is more privileged than the caller"
)

NHICTL_ONLY: tuple[EscalationMethod, ...] = (
    # Rhino's method 2 (Gietzen, 2018): pathfinding has iam:CreatePolicyVersion (iam-001) but not
    # its sibling, which needs no new version -- only a stronger old one.
    EscalationMethod(
        "nhictl-iam-set-default-policy-version",
        "iam:SetDefaultPolicyVersion",
        (("iam:SetDefaultPolicyVersion",),),
        _RHINO,
        target_permission="iam:SetDefaultPolicyVersion",
        needs_target="A customer-managed policy attached to the caller (or to a principal it can "
        "act as) must have a stored non-default version that grants more than the default one",
        category="self-escalation",
        target_kind="iam-policy-version",  # not inventoried: the target stays unknown
    ),
    # Lifting one's own permissions boundary gives back everything the identity policies grant
    # beyond it (AWS: "Deleting the permissions boundary ... might increase its permissions").
    # Escalates the caller itself only while a boundary limits it.
    EscalationMethod(
        "nhictl-iam-role-permissions-boundary",
        "iam:DeleteRolePermissionsBoundary | iam:PutRolePermissionsBoundary",
        (("iam:DeleteRolePermissionsBoundary", "iam:PutRolePermissionsBoundary"),),
        _IAM_API + "API_DeleteRolePermissionsBoundary.html",
        target_permission="iam:DeleteRolePermissionsBoundary",
        needs_target="A role held back by a permissions boundary that the caller can act as "
        "(the caller itself when it is a role with a boundary)",
        self_for=("role",),
        self_needs_boundary=True,
        category="self-escalation",
        target_kind="iam-role",
    ),
    EscalationMethod(
        "nhictl-iam-user-permissions-boundary",
        "iam:DeleteUserPermissionsBoundary | iam:PutUserPermissionsBoundary",
        (("iam:DeleteUserPermissionsBoundary", "iam:PutUserPermissionsBoundary"),),
        _IAM_API + "API_DeleteUserPermissionsBoundary.html",
        target_permission="iam:DeleteUserPermissionsBoundary",
        needs_target="A user held back by a permissions boundary that the caller can act as "
        "(the caller itself when it is a user with a boundary)",
        self_for=("user",),
        self_needs_boundary=True,
        category="self-escalation",
        target_kind="iam-user",
    ),
    # A shell in a running task is its task role's credentials; pathfinding has no ECS Exec path.
    EscalationMethod(
        "nhictl-ecs-execute-command",
        "ecs:ExecuteCommand",
        (("ecs:ExecuteCommand",),),
        "https://docs.aws.amazon.com/AmazonECS/latest/developerguide/ecs-exec.html",
        target_permission="ecs:ExecuteCommand",
        needs_target="A running ECS task with ECS Exec enabled whose task role is more "
        "privileged than the caller",
        category="existing-passrole",
        target_kind="ecs-task",  # not inventoried: the target stays unknown
    ),
    # ecs-003 creates a service; updating an existing one to a new task definition runs the
    # passed role just the same, without ecs:CreateService.
    EscalationMethod(
        "nhictl-ecs-update-service",
        "iam:PassRole + ecs:RegisterTaskDefinition + ecs:UpdateService",
        (("iam:PassRole",), ("ecs:RegisterTaskDefinition",), ("ecs:UpdateService",)),
        "https://docs.aws.amazon.com/AmazonECS/latest/APIReference/API_UpdateService.html",
        target_permission="iam:PassRole",
        needs_target=f"An ECS service must exist to update; {_PASS_ECS}",
        category="new-passrole",
        passed_to=("ecs-tasks.amazonaws.com",),
        target_kind="iam-role",
        edge="pass-role",
    ),
)


# How the principal graph reaches each principal-access / pass-role path's target (see
# EscalationMethod.edge): pathfinding states it in prose, so it is spelled out here.
GRAPH_EDGE: dict[str, str] = {
    "sts-001": "assume",
    "iam-002": "takeover",  # new access key of user B
    "iam-003": "takeover",
    "iam-004": "takeover",  # console password of user B
    "iam-006": "takeover",
    "iam-012": "takeover",  # rewrite B's trust: act as B with B's permissions
    "iam-014": "rewrite",  # write B's policies and assume B: B becomes what the caller writes
    "iam-015": "rewrite",
    "iam-016": "rewrite",
    "iam-017": "rewrite",
    "iam-018": "rewrite",
    "iam-019": "rewrite",
    "iam-020": "rewrite",
    "iam-021": "rewrite",
}


def _edge(row: dict[str, Any], target: dict[str, Any]) -> str:
    if row["id"] in GRAPH_EDGE:
        return GRAPH_EDGE[row["id"]]
    if row.get("category") == "new-passrole" and target.get("passed_to"):
        return "pass-role"
    return ""


def _method(row: dict[str, Any]) -> EscalationMethod:
    target = row.get("target") or {}
    parent = row.get("parent")
    return EscalationMethod(
        row["id"],
        row["name"],
        tuple((a,) for a in row["requires"]),
        row["reference"],
        f"variant of {parent}" if parent else "",
        target_permission=target.get("permission", ""),
        needs_target=target.get("needs", ""),
        self_for=tuple(row.get("self_for", ())),
        category=row.get("category", ""),
        passed_to=tuple(target.get("passed_to", ())),
        target_kind=target.get("kind", ""),
        edge=_edge(row, target),
    )


@lru_cache(maxsize=1)
def catalogue() -> dict[str, Any]:
    """The shipped pathfinding.cloud table as written by the build script."""
    raw = resources.files("nhictl.providers.aws").joinpath("data/escalation.v1.json").read_text()
    data: dict[str, Any] = json.loads(raw)
    return data


@lru_cache(maxsize=1)
def methods() -> tuple[EscalationMethod, ...]:
    """Every method the priv.escalation rule checks: the catalogue's, then nhictl's own."""
    return tuple(_method(row) for row in catalogue()["methods"]) + NHICTL_ONLY
