"""One CLI, one set of habits: every command's --help shows the shared flags where they apply,
global options work after the command, and every file input takes ``-`` for stdin."""

from __future__ import annotations

import json
import re
from pathlib import Path

import pytest
import yaml

from nhictl.cli.app import command
from nhictl.cli.conventions import leaf_commands
from tests.conftest import EXAMPLE, SAMPLES, CliRunner

AWS = SAMPLES / "aws"

# Commands that print data take -f/--format table|json|yaml. These print no data (only a
# message, or a document that has one fixed format), each with the reason.
NO_DATA_FORMAT = {
    "init": "messages only",
    "agents approve": "messages only",
    "agents disable": "messages only",
    "agents enable": "messages only",
    "keys rotate": "messages only",
    "db migrate": "messages only",
    "demo idp-bundle": "prints one path, for shell substitution",
    "demo svid": "prints one token, for shell substitution",
    "collect aws": "writes a bundle file (JSON, its schema is published)",
    "collect gcp": "writes a directory of gcloud-shaped JSON files",
    "collect azure": "writes a directory of az-shaped JSON files",
    "log checkpoint": "a signed nhictl-log-checkpoint+jwt",
    "status-list publish": "a signed statuslist+jwt",
    "serve": "runs the token service; prints only start-up lines",
}

# Commands that write a file take -o/--output.
WRITES_A_FILE = {
    "validate",
    "audit-creep",
    "log export",
    "log checkpoint",
    "issue",
    "rebind",
    "status-list publish",
    "collect aws",
    "collect gcp",
    "collect azure",
    "keys jwks",
    "schema show",
    "token exchange",
}

# Commands whose -f/--format picks a document format of their own, not a view of data.
OWN_FORMATS = {"log export": "json|ocsf"}


def all_commands() -> list[str]:
    return [" ".join(path) for path, _ in leaf_commands(command())]


def options_in_help(text: str) -> set[str]:
    return set(re.findall(r"(?<![\w-])(--?[a-z][\w-]*)", text.split("Options:", 1)[-1]))


@pytest.mark.parametrize("name", all_commands())
def test_every_command_shows_the_shared_flags(cli: CliRunner, name: str) -> None:
    result = cli(*name.split(), "--help")
    assert result.code == 0, result.stderr
    flags = options_in_help(result.stdout)
    assert {"-q", "--quiet", "-v", "--verbose", "--color", "--wide", "-h", "--help"} <= flags
    if name in OWN_FORMATS:
        assert f"--format [{OWN_FORMATS[name]}]" in result.stdout
    elif name in NO_DATA_FORMAT:
        assert "--format" not in flags
    else:
        assert {"-f", "--format"} <= flags, f"{name} prints data but has no -f/--format"
        choices = re.search(r"--format \[([a-z|]+)\]", result.stdout)
        assert choices and {"table", "json", "yaml"} <= set(choices.group(1).split("|"))
    if name in WRITES_A_FILE:
        assert {"-o", "--output"} <= flags, f"{name} writes a file but has no -o/--output"
    # Old spellings still parse but are never advertised.
    assert not {"--out", "--lifetime"} & flags


def test_the_exemption_list_names_real_commands() -> None:
    names = set(all_commands())
    assert set(NO_DATA_FORMAT) | set(OWN_FORMATS) <= names and names >= WRITES_A_FILE


def test_global_options_after_the_command(cli: CliRunner) -> None:
    before = cli("--color", "never", "-q", "validate", str(EXAMPLE))
    after = cli("validate", str(EXAMPLE), "-q", "--color", "never")
    assert before.code == after.code == 0
    assert before.stdout == after.stdout and before.stderr == after.stderr
    assert "\x1b" not in after.stdout + after.stderr
    assert cli("validate", str(EXAMPLE), "--color", "sometimes").code == 2


def test_verbose_after_the_command_enables_tracebacks(cli: CliRunner, isolated_env: Path) -> None:
    (isolated_env / "config.toml").write_text("ttl_ceiling = [")
    plain = cli("validate", str(EXAMPLE))
    assert plain.code == 2 and "Traceback" not in plain.stderr
    traced = cli("validate", str(EXAMPLE), "-vv")
    assert traced.code == 2 and "Traceback" in traced.stderr


def test_text_is_the_old_name_of_table(cli: CliRunner) -> None:
    assert cli("schema", "list", "-f", "text").stdout == cli("schema", "list").stdout
    refused = cli("schema", "list", "-f", "xml")
    assert refused.code == 2 and "'xml' is not one of" in refused.stderr


def test_schema_show_yaml_is_the_same_document(cli: CliRunner) -> None:
    as_json = json.loads(cli("schema", "show", "agent-registration.v1").stdout)
    as_yaml = yaml.safe_load(cli("schema", "show", "agent-registration.v1", "-f", "yaml").stdout)
    assert as_json == as_yaml and as_json["$schema"].endswith("2020-12/schema")


def audit_args(*extra: str) -> list[str]:
    return ["audit-creep", "--as-of", "2026-11-28", "-f", "json", *extra]


def test_audit_creep_yaml_is_the_json_report(cli: CliRunner) -> None:
    base = ["--snapshot", str(AWS / "authorization-details.json")]
    as_json = json.loads(cli(*audit_args(*base)).stdout)
    result = cli("audit-creep", "--as-of", "2026-11-28", "-f", "yaml", *base)
    assert result.code == 0, result.stderr
    assert yaml.safe_load(result.stdout) == as_json


@pytest.mark.parametrize(
    ("flag", "path"),
    [
        ("--snapshot", AWS / "authorization-details.json"),
        ("--last-accessed", AWS / "last-accessed.json"),
        ("--access-keys", AWS / "access-keys.json"),
        ("--exclusions", AWS / "exclusions.yaml"),
        ("--baseline", AWS / "authorization-details.json"),
        ("--manifests", AWS / "manifests" / "support-triage.yaml"),
    ],
)
def test_audit_creep_reads_each_input_from_stdin(cli: CliRunner, flag: str, path: Path) -> None:
    inputs = {
        "--snapshot": str(AWS / "authorization-details.json"),
        "--last-accessed": str(AWS / "last-accessed.json"),
        "--access-keys": str(AWS / "access-keys.json"),
        "--exclusions": str(AWS / "exclusions.yaml"),
        "--baseline": str(AWS / "authorization-details.json"),
        "--manifests": str(AWS / "manifests" / "support-triage.yaml"),
    }
    from_files = cli(*audit_args(*[x for kv in inputs.items() for x in kv]))
    assert from_files.code == 0, from_files.stderr
    inputs[flag] = "-"
    from_stdin = cli(
        *audit_args(*[x for kv in inputs.items() for x in kv]),
        stdin=path.read_bytes(),
    )
    assert from_stdin.code == 0, from_stdin.stderr
    # The same report, with the input named "stdin" where the file was named.
    files_doc = json.loads(from_files.stdout.replace(json.dumps(str(path))[1:-1], "stdin"))
    stdin_doc = json.loads(from_stdin.stdout)
    inputs_seen = stdin_doc["summary"].pop("inputs")
    files_doc["summary"].pop("inputs")
    if flag == "--snapshot":
        assert inputs_seen["snapshot"] == "stdin"
    assert stdin_doc["summary"] == files_doc["summary"]
    assert stdin_doc["findings"] == files_doc["findings"]
    assert stdin_doc["principals"] == files_doc["principals"]


def test_only_one_input_from_stdin(cli: CliRunner) -> None:
    result = cli(*audit_args("--snapshot", "-", "--exclusions", "-"), stdin=b"{}")
    assert result.code == 2
    assert "only one input can be read from stdin, but --snapshot and --exclusions" in (
        result.stderr
    )


def test_malformed_stdin_is_named_stdin(cli: CliRunner) -> None:
    result = cli(*audit_args("--snapshot", "-"), stdin=b'{"RoleDetailList": [')
    assert result.code == 2
    assert result.stderr.startswith("nhictl: error: stdin:1:")


def test_validating_never_changes_the_published_schema(cli: CliRunner) -> None:
    published = (SAMPLES.parent / "schemas" / "agent-registration.v1.schema.json").read_text()
    assert cli("validate", str(EXAMPLE), "-f", "json").code == 0
    shown = cli("schema", "show", "agent-registration.v1", "-f", "yaml").stdout
    assert yaml.safe_load(shown) == json.loads(published)


def test_the_color_setting_in_the_config_file_is_honoured(
    cli: CliRunner, isolated_env: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    (isolated_env / "config.toml").write_text('color = "always"\n')
    coloured = cli("validate", str(EXAMPLE))
    assert coloured.code == 0 and "\x1b[" in coloured.stdout  # "always" colours a pipe
    assert "\x1b[" not in cli("validate", str(EXAMPLE), "--color", "never").stdout
    monkeypatch.setenv("NHICTL_COLOR", "never")  # the environment beats the file
    assert "\x1b[" not in cli("validate", str(EXAMPLE)).stdout
    monkeypatch.setenv("NO_COLOR", "1")
    monkeypatch.setenv("NHICTL_COLOR", "always")
    assert "\x1b[" not in cli("validate", str(EXAMPLE)).stdout


def test_quiet_drops_the_audit_creep_summary_but_keeps_the_findings(cli: CliRunner) -> None:
    args = ["audit-creep", "--snapshot", str(AWS / "authorization-details.json")]
    args += ["--as-of", "2026-11-28"]
    loud, quiet = cli(*args), cli(*args, "-q")
    assert loud.code == quiet.code == 0
    assert "creep index" in loud.stdout and "active," in loud.stdout
    assert "creep index" not in quiet.stdout and "active," not in quiet.stdout
    assert "priv.admin" in quiet.stdout and "Principals" in quiet.stdout
    assert not quiet.stdout.startswith("\n")


@pytest.mark.parametrize("name", all_commands())
def test_every_argument_explains_itself(cli: CliRunner, name: str) -> None:
    # Positional arguments are what a new user types first: each says what it takes.
    result = cli(*name.split(), "--help")
    # One section lists them (click 8.5.1 added a second, "Positional arguments").
    assert result.stdout.count("rguments:\n") <= 1, f"{name}: arguments listed twice"
    if "Arguments:" not in result.stdout:
        return
    section = result.stdout.split("Arguments:", 1)[1].split("Options:", 1)[0]
    for line in section.strip().splitlines():
        if line.startswith("  ") and not line.startswith("   "):  # an argument's first line
            metavar, _, text = line.strip().partition("  ")
            assert text.strip() and text.strip() != "[required]", f"{name}: {metavar} has no help"
