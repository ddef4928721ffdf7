"""Used / unknown / unused: three disjoint sets over the grant, with known answers per cloud."""

from __future__ import annotations

import json
from pathlib import Path

from nhictl.creep.model import PrincipalResult, Report
from nhictl.providers.audit_inputs import AuditInputs
from nhictl.providers.gcp.catalog import load_catalog
from tests.conftest import SAMPLES, CliResult, CliRunner
from tests.creep.azure import conftest as az
from tests.creep.gcp import conftest as gcp
from tests.creep.test_sample_account import run_sample

from .conftest import NOW, OLD, RECENT, allow, arn, audit, doc, export, hits, la_resp, role, svc_row

# dynamodb: 2 used, 1 tracked and unused, 5 without an action row (untracked).
USED = ["GetItem", "Query"]
TRACKED_UNUSED = ["PutItem"]
UNTRACKED = ["BatchGetItem", "Scan", "UpdateItem", "DeleteItem", "DescribeTable"]
DYNAMO = [f"dynamodb:{a}" for a in USED + TRACKED_UNUSED + UNTRACKED]


def _one(report: Report) -> PrincipalResult:
    (p,) = report.principals
    return p


def _dynamo_audit(service_last: str, used_at: str) -> Report:
    page = export(roles=[role("r", doc(allow(DYNAMO)))])
    rows = dict.fromkeys(USED, used_at) | dict.fromkeys(TRACKED_UNUSED)
    return audit(
        page, last_accessed={arn("role", "r"): la_resp(svc_row("dynamodb", service_last, rows))}
    )


def test_action_level_service_splits_into_used_unused_and_unknown() -> None:
    report = _dynamo_audit(RECENT, RECENT)
    used = _one(report).used
    assert (used["actions"], used["unused_actions"], used["unknown_actions"]) == (2, 1, 5)
    assert used["used_by_evidence"] == {"action": 2, "service": 0}
    assert used["services_used"] == ["dynamodb"]
    (f,) = hits(report, "creep.unused-permission")
    assert f.evidence["granularity"] == "action"
    assert (f.evidence["used"], f.evidence["unused_actions"], f.evidence["unknown_actions"]) == (
        2,
        1,
        5,
    )
    assert f.evidence["sample"] == ["dynamodb:PutItem"]  # never an untracked action
    assert "1 of 8 granted actions not used" in f.message and "5 untracked" in f.message
    assert "--treat-untracked-as unused" in f.remediation
    # The index counts only the known-unused action.
    assert _one(report).index_detail["excess_actions"] == 1


def test_untracked_actions_of_an_unused_service_are_unused() -> None:
    report = _dynamo_audit(OLD, OLD)
    used = _one(report).used
    assert (used["actions"], used["unused_actions"], used["unknown_actions"]) == (0, 8, 0)


def test_service_used_only_through_untracked_actions() -> None:
    # The service was used (its stamp is recent) but no tracked action was: nothing is known
    # used, the tracked one is unused, the rest unknown; the principal is not idle.
    page = export(roles=[role("r", doc(allow(["s3:GetObject", "s3:PutObject", "s3:ListBucket"])))])
    la = {arn("role", "r"): la_resp(svc_row("s3", RECENT, {"PutObject": OLD}))}
    report = audit(page, last_accessed=la)
    used = _one(report).used
    assert (used["actions"], used["unused_actions"], used["unknown_actions"]) == (0, 1, 2)
    assert used["services_used"] == ["s3"]
    assert hits(report, "creep.unused-principal") == []
    (f,) = hits(report, "creep.unused-permission")
    assert f.evidence["granularity"] == "action"  # not "service not used"
    assert f.message.startswith("s3: 1 of 3 granted actions not used")


def test_service_level_data_counts_the_whole_used_service_as_used() -> None:
    page = export(
        roles=[role("r", doc(allow(["sqs:SendMessage", "sqs:ReceiveMessage", "sns:Publish"])))]
    )
    la = {arn("role", "r"): la_resp(svc_row("sqs", RECENT), svc_row("sns", OLD))}
    report = audit(page, last_accessed=la)
    used = _one(report).used
    assert (used["actions"], used["unused_actions"], used["unknown_actions"]) == (2, 1, 0)
    assert used["used_by_evidence"] == {"action": 0, "service": 2}
    assert used["granularity"] == "service"


def test_the_three_sets_add_up_to_the_grant() -> None:
    page = export(
        roles=[role("r", doc(allow([*DYNAMO, "sqs:SendMessage", "s3:GetObject", "kms:Decrypt"])))]
    )
    rows = dict.fromkeys(USED, RECENT) | dict.fromkeys(TRACKED_UNUSED)
    la = {
        arn("role", "r"): la_resp(
            svc_row("dynamodb", RECENT, rows), svc_row("sqs", RECENT), svc_row("s3", OLD)
        )
    }
    p = _one(audit(page, last_accessed=la))
    u = p.used
    # kms is not in the usage data at all: never used, so unused.
    assert (u["actions"], u["unused_actions"], u["unknown_actions"]) == (3, 3, 5)
    assert u["actions"] + u["unused_actions"] + u["unknown_actions"] == p.granted["actions"]
    assert u["used_by_evidence"] == {"action": 2, "service": 1}


def test_sample_support_triage_is_no_longer_97_used() -> None:
    report = run_sample()
    p = next(p for p in report.principals if p.name == "support-triage")
    # dynamodb: GetItem and Query seen, PutItem and DeleteTable tracked unused, 74 untracked;
    # sqs and bedrock (21 actions) used by service-level data.
    assert p.granted["actions"] == 99
    u = p.used
    assert (u["actions"], u["unknown_actions"], u["unused_actions"]) == (23, 74, 2)
    assert u["used_by_evidence"] == {"action": 2, "service": 21}
    (f,) = [
        f
        for f in hits(report, "creep.unused-permission")
        if f.principal == p.id and f.evidence.get("service") == "dynamodb"
    ]
    assert f.message.startswith("dynamodb: 2 of 78 granted actions not used in 90 days")
    assert "74 untracked" in f.message


# -- Azure: exhaustive, with unobserved reads and data actions ---------------------------------
def test_azure_unobserved_are_unknown_and_unlisted_writes_unused(tmp_path: Path) -> None:
    t = az.Tenant()
    a = t.sp(1, "queue-worker")
    t.assign(a, "Storage Queue Data Contributor", az.rg("rg-q"))
    t.event(1, "Microsoft.Storage/storageAccounts/queueServices/queues/write")
    p = _one(az.audit(tmp_path, t))
    u = p.used
    # queues/write seen; queues/delete observable but not in the (exhaustive) log: unused;
    # queues/read and the 4 data actions the Activity Log cannot see: unknown.
    assert (u["actions"], u["unused_actions"], u["unknown_actions"]) == (1, 1, 5)
    assert u["used_by_evidence"] == {"action": 1, "service": 0}
    assert "unobserved_actions" not in u  # folded into unknown_actions


# -- GCP: a binding no insight covers is unknown, not used -------------------------------------
def test_gcp_unjudged_binding_is_unknown_beside_a_judged_one(tmp_path: Path) -> None:
    viewer, creator = "roles/storage.objectViewer", "roles/storage.objectCreator"
    cat = load_catalog()
    viewer_perms = set(cat.role_permissions(viewer) or ())
    creator_perms = set(cat.role_permissions(creator) or ())
    assert "storage.objects.get" in viewer_perms and creator_perms - viewer_perms
    pr = gcp.Project(
        accounts=[gcp.sa("agent")],
        bindings=[
            gcp.binding(viewer, gcp.member("agent")),
            gcp.binding(creator, gcp.member("agent")),
        ],
        usage={"insights.json": [gcp.insight(gcp.sa("agent"), viewer, ["storage.objects.get"])]},
    )
    report = gcp.audit_project(tmp_path, pr)
    p = gcp.result(report, gcp.sa("agent"))
    u = p.used
    granted = viewer_perms | creator_perms
    assert p.granted["actions"] == len(granted)
    unknown = creator_perms - {"storage.objects.get"}
    assert u["actions"] == 1
    assert u["unknown_actions"] == len(unknown)
    assert u["unused_actions"] == len(granted) - 1 - len(unknown)


# -- --treat-untracked-as ------------------------------------------------------------------------
def test_treat_untracked_reaches_the_engine_options() -> None:
    for value in ("used", "unused"):
        opts, _ = AuditInputs(treat_untracked=value, now=NOW).engine_options([], None)
        assert opts.treat_untracked == value
    opts, _ = AuditInputs(now=NOW).engine_options([], None)
    assert opts.treat_untracked == "used"  # a fix keeps what it cannot prove unused


def _cli_audit(cli: CliRunner, *extra: str) -> CliResult:
    aws = SAMPLES / "aws"
    return cli(
        "audit-creep",
        "--snapshot",
        str(aws / "authorization-details.json"),
        "--last-accessed",
        str(aws / "last-accessed.json"),
        "--as-of",
        "2026-11-28",
        "-f",
        "json",
        *extra,
    )


def test_cli_treat_untracked_as_is_in_the_summary(cli: CliRunner) -> None:
    res = _cli_audit(cli, "--treat-untracked-as", "unused")
    assert res.code == 0, res.stderr
    assert json.loads(res.stdout)["summary"]["treat_untracked"] == "unused"
    res = _cli_audit(cli)
    assert json.loads(res.stdout)["summary"]["treat_untracked"] == "used"


def test_cli_treat_untracked_as_rejects_other_values(cli: CliRunner) -> None:
    res = _cli_audit(cli, "--treat-untracked-as", "maybe")
    assert res.code == 2
    assert "--treat-untracked-as" in res.stderr and "maybe" in res.stderr
    assert "Traceback" not in res.stderr
    assert res.stdout == ""
