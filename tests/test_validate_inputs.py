"""``nhictl validate``: nothing found is not success, non-manifests beside manifests are
skipped with a note (or errors under --strict), and -q prints only the problems."""

from __future__ import annotations

import json
from collections.abc import Callable
from pathlib import Path

from tests.conftest import EXAMPLE, SAMPLES, CliRunner

Write = Callable[[str, str | bytes], Path]

PACKAGE_JSON = '{"name": "web", "version": "1.0.0", "scripts": {"test": "jest"}}\n'
CI_YAML = "on: push\njobs:\n  test:\n    runs-on: ubuntu-latest\n"


def mixed_folder(write: Write, example_text: str) -> Path:
    write("repo/agents/invoice.yaml", example_text)
    write("repo/agents/package.json", PACKAGE_JSON)
    write("repo/agents/.github-ci.yml", CI_YAML)  # hidden: never looked at
    return write("repo/agents/ci.yaml", CI_YAML).parent


def test_empty_directory_or_glob_is_exit_2_no_manifests_found(
    cli: CliRunner, tmp_path: Path
) -> None:
    empty = tmp_path / "empty"
    empty.mkdir()
    for arg in (str(empty), str(empty / "*.yaml"), str(tmp_path / "**" / "*.yml")):
        result = cli("validate", arg)
        assert result.code == 2, arg
        assert f"{arg}: no manifests found" in result.stdout
        assert "✓" not in result.stdout and "all valid" not in result.stdout
        doc = json.loads(cli("validate", "-f", "json", arg).stdout)
        assert doc["valid"] is False and doc["results"][0]["errors"][0]["code"] == "input"


def test_non_manifests_found_by_expansion_are_skipped_with_a_note(
    cli: CliRunner, write: Write, example_text: str
) -> None:
    folder = mixed_folder(write, example_text)
    result = cli("validate", str(folder))
    assert result.code == 0, result.stdout + result.stderr
    assert result.stderr.splitlines() == [
        f"skipped {folder / 'ci.yaml'}: not a registration manifest (no apiVersion/kind)",
        f"skipped {folder / 'package.json'}: not a registration manifest (no apiVersion/kind)",
    ]
    assert result.stdout == (
        "✓ 1 document(s) in 1 file: all valid (0 error(s), 0 warning(s)); "
        "2 file(s) skipped: not manifests\n"
    )
    globbed = cli("validate", str(folder / "*"))
    assert globbed.code == 0 and globbed.stderr.count("skipped ") == 2
    doc = json.loads(cli("validate", "-f", "json", str(folder)).stdout)
    assert [r["file"] for r in doc["results"]] == [str(folder / "invoice.yaml")]
    assert doc["summary"]["skipped"] == 2 and doc["valid"] is True
    assert cli("validate", "-q", str(folder)).stderr == ""  # notes are not errors


def test_strict_makes_a_non_manifest_an_error(
    cli: CliRunner, write: Write, example_text: str
) -> None:
    folder = mixed_folder(write, example_text)
    result = cli("validate", "--strict", str(folder))
    assert result.code == 1
    assert f"{folder / 'package.json'}:1:1: error: $: not a registration manifest" in result.stdout
    assert "[not-a-manifest]" in result.stdout and result.stderr == ""
    sarif = json.loads(cli("validate", "--strict", "-f", "sarif", str(folder)).stdout)
    rules = {r["id"] for r in sarif["runs"][0]["tool"]["driver"]["rules"]}
    assert "manifest/not-a-manifest" in rules


def test_only_non_manifests_is_no_manifests_found(cli: CliRunner, write: Write) -> None:
    folder = write("web/package.json", PACKAGE_JSON).parent
    result = cli("validate", str(folder))
    assert result.code == 2
    assert f"{folder}: no manifests found (1 file(s) skipped: not registration manifests)" in (
        result.stdout
    )


def test_a_file_named_explicitly_is_validated_as_before(cli: CliRunner, write: Write) -> None:
    package = write("package.json", PACKAGE_JSON)
    result = cli("validate", str(package))
    assert result.code == 1
    assert "$.apiVersion: missing required field [schema]" in result.stdout
    assert result.stderr == ""


def test_quiet_prints_only_problems(cli: CliRunner, write: Write, example_text: str) -> None:
    good = cli("validate", "-q", str(SAMPLES / "agents"))
    assert (good.code, good.stdout, good.stderr) == (0, "", "")
    after = cli("validate", str(SAMPLES / "agents"), "-q")
    assert (after.code, after.stdout) == (0, "")
    assert cli("-q", "-v", "validate", str(EXAMPLE)).stdout.startswith("✓")  # they cancel out
    broken = write("bad.yaml", example_text.replace("maxTtl: 15m", "maxTtl: 48h", 1))
    bad = cli("validate", "-q", str(SAMPLES / "agents" / "support-summarizer.yaml"), str(broken))
    assert bad.code == 1
    assert bad.stdout.splitlines() == [
        f"{broken}:21:42: error: $.spec.credentials.maxTtl: '48h' exceeds the 1h ceiling "
        "[ttl-ceiling]"
    ]
    # JSON (and YAML, SARIF) are data: -q never shortens them
    quiet_json = cli("validate", "-q", "-f", "json", str(EXAMPLE))
    assert quiet_json.stdout == cli("validate", "-f", "json", str(EXAMPLE)).stdout
    assert json.loads(quiet_json.stdout)["summary"]["documents"] == 1
