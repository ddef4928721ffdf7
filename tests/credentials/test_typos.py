"""Typos must not look like success: an unknown jti, agent or task is an error with a
did-you-mean; a known one with nothing live says so; ``--allow-none`` for idempotent scripts."""

from __future__ import annotations

import json
import re
from pathlib import Path

import pytest

from nhictl.core.credentials import CredentialService
from nhictl.core.errors import InputError
from nhictl.core.runtime import Runtime
from tests.conftest import CliRunner
from tests.credentials.support import INVOICE, audit_rows, invoice

ISSUE = ("issue", INVOICE, "--task", "INV-42", "--intent", "reconcile-invoices")


def issue_token(cli: CliRunner) -> tuple[str, str]:
    result = cli(*ISSUE)
    assert result.code == 0, result.stderr
    token = result.stdout.strip()
    jti = json.loads(cli("verify", token, "-f", "json").stdout)["jti"]
    return token, jti


# --------------------------------------------------------------------------- core


def test_unknown_selectors_are_input_errors_and_change_nothing(
    service: CredentialService, runtime: Runtime
) -> None:
    live = invoice(service, task="INV-42")
    with pytest.raises(InputError, match=r"^no credential has jti 'nope'; nothing revoked$"):
        service.revoke(jti="nope", reason="typo")
    with pytest.raises(InputError, match=rf"did you mean '{re.escape(live.jti)}'\?$"):
        service.revoke(jti=live.jti[:12], reason="cut short when copied")
    with pytest.raises(
        InputError,
        match=r"^no agent named 'invoice-reconcilr' is registered; nothing revoked; "
        r"did you mean 'invoice-reconciler' or 'pending-reconciler'\?$",
    ):
        service.revoke(agent="invoice-reconcilr", reason="typo")
    with pytest.raises(
        InputError, match=r"for task 'INV-4'; nothing revoked; did you mean 'INV-42'"
    ):
        service.complete_task("INV-4")
    with pytest.raises(InputError, match=r"^no credential was ever issued for task 'NOPE-1'"):
        service.fail_task("NOPE-1", reason="broke")
    assert service.verify(live.token).valid
    for action in ("credential.revoke", "task.complete", "task.fail"):
        assert audit_rows(runtime, action) == []


def test_allow_none_and_nothing_live(service: CredentialService, runtime: Runtime) -> None:
    unknown = service.complete_task("NOPE-1", allow_none=True)
    assert (unknown.revoked, unknown.known) == (0, False)
    assert unknown.to_json()["known"] is False
    issued = invoice(service, task="INV-42")
    done = service.complete_task("INV-42")
    assert (done.revoked, done.jtis, done.known) == (1, [issued.jti], True)
    again = service.complete_task("INV-42")  # a known task with nothing live: not an error
    assert (again.revoked, again.known) == (0, True)
    by_jti = service.revoke(jti=issued.jti, reason="again")
    assert (by_jti.revoked, by_jti.state) == (0, "revoked")
    quiet_agent = service.revoke(agent="support-summarizer", reason="nothing issued")
    assert (quiet_agent.revoked, quiet_agent.known) == (0, True)


def test_suggestions_never_offer_a_secret(service: CredentialService) -> None:
    from nhictl.core.suggest import close_matches

    secretish = "INV-" + "aB3dE5fG7hJ9kL1mN3pQ5rS7tU9vW1xY3zA5"
    assert close_matches("INV-aB3dE5fG7hJ9kL1mN3pQ5rS7tU9vW1xY3zA", [secretish, "INV-42"]) == []
    assert close_matches("INV-4", ["INV-42", "INV-43", "OPS-1"]) == ["INV-42", "INV-43"]


# --------------------------------------------------------------------------- CLI


def test_revoke_and_task_typos_exit_2_with_a_did_you_mean(cli: CliRunner, home: Path) -> None:
    token, jti = issue_token(cli)
    cases = {
        ("revoke", "--jti", "nope", "--reason", "r"): "no credential has jti 'nope'",
        ("revoke", "--agent", "nobody", "--reason", "r"): "no agent named 'nobody' is registered",
        ("revoke", "--agent", "invoice-reconcilr", "--reason", "r"): (
            "did you mean 'invoice-reconciler' or 'pending-reconciler'?"
        ),
        ("revoke", "--jti", jti[:10], "--reason", "r"): f"did you mean '{jti}'?",
        ("task", "complete", "NOPE-1"): "no credential was ever issued for task 'NOPE-1'",
        ("task", "complete", "INV-4"): "did you mean 'INV-42'?",
        ("task", "fail", "NOPE-1", "--reason", "r"): "for task 'NOPE-1'; nothing revoked",
    }
    for args, expected in cases.items():
        result = cli(*args)
        assert result.code == 2, args
        assert result.stdout == "", args
        assert result.stderr.startswith("nhictl: error: ") and expected in result.stderr, args
        assert "--allow-none" in result.stderr, args
    assert cli("verify", token).code == 0  # nothing was revoked by the typos


def test_nothing_live_says_so_and_allow_none_is_silent_success(cli: CliRunner, home: Path) -> None:
    _, jti = issue_token(cli)
    done = cli("task", "complete", "INV-42")
    assert done.code == 0
    assert done.stdout == f"revoked 1 credential(s) by task INV-42\n  {jti}\n"
    again = cli("task", "complete", "INV-42")
    assert again.code == 0
    assert again.stdout == "task INV-42 has no live credentials; nothing revoked\n"
    by_jti = cli("revoke", "--jti", jti, "--reason", "r")
    assert by_jti.stdout == f"credential {jti} is already revoked; nothing revoked\n"
    agent = cli("revoke", "--agent", INVOICE, "--reason", "r")
    assert agent.stdout == f"agent {INVOICE} has no live credentials; nothing revoked\n"
    for args in (
        ("revoke", "--jti", "nope", "--reason", "r", "--allow-none"),
        ("revoke", "--agent", "nobody", "--reason", "r", "--allow-none"),
        ("task", "complete", "NOPE-1", "--allow-none"),
        ("task", "fail", "NOPE-1", "--reason", "r", "--allow-none"),
    ):
        result = cli(*args)
        assert result.code == 0, args
        assert result.stdout.endswith("is not known; nothing revoked\n"), args
        assert cli(*args, "-q").stdout == "", args  # -q: nothing at all
        doc = json.loads(cli(*args, "-f", "json").stdout)
        assert (doc["revoked"], doc["known"]) == (0, False)


def test_quiet_revoke_prints_only_the_jtis(cli: CliRunner, home: Path) -> None:
    _, first = issue_token(cli)
    _, second = issue_token(cli)
    result = cli("revoke", "--task", "INV-42", "--reason", "done", "-q")
    assert result.code == 0  # one jti a line, nothing else
    assert sorted(result.stdout.splitlines()) == sorted([first, second])
    assert cli("-q", "task", "complete", "INV-42").stdout == ""


def test_agent_commands_offer_a_did_you_mean(cli: CliRunner, home: Path) -> None:
    for args in (
        ("agents", "show", "invoice-reconcilr"),
        ("agents", "approve", "invoice-reconcilr", "--by", "x@example.com"),
        ("agents", "disable", "invoice-reconcilr", "--reason", "r"),
        ("agents", "enable", "invoice-reconcilr"),
        ("rebind", "nope", "--task", "T-1"),
    ):
        result = cli(*args)
        assert result.code == 2, args
        assert result.stderr.startswith("nhictl: error: no "), args
    shown = cli("agents", "show", "invoice-reconcilr")
    assert "did you mean 'invoice-reconciler' or 'pending-reconciler'?" in shown.stderr
    # issue keeps its audited denial (exit 1), and says which agent was probably meant
    denied = cli("issue", "invoice-reconcilr", "--task", "T-1", "--intent", "reconcile-invoices")
    assert denied.code == 1
    assert "hint: did you mean 'invoice-reconciler' or" in denied.stderr
