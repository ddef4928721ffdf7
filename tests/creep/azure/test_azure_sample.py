"""The bundled sample tenant: the exact findings an auditor should see."""

from __future__ import annotations

import json
import subprocess
import sys
from pathlib import Path

import pytest

from nhictl.creep.engine import over_threshold
from nhictl.creep.model import Report
from nhictl.creep.remediation.files import write_remediations
from nhictl.providers.azure.audit import AzureAuditInputs, audit_azure

from .conftest import NOW

ROOT = Path(__file__).resolve().parents[3]
SAMPLE = ROOT / "sample-configs/azure"
ORPHAN = "0ddba11f-aaaa-4000-8000-0000000000ff"


def run_sample(**extra: object) -> Report:
    return audit_azure(
        AzureAuditInputs(
            snapshot=SAMPLE,
            baseline=SAMPLE / "baseline",
            manifests=[str(SAMPLE / "manifests")],
            exclusions=SAMPLE / "exclusions.yaml",
            now=NOW,
            **extra,  # type: ignore[arg-type]
        )
    )


@pytest.fixture(scope="module")
def report() -> Report:
    return run_sample(remediate=True)


def _active(report: Report) -> set[tuple[str, str]]:
    names = {p.id: p.name for p in report.principals}
    names[ORPHAN] = "retired-exporter"
    return {(f.rule_id, names[f.principal]) for f in report.findings if f.suppressed is None}


EXPECTED = {
    ("azure.custom-role-locks", "ops-automation"),
    ("azure.standing-privileged-assignment", "deploy-pipeline"),  # Contributor, no PIM
    ("azure.standing-privileged-assignment", "ops-automation"),
    ("cred.stale-key", "deploy-pipeline"),  # a secret without expiry on the SP object
    ("cred.stale-key", "legacy-sync"),  # expired, and a three-year one unused since March
    ("creep.beyond-declared", "orders-processor"),  # the drifted agent: Website Contributor
    ("creep.growth", "orders-processor"),
    ("creep.growth", "reporting-agent"),  # Monitoring Contributor since the baseline
    ("creep.unused-permission", "deploy-pipeline"),
    ("creep.unused-permission", "ops-automation"),
    ("creep.unused-permission", "orders-processor"),
    ("creep.unused-permission", "reporting-agent"),
    ("creep.unused-principal", "legacy-sync"),  # last sign-in 2026-03-02
    ("inv.orphan-manifest", "retired-exporter"),
    ("inv.unregistered", "deploy-pipeline"),
    ("inv.unregistered", "ops-automation"),
    ("priv.admin", "deploy-pipeline"),  # Contributor on the prod subscription
    ("priv.admin", "ops-automation"),  # RBAC Administrator at a management group
    ("priv.escalation", "deploy-pipeline"),
    ("priv.escalation", "ops-automation"),
    ("priv.escalation", "orders-processor"),  # publish profile (needs a target)
    ("priv.wildcard", "deploy-pipeline"),
    ("priv.wildcard", "legacy-sync"),
    ("priv.wildcard", "ops-automation"),
    ("priv.wildcard", "orders-processor"),
    ("priv.wildcard", "reporting-agent"),
}


def test_sample_findings_are_exactly_the_ground_truth(report: Report) -> None:
    assert _active(report) == EXPECTED


def test_clean_agent_stays_silent_and_humans_are_not_audited(report: Report) -> None:
    assert "invoice-agent" not in {p for _, p in _active(report)}
    names = {p.name for p in report.principals}
    assert "Microsoft Graph" not in names  # a first-party app with no assignment
    assert len(report.principals) == 7
    by_name = {p.name: p for p in report.principals}
    assert by_name["invoice-agent"].creep_index == 0
    assert by_name["orders-processor"].kind == "managed-identity"


def test_break_glass_is_time_bound_and_suppressed(report: Report) -> None:
    sup = [f for f in report.findings if f.suppressed]
    assert {f.rule_id for f in sup} >= {"priv.admin", "inv.unregistered"}
    admin = next(f for f in sup if f.rule_id == "priv.admin")
    assert admin.severity == "high"  # time-bound PIM activation: one step below critical
    standing = {f.principal for f in report.findings if f.rule_id.startswith("azure.standing")}
    assert admin.principal not in standing  # PIM shows its Owner is time-bound
    assert over_threshold(report, "critical")  # ops-automation's RBAC Administrator


def test_accounts_and_warnings(report: Report) -> None:
    accounts = report.summary["accounts"]
    assert set(accounts) == {
        "0b1f6c2a-1111-4a2b-9c3d-4e5f60718293",
        "5d2e7f3b-2222-4b3c-8d4e-5f6071829304",
        "7f3c1a2e-5b4d-4c8e-9a01-2b3c4d5e6f70",  # the tenant: ops-automation's MG scope
    }
    warnings = report.summary["warnings"]
    assert warnings[0] == (
        "1 role assignment(s) to 1 group(s) were not resolved (group membership is not an "
        "input): service principals in those groups may hold more than reported"
    )
    # the sample has no provider-operations.json: the report says wildcards are undercounted
    assert len(warnings) == 2 and warnings[1].startswith("operation list incomplete:")
    assert report.summary["inputs"]["operation_list"]["complete"] is False


def test_remediations_are_written_for_review(report: Report, tmp_path: Path) -> None:
    written = write_remediations(tmp_path, report.remediations)
    index = json.loads((tmp_path / "index.json").read_text())
    fixes = [e for e in index if "skipped" not in e]
    assert written and fixes and all("remove_assignments" in e for e in fixes)
    # the break-glass automation's findings are all suppressed: listed, no file
    excluded = [e for e in index if e.get("skipped", "").startswith("excluded: Break-glass")]
    assert len(excluded) == 1 and "file" not in excluded[0]
    role = json.loads((tmp_path / "33333333-aaaa-4000-8000-000000000003.json").read_text())
    assert role["IsCustom"] and role["AssignableScopes"] == [
        "/subscriptions/0b1f6c2a-1111-4a2b-9c3d-4e5f60718293/resourcegroups/rg-orders"
    ]
    assert (
        "Microsoft.Storage/storageAccounts/queueServices/queues/messages/read"
        in role["DataActions"]
    )


def test_sample_builder_reproduces_the_committed_files(tmp_path: Path) -> None:
    files = sorted(p for p in SAMPLE.rglob("*.json"))
    before = {p: p.read_bytes() for p in files}
    try:
        subprocess.run(
            [sys.executable, str(ROOT / "scripts/build_azure_sample.py")],
            check=True,
            capture_output=True,
        )
        assert {p: p.read_bytes() for p in files} == before
    finally:
        for p, data in before.items():
            p.write_bytes(data)
