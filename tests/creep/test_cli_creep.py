"""``nhictl audit-creep`` and ``nhictl collect``: formats, exit codes, remediation files."""

from __future__ import annotations

import json
import re
from pathlib import Path

import pytest

from tests.conftest import CliRunner

SAMPLE = Path(__file__).resolve().parents[2] / "sample-configs/aws"
BASE = (
    "audit-creep",
    "--snapshot", str(SAMPLE / "authorization-details.json"),
    "--last-accessed", str(SAMPLE / "last-accessed.json"),
    "--access-keys", str(SAMPLE / "access-keys.json"),
    "--manifests", str(SAMPLE / "manifests"),
    "--exclusions", str(SAMPLE / "exclusions.yaml"),
    "--as-of", "2026-11-28",
)  # fmt: skip


def test_table_default_and_exit_zero(cli: CliRunner) -> None:
    result = cli(*BASE)
    assert result.code == 0, result.stderr
    assert "audit-creep aws: 14 principals" in result.stdout
    assert "role/agents/support-triage" in result.stdout


def test_json_and_fail_on(cli: CliRunner) -> None:
    result = cli(*BASE, "--format", "json", "--fail-on", "high")
    assert result.code == 1  # high findings exist
    data = json.loads(result.stdout)
    assert data["provider"] == "aws" and data["summary"]["suppressed"] == 5
    # the admin role/ops/release-automation is critical and not excluded (break-glass is)
    assert cli(*BASE, "--format", "json", "--fail-on", "critical").code == 1


def test_sarif_markdown_and_output_file(cli: CliRunner, tmp_path: Path) -> None:
    out = tmp_path / "r.sarif"
    assert cli(*BASE, "--format", "sarif", "-o", str(out)).code == 0
    assert json.loads(out.read_text())["version"] == "2.1.0"
    md = cli(*BASE, "--format", "markdown")
    assert md.stdout.startswith("# nhictl audit-creep (aws)")


def test_remediate_out(cli: CliRunner, tmp_path: Path) -> None:
    fixes = tmp_path / "fixes"
    result = cli(*BASE, "--format", "json", "--remediate-out", str(fixes))
    assert result.code == 0
    index = json.loads((fixes / "index.json").read_text())
    triage = next(e for e in index if e["principal"].endswith("support-triage"))
    policy = json.loads((fixes / triage["file"]).read_text())
    actions = {a for st in policy["Statement"] for a in st["Action"]}
    # used ∩ declared: the drifted agent keeps what it declared and used, nothing more
    assert actions == {
        "dynamodb:GetItem",
        "dynamodb:Query",
        "bedrock:InvokeModel",
        "sqs:ReceiveMessage",
        "sqs:DeleteMessage",
    }


def test_growth_against_baseline(cli: CliRunner, tmp_path: Path) -> None:
    data = json.loads((SAMPLE / "authorization-details.json").read_text())
    for role in data["RoleDetailList"]:
        if role["RoleName"] == "orders-worker":
            doc = role["RolePolicyList"][0]["PolicyDocument"]
            doc["Statement"] = doc["Statement"][:1]  # the baseline had only the SQS grant
    baseline = tmp_path / "baseline.json"
    baseline.write_text(json.dumps(data))
    result = cli(*BASE, "--baseline", str(baseline), "--format", "json")
    growth = [
        f
        for f in json.loads(result.stdout)["findings"]
        if f["rule_id"] == "creep.growth" and f["evidence"]["against"] == "baseline"
    ]
    assert [f["principal"].rsplit("/", 1)[-1] for f in growth] == ["orders-worker"]


def test_bad_input_exits_2(cli: CliRunner, tmp_path: Path) -> None:
    bad = tmp_path / "bad.json"
    bad.write_text('{"RoleDetailList": [{"RoleName": "x"}]}')
    result = cli("audit-creep", "--snapshot", str(bad))
    assert result.code == 2
    assert "bad.json: $.RoleDetailList[0].Arn: missing" in result.stderr
    assert "Traceback" not in result.stderr
    assert cli("audit-creep").code == 2  # no snapshot at all
    assert cli(*BASE, "--as-of", "yesterday").code == 2
    assert cli(*BASE, "--fail-on", "severe").code == 2


def test_audit_creep_help_says_what_the_fixes_and_the_ranking_are(cli: CliRunner) -> None:
    text = " ".join(cli("audit-creep", "--help").stdout.split())
    for phrase in (
        "used / unknown / unused",
        "ranked by risk",
        "index.json says per principal what its fix removes",
        "6,144-character limit",
        "none for excluded principals",
        "--treat-untracked-as [used|unused]",
        "nhictl audit-creep --snapshot sample-configs/aws --remediate-out fixes/",
    ):
        assert phrase in text, phrase


def test_collect_help_lists_aws(cli: CliRunner) -> None:
    result = cli("collect", "--help")
    assert result.code == 0 and "aws" in result.stdout


@pytest.mark.parametrize("width", [80, 100])
def test_table_fits_the_terminal_one_line_per_finding(
    cli: CliRunner, monkeypatch: pytest.MonkeyPatch, width: int
) -> None:
    data = json.loads(cli(*BASE, "--format", "json").stdout)
    monkeypatch.setenv("COLUMNS", str(width))
    result = cli(*BASE, "--color", "always")  # drawn as for a terminal
    assert result.code == 0, result.stderr
    assert "\x1b[" in result.stdout
    lines = re.sub(r"\x1b\[[0-9;]*m", "", result.stdout).splitlines()
    assert [line for line in lines if len(line) > width] == []
    summary = data["summary"]
    assert lines[1] == f"findings: {summary['findings']} active, {summary['suppressed']} suppressed"
    # Every finding: one line with severity, rule id and principal (each whole), then its
    # detail indented below it, then the next finding.
    findings = lines.index(f"Findings: {summary['findings']} active")
    suppressed = lines.index(f"Suppressed: {summary['suppressed']} (by --exclusions)")
    heads = [
        i for i in range(findings + 1, len(lines)) if re.match(r"^[a-z]+ +\S+ +\S+$", lines[i])
    ]
    assert len(heads) == len(data["findings"]) == summary["findings"] + summary["suppressed"]
    expected = sorted(data["findings"], key=lambda f: "suppressed" in f)  # active ones first
    for f, i in zip(expected, heads, strict=True):
        name = f["principal"].split(":", 5)[5]  # role/agents/x: the account is in the header
        assert lines[i].split() == [f["severity"], f["rule_id"], name], lines[i]
        detail = []
        for line in lines[i + 1 :]:
            if not line.startswith("    "):
                break
            detail.append(line.strip())
        assert " ".join(detail).startswith(f["message"][:40])
        assert ("suppressed" in f) == (i > suppressed)
    principals = lines.index("Principals by risk (with findings or a non-zero index)")
    assert lines[principals + 1].split()[0] == "principal"
    rows = lines[principals + 2 : findings]  # the name whole in its own row, wherever it ranks
    assert any(re.search(r"(^|\s)role/agents/support-triage(\s)", row) for row in rows)
