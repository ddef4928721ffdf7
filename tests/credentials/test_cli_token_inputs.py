"""`verify`/`authorize` read the token from a file, stdin or the argument, and say which."""

from __future__ import annotations

from pathlib import Path

from tests.conftest import CliRunner
from tests.credentials.test_cli import issue_token


def test_verify_reads_a_token_file_and_says_so(cli: CliRunner, home: Path, tmp_path: Path) -> None:
    token = issue_token(cli, "--scope", "invoices:read")
    path = tmp_path / "inv.jwt"
    path.write_text(token + "\n")
    result = cli("verify", str(path))
    assert result.code == 0 and result.stdout.startswith("valid: ")
    assert f"token: read from {path}" in result.stderr
    allowed = cli("authorize", str(path), "--action", "invoices:read")
    assert allowed.code == 0 and allowed.stdout == "allow: invoices:read\n"


def test_a_token_argument_is_recognised_by_its_shape(cli: CliRunner, home: Path) -> None:
    token = issue_token(cli, "--scope", "invoices:read")
    result = cli("verify", token)
    assert result.code == 0
    assert "taken from the argument" in result.stderr and token not in result.stderr


def test_neither_a_file_nor_a_token(cli: CliRunner, home: Path, tmp_path: Path) -> None:
    missing = tmp_path / "missing.jwt"
    result = cli("verify", str(missing))
    assert result.code == 2
    assert result.stderr == (
        f"nhictl: error: {missing}: cannot read the token: no such file, and not a token "
        "either (pass a file, a token, or -)\n"
    )
    assert cli("authorize", str(missing), "--action", "invoices:read").code == 2


def test_quiet_hides_which_input_was_taken(cli: CliRunner, home: Path, tmp_path: Path) -> None:
    path = tmp_path / "inv.jwt"
    path.write_text(issue_token(cli, "--scope", "invoices:read"))
    result = cli("verify", str(path), "-q")
    assert result.code == 0 and result.stderr == ""
