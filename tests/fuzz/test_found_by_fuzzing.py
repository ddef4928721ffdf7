"""Regressions: each input the property tests or the fuzz harness found crashing a loader.

Every one ended in exit 3 (an internal error) or a two-line message; each now exits 2 with one
line naming the file, the field where there is one, and the reason.
"""

from __future__ import annotations

import copy
import json
import shutil
from collections.abc import Callable
from pathlib import Path
from typing import Any

import pytest
import yaml

from tests.conftest import EXAMPLE, SAMPLES, CliResult, CliRunner

Write = Callable[[str, str | bytes], Path]
AUTHZ = json.loads((SAMPLES / "aws" / "authorization-details.json").read_text())


def one_error_line(result: CliResult, *parts: str) -> str:
    """The run exited 2 with a one-line error holding every one of ``parts``."""
    out = result.stdout + result.stderr
    assert result.code == 2, out
    assert "internal error" not in out and "Traceback" not in out, out
    lines = [line for line in out.splitlines() if all(p in line for p in parts)]
    assert lines, out
    return lines[0]


def audit(cli: CliRunner, path: Path) -> CliResult:
    return cli("audit-creep", "--snapshot", str(path))


def authz_with(write: Write, change: Callable[[dict[str, Any]], None]) -> Path:
    doc = copy.deepcopy(AUTHZ)
    change(doc)
    return write("authorization-details.json", json.dumps(doc))


# --------------------------------------------------------------------------- manifests


def test_yaml_control_character_error_is_one_line(cli: CliRunner, write: Write) -> None:
    # PyYAML's ReaderError spans two lines ("...\n  in "<unicode string>", position 9").
    path = write("agent.yaml", b"a: b\nc: \x03\n")
    line = one_error_line(cli("validate", str(path)), str(path), "#x0003")
    assert f"{path}:2:4: invalid YAML: unacceptable character #x0003" in line


def test_yaml_control_character_in_exclusions_is_one_line(cli: CliRunner, write: Write) -> None:
    path = write("exclusions.yaml", b"exclusions:\n  - rule: x\x07\n")
    result = cli(
        "audit-creep",
        "--snapshot",
        str(SAMPLES / "aws" / "authorization-details.json"),
        "--exclusions",
        str(path),
    )
    one_error_line(result, str(path), "#x0007")
    assert "<unicode string>" not in result.stdout + result.stderr  # PyYAML's second line


@pytest.mark.parametrize("value", [None, [1], "spiffe"])
def test_workload_identity_not_an_object_is_a_schema_error(
    cli: CliRunner, write: Write, value: Any
) -> None:
    # Crashed with TypeError: the not-rules' message looked up fields in a non-object.
    doc = yaml.safe_load(EXAMPLE.read_text())
    doc["spec"]["workloadIdentity"] = value
    path = write("agent.yaml", yaml.safe_dump(doc))
    result = cli("validate", str(path))
    assert result.code == 1, result.stdout + result.stderr
    errors = [line for line in result.stdout.splitlines() if "workloadIdentity" in line]
    assert len(errors) == 1 and "is not of type 'object'" in errors[0], result.stdout


@pytest.mark.parametrize(
    ("scalar", "kind"),
    [("!!float a", "float"), ("!!float", "float"), ("!!int 0x", "int"), ("!!bool maybe", "bool")],
)
def test_explicit_scalar_tag_that_does_not_fit(
    cli: CliRunner, write: Write, scalar: str, kind: str
) -> None:
    # PyYAML's constructors raised ValueError / IndexError / KeyError.
    path = write("agent.yaml", f"apiVersion: nhictl.dev/v1\nspec: {scalar}\n")
    one_error_line(cli("validate", str(path)), f"{path}:2:7: invalid YAML:", f"!!{kind}")


def test_lone_surrogate_escape_in_a_json_manifest(cli: CliRunner, write: Write) -> None:
    # "\ud800" decodes to a str no UTF-8 output can encode: printing the result crashed.
    doc = yaml.safe_load(EXAMPLE.read_text())
    doc["spec"]["workloadIdentity"]["spiffeId"] = "spiffe://a/\ud800"
    path = write("agent.json", json.dumps(doc, default=str))
    one_error_line(
        cli("validate", str(path)), str(path), "$.spec.workloadIdentity.spiffeId", "surrogate"
    )


def test_paired_surrogate_escape_is_fine(cli: CliRunner, write: Write) -> None:
    doc = yaml.safe_load(EXAMPLE.read_text())
    doc["spec"]["description"] = "\U0001f600 an emoji, escaped as a surrogate pair"
    path = write("agent.json", json.dumps(doc, default=str))  # ensure_ascii: \ud83d\ude00
    assert "\\ud83d\\ude00" in path.read_text()
    result = cli("validate", str(path))
    assert result.code == 0, result.stdout + result.stderr


# --------------------------------------------------------------------------- AWS loaders


def test_aws_snapshot_nested_too_deep(cli: CliRunner, write: Write) -> None:
    # json's decoder recursed per level: RecursionError.
    path = write("authorization-details.json", "[" * 100_000)
    one_error_line(audit(cli, path), str(path), "nesting too deep")


def test_aws_policy_document_string_nested_too_deep(cli: CliRunner, write: Write) -> None:
    def deep(doc: dict[str, Any]) -> None:
        doc["RoleDetailList"][0]["AssumeRolePolicyDocument"] = "[" * 100_000

    path = authz_with(write, deep)
    one_error_line(
        audit(cli, path), str(path), "$.RoleDetailList[0].AssumeRolePolicyDocument", "too deep"
    )


@pytest.mark.parametrize("epoch", [10**20, -(10**20), 1e308])
def test_aws_epoch_timestamp_out_of_range(cli: CliRunner, write: Write, epoch: float) -> None:
    # datetime.fromtimestamp raised OverflowError, which parse_time did not catch.
    def far(doc: dict[str, Any]) -> None:
        doc["RoleDetailList"][0]["CreateDate"] = epoch

    path = authz_with(write, far)
    one_error_line(audit(cli, path), str(path), "$.RoleDetailList[0].CreateDate", "timestamp")


def test_aws_last_accessed_epoch_out_of_range(cli: CliRunner, write: Write) -> None:
    doc = json.loads((SAMPLES / "aws" / "last-accessed.json").read_text())
    arn = next(iter(doc))
    pages = doc[arn] if isinstance(doc[arn], list) else [doc[arn]]
    pages[0]["ServicesLastAccessed"][0]["LastAuthenticated"] = 10**20
    path = write("last-accessed.json", json.dumps(doc))
    result = cli(
        "audit-creep",
        "--snapshot",
        str(SAMPLES / "aws" / "authorization-details.json"),
        "--last-accessed",
        str(path),
    )
    one_error_line(result, str(path), "LastAuthenticated", "not a timestamp")


@pytest.mark.parametrize("tags", [5, "k=v", {"Key": "a"}])
def test_aws_tags_not_an_array(cli: CliRunner, write: Write, tags: Any) -> None:
    # _tags iterated whatever Tags held: TypeError on a number.
    def odd(doc: dict[str, Any]) -> None:
        doc["RoleDetailList"][0]["Tags"] = tags

    path = authz_with(write, odd)
    one_error_line(audit(cli, path), str(path), "$.RoleDetailList[0].Tags", "expected array")


def test_aws_lone_surrogate_escape(cli: CliRunner, write: Write) -> None:
    def odd(doc: dict[str, Any]) -> None:
        doc["RoleDetailList"][0]["RoleName"] = "ci-\ud800"

    path = authz_with(write, odd)
    one_error_line(audit(cli, path), str(path), "$.RoleDetailList[0].RoleName", "surrogate")


def test_aws_trust_policy_condition_not_an_object(cli: CliRunner, write: Write) -> None:
    # The loader kept it; the escalation pass called .values() on a list: AttributeError.
    def odd(doc: dict[str, Any]) -> None:
        role = doc["RoleDetailList"][0]
        trust = role["AssumeRolePolicyDocument"]
        trust = json.loads(trust) if isinstance(trust, str) else trust
        trust["Statement"][0]["Condition"] = [1]
        role["AssumeRolePolicyDocument"] = trust

    path = authz_with(write, odd)
    one_error_line(
        audit(cli, path),
        str(path),
        "$.RoleDetailList[0].AssumeRolePolicyDocument.Statement[0].Condition",
        "expected an object",
    )


def test_azure_assignable_scopes_not_an_array(cli: CliRunner, tmp_path: Path) -> None:
    # A boolean assignableScopes was iterated: TypeError.
    folder = tmp_path / "azure"
    shutil.copytree(SAMPLES / "azure", folder)
    definitions = folder / "role-definitions.json"
    doc = json.loads(definitions.read_text())
    doc[0]["assignableScopes"] = True
    definitions.write_text(json.dumps(doc))
    result = cli("audit-creep", "--provider", "azure", "--snapshot", str(folder))
    one_error_line(result, str(definitions), "$[0].assignableScopes", "expected array")
