"""The bundled sample account: the exact findings an auditor should see."""

from __future__ import annotations

from datetime import UTC, datetime
from pathlib import Path
from typing import Any

import pytest
import yaml

from nhictl.creep.context import AuditOptions
from nhictl.creep.engine import analyse, over_threshold
from nhictl.creep.exclusions import load_exclusions
from nhictl.creep.model import Report
from nhictl.providers.aws.escalation import methods
from nhictl.providers.aws.knowledge import aws_knowledge
from nhictl.providers.aws.load import load_aws
from nhictl.providers.aws.manifests import ParsedManifest, declarations

SAMPLE = Path(__file__).resolve().parents[2] / "sample-configs/aws"


def run_sample(tmp_remediate: Path | None = None) -> Report:
    snap, keys = load_aws(
        SAMPLE / "authorization-details.json",
        SAMPLE / "last-accessed.json",
        SAMPLE / "access-keys.json",
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
    assert not over_threshold(report, "critical")  # the only critical is suppressed
    assert not over_threshold(report, None)


def test_index_is_explainable(report: Report) -> None:
    by_name = {p.name: p for p in report.principals}
    assert by_name["invoice-reconciler"].creep_index == 0
    assert by_name["vpc-bound-agent"].bucket == "high"
    assert by_name["support-triage"].bucket == "medium"
    d = by_name["support-triage"].index_detail
    assert round(100 * d["ratio"] * d["reach"]) == by_name["support-triage"].creep_index
    assert set(d["from_rules"]) == {"creep.beyond-declared", "creep.unused-permission"}


def _grants_on_any(policy: dict[str, Any]) -> set[str]:
    """Actions a policy grants on Resource "*" without a condition, lowercased."""
    out: set[str] = set()
    for st in policy["Statement"]:
        if st.get("Effect") != "Allow" or st.get("Condition") or st.get("Resource") != "*":
            continue
        acts = st["Action"] if isinstance(st["Action"], list) else [st["Action"]]
        out.update(a.lower() for a in acts)
    return out


def test_sample_fixes_grant_no_escalation_method() -> None:
    snap, keys = load_aws(
        SAMPLE / "authorization-details.json",
        SAMPLE / "last-accessed.json",
        SAMPLE / "access-keys.json",
    )
    opts = AuditOptions(now=datetime(2026, 11, 28, tzinfo=UTC), remediate=True)
    report = analyse(snap, aws_knowledge(), opts, load_exclusions(SAMPLE / "exclusions.yaml"), keys)
    bad: list[tuple[str, str]] = []
    for pid, rem in report.remediations.items():
        on_any = _grants_on_any(rem["policy"]) if rem.get("policy") else set()

        def held(a: str, on_any: set[str] = on_any) -> bool:
            # a wildcard counts: "lambda:*" holds lambda:UpdateFunctionCode
            return bool({a.lower(), f"{a.split(':')[0].lower()}:*", "*"} & on_any)

        bad.extend(
            (pid.rsplit("/", 1)[-1], m.id)
            for m in methods()
            if all(any(held(a) for a in group) for group in m.requires)
        )
    assert bad == []
