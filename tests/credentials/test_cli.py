"""The credential commands end to end, in-process, against a real home: flags, shapes, exits."""

from __future__ import annotations

import json
import stat
from pathlib import Path

from nhictl.core.keys import KeyStore
from nhictl.core.tokens import verify_offline
from tests.conftest import CliRunner
from tests.credentials.support import DEPLOYER, INVOICE

ISSUE = ("issue", INVOICE, "--task", "INV-42", "--intent", "reconcile-invoices")


def issue_token(cli: CliRunner, *extra: str) -> str:
    result = cli(*ISSUE, *extra)
    assert result.code == 0, result.stderr
    return result.stdout.strip()


def test_issue_prints_the_token_and_says_what_it_issued(cli: CliRunner, home: Path) -> None:
    result = cli(*ISSUE, "--scope", "invoices:read", "--ttl", "5m")
    assert result.code == 0, result.stderr
    token = result.stdout.strip()
    assert token.count(".") == 2 and "\n" not in token
    assert "issued" in result.stderr and "INV-42" in result.stderr and token not in result.stderr


def test_issue_json_shape(cli: CliRunner, home: Path) -> None:
    result = cli(*ISSUE, "--scope", "invoices:read", "--format", "json")
    assert result.code == 0, result.stderr
    doc = json.loads(result.stdout)
    assert list(doc) == ["token", "jti", "agent", "task", "scopes", "expires_at"]
    assert (doc["agent"], doc["task"], doc["scopes"]) == (INVOICE, "INV-42", ["invoices:read"])


def test_issue_out_file_is_0600_and_stdout_stays_empty(
    cli: CliRunner, home: Path, tmp_path: Path
) -> None:
    out = tmp_path / "token.jwt"
    result = cli(*ISSUE, "--out", str(out))
    assert result.code == 0, result.stderr
    assert result.stdout == ""
    assert stat.S_IMODE(out.stat().st_mode) == 0o600
    token = out.read_text().strip()
    assert cli("verify", token).code == 0
    assert cli(*ISSUE, "--out", str(tmp_path / "missing" / "t")).code == 2


def test_issue_denied_exits_1_with_reasons_and_policy_ids(cli: CliRunner, home: Path) -> None:
    result = cli(*ISSUE, "--scope", "invoices:delete", "--ttl", "1h")
    assert result.code == 1
    assert result.stdout == ""
    assert "issue.scopes-within-intent" in result.stderr
    assert "issue.ttl-within-agent-max" in result.stderr
    assert "not declared for this intent" in result.stderr


def test_issue_usage_errors_exit_2(cli: CliRunner, home: Path) -> None:
    assert cli(*ISSUE, "--ttl", "forever").code == 2
    assert cli(*ISSUE, "--data-sensitivity", "secret").code == 2
    assert cli("issue", INVOICE, "--task", "T").code == 2  # --intent missing
    result = cli("issue", "support-summarizer", "--task", "T", "--intent", "summarize-ticket")
    assert result.code == 2 and "--env" in result.stderr


def test_issue_needs_init(cli: CliRunner) -> None:
    result = cli(*ISSUE)
    assert result.code == 2 and "nhictl init" in result.stderr


def test_verify_exit_codes_json_and_stdin(cli: CliRunner, home: Path) -> None:
    token = issue_token(cli, "--scope", "invoices:read")
    ok = cli("verify", token, "--format", "json")
    assert ok.code == 0
    doc = json.loads(ok.stdout)
    assert list(doc) == ["valid", "reason", "jti", "agent", "task", "scopes", "expires_at"]
    assert doc["valid"] is True and doc["task"] == "INV-42"
    assert cli("verify", "-", stdin=token.encode() + b"\n").code == 0
    text = cli("verify", token)
    assert text.stdout.startswith("valid: ") and "agent=invoice-reconciler" in text.stdout
    bad = cli("verify", token, "--audience", "https://other.example", "--format", "json")
    assert bad.code == 1 and json.loads(bad.stdout)["reason"] == "wrong-audience"
    assert cli("verify", token, "--task", "OTHER").code == 1
    assert cli("verify", "-", stdin=b"garbage").stdout == "invalid: malformed\n"
    neither = cli("verify", "garbage")  # not a file, not a token's shape: an input error
    assert neither.code == 2 and "no such file, and not a token either" in neither.stderr
    assert cli("verify", "-", stdin=b"").code == 2


def test_authorize_allow_deny_and_context(cli: CliRunner, home: Path) -> None:
    token = issue_token(cli, "--scope", "invoices:read")
    allow = cli("authorize", token, "--action", "invoices:read", "--resource", "inv/1")
    assert allow.code == 0 and allow.stdout == "allow: invoices:read on inv/1\n"
    deny = cli("authorize", token, "--action", "reports:write", "--context", "ticket=CHG-1")
    assert deny.code == 1
    assert "authorize.action-in-scopes" in deny.stdout
    doc = json.loads(
        cli("authorize", token, "--action", "reports:write", "--format", "json").stdout
    )
    assert doc["allowed"] is False and doc["policy_ids"] == ["authorize.action-in-scopes"]
    assert cli("authorize", token, "--action", "x", "--context", "novalue").code == 2
    log = json.loads(cli("credentials", "list", "--format", "json").stdout)
    assert len(log) == 1


def test_revoke_task_lifecycle_and_list(cli: CliRunner, home: Path) -> None:
    token = issue_token(cli)
    jti = json.loads(cli("verify", token, "--format", "json").stdout)["jti"]
    second = cli("issue", DEPLOYER, "--task", "D-1", "--intent", "deploy-staging").stdout.strip()
    third = cli("issue", DEPLOYER, "--task", "D-2", "--intent", "deploy-staging").stdout.strip()
    listing = cli("credentials", "list", "--active")
    assert listing.code == 0 and jti in listing.stdout and "active" in listing.stdout
    first = cli("revoke", "--jti", jti, "--reason", "leaked", "--format", "json")
    assert json.loads(first.stdout)["revoked"] == 1
    again = cli("revoke", "--jti", jti, "--reason", "leaked")
    assert again.code == 0
    assert again.stdout == f"credential {jti} is already revoked; nothing revoked\n"
    assert cli("revoke", "--reason", "x").code == 2
    assert cli("revoke", "--jti", jti).code == 2  # --reason is required
    assert cli("task", "complete", "D-1").stdout.startswith("revoked 1 credential(s) by task D-1")
    failed = cli("task", "fail", "D-2", "--reason", "rollout broke", "--format", "json")
    assert json.loads(failed.stdout)["revoked"] == 1
    for tok in (token, second, third):
        assert cli("verify", tok).code == 1
    rows = json.loads(cli("credentials", "list", "--format", "json").stdout)
    assert [r["status"] for r in rows] == ["revoked"] * 3
    assert rows[2]["revoked_reason"] == "task failed: rollout broke"
    assert json.loads(cli("credentials", "list", "--active", "--format", "json").stdout) == []
    assert "revoked" in cli("credentials", "list", "--agent", DEPLOYER, "--format", "yaml").stdout


def test_rebind_from_the_cli(cli: CliRunner, home: Path) -> None:
    token = issue_token(cli, "--scope", "invoices:read")
    jti = json.loads(cli("verify", token, "--format", "json").stdout)["jti"]
    result = cli("rebind", jti, "--task", "INV-43", "--format", "json")
    assert result.code == 0, result.stderr
    doc = json.loads(result.stdout)
    assert doc["task"] == "INV-43" and doc["jti"] != jti
    assert cli("verify", token).code == 1
    assert cli("verify", doc["token"], "--task", "INV-43").code == 0
    denied = cli("rebind", doc["jti"], "--task", "INV-44", "--scope", "invoices:delete")
    assert denied.code == 1 and "issue.scopes-within-intent" in denied.stderr
    unknown = cli("rebind", "no-such-jti", "--task", "X")
    assert unknown.code == 2 and "no credential has jti 'no-such-jti'" in unknown.stderr


def test_status_list_publish_for_offline_verifiers(
    cli: CliRunner, home: Path, tmp_path: Path
) -> None:
    token = issue_token(cli)
    out = tmp_path / "status.jwt"
    assert cli("status-list", "publish", "--out", str(out)).code == 0
    jwks = KeyStore(home / "keys").public_jwks()
    claims = verify_offline(
        token,
        jwks,
        out.read_text().strip(),
        issuer="urn:nhictl:registry",
        audience="urn:nhictl:api",
    )
    assert claims["txn"] == "INV-42"
    printed = cli("status-list", "publish")
    assert printed.code == 0 and printed.stdout.count(".") == 2


def test_help_lists_the_commands(cli: CliRunner) -> None:
    out = cli("--help").stdout
    for command in ("issue", "verify", "authorize", "revoke", "rebind", "task", "credentials"):
        assert command in out
    assert "status-list" in out
