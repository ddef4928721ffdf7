"""The bundled sample account: the exact findings an auditor should see."""

from __future__ import annotations

import json
from datetime import UTC, datetime
from pathlib import Path
from typing import Any

import pytest
import yaml

from nhictl.creep.context import AuditOptions
from nhictl.creep.engine import analyse, over_threshold
from nhictl.creep.exclusions import load_exclusions
from nhictl.creep.model import Report
from nhictl.providers.aws.knowledge import aws_knowledge
from nhictl.providers.aws.load import load_aws
from nhictl.providers.aws.manifests import ParsedManifest, declarations

from .conftest import escalations_left, with_fix

SAMPLE = Path(__file__).resolve().parents[2] / "sample-configs/aws"


def run_sample(
    remediate: bool = False, resources: bool = True, export: Path | None = None
) -> Report:
    """The audit as ``--snapshot sample-configs/aws`` runs it: with the resource listings beside
    the export (``resources=False``: without them, every resource kind unknown); ``export``:
    another authorization-details file in place of the sample's."""
    snap, keys = load_aws(
        export or SAMPLE / "authorization-details.json",
        SAMPLE / "last-accessed.json",
        SAMPLE / "access-keys.json",
        SAMPLE if resources else None,
    )
    manifests = [
        ParsedManifest(
            yaml.safe_load(p.read_text()), str(p), {"$.spec.entitlements.aws.roleArn": (23, 16)}
        )
        for p in sorted((SAMPLE / "manifests").glob("*.yaml"))
    ]
    opts = AuditOptions(
        now=datetime(2026, 11, 28, tzinfo=UTC),
        declarations=declarations(manifests),
        manifests_given=True,
        remediate=remediate,
    )
    return analyse(snap, aws_knowledge(), opts, load_exclusions(SAMPLE / "exclusions.yaml"), keys)


@pytest.fixture(scope="module")
def report() -> Report:
    return run_sample()


def _active(report: Report) -> set[tuple[str, str]]:
    return {
        (f.rule_id, f.principal.rsplit("/", 1)[-1]) for f in report.findings if f.suppressed is None
    }


EXPECTED = {
    ("cred.stale-key", "legacy-etl"),
    ("creep.unused-principal", "legacy-etl"),
    ("priv.escalation", "legacy-etl"),  # glue:* from its group includes UpdateDevEndpoint
    ("priv.wildcard", "legacy-etl"),
    ("inv.unregistered", "legacy-etl"),
    ("creep.beyond-declared", "support-triage"),  # the drifted agent
    ("creep.unused-permission", "support-triage"),
    ("priv.wildcard", "support-triage"),
    ("priv.admin", "vpc-bound-agent"),  # conditional only -> high, not critical
    ("priv.wildcard", "vpc-bound-agent"),
    ("priv.escalation", "vpc-bound-agent"),
    ("creep.unused-permission", "vpc-bound-agent"),
    ("creep.beyond-declared", "vpc-bound-agent"),
    ("creep.growth", "report-builder"),  # its customer policy grew v1 -> v3
    ("creep.beyond-declared", "report-builder"),
    ("creep.unused-permission", "report-builder"),
    ("priv.wildcard", "report-builder"),
    ("creep.unused-permission", "orders-worker"),
    ("inv.unregistered", "orders-worker"),
    ("priv.escalation", "ci-deployer"),  # PassRole + Lambda split over two policies
    ("priv.wildcard", "ci-deployer"),
    ("trust.broad", "ci-deployer"),  # GitHub OIDC without a sub condition
    ("creep.unused-permission", "ci-deployer"),
    ("inv.unregistered", "ci-deployer"),
    ("trust.broad", "vendor-monitoring"),  # cross-account, no ExternalId
    ("creep.unused-permission", "vendor-monitoring"),
    ("inv.unregistered", "vendor-monitoring"),
    ("inv.orphan-manifest", "retired-summarizer"),
    # The escalation story (resource listings beside the export): ci-deployer reaches the
    # admin release-automation role through its Lambda function or by passing it to a new one;
    # release-copilot (an agent) assumes ci-deployer: admin in 2 steps.
    ("priv.reachable-admin", "ci-deployer"),
    ("priv.escalation", "release-copilot"),  # sts-001 path; codebuild/cloudformation ruled out
    ("priv.reachable-admin", "release-copilot"),
    ("priv.admin", "release-automation"),  # AdministratorAccess, not excluded: critical
    ("priv.wildcard", "release-automation"),
    ("creep.unused-permission", "release-automation"),
    ("inv.unregistered", "release-automation"),
    ("inv.unregistered", "integration-tests"),  # CodeBuild service role, no manifest
}


def test_sample_findings_are_exactly_the_ground_truth(report: Report) -> None:
    assert _active(report) == EXPECTED


def test_clean_principals_stay_silent(report: Report) -> None:
    noisy = {p for _, p in _active(report)}
    for clean in ("invoice-reconciler", "research-sandbox", "metrics-pusher"):
        assert clean not in noisy
    # humans (SSO) and service-linked roles are not audited as workloads
    assert not any("AWSReserved" in p.id or "aws-service-role" in p.id for p in report.principals)


def test_break_glass_is_suppressed_not_hidden(report: Report) -> None:
    sup = [f for f in report.findings if f.suppressed]
    assert {f.rule_id for f in sup} >= {"priv.admin", "creep.unused-principal"}
    assert all(f.principal.endswith("role/break-glass-admin") for f in sup)
    assert report.summary["suppressed"] == len(sup)
    assert report.summary["findings"] == len(report.findings) - len(sup)


def test_sandbox_boundary_and_conditional_deny(report: Report) -> None:
    by_name = {p.name: p for p in report.principals}
    sandbox = by_name["research-sandbox"]
    assert sandbox.granted["actions"] == 3  # s3:* + iam:* + bedrock:* cut by the boundary
    assert sandbox.granted["boundary_removed"] > 200
    orders = by_name["orders-worker"]
    assert orders.granted["denied_conditionally"] == 0  # DeleteTable was never granted
    vpc = [
        f
        for f in report.findings
        if f.rule_id == "priv.admin" and f.principal.endswith("vpc-bound-agent")
    ]
    assert vpc[0].severity == "high"


def test_manifest_locations_and_fail_on(report: Report) -> None:
    beyond = [f for f in report.findings if f.rule_id == "creep.beyond-declared"]
    assert all(
        f.location and f.location[0].endswith(".yaml") and f.location[1] == 23 for f in beyond
    )
    assert over_threshold(report, "high")
    # The only active critical is the admin automation role that ci-deployer reaches.
    critical = [f for f in report.findings if f.severity == "critical" and not f.suppressed]
    assert [(f.rule_id, f.principal.rsplit("/", 1)[-1]) for f in critical] == [
        ("priv.admin", "release-automation")
    ]
    assert over_threshold(report, "critical")
    assert not over_threshold(report, None)


def test_index_is_explainable(report: Report) -> None:
    by_name = {p.name: p for p in report.principals}
    assert by_name["invoice-reconciler"].creep_index == 0
    assert by_name["vpc-bound-agent"].bucket == "high"
    assert by_name["support-triage"].bucket == "medium"
    d = by_name["support-triage"].index_detail
    assert round(100 * d["ratio"] * d["reach"]) == by_name["support-triage"].creep_index
    assert set(d["from_rules"]) == {"creep.beyond-declared", "creep.unused-permission"}


@pytest.mark.parametrize("resources", [True, False], ids=["with-listings", "export-only"])
def test_each_sample_fix_applied_leaves_no_escalation(tmp_path: Path, resources: bool) -> None:
    """Apply each fix alone (every other principal unchanged) and audit again: the principal
    has no active priv.escalation, priv.admin or priv.reachable-admin left, except the paths
    its index entry lists as ``remaining`` (a trust naming it, which its own fix cannot
    close), and every escalation the first audit reported is listed as removed or remaining."""
    before = run_sample(remediate=True, resources=resources)
    export = json.loads((SAMPLE / "authorization-details.json").read_text())
    checked: list[str] = []
    for pid, rem in before.remediations.items():
        if "skipped" in rem:
            continue
        path = tmp_path / f"{len(checked)}.json"
        path.write_text(json.dumps(with_fix(export, pid, rem["documents"])))
        after = run_sample(resources=resources, export=path)
        remaining = [r["path"] for r in rem["remaining"]]
        expected = [("priv.reachable-admin", remaining)] if remaining else []
        assert escalations_left(after, pid) == expected, pid
        for f in before.findings:
            if f.principal == pid and f.rule_id == "priv.escalation" and f.suppressed is None:
                ids = {m["id"] for m in f.evidence["methods"]}
                assert remaining or ids <= set(rem["escalations_removed"]), pid
        checked.append(pid.rsplit("/", 1)[-1])
    assert sorted(checked) == sorted(
        ["ci-deployer", "legacy-etl", "orders-worker", "release-automation", "release-copilot",
         "report-builder", "support-triage", "vendor-monitoring", "vpc-bound-agent"]
    )  # fmt: skip


def test_release_copilots_path_through_ci_deployers_trust_is_remaining() -> None:
    """ci-deployer's trust names release-copilot: removing the copilot's sts:AssumeRole does
    not close its path to admin, and its fix says so instead of claiming sts-001 removed."""
    rem = run_sample(remediate=True).remediations[f"arn:aws:iam::111122223333:{COPILOT}"]
    assert rem["escalations_removed"] == []
    assert [r["action"] for r in rem["review"]] == ["sts:AssumeRole"]
    assert [(r["path"], r["steps"]) for r in rem["remaining"]] == [
        (f"{COPILOT} -assume-> {VIA_PASS}", 2),
        (f"{COPILOT} -assume-> {VIA_UPDATE}", 2),
    ]
    assert (
        "trust policy of role/ci/ci-deployer names role/agents/release-copilot"
        in (rem["remaining"][0]["reason"])
    )


def test_ci_deployers_fix_lists_every_reported_method_removed() -> None:
    rem = run_sample(remediate=True).remediations[f"arn:aws:iam::111122223333:{CI}"]
    assert sorted(rem["escalations_removed"]) == ["lambda-001", "lambda-003", "lambda-004"]
    assert rem["escalations_scoped"] == ["iam:PassRole", "lambda:UpdateFunctionCode"]
    assert rem["remaining"] == []


# -- escalation paths ------------------------------------------------------------------------

CI = "role/ci/ci-deployer"
COPILOT = "role/agents/release-copilot"
ADMIN = "role/ops/release-automation (admin)"
VIA_UPDATE = f"{CI} -lambda:UpdateFunctionCode-> {ADMIN}"
VIA_PASS = f"{CI} -PassRole+lambda:CreateFunction-> {ADMIN}"


def _finding(report: Report, rule: str, name: str) -> Any:
    (found,) = [
        f
        for f in report.findings
        if f.rule_id == rule and f.principal.endswith("/" + name) and f.suppressed is None
    ]
    return found


def _methods(report: Report, name: str) -> dict[str, dict[str, Any]]:
    ev = _finding(report, "priv.escalation", name).evidence
    return {m["id"]: m for m in ev["methods"]}


def _paths(method: dict[str, Any]) -> list[tuple[str, int]]:
    return [(p["text"], p["steps"]) for p in method.get("paths", [])]


def test_functions_and_projects_run_as_roles_that_trust_their_service(report: Report) -> None:
    """No resource runs as a role its service cannot assume (the sample once ran a Lambda
    function as the human break-glass role)."""
    snap, _ = load_aws(SAMPLE / "authorization-details.json", resources=SAMPLE)
    service = {
        "lambda-function": "lambda.amazonaws.com",
        "codebuild-project": "codebuild.amazonaws.com",
    }
    assert {r.kind for r in snap.resources} == set(service)
    for r in snap.resources:
        trusted = {t.value for t in snap.principals[r.runs_as].trust if t.kind == "service"}
        assert service[r.kind] in trusted, r.id
    assert snap.inventory >= {"lambda-function", "codebuild-project", "cloudformation-stack"}
    assert "glue-dev-endpoint" not in snap.inventory


def test_ci_deployer_reaches_admin_through_lambda_both_ways(report: Report) -> None:
    methods = _methods(report, "ci-deployer")
    assert {k: m["status"] for k, m in methods.items()} == {
        "lambda-001": "path",  # iam:PassRole + lambda:CreateFunction into the admin role
        "lambda-003": "path",  # lambda:UpdateFunctionCode on release-hook, which runs as it
        "lambda-004": "path",
    }
    assert _paths(methods["lambda-001"]) == [(VIA_PASS, 1)]
    assert _paths(methods["lambda-003"]) == [(VIA_UPDATE, 1)]
    edge = methods["lambda-003"]["paths"][0]["edges"][0]
    assert edge["kind"] == "resource"
    assert edge["via"] == "arn:aws:lambda:eu-west-1:111122223333:function:release-hook"
    passed = methods["lambda-001"]["paths"][0]["edges"][0]
    assert (passed["kind"], passed["via"]) == ("pass-role", "lambda.amazonaws.com")
    reach = _finding(report, "priv.reachable-admin", "ci-deployer")
    assert reach.severity == "high"
    assert reach.evidence["steps"] == 1
    assert [p["text"] for p in reach.evidence["paths"]] == [VIA_PASS, VIA_UPDATE]


def test_release_copilot_reaches_admin_in_two_steps(report: Report) -> None:
    esc = _finding(report, "priv.escalation", "release-copilot")
    # StartBuild's only project runs as the weak integration-tests role; no stack exists.
    assert esc.evidence["ruled_out"] == ["cloudformation-002", "codebuild-002"]
    methods = {m["id"]: m for m in esc.evidence["methods"]}
    assert list(methods) == ["sts-001"]
    two = [(f"{COPILOT} -assume-> {VIA_PASS}", 2), (f"{COPILOT} -assume-> {VIA_UPDATE}", 2)]
    assert _paths(methods["sts-001"]) == two
    assert [e["kind"] for e in methods["sts-001"]["paths"][0]["edges"]] == ["assume", "pass-role"]
    assert esc.severity == "medium"  # sts:AssumeRole on one named role: scoped resources
    reach = _finding(report, "priv.reachable-admin", "release-copilot")
    assert reach.severity == "high"
    assert reach.evidence["steps"] == 2
    assert [(p["text"], p["steps"]) for p in reach.evidence["paths"]] == two


def test_ci_deployer_keeps_its_broad_oidc_trust_beside_the_copilot_trust(report: Report) -> None:
    trust = _finding(report, "trust.broad", "ci-deployer")
    assert "token.actions.githubusercontent.com" in trust.message
    assert "release-copilot" not in trust.message  # a named role in the account is not broad


def test_unlisted_kind_needs_a_target_listed_empty_kind_is_ruled_out(report: Report) -> None:
    # glue-dev-endpoints.json is not in the sample: whether an endpoint exists is unknown.
    etl = _methods(report, "legacy-etl")
    assert {k: m["status"] for k, m in etl.items()} == {"glue-002": "needs-target"}
    assert etl["glue-002"]["needs_target"]["permission"] == "glue:UpdateDevEndpoint"
    # Without any listing, the copilot's CodeBuild and CloudFormation methods stay unknown
    # and ci-deployer's UpdateFunctionCode cannot be judged either.
    bare = run_sample(resources=False)
    copilot = {m["id"]: m["status"] for m in _methods(bare, "release-copilot").values()}
    assert copilot == {
        "sts-001": "path",
        "codebuild-002": "needs-target",
        "cloudformation-002": "needs-target",
    }
    assert "ruled_out" not in _finding(bare, "priv.escalation", "release-copilot").evidence
    ci = {k: m["status"] for k, m in _methods(bare, "ci-deployer").items()}
    assert ci == {"lambda-001": "path", "lambda-003": "needs-target", "lambda-004": "needs-target"}
    reach = _finding(bare, "priv.reachable-admin", "release-copilot")
    assert [p["text"] for p in reach.evidence["paths"]] == [f"{COPILOT} -assume-> {VIA_PASS}"]


def test_writing_fixes_changes_no_finding(report: Report) -> None:
    """With fixes to write, the graph also holds the admins' outgoing edges (what an admin's fix
    must not keep); without, it leaves them out (they cost seconds on a large estate). No
    finding may depend on which: the same findings, severities and wording either way."""
    fixing = run_sample(remediate=True)
    assert fixing.remediations and not report.remediations

    def seen(r: Report) -> list[tuple[str, str, str, str, str | None]]:
        return [(f.rule_id, f.severity, f.principal, f.message, f.suppressed) for f in r.findings]

    assert seen(fixing) == seen(report)
