"""The bundled GCP sample (two projects under a folder): what an auditor should see, and that
every renderer takes a GCP report."""

from __future__ import annotations

import json
from pathlib import Path

from nhictl.creep.model import Report
from nhictl.creep.remediation.files import write_remediations
from nhictl.providers.gcp.audit import GcpAuditInputs, audit_gcp
from nhictl.render.creep import render_json, render_markdown, render_sarif
from tests.creep.gcp.conftest import NOW

SAMPLE = Path(__file__).resolve().parents[3] / "sample-configs/gcp"
P1 = "acme-agents-prod.iam.gserviceaccount.com"


def run_sample() -> Report:
    return audit_gcp(
        GcpAuditInputs(
            snapshot=SAMPLE,
            manifests=[str(SAMPLE / "manifests")],
            baseline=SAMPLE / "baseline",
            exclusions=SAMPLE / "exclusions.yaml",
            now=NOW,
            remediate=True,
        )
    )


def by_rule(report: Report) -> dict[str, set[str]]:
    out: dict[str, set[str]] = {}
    for f in report.findings:
        if f.suppressed is None:
            out.setdefault(f.rule_id, set()).add(f.principal.split("@")[0])
    return out


def test_sample_findings() -> None:
    report = run_sample()
    assert report.provider == "gcp"
    seen = by_rule(report)
    assert seen == {
        "priv.admin": {"ci-runner", "481516234201-compute", "acme-data-dev"},
        "gcp.default-sa-editor": {"481516234201-compute", "acme-data-dev"},
        "priv.escalation": {
            "ci-runner",
            "481516234201-compute",
            "acme-data-dev",
            "deploy-pipeline",
            "token-broker",
        },
        "gcp.project-impersonation": {"deploy-pipeline"},
        "gcp.sa-separation-of-duties": {"deploy-pipeline"},
        "gcp.user-managed-key": {"deploy-pipeline", "legacy-etl", "test-runner"},
        "cred.stale-key": {"deploy-pipeline", "legacy-etl"},
        "trust.broad": {"public-demo"},
        "creep.unused-principal": {"legacy-etl", "public-demo"},
        "creep.unused-permission": {"deploy-pipeline", "support-bot", "token-broker"},
        "creep.beyond-declared": {"deploy-pipeline", "support-bot", "token-broker"},
        "creep.growth": {"support-bot"},
        "inv.unregistered": {
            "481516234201-compute",
            "acme-data-dev",
            "ci-runner",
            "public-demo",
            "test-runner",
        },
        "inv.orphan-manifest": {"reporter"},
    }
    # Clean, registered agents.
    clean = {"invoice-agent", "metrics-pusher", "audit-reader", "data-reader"}
    flagged = {p for ps in seen.values() for p in ps}
    assert not clean & flagged
    # The break-glass Owner is time-bound and excluded, not gone.
    bg = [f for f in report.findings if f.principal == f"break-glass@{P1}"]
    assert bg and all(f.suppressed for f in bg)
    admin = next(f for f in bg if f.rule_id == "priv.admin")
    assert admin.evidence["time_bound"]["until"].startswith("2026-12-31")
    ci = next(
        f for f in report.findings if f.rule_id == "priv.admin" and "ci-runner" in f.principal
    )
    assert (ci.severity, ci.evidence["level"]) == ("critical", "folder")
    assert report.summary["accounts"].keys() == {"acme-agents-prod", "acme-data-dev"}
    usage = {p.id.split("@")[0]: p.used["known"] for p in report.principals}
    assert usage["invoice-agent"] is True and usage["data-reader"] is False
    assert any("cannot be resolved offline" in w for w in report.summary["warnings"])


def test_sample_renders_and_remediates(tmp_path: Path) -> None:
    report = run_sample()
    sarif = json.loads(render_sarif(report))
    rules = {r["id"] for r in sarif["runs"][0]["tool"]["driver"]["rules"]}
    assert {"gcp.default-sa-editor", "gcp.user-managed-key", "priv.admin"} <= rules
    assert all(
        sarif["runs"][0]["tool"]["driver"]["rules"][r["ruleIndex"]]["id"] == r["ruleId"]
        for r in sarif["runs"][0]["results"]
    )
    doc = json.loads(render_json(report))
    assert doc["provider"] == "gcp"
    assert "gcp.project-impersonation" in render_markdown(report)
    written = write_remediations(tmp_path, report.remediations)
    index = json.loads((tmp_path / "index.json").read_text())
    support = next(e for e in index if e["principal"].startswith("support-bot@"))
    assert support["recommendation"] in ("replace-roles", "custom-role", "remove-roles")
    fix = json.loads((tmp_path / support["file"]).read_text())
    assert fix["format"] == "nhictl.gcp.remediation/v1"
    removed = {o["role"] for o in fix["operations"] if o["subtype"] == "REMOVE_ROLE"}
    assert "roles/storage.admin" in removed
    fixes = [r for r in report.remediations.values() if "skipped" not in r]
    assert len(written) == len(fixes) + 1  # a file per fix, and the index
    skipped = {r["skipped"] for r in report.remediations.values() if "skipped" in r}
    assert any(s.startswith("excluded: Break-glass Owner") for s in skipped)
