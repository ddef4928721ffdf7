"""priv.escalation against the shipped pathfinding.cloud table, path by path.

The parametrised tests walk the shipped data (every path is detected under its own id from
exactly its required permissions, and not without one of them). The hand-written ones pin ids,
permissions and the "needs an existing target" marker to what the catalogue's YAML says at the
pinned commit, so a wrong id or a collapsed variant in the data fails here, not only in review.
"""

from __future__ import annotations

import importlib.util
import sys
from collections.abc import Iterator
from pathlib import Path
from types import ModuleType
from typing import Any

import pytest

from nhictl.creep.knowledge import EscalationMethod
from nhictl.creep.model import Finding, Report
from nhictl.providers.aws.catalog import load_catalog
from nhictl.providers.aws.escalation import NHICTL_ONLY, catalogue, methods

from .conftest import ACCT, allow, arn, audit, deny, doc, export, hits, policy, role, user

PAGE = "https://pathfinding.cloud/paths/"
ROWS: list[dict[str, Any]] = catalogue()["methods"]
IDS = [r["id"] for r in ROWS]
PATHFINDING = [m for m in methods() if m.reference.startswith(PAGE)]
EVERY = list(methods())


def _name(m: EscalationMethod, suffix: str = "") -> str:
    return (m.id + suffix).replace("_", "-")[:64]


def _actions(m: EscalationMethod, without: int | None = None) -> list[str]:
    """One action per group (the first alternative), optionally leaving group ``without`` out."""
    return [g[0] for i, g in enumerate(m.requires) if i != without]


SERVICES = sorted({s for m in EVERY for s in m.passed_to})


def _targets() -> tuple[list[dict[str, Any]], list[dict[str, Any]]]:
    """What every target-dependent path the graph can judge pays off through: an admin role
    trusting the account and every service a method passes a role to, and an admin user."""
    trust = doc(
        {"Effect": "Allow", "Principal": {"AWS": f"arn:aws:iam::{ACCT}:root"},
         "Action": "sts:AssumeRole"},
        {"Effect": "Allow", "Principal": {"Service": SERVICES}, "Action": "sts:AssumeRole"},
    )  # fmt: skip
    return [role("target-admin", doc(allow("*")), trust=trust)], [
        user("target-admin-user", doc(allow("*")))
    ]


def _expected_status(m: EscalationMethod, kind: str) -> str:
    if m.confirmed_for(kind, bounded=False):
        return "confirmed"
    # Roles and users are always listed; no resource kind is inventoried in these estates.
    return "path" if m.edge else "needs-target"


def _estate() -> dict[str, Any]:
    """One role per method holding exactly its actions on "*", one user per method likewise,
    and for every method one role per required action holding all the others; plus the
    admin targets."""
    roles, users = _targets()
    for i, m in enumerate(EVERY):
        roles.append(role(_name(m), doc(allow(_actions(m)))))
        users.append(user(_name(m), doc(allow(_actions(m)))))
        roles.extend(
            role(_name(m, f"-x{j}-{i}"), doc(allow(_actions(m, without=j))))
            for j in range(len(m.requires))
        )
    return export(roles=roles, users=users)


@pytest.fixture(scope="module")
def report() -> Report:
    return audit(_estate())


def _methods(report: Report, principal: str) -> dict[str, dict[str, Any]]:
    found = [f for f in hits(report, "priv.escalation") if f.principal == principal]
    return {m["id"]: m for f in found for m in f.evidence["methods"]}


@pytest.mark.parametrize("m", EVERY, ids=[m.id for m in EVERY])
def test_exactly_the_required_permissions_are_detected_under_the_paths_id(
    report: Report, m: EscalationMethod
) -> None:
    for kind in ("role", "user"):
        found = _methods(report, arn(kind, _name(m)))
        assert m.id in found, kind
        hit = found[m.id]
        assert hit["reference"] == m.reference
        assert set(hit["actions"]) == set(_actions(m))
        assert hit["scope"] == "resource *"
        status = _expected_status(m, kind)
        assert hit["status"] == status
        if status == "confirmed":
            assert "needs_target" not in hit
        elif status == "path":
            text = hit["paths"][0]["text"]
            assert text.startswith(f"{kind}/{_name(m)} -"), text
            # Other principals of the estate escalate on their own: any of them may be the end.
            assert text.endswith(("(admin)", "(admin after rewrite)")) or "(escalates via" in text
        else:
            assert hit["needs_target"] == {
                "permission": m.target_permission,
                "target": m.needs_target,
            }
            # The permission that reaches the target is one the principal holds for the path.
            assert any(m.target_permission in g for g in m.requires)


@pytest.mark.parametrize("m", EVERY, ids=[m.id for m in EVERY])
def test_one_missing_permission_is_not_the_path(report: Report, m: EscalationMethod) -> None:
    i = EVERY.index(m)
    for j in range(len(m.requires)):
        assert m.id not in _methods(report, arn("role", _name(m, f"-x{j}-{i}"))), m.requires[j]


# -- the shipped data against the catalogue -------------------------------------------------
def test_shipped_table_records_its_source() -> None:
    src = catalogue()["source"]
    assert src == {
        "repository": "https://github.com/DataDog/pathfinding.cloud",
        "commit": "84dd65c97fc21dee54f4587be6dfd5b7b5fe320c",
        "date": "2025-12-17",
        "paths": 65,
        "reference": "https://pathfinding.cloud/paths/{id}",
    }
    assert len(IDS) == len(set(IDS)) == 65
    assert all(r["reference"] == PAGE + r["id"] for r in ROWS)


def test_every_required_action_is_in_the_action_catalog() -> None:
    # An action the catalog does not know gets no bit: its method could never match.
    cat = load_catalog()
    missing = {a for m in EVERY for g in m.requires for a in g if cat.index(a) is None}
    assert missing == set()


def test_nhictl_only_methods_cannot_pass_for_catalogue_paths() -> None:
    for m in NHICTL_ONLY:
        assert m.id.startswith("nhictl-") and m.id not in IDS
        assert m.reference.startswith("https://") and not m.reference.startswith(PAGE)
        assert m.needs_target and m.target_permission  # none of them is self-contained alone


# Required permissions as data/paths/<service>/<id>.yaml lists them at the pinned commit,
# written out by hand from the YAML (not from the shipped table).
PINNED: dict[str, set[str]] = {
    "iam-001": {"iam:CreatePolicyVersion"},
    "iam-012": {"iam:UpdateAssumeRolePolicy"},
    "iam-019": {"iam:AttachRolePolicy", "iam:UpdateAssumeRolePolicy"},
    "iam-021": {"iam:PutRolePolicy", "iam:UpdateAssumeRolePolicy"},
    "cloudformation-003": {
        "iam:PassRole",
        "cloudformation:CreateStackSet",
        "cloudformation:CreateStackInstances",
    },
    "cloudformation-004": {"iam:PassRole", "cloudformation:UpdateStackSet"},
    "cloudformation-005": {"cloudformation:CreateChangeSet", "cloudformation:ExecuteChangeSet"},
    "codebuild-004": {"iam:PassRole", "codebuild:CreateProject", "codebuild:StartBuildBatch"},
    "datapipeline-001": {
        "iam:PassRole",
        "datapipeline:CreatePipeline",
        "datapipeline:PutPipelineDefinition",
        "datapipeline:ActivatePipeline",
    },
    "ec2instanceconnect-003": {"ec2-instance-connect:SendSSHPublicKey", "ec2:DescribeInstances"},
    "ecs-002": {"iam:PassRole", "ecs:CreateCluster", "ecs:RegisterTaskDefinition", "ecs:RunTask"},
    "ecs-005": {"iam:PassRole", "ecs:RegisterTaskDefinition", "ecs:StartTask"},
    "glue-006": {"iam:PassRole", "glue:UpdateJob", "glue:CreateTrigger"},
    "sagemaker-003": {"iam:PassRole", "sagemaker:CreateProcessingJob"},
    "ssm-001": {"ssm:StartSession"},
    "ssm-002": {"ssm:SendCommand"},
    "sts-001": {"sts:AssumeRole"},
}


@pytest.mark.parametrize("pid", sorted(PINNED))
def test_ids_carry_the_catalogues_permissions(pid: str) -> None:
    (row,) = [r for r in ROWS if r["id"] == pid]
    assert set(row["requires"]) == PINNED[pid]


# -- hand-written cases: ids, variants and the target marker --------------------------------
def _one(
    statements: list[dict[str, Any]], kind: str = "role", targets: bool = False, **kw: Any
) -> Finding | None:
    """The finding of one principal ``p``; ``targets``: with the admin targets beside it."""
    who = role("p", doc(*statements), **kw) if kind == "role" else user("p", doc(*statements))
    roles, users = _targets() if targets else ([], [])
    (roles if kind == "role" else users).append(who)
    report = audit(export(roles=roles, users=users))
    found = [f for f in hits(report, "priv.escalation") if f.principal == arn(kind, "p")]
    assert len(found) <= 1
    return found[0] if found else None


def _ids(f: Finding | None) -> dict[str, str]:
    return {m["id"]: m["status"] for m in f.evidence["methods"]} if f else {}


def test_create_policy_version_is_iam_001_and_confirmed() -> None:
    f = _one([allow("iam:CreatePolicyVersion")])
    assert f is not None and _ids(f) == {"iam-001": "confirmed"}
    assert f.evidence["methods"][0]["reference"] == "https://pathfinding.cloud/paths/iam-001"
    assert f.evidence["confirmed"] is True
    assert f.severity == "high"
    assert f.message.startswith("can escalate privileges via iam-001")


def test_passrole_to_lambda_is_a_path_only_through_a_stronger_role() -> None:
    held = [allow(["iam:PassRole", "lambda:CreateFunction", "lambda:InvokeFunction"])]
    # Alone in the account: no role trusts lambda.amazonaws.com, the target is ruled out.
    assert _one(held) is None
    f = _one(held, targets=True)
    assert f is not None and _ids(f) == {"lambda-001": "path"}
    (m,) = f.evidence["methods"]
    assert [p["text"] for p in m["paths"]] == [
        "role/p -PassRole+lambda:CreateFunction-> role/target-admin (admin)"
    ]
    assert m["paths"][0]["edges"][0]["via"] == "lambda.amazonaws.com"
    assert f.evidence["confirmed"] is True
    assert f.severity == "high"  # a proven path counts like a confirmed method
    assert f.message == (
        "can escalate privileges via lambda-001 iam:PassRole + lambda:CreateFunction + "
        "lambda:InvokeFunction: role/p -PassRole+lambda:CreateFunction-> role/target-admin (admin)"
    )


def test_assume_role_alone_is_sts_001_through_a_role_that_trusts_it() -> None:
    assert _one([allow("sts:AssumeRole")]) is None  # no role trusts it: ruled out
    f = _one([allow("sts:AssumeRole")], targets=True)
    assert _ids(f) == {"sts-001": "path"}
    assert f is not None
    assert f.evidence["methods"][0]["paths"][0]["text"] == (
        "role/p -assume-> role/target-admin (admin)"
    )


def test_change_sets_are_cloudformation_005_not_003() -> None:
    f = _one([allow(["cloudformation:CreateChangeSet", "cloudformation:ExecuteChangeSet"])])
    assert _ids(f) == {"cloudformation-005": "needs-target"}  # stacks not inventoried
    f = _one(
        [
            allow(
                [
                    "iam:PassRole",
                    "cloudformation:CreateStackSet",
                    "cloudformation:CreateStackInstances",
                ]
            )
        ],
        targets=True,
    )
    assert _ids(f) == {"cloudformation-003": "path"}


def test_trust_update_alone_is_iam_012() -> None:
    assert _one([allow("iam:UpdateAssumeRolePolicy")]) is None  # no other role to take over
    f = _one([allow("iam:UpdateAssumeRolePolicy")], targets=True)
    assert _ids(f) == {"iam-012": "path"}


def test_put_role_policy_with_trust_update_is_iam_021_not_019() -> None:
    f = _one([allow(["iam:PutRolePolicy", "iam:UpdateAssumeRolePolicy"])], kind="user")
    assert _ids(f) == {"iam-005": "needs-target"}  # no role to rewrite: 012, 021 ruled out
    assert f is not None and f.evidence["ruled_out"] == ["iam-012", "iam-021"]
    assert f.evidence["ruled_out_reason"] == "no target more privileged than the caller"
    f = _one(
        [allow(["iam:PutRolePolicy", "iam:UpdateAssumeRolePolicy"])], kind="user", targets=True
    )
    assert _ids(f) == {"iam-005": "needs-target", "iam-012": "path", "iam-021": "path"}
    variant = next(m for m in f.evidence["methods"] if m["id"] == "iam-021") if f else {}
    assert variant["note"] == "variant of iam-005"


def test_batch_builds_are_codebuild_003_and_004() -> None:
    held = [allow(["iam:PassRole", "codebuild:CreateProject", "codebuild:StartBuildBatch"])]
    assert _ids(_one(held)) == {"codebuild-003": "needs-target"}  # 004 ruled out
    assert _ids(_one(held, targets=True)) == {
        "codebuild-003": "needs-target",
        "codebuild-004": "path",
    }


def test_ecs_variants_keep_their_own_ids() -> None:
    f = _one([allow(["iam:PassRole", "ecs:RegisterTaskDefinition", "ecs:StartTask"])], targets=True)
    assert set(_ids(f)) == {"ecs-005"}
    f = _one(
        [allow(["iam:PassRole", "ecs:CreateCluster", "ecs:RegisterTaskDefinition", "ecs:RunTask"])],
        targets=True,
    )
    assert set(_ids(f)) == {"ecs-002", "ecs-004"}  # ecs-002 is ecs-004 plus its own cluster


def test_data_pipeline_needs_activation() -> None:
    held = ["iam:PassRole", "datapipeline:CreatePipeline", "datapipeline:PutPipelineDefinition"]
    assert _one([allow(held)], targets=True) is None
    assert _ids(_one([allow([*held, "datapipeline:ActivatePipeline"])], targets=True)) == {
        "datapipeline-001": "path"
    }


def test_ssm_session_and_command_are_separate_paths() -> None:
    assert _ids(_one([allow("ssm:StartSession")])) == {"ssm-001": "needs-target"}
    assert _ids(_one([allow("ssm:SendCommand")])) == {"ssm-002": "needs-target"}


def test_self_escalation_depends_on_the_principals_kind() -> None:
    # iam-005 (PutRolePolicy) acts on the caller's own role; iam-007 on the caller's own user.
    assert _ids(_one([allow("iam:PutRolePolicy")])) == {"iam-005": "confirmed"}
    assert _ids(_one([allow("iam:PutRolePolicy")], kind="user")) == {"iam-005": "needs-target"}
    assert _ids(_one([allow("iam:PutUserPolicy")], kind="user")) == {"iam-007": "confirmed"}
    assert _ids(_one([allow("iam:PutUserPolicy")])) == {"iam-007": "needs-target"}


def test_group_membership_needs_a_stronger_group() -> None:
    f = _one([allow("iam:AddUserToGroup")], kind="user")
    assert _ids(f) == {"iam-013": "needs-target"}


def test_lifting_ones_own_boundary_is_confirmed_only_under_a_boundary() -> None:
    held = allow(["iam:DeleteRolePermissionsBoundary", "s3:GetObject"])
    assert _ids(_one([held])) == {"nhictl-iam-role-permissions-boundary": "needs-target"}
    bnd = policy("bnd", doc(allow(["iam:DeleteRolePermissionsBoundary", "s3:GetObject"])))
    page = export(roles=[role("p", doc(held), boundary=bnd["Arn"])], policies=[bnd])
    (f,) = hits(audit(page), "priv.escalation")
    assert _ids(f) == {"nhictl-iam-role-permissions-boundary": "confirmed"}


# -- Deny, boundary and conditions behave as for every other grant ---------------------------
def test_deny_on_one_required_action_removes_the_path() -> None:
    held = ["iam:PassRole", "ecs:RegisterTaskDefinition", "ecs:StartTask"]
    assert _one([allow(held), deny("ecs:StartTask")]) is None


def test_boundary_without_one_required_action_removes_the_path() -> None:
    bnd = policy("bnd", doc(allow("iam:PassRole")))
    page = export(
        roles=[role("p", doc(allow(["iam:PassRole", "ec2:RunInstances"])), boundary=bnd["Arn"])],
        policies=[bnd],
    )
    assert hits(audit(page), "priv.escalation") == []


def test_conditional_and_scoped_grants_lower_the_severity() -> None:
    cond = {"StringEquals": {"aws:RequestedRegion": "eu-west-1"}}
    f = _one([allow("iam:CreatePolicyVersion", Condition=cond)])
    assert f is not None and f.severity == "low"
    assert f.evidence["methods"][0]["scope"] == "conditional"
    f = _one([allow("iam:CreatePolicyVersion", "arn:aws:iam::111122223333:policy/app")])
    assert f is not None and f.severity == "medium"
    assert f.evidence["methods"][0]["scope"] == "scoped resources"
    f = _one([allow("lambda:UpdateFunctionCode", "arn:aws:lambda:eu-west-1:111122223333:*")])
    assert f is not None and f.severity == "low"  # needs a target, on scoped resources


def test_confirmed_paths_lead_the_message_and_count_the_rest() -> None:
    f = _one([allow(["iam:CreatePolicyVersion", "sts:AssumeRole", "ssm:SendCommand"])])
    assert _ids(f) == {"iam-001": "confirmed", "ssm-002": "needs-target"}
    assert f is not None and f.evidence["methods"][0]["id"] == "iam-001"
    assert f.evidence["ruled_out"] == ["iam-016", "sts-001"]
    assert f.message == (
        "can escalate privileges via iam-001 iam:CreatePolicyVersion; "
        "1 more path(s) need an existing target"
    )


def test_iam_administrators_are_left_to_priv_admin() -> None:
    page = export(
        roles=[
            role("iam", doc(allow("iam:*"))),
            role(
                "c", doc(allow("iam:*", Condition={"Bool": {"aws:MultiFactorAuthPresent": "true"}}))
            ),
        ]
    )
    report = audit(page)
    assert [f.principal for f in hits(report, "priv.escalation")] == [arn("role", "c")]
    assert {f.principal for f in hits(report, "priv.admin")} == {
        arn("role", "iam"),
        arn("role", "c"),
    }


# -- the build script -------------------------------------------------------------------------
@pytest.fixture(scope="module")
def build() -> Iterator[ModuleType]:
    path = Path(__file__).resolve().parents[2] / "scripts/build_aws_escalation.py"
    spec = importlib.util.spec_from_file_location("build_aws_escalation", path)
    assert spec is not None and spec.loader is not None
    mod = importlib.util.module_from_spec(spec)
    sys.modules[spec.name] = mod
    spec.loader.exec_module(mod)
    yield mod
    del sys.modules[spec.name]


def _doc(pid: str, category: str, *perms: tuple[str, str], **extra: Any) -> dict[str, Any]:
    required = [{"permission": p, "resourceConstraints": c} for p, c in perms]
    return {
        "id": pid,
        "name": " + ".join(p for p, _ in perms),
        "category": category,
        "permissions": {"required": required},
        **extra,
    }


def test_build_keeps_ids_and_quotes_the_target(
    build: ModuleType, monkeypatch: pytest.MonkeyPatch
) -> None:
    # The script refuses a target whose kind it does not know: name this made-up one.
    monkeypatch.setitem(build.TARGET_KIND, "svc-007", "widget")
    d = _doc(
        "svc-007",
        "existing-passrole",
        ("svc:Describe", "any"),
        ("svc:Update", "Target widget must be in the Resource section"),
        prerequisites={
            "admin": [
                "A **widget** must exist with an admin role (e.g., AdministratorAccess).",
                "You must have `svc:Update` on it",
                "If it is new, wait",
            ],
            "lateral": ["ignored"],
        },
        parent={"id": "svc-001", "modification": "adds svc:Describe"},
    )
    assert build.method(d, "data/paths/svc/svc-007.yaml") == {
        "id": "svc-007",
        "name": "svc:Describe + svc:Update",
        "category": "existing-passrole",
        "requires": ["svc:Describe", "svc:Update"],
        "reference": "https://pathfinding.cloud/paths/svc-007",
        "parent": "svc-001",
        "target": {
            "permission": "svc:Update",
            "needs": "A widget must exist with an admin role",
            "kind": "widget",
        },
    }


def test_build_marks_kind_bound_self_escalation(build: ModuleType) -> None:
    d = _doc(
        "iam-099",
        "self-escalation",
        ("iam:Tweak", ""),
        prerequisites=["Principal must be a user (not a role)"],
    )
    out = build.method(d, "data/paths/iam/iam-099.yaml")
    assert out["self_for"] == ["user"] and out["target"]["permission"] == "iam:Tweak"
    plain = build.method(_doc("iam-098", "self-escalation", ("iam:Tweak", "")), "x/iam-098.yaml")
    assert "target" not in plain and "self_for" not in plain


@pytest.mark.parametrize(
    ("doc_", "error"),
    [
        (_doc("svc-001", "brand-new", ("svc:A", "")), "unknown category"),
        (_doc("svc-001", "self-escalation", ("svc A", "")), "required permissions"),
        (_doc("svc-002", "self-escalation", ("svc:A", "")), "does not match the file name"),
        (_doc("svc-001", "new-passrole", ("iam:PassRole", "")), "states none"),
    ],
)
def test_build_refuses_what_it_cannot_classify(
    build: ModuleType, doc_: dict[str, Any], error: str
) -> None:
    with pytest.raises(ValueError, match=error):
        build.method(doc_, "data/paths/svc/svc-001.yaml")
