"""The per-principal risk view: worst active severity first, then reach and creep."""

from __future__ import annotations

import json
from itertools import pairwise
from pathlib import Path

import pytest

from nhictl.creep.combine import combine_reports
from nhictl.creep.model import Finding, Report
from nhictl.creep.risk import BANDS, RISK_LEVELS, apply_risk, merge_top_risks, principal_risk
from nhictl.providers.aws.knowledge import aws_knowledge
from nhictl.render.creep import render_markdown, report_dict, sarif_dict
from tests.conftest import CliRunner
from tests.creep.gcp import conftest as gcp
from tests.creep.test_cli_creep import BASE
from tests.creep.test_sample_account import run_sample

from .conftest import OLD, RECENT, allow, arn, audit, doc, export, la_resp, role, svc_row

CAT_W = 60_000  # a catalog weight of the AWS catalog's order


def finding(severity: str, rule: str = "r.x", suppressed: str | None = None) -> Finding:
    return Finding(rule, severity, "p", "m", {}, "fix", suppressed)  # type: ignore[arg-type]


@pytest.mark.parametrize(("lower", "upper"), list(pairwise(RISK_LEVELS)))
def test_any_higher_level_outranks_any_lower_one(lower: str, upper: str) -> None:
    weakest_upper = principal_risk([] if upper == "none" else [finding(upper)], 0, CAT_W, 0)
    strongest_lower = principal_risk([] if lower == "none" else [finding(lower)], CAT_W, CAT_W, 100)
    assert weakest_upper["level"] == upper and strongest_lower["level"] == lower
    assert weakest_upper["score"] > strongest_lower["score"]
    assert BANDS[upper][0] == weakest_upper["score"]
    assert BANDS[lower][1] == strongest_lower["score"]


def test_scores_stay_in_0_to_100() -> None:
    assert principal_risk([], 0, CAT_W, 0)["score"] == 0
    assert principal_risk([finding("critical")], CAT_W * 10, CAT_W, 100)["score"] == 100


def test_reach_then_creep_break_ties_within_a_level() -> None:
    small = principal_risk([finding("high")], 30, CAT_W, 0)
    wide = principal_risk([finding("high")], 20_000, CAT_W, 0)
    wide_creepy = principal_risk([finding("high")], 20_000, CAT_W, 90)
    assert small["score"] < wide["score"] < wide_creepy["score"]
    assert small["reach"] < wide["reach"]


def test_suppressed_findings_do_not_count_and_drivers_set_the_level() -> None:
    found = [
        finding("critical", "priv.admin", suppressed="break-glass"),
        finding("high", "trust.broad"),
        finding("high", "priv.escalation"),
        finding("medium", "creep.unused-permission"),
    ]
    risk = principal_risk(found, 100, CAT_W, 10)
    assert risk["level"] == "high"
    assert risk["drivers"] == ["priv.escalation", "trust.broad"]
    only_suppressed = principal_risk(found[:1], 100, CAT_W, 10)
    assert only_suppressed["level"] == "none" and only_suppressed["drivers"] == []


# -- the engine -----------------------------------------------------------------------------
S = ("logs", "kinesis", "dynamodb", "ec2")


def _index_60_vs_trust_0() -> Report:
    """``wide``: hundreds of unused writes (creep index >= 60, medium findings only);
    ``vendor``: uses all it holds (index 0) but trusts another account without ExternalId."""
    cat = aws_knowledge().catalog
    writes = [
        n for s in S for n in cat.names(cat.service_mask(s)) if cat.level(n) in ("Write", "Read")
    ]
    s3 = allow(["s3:GetObject"], "arn:aws:s3:::b/*")
    cross = doc(
        {
            "Effect": "Allow",
            "Principal": {"AWS": "arn:aws:iam::999988887777:root"},
            "Action": "sts:AssumeRole",
        }
    )
    page = export(
        roles=[
            role("wide", doc(allow(writes, "arn:aws:logs:eu-west-1:111122223333:log-group:a"), s3)),
            role("vendor", doc(s3), trust=cross),
        ]
    )
    recent_s3 = svc_row("s3", RECENT, {"GetObject": RECENT})
    la = {
        arn("role", "wide"): la_resp(recent_s3, *[svc_row(s, OLD) for s in S]),
        arn("role", "vendor"): la_resp(recent_s3),
    }
    return audit(page, last_accessed=la)


def test_high_trust_at_index_0_outranks_medium_creep_at_index_60() -> None:
    report = _index_60_vs_trust_0()
    by_name = {p.name: p for p in report.principals}
    wide, vendor = by_name["wide"], by_name["vendor"]
    assert vendor.creep_index == 0 and wide.creep_index >= 60
    worst_wide = {f.severity for f in report.findings if f.principal == wide.id}
    assert "high" not in worst_wide and "critical" not in worst_wide
    assert vendor.risk["level"] == "high" and vendor.risk["drivers"] == ["trust.broad"]
    assert wide.risk["level"] == "medium"
    assert vendor.risk["score"] > wide.risk["score"]
    assert [t["name"] for t in report.summary["top_risks"]] == ["vendor", "wide"]
    # The creep index is untouched by the risk view.
    assert wide.index_detail["from_rules"] == ["creep.unused-permission"]
    # Both in the JSON, the risk beside (not instead of) the index.
    (pv,) = [p for p in report_dict(report)["principals"] if p["name"] == "vendor"]
    assert pv["risk"]["level"] == "high" and pv["creep_index"] == 0


def test_markdown_ranks_by_risk() -> None:
    report = _index_60_vs_trust_0()
    md = render_markdown(report)
    assert md.index("role/vendor`") < md.index("role/wide`")
    assert "## Top risks" in md
    assert f"findings: {len(report.findings)} active, 0 suppressed" in md
    assert "| Severity | Active |" in md


def test_a_finding_added_after_the_loop_counts() -> None:
    # Cross-principal rules append findings after the per-principal loop; the final pass over
    # all findings (what analyse runs last) must see them.
    report = _index_60_vs_trust_0()
    wide = next(p for p in report.principals if p.name == "wide")
    late = Finding("priv.reachable-admin", "critical", wide.id, "reaches admin", {}, "fix")
    apply_risk(report.principals, [*report.findings, late], CAT_W)
    assert wide.risk["level"] == "critical" and wide.risk["drivers"] == ["priv.reachable-admin"]


def test_sample_account_leads_with_what_an_attacker_uses() -> None:
    report = run_sample()
    top = {t["name"]: t for t in report.summary["top_risks"]}
    # Both sat at the bottom when ranked by creep index (5 and 0).
    assert top["ci-deployer"]["level"] == "high" and "trust.broad" in top["ci-deployer"]["drivers"]
    vendor = next(p for p in report.principals if p.name == "vendor-monitoring")
    assert vendor.risk["drivers"] == ["trust.broad"] and vendor.risk["level"] == "high"
    # release-copilot holds almost nothing itself, but reaches an admin in two steps.
    assert top["release-copilot"]["drivers"] == ["priv.reachable-admin"]
    ranked = sorted(report.principals, key=lambda p: -p.risk["score"])
    names = [p.name for p in ranked]
    # the figures docs/audit-creep.md ("Risk view") quotes
    score = {p.name: (p.risk["score"], p.creep_index) for p in report.principals}
    assert score["ci-deployer"] == (72, 5) and score["vendor-monitoring"] == (66, 0)
    assert score["release-copilot"] == (71, 0) and score["report-builder"] == (49, 48)
    assert names.index("vendor-monitoring") < names.index("report-builder")
    assert names.index("ci-deployer") < names.index("report-builder")
    # break-glass-admin's findings are all suppressed: no level of its own.
    glass = next(p for p in report.principals if p.name == "break-glass-admin")
    assert glass.risk["level"] == "none"


def test_table_lists_principals_by_risk(cli: CliRunner) -> None:
    res = cli(*BASE)
    assert res.code == 0, res.stderr
    lines = res.stdout.splitlines()
    start = lines.index("Principals by risk (with findings or a non-zero index)")
    rows = [ln.split()[0] for ln in lines[start + 2 : start + 10]]
    assert rows.index("role/vendors/vendor-monitoring") < rows.index("role/app/report-builder")
    assert rows.index("role/ci/ci-deployer") < rows.index("role/app/report-builder")
    st = next(ln for ln in lines if ln.startswith("role/agents/support-triage "))
    assert "23 (+74?)" in st  # 23 seen used, 74 of unknown use


def test_sarif_run_properties_count_active_and_suppressed() -> None:
    props = sarif_dict(run_sample())["runs"][0]["properties"]
    assert props["findings"] == {"active": 41, "suppressed": 5}
    assert props["summary"]["top_risks"]


# -- the combined report ----------------------------------------------------------------------
def test_combined_report_merges_top_risks_and_counts(tmp_path: Path) -> None:
    aws = run_sample()
    pr = gcp.Project(
        accounts=[gcp.sa("agent")],
        bindings=[gcp.binding("roles/owner", gcp.member("agent"))],
    )
    g = gcp.audit_project(tmp_path, pr)
    both = combine_reports([aws, g])
    top = both.summary["top_risks"]
    assert top == merge_top_risks([aws.summary["top_risks"], g.summary["top_risks"]])
    assert len(top) == 5
    assert [t["score"] for t in top] == sorted((t["score"] for t in top), reverse=True)
    assert top[0]["level"] == "critical"  # AWS release-automation (AdministratorAccess)
    assert any(t["provider"] == "gcp" and t["level"] == "critical" for t in top)  # Owner
    md = render_markdown(both)
    assert "| aws | 14 | 41 active, 5 suppressed |" in md
    assert json.loads(json.dumps(report_dict(both)["summary"]["top_risks"])) == top


def test_a_principal_that_can_become_admin_has_the_admins_reach() -> None:
    """A small grant that reaches an admin in one step is as far-reaching as the admin; each
    further step takes a tenth off."""
    from nhictl.creep.model import Finding
    from nhictl.creep.risk import principal_risk

    def reach_after(steps: int) -> float:
        f = Finding("priv.reachable-admin", "high", "p", "m", {"steps": steps}, "fix")
        return float(principal_risk([f], 10, 100_000, 0)["reach"])

    alone = principal_risk([Finding("trust.broad", "high", "p", "m", {}, "fix")], 10, 100_000, 0)
    assert alone["reach"] < 0.3
    assert reach_after(1) == 1.0
    assert reach_after(3) == 0.8
    one_step = principal_risk(
        [Finding("priv.reachable-admin", "high", "p", "m", {"steps": 1}, "fix")], 10, 100_000, 0
    )
    assert one_step["score"] > alone["score"] and one_step["level"] == "high"
    suppressed = Finding("priv.reachable-admin", "high", "p", "m", {"steps": 1}, "fix")
    suppressed.suppressed = "accepted"
    assert principal_risk([suppressed], 10, 100_000, 0)["reach"] == alone["reach"]
