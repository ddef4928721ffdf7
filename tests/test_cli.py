"""The CLI shell: help, version, exit codes, no tracebacks for user errors, colour rules."""

from __future__ import annotations

import json
import os
import subprocess
import sys
from pathlib import Path

import pytest

from nhictl import __version__
from tests.conftest import EXAMPLE, ROOT, CliRunner


def test_version(cli: CliRunner) -> None:
    result = cli("--version")
    assert result.code == 0 and result.stdout.strip() == f"nhictl {__version__}"


def test_help_lists_commands(cli: CliRunner) -> None:
    result = cli("--help")
    assert result.code == 0
    for command in ("validate", "schema", "config"):
        assert command in result.stdout


def test_unknown_command_and_flag_exit_2(cli: CliRunner) -> None:
    assert cli("frobnicate").code == 2
    assert cli("--frobnicate").code == 2


def test_schema_list_and_show(cli: CliRunner) -> None:
    result = cli("schema", "list")
    assert "agent-registration.v1" in result.stdout.split()
    shown = cli("schema", "show", "agent-registration.v1")
    schema = json.loads(shown.stdout)
    assert schema["$schema"] == "https://json-schema.org/draft/2020-12/schema"
    missing = cli("schema", "show", "nope")
    assert missing.code == 2 and "unknown schema 'nope'" in missing.stderr


def test_published_schema_is_a_valid_2020_12_schema() -> None:
    from jsonschema import Draft202012Validator

    from nhictl.core.schemas import load_schema

    Draft202012Validator.check_schema(load_schema("agent-registration.v1"))
    assert (ROOT / "schemas" / "agent-registration.v1.schema.json").is_file()


def test_config_show(cli: CliRunner, isolated_env: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    """Values as the user writes them (the number nhictl uses under ``parsed``), and the config
    file really read: none here, so it says so and where it looked."""
    monkeypatch.setenv("NHICTL_TTL_CEILING", "30m")
    data = json.loads(cli("config", "show", "-f", "json").stdout)
    assert data["settings"]["ttl_ceiling"] == {
        "value": "30m",
        "parsed": 1800,
        "source": "env NHICTL_TTL_CEILING",
        "env": "NHICTL_TTL_CEILING",
        "help": data["settings"]["ttl_ceiling"]["help"],
    }
    size = data["settings"]["max_file_size"]
    assert (size["value"], size["parsed"], size["source"]) == ("1MiB", 1048576, "default")
    assert data["settings"]["clock_leeway"]["value"] == "60s"
    assert data["data_dir"] == str(isolated_env)
    assert data["config_file"] is None
    assert data["config_path"] == str(isolated_env / "config.toml")
    table = cli("config", "show")
    assert table.code == 0
    assert "config file: none (no config file; nhictl looks for " in table.stdout
    rows = {line.split()[0]: line.split()[1] for line in table.stdout.splitlines()[3:]}
    assert (rows["ttl_ceiling"], rows["max_file_size"], rows["clock_leeway"]) == (
        "30m",
        "1MiB",
        "60s",
    )
    assert "1800" not in table.stdout and "1048576" not in table.stdout


def test_config_show_names_the_file_read(
    cli: CliRunner, isolated_env: Path, tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    config = tmp_path / "team.toml"
    config.write_text('ttl_ceiling = "20m"\nmax_file_size = "2MiB"\n')
    monkeypatch.setenv("NHICTL_CONFIG", str(config))
    data = json.loads(cli("config", "show", "-f", "json").stdout)
    assert data["config_file"] == str(config)
    ttl = data["settings"]["ttl_ceiling"]
    assert (ttl["value"], ttl["parsed"], ttl["source"]) == ("20m", 1200, f"file {config}")
    assert data["settings"]["max_file_size"]["value"] == "2MiB"
    assert cli("config", "show").stdout.startswith(f"config file: {config}\n")


def test_missing_nhictl_config_is_an_error_for_every_command(
    cli: CliRunner, tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    missing = tmp_path / "nope.toml"
    monkeypatch.setenv("NHICTL_CONFIG", str(missing))
    for args in (("config", "show"), ("validate", str(EXAMPLE)), ("agents", "list")):
        result = cli(*args)
        assert result.code == 2, args
        assert result.stderr.startswith(
            f"nhictl: error: NHICTL_CONFIG names {missing}, which does not exist\n"
        )
        assert result.stdout == ""


def test_config_error_is_one_line_exit_2(cli: CliRunner, isolated_env: Path) -> None:
    (isolated_env / "config.toml").write_text("ttl_ceiling = [")
    result = cli("validate", str(EXAMPLE))
    assert result.code == 2
    assert result.stderr.startswith("nhictl: error: ")
    assert "Traceback" not in result.stderr
    traced = cli("-vv", "validate", str(EXAMPLE))
    assert "Traceback" in traced.stderr


def run_subprocess(
    *args: str, env: dict[str, str] | None = None
) -> subprocess.CompletedProcess[str]:
    return subprocess.run(
        [sys.executable, "-m", "nhictl", *args],
        capture_output=True,
        text=True,
        env={**os.environ, **(env or {})},
        cwd=ROOT,
        check=False,
        timeout=60,
    )


def test_python_m_and_no_colour_when_piped() -> None:
    broken = ROOT / "sample-configs" / "examples-invalid" / "broken-agent.yaml"
    result = run_subprocess("validate", str(broken))
    assert result.returncode == 1
    assert "\x1b[" not in result.stdout  # not a TTY: no escape codes


def test_color_always_and_no_color() -> None:
    broken = ROOT / "sample-configs" / "examples-invalid" / "broken-agent.yaml"
    coloured = run_subprocess("--color", "always", "validate", str(broken))
    assert "\x1b[" in coloured.stdout
    plain = run_subprocess("--color", "always", "validate", str(broken), env={"NO_COLOR": "1"})
    assert "\x1b[" not in plain.stdout
