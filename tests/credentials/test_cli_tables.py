"""Every table at 80 and 100 columns on a (forced) terminal: what a user types next is whole.

Identifiers, names and statuses must appear unbroken on one line per row; the other columns
wrap or are hidden with a footer that names them; no line is longer than the terminal.
"""

from __future__ import annotations

import json
import re
from pathlib import Path
from typing import Any

import pytest

from tests.conftest import CliRunner
from tests.credentials.support import INVOICE

ANSI = re.compile(r"\x1b\[[0-9;]*m")
WIDTHS = [80, 100]


def table(
    cli: CliRunner,
    monkeypatch: pytest.MonkeyPatch,
    width: int,
    *args: str,
    code: int = 0,
    skip: int = 0,
) -> list[str]:
    """The table's lines, printed as on a terminal ``width`` columns wide (colour forced on);
    ``skip``: lines before the table that are not part of it."""
    monkeypatch.setenv("COLUMNS", str(width))
    result = cli(*args, "--color", "always")
    assert result.code == code, result.stderr
    assert "\x1b[" in result.stdout  # really drawn as for a terminal
    lines = ANSI.sub("", result.stdout).splitlines()[skip:]
    too_long = [line for line in lines if len(line) > width]
    assert not too_long, too_long
    return lines


def data(cli: CliRunner, *args: str, code: int = 0) -> Any:
    result = cli(*args, "-f", "json")
    assert result.code == code, result.stderr
    return json.loads(result.stdout)


def whole(value: object) -> str:
    return r"(?:^|\s)" + re.escape(str(value)) + r"(?:\s|$)"


def row_with(lines: list[str], *values: object) -> str:
    """The one line holding every value whole (not cut, folded or ellipsised)."""
    found = [line for line in lines if all(re.search(whole(v), line) for v in values)]
    assert found, f"no line holds {values} whole:\n" + "\n".join(lines)
    return found[0]


FOOTER = re.compile(r"\(hidden to fit \d+ columns: (.*); --wide shows (?:them|it)\)")


def hidden(lines: list[str]) -> list[str]:
    """The columns the footer under the table says were hidden."""
    match = FOOTER.fullmatch(lines[-1])
    return match.group(1).split(", ") if match else []


@pytest.fixture
def credentials(cli: CliRunner, home: Path) -> list[dict[str, Any]]:
    for task in ("INV-20260101-ALPHA", "INV-20260102-BRAVO"):
        issued = cli("issue", INVOICE, "--task", task, "--intent", "reconcile-invoices")
        assert issued.code == 0, issued.stderr
    listed = data(cli, "credentials", "list")
    assert cli("revoke", "--jti", listed[0]["jti"], "--reason", "test").code == 0
    records: list[dict[str, Any]] = data(cli, "credentials", "list")
    assert {r["status"] for r in records} == {"active", "revoked"}
    return records


@pytest.mark.parametrize("width", WIDTHS)
def test_credentials_list(
    cli: CliRunner, monkeypatch: pytest.MonkeyPatch, credentials: list[dict[str, Any]], width: int
) -> None:
    lines = table(cli, monkeypatch, width, "credentials", "list")
    for r in credentials:
        row_with(lines, r["jti"], r["agent"], r["task"], r["status"])
    footer = hidden(lines)
    assert footer[0] == "INTENT"  # the least useful column goes first
    if width == 100:
        assert "EXPIRES" in lines[0] and "EXPIRES" not in footer


def test_wide_shows_every_column_at_any_width(
    cli: CliRunner, monkeypatch: pytest.MonkeyPatch, credentials: list[dict[str, Any]]
) -> None:
    monkeypatch.setenv("COLUMNS", "80")
    result = cli("credentials", "list", "--wide")
    assert result.code == 0
    lines = result.stdout.splitlines()
    assert lines[0].split() == ["JTI", "AGENT", "TASK", "INTENT", "SCOPES", "STATUS", "EXPIRES"]
    for r in credentials:
        row_with(lines, r["jti"], r["task"], r["intent"], " ".join(r["scopes"]), r["status"])
    assert not hidden(lines)


@pytest.mark.parametrize("width", WIDTHS)
def test_keys_list(cli: CliRunner, monkeypatch: pytest.MonkeyPatch, home: Path, width: int) -> None:
    assert cli("keys", "rotate").code == 0
    keys = data(cli, "keys", "list")
    assert {k["status"] for k in keys} == {"current", "retired"}
    lines = table(cli, monkeypatch, width, "keys", "list")
    for k in keys:
        row_with(lines, k["kid"], k["status"])
    assert "alg" in hidden(lines)  # the same for every key: the first to go


@pytest.mark.parametrize("width", WIDTHS)
def test_keys_jwks_table(
    cli: CliRunner, monkeypatch: pytest.MonkeyPatch, home: Path, width: int
) -> None:
    assert cli("keys", "rotate").code == 0
    document = data(cli, "keys", "jwks")
    lines = table(cli, monkeypatch, width, "keys", "jwks", "-f", "table")
    for key in document["keys"]:
        row_with(lines, key["kid"], key["alg"])


@pytest.mark.parametrize("width", WIDTHS)
def test_agents_list(
    cli: CliRunner, monkeypatch: pytest.MonkeyPatch, home: Path, width: int
) -> None:
    agents = data(cli, "agents", "list")
    assert "pending-approval" in {a["status"] for a in agents}
    lines = table(cli, monkeypatch, width, "agents", "list")
    for a in agents:
        row_with(lines, a["name"], a["status"], a["review_expires"])


@pytest.mark.parametrize("width", WIDTHS)
def test_agents_show(
    cli: CliRunner, monkeypatch: pytest.MonkeyPatch, home: Path, width: int
) -> None:
    agent = data(cli, "agents", "show", INVOICE)["agent"]
    lines = table(cli, monkeypatch, width, "agents", "show", INVOICE)
    for field, value in agent.items():
        assert row_with(lines, field).startswith(field + " ")
        if field in ("name", "status"):
            row_with(lines, field, value)
    for field in ("shown revision", "revision outcome", "registered by", "decided by"):
        assert row_with(lines, field).startswith(field + " ")


@pytest.mark.parametrize("width", WIDTHS)
@pytest.mark.backends("sqlite")  # column fitting for the default settings; a URL is wider
def test_config_show(
    cli: CliRunner, monkeypatch: pytest.MonkeyPatch, home: Path, width: int
) -> None:
    settings = data(cli, "config", "show")["settings"]
    lines = table(cli, monkeypatch, width, "config", "show", skip=2)  # after the file lines
    for name, spec in settings.items():
        assert row_with(lines, name).startswith(name + " ")
        if width == 100:
            row_with(lines, name, spec["env"])  # the env column fits at 100
    assert "max_concurrent_credentials" in settings and "ttl_ceiling" in settings


@pytest.mark.parametrize("width", WIDTHS)
def test_log_list(
    cli: CliRunner, monkeypatch: pytest.MonkeyPatch, credentials: list[dict[str, Any]], width: int
) -> None:
    assert cli("keys", "rotate").code == 0  # an event whose subject is long: key:<kid>
    events = data(cli, "log", "list")
    assert {"credential.revoke", "key.rotate"} <= {e["action"] for e in events}
    lines = table(cli, monkeypatch, width, "log", "list")
    header = lines[0].split()
    columns = ["seq", "at", "actor", "action", "subject", "outcome"]
    assert sorted(header + hidden(lines)) == sorted(columns)  # the footer names the others
    assert "actor" not in header  # the first to go
    for e in events:
        shown = [e["seq"], e["action"], e["subject"]]
        shown += [e["at"][:19] + "Z"] if "at" in header else []
        shown += [e["outcome"]] if "outcome" in header else []
        row_with(lines, *shown)


@pytest.mark.parametrize("width", WIDTHS)
def test_policy_validate(
    cli: CliRunner, monkeypatch: pytest.MonkeyPatch, tmp_path: Path, width: int
) -> None:
    (tmp_path / "policies").mkdir()
    (tmp_path / "policies" / "bad.cedar").write_text(
        '@id("bad.one")\n'
        'permit (principal, action == Action::"nonexistent", resource)'
        ' when { principal.nosuchattr == "x" };\n'
        '@id("bad.two")\nforbid (principal, action, resource) when { resource.foo.bar > 3 };\n'
    )
    monkeypatch.chdir(tmp_path)
    problems = data(cli, "policy", "validate", "policies", code=1)["problems"]
    assert {p["policy_id"] for p in problems} == {"bad.one", "bad.two"}
    lines = table(cli, monkeypatch, width, "policy", "validate", "policies", code=1)
    for p in problems:
        row_with(lines, p["file"], p["line"], p["policy_id"])
    problem_column = lines[0].index("problem")
    text = " ".join(line[problem_column:].strip() for line in lines[1:])
    assert 'unrecognized action `Action::"nonexistent"`' in text  # wrapped, at word boundaries


@pytest.mark.parametrize("width", WIDTHS)
def test_schema_list(
    cli: CliRunner, monkeypatch: pytest.MonkeyPatch, home: Path, width: int
) -> None:
    schemas = data(cli, "schema", "list")
    lines = table(cli, monkeypatch, width, "schema", "list")
    for s in schemas:
        row_with(lines, s["name"])
        if width == 100:
            row_with(lines, s["name"], s["id"])
    if width == 80:
        assert "id" in hidden(lines)
