"""Secrets never echoed: a real minted token handed where a name, jti or task is expected, or
to a flag click rejects, is an input error (exit 2) and neither it nor its first 20 characters
appear on stdout or stderr, whichever path the error takes."""

from __future__ import annotations

from pathlib import Path

import pytest

from tests.conftest import CliResult, CliRunner
from tests.credentials.support import INVOICE


@pytest.fixture
def token(cli: CliRunner, home: Path) -> str:
    result = cli("issue", INVOICE, "--task", "INV-42", "--intent", "reconcile-invoices")
    assert result.code == 0, result.stderr
    return result.stdout.strip()


def assert_not_echoed(result: CliResult, token: str) -> None:
    for stream in (result.stdout, result.stderr):
        assert token not in stream
        assert token[:20] not in stream
        # nor any 20-character piece of it (a message that cut it somewhere else)
        assert not any(token[i : i + 20] in stream for i in range(0, len(token) - 20, 7))


def test_a_token_where_a_name_jti_or_task_is_expected(cli: CliRunner, token: str) -> None:
    cases = [
        (("agents", "show", token), "agent name"),
        (("agents", "approve", token, "--by", "x@example.com"), "agent name"),
        (("agents", "disable", token, "--reason", "r"), "agent name"),
        (("agents", "enable", token), "agent name"),
        (("revoke", "--jti", token, "--reason", "r"), "jti"),
        (("revoke", "--agent", token, "--reason", "r"), "agent name"),
        (("revoke", "--task", token, "--reason", "r", "--allow-none"), "task id"),
        (("issue", token, "--task", "t", "--intent", "i"), "agent name"),
        (("issue", INVOICE, "--task", token, "--intent", "reconcile-invoices"), "task id"),
        (("task", "complete", token), "task id"),
        (("task", "fail", token, "--reason", "r"), "task id"),
        (("rebind", token, "--task", "t"), "jti"),
    ]
    for args, what in cases:
        result = cli(*args)
        assert result.code == 2, (args, result.stderr)
        assert result.stdout == ""
        assert f"the {what} given looks like a token or key (not shown)" in result.stderr, args
        assert "Traceback" not in result.stderr and "internal error" not in result.stderr
        assert_not_echoed(result, token)
    assert cli("verify", token).code == 0  # nothing was revoked along the way


def test_a_token_in_a_reason_or_a_value_a_parser_quotes(cli: CliRunner, token: str) -> None:
    cases = [
        ("revoke", "--jti", "nope", "--reason", f"leaked {token}"),
        # parse_duration quotes the first 32 characters of a bad duration
        ("issue", INVOICE, "--task", "t", "--intent", "reconcile-invoices", "--ttl", token),
        # click usage errors quote the bad value
        ("validate", "-f", token, "x.yaml"),
        ("agents", "list", "--bogus", token),
        ("agents", "list", f"--bogus={token}"),
        ("agents", "list", token),
        ("agents", "show", "--revision", token, "x"),
    ]
    for args in cases:
        result = cli(*args)
        assert result.code == 2, (args, result.stderr)
        assert_not_echoed(result, token)
    quoted = cli("agents", "show", "--revision", token, "x")
    assert "'[redacted]' is not a valid integer" in quoted.stderr


def test_pem_and_aws_shapes_are_refused_unshown(cli: CliRunner, home: Path) -> None:
    pem = "-----BEGIN PRIVATE KEY-----\nMC4CAQAwBQYDK2VwBCIEIGZha2Uta2V5\n-----END PRIVATE KEY-----"
    for args in (
        ("agents", "show", "AKIAIOSFODNN7EXAMPLE"),
        ("task", "complete", "wJalrXUtnFEMI/K7MDENG/bPxRfiCYEXAMPLEKEY"),
        ("agents", "show", pem),  # click takes it for an option, and says so
        ("agents", "show", "--", pem),
    ):
        result = cli(*args)
        assert result.code == 2, args
        for secret in ("AKIAIOSFODNN7EXAMPLE", "wJalrXUtnFEMI/K7MDENG", "MC4CAQAwBQYDK2Vw"):
            assert secret not in result.stdout + result.stderr


def test_internal_errors_and_tracebacks_are_scrubbed(
    cli: CliRunner, token: str, monkeypatch: pytest.MonkeyPatch
) -> None:
    from nhictl.core.registry import Registry

    def boom(self: Registry) -> list[object]:
        raise RuntimeError(f"unexpected {token}")

    monkeypatch.setattr(Registry, "agents", boom)
    result = cli("agents", "list")
    assert result.code == 3
    assert "internal error: RuntimeError: unexpected [redacted]" in result.stderr
    assert_not_echoed(result, token)
    traced = cli("-vv", "agents", "list")
    assert "Traceback" in traced.stderr
    assert_not_echoed(traced, token)
