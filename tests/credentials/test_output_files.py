"""Token files that can never leak or lose a secret: ``issue``/``rebind -o FILE`` are checked
before anything is minted, an existing file needs ``--force``, and a write that still fails
revokes the credential it could not deliver (audited) and leaves no temp file."""

from __future__ import annotations

import json
import os
import stat
import subprocess
import sys
from pathlib import Path

import pytest

from nhictl.core.outfile import is_direct
from tests.conftest import CliRunner
from tests.credentials.support import INVOICE
from tests.outfile_support import (
    ROOT,
    FifoReader,
    dev_null_is_intact,
    leftovers,
    needs_unshare,
    on_tiny_fs,
)

ISSUE = ("issue", INVOICE, "--task", "INV-42", "--intent", "reconcile-invoices")


def active(cli: CliRunner) -> list[str]:
    result = cli("credentials", "list", "--active", "-f", "json")
    assert result.code == 0, result.stderr
    return [c["jti"] for c in json.loads(result.stdout)]


def credentials(cli: CliRunner) -> list[dict[str, str]]:
    result = cli("credentials", "list", "-f", "json")
    assert result.code == 0, result.stderr
    return list(json.loads(result.stdout))


def events(cli: CliRunner, action: str) -> list[dict[str, object]]:
    result = cli("log", "list", "--action", action, "-f", "json")
    assert result.code == 0, result.stderr
    return list(json.loads(result.stdout))


def issue_token(cli: CliRunner, *extra: str) -> str:
    result = cli(*ISSUE, *extra)
    assert result.code == 0, result.stderr
    return result.stdout.strip()


# --------------------------------------------------------------------------- refused up front


@pytest.mark.parametrize(
    ("target", "reason"),
    [
        ("", "it is a directory"),
        ("missing/t.jwt", "the folder {tmp}/missing does not exist"),
        ("file/t.jwt", "{tmp}/file is not a folder"),
        ("old.jwt", "the file already exists"),
    ],
)
def test_issue_refuses_a_bad_target_before_anything_is_minted(
    cli: CliRunner, home: Path, tmp_path: Path, target: str, reason: str
) -> None:
    (tmp_path / "file").write_text("x")
    (tmp_path / "old.jwt").write_text("an older, still live token\n")
    path = tmp_path / target if target else tmp_path
    issued_before = len(events(cli, "credential.issue"))
    result = cli(*ISSUE, "-o", str(path))
    assert result.code == 2
    assert result.stdout == ""
    assert result.stderr.splitlines()[0] == (
        f"nhictl: error: cannot write {path}: " + reason.format(tmp=tmp_path)
    )
    assert "issued" not in result.stderr
    assert active(cli) == [] and credentials(cli) == []
    assert len(events(cli, "credential.issue")) == issued_before  # nothing audited as issued
    assert (tmp_path / "old.jwt").read_text() == "an older, still live token\n"
    assert leftovers(tmp_path) == [] and leftovers(ROOT) == []


def test_existing_file_needs_force_and_stays_0600(
    cli: CliRunner, home: Path, tmp_path: Path
) -> None:
    path = tmp_path / "t.jwt"
    assert cli(*ISSUE, "-o", str(path)).code == 0
    first = path.read_text()
    refused = cli(*ISSUE, "--output", str(path))
    assert refused.code == 2 and "already exists" in refused.stderr and "--force" in refused.stderr
    assert path.read_text() == first and len(active(cli)) == 1
    old = os.umask(0)  # a permissive umask must not widen a token file
    try:
        replaced = cli(*ISSUE, "-o", str(path), "--force")
    finally:
        os.umask(old)
    assert replaced.code == 0, replaced.stderr
    assert path.read_text() != first
    assert stat.S_IMODE(path.stat().st_mode) == 0o600
    assert "(mode 0600)" in replaced.stderr
    assert cli("verify", str(path)).code == 0
    assert leftovers(tmp_path) == []


def test_old_out_spelling_still_works(cli: CliRunner, home: Path, tmp_path: Path) -> None:
    path = tmp_path / "t.jwt"
    assert cli(*ISSUE, "--out", str(path)).code == 0
    assert stat.S_IMODE(path.stat().st_mode) == 0o600


@needs_unshare
def test_unwritable_folder_is_refused_before_minting(
    cli: CliRunner, home: Path, tmp_path: Path
) -> None:
    folder = tmp_path / "ro"
    target = folder / "t.jwt"
    out = on_tiny_fs(
        folder, sys.executable, "-m", "nhictl", *ISSUE, "-o", str(target), read_only=True
    )
    assert f"nhictl: error: cannot write {target}: cannot create files in {folder}" in out
    assert "rc=2" in out and "issued" not in out
    assert credentials(cli) == []


def test_rebind_refuses_a_bad_target_and_changes_nothing(
    cli: CliRunner, home: Path, tmp_path: Path
) -> None:
    old = json.loads(cli(*ISSUE, "-f", "json").stdout)["jti"]
    (tmp_path / "taken.jwt").write_text("x\n")
    for target in (tmp_path, tmp_path / "no" / "t.jwt", tmp_path / "taken.jwt"):
        result = cli(
            "rebind", "--task", "INV-43", "-o", str(target), "--", old
        )  # jti may start with -
        assert result.code == 2 and f"cannot write {target}" in result.stderr
        assert active(cli) == [old]  # the old credential is still live, no successor
    assert leftovers(tmp_path) == []


# --------------------------------------------------------------------------- fails after minting


def test_a_write_that_fails_after_minting_revokes_the_credential(
    cli: CliRunner, home: Path
) -> None:
    if not os.path.exists("/dev/full"):
        pytest.skip("no /dev/full")
    result = cli(*ISSUE, "-o", "/dev/full")
    assert result.code == 2
    (line,) = result.stderr.splitlines()
    (cred,) = credentials(cli)
    assert line == (
        f"nhictl: error: cannot write /dev/full: No space left on device; credential "
        f"{cred['jti']} was revoked, as no one holds its token"
    )
    assert active(cli) == []
    assert cred["status"] == "revoked"
    assert (
        cred["revoked_reason"] == "token not delivered: the write failed (No space left on device)"
    )
    (revoked,) = events(cli, "credential.revoke")
    assert revoked["details"]["jtis"] == [cred["jti"]]  # type: ignore[index]


@needs_unshare
def test_disk_full_revokes_and_leaves_no_temp_file(
    cli: CliRunner, home: Path, tmp_path: Path
) -> None:
    folder = tmp_path / "tiny"
    target = folder / "out.jwt"
    out = on_tiny_fs(folder, sys.executable, "-m", "nhictl", *ISSUE, "-o", str(target))
    (cred,) = credentials(cli)
    assert (
        f"nhictl: error: cannot write {target}: No space left on device; credential "
        f"{cred['jti']} was revoked, as no one holds its token"
    ) in out
    assert "rc=2" in out
    assert out.rstrip().splitlines()[-1] == "filler"  # no out.jwt and no .out.jwt.*.tmp
    assert active(cli) == [] and cred["status"] == "revoked"


def test_rebind_write_failure_revokes_the_successor_and_says_the_old_one_is_gone(
    cli: CliRunner, home: Path
) -> None:
    if not os.path.exists("/dev/full"):
        pytest.skip("no /dev/full")
    old = json.loads(cli(*ISSUE, "-f", "json").stdout)["jti"]
    result = cli("rebind", "--task", "INV-43", "-o", "/dev/full", "--", old)
    assert result.code == 2
    assert f"; {old} was already revoked by the rebind" in result.stderr
    assert active(cli) == []
    assert {c["status"] for c in credentials(cli)} == {"revoked"}


def test_stdout_that_cannot_be_written_revokes_too(home: Path) -> None:
    read_end, write_end = os.pipe()
    os.close(read_end)  # nobody will ever read the token
    try:
        result = subprocess.run(
            [sys.executable, "-m", "nhictl", *ISSUE],
            stdout=write_end,
            stderr=subprocess.PIPE,
            text=True,
            cwd=ROOT,
            timeout=120,
        )
    finally:
        os.close(write_end)
    assert result.returncode == 2, result.stderr
    assert "cannot write stdout: Broken pipe; credential" in result.stderr
    assert "was revoked" in result.stderr
    listed = subprocess.run(
        [sys.executable, "-m", "nhictl", "credentials", "list", "--active", "-f", "json"],
        capture_output=True,
        text=True,
        cwd=ROOT,
        check=True,
    )
    assert json.loads(listed.stdout) == []


# --------------------------------------------------------------------------- devices and FIFOs


def test_token_through_a_fifo_leaves_the_fifo(cli: CliRunner, home: Path, tmp_path: Path) -> None:
    fifo = tmp_path / "token.pipe"
    reader = FifoReader(fifo)
    result = cli(*ISSUE, "-o", str(fifo))
    assert result.code == 0, result.stderr
    token = reader.result().decode().strip()
    assert stat.S_ISFIFO(fifo.stat().st_mode)
    assert f"token written to {fifo}" in result.stderr and "0600" not in result.stderr
    assert cli("verify", token).code == 0
    assert leftovers(tmp_path) == []


def test_issue_to_dev_null_keeps_the_device(cli: CliRunner, home: Path) -> None:
    assert is_direct(Path("/dev/null"))  # only then is the real device safe to name
    assert cli(*ISSUE, "-o", "/dev/null").code == 0
    assert dev_null_is_intact()


# --------------------------------------------------------------------------- other outputs


def test_status_list_publish_output_and_ttl_with_old_spellings(
    cli: CliRunner, home: Path, tmp_path: Path
) -> None:
    issue_token(cli)
    out = tmp_path / "status.jwt"
    out.write_text("stale\n")  # a report: replaced without --force
    assert cli("status-list", "publish", "-o", str(out), "--ttl", "5m").code == 0
    first = out.read_text()
    assert first.count(".") == 2
    assert cli("status-list", "publish", "--out", str(out), "--lifetime", "5m").code == 0
    assert out.read_text().count(".") == 2
    result = cli("status-list", "publish", "-o", str(tmp_path))
    assert result.code == 2 and "it is a directory" in result.stderr
    help_text = cli("status-list", "publish", "--help").stdout
    assert "--output" in help_text and "--ttl" in help_text
    assert "--out " not in help_text and "--lifetime" not in help_text


def test_keys_jwks_and_log_export_write_files(cli: CliRunner, home: Path, tmp_path: Path) -> None:
    issue_token(cli)
    jwks = tmp_path / "jwks.json"
    assert cli("keys", "jwks", "-o", str(jwks)).code == 0
    assert json.loads(jwks.read_text())["keys"]
    assert cli("keys", "jwks", "-f", "yaml", "--output", str(jwks)).code == 0
    assert jwks.read_text().startswith("keys:")
    log = tmp_path / "audit.jsonl"
    assert cli("log", "export", "-o", str(log)).code == 0
    assert all(json.loads(line)["action"] for line in log.read_text().splitlines())
    for command in (("keys", "jwks"), ("log", "export")):
        result = cli(*command, "-o", str(tmp_path))
        assert result.code == 2
        assert result.stderr.splitlines()[0] == (
            f"nhictl: error: cannot write {tmp_path}: it is a directory"
        )
        missing = tmp_path / "no" / "f"
        result = cli(*command, "-o", str(missing))
        assert result.code == 2 and f"the folder {tmp_path}/no does not exist" in result.stderr
    assert leftovers(tmp_path) == []


@pytest.mark.parametrize(
    "command",
    [
        ("issue",),
        ("rebind",),
        ("status-list", "publish"),
        ("collect", "aws"),
        ("keys", "jwks"),
        ("schema", "show"),
        ("log", "export"),
        ("validate",),
        ("audit-creep",),
    ],
)
def test_every_file_writing_command_offers_dash_o_output(
    cli: CliRunner, command: tuple[str, ...]
) -> None:
    help_text = cli(*command, "--help").stdout
    assert "-o, --output" in help_text or "--output  -o" in help_text, help_text
    assert "--out " not in help_text and "--out," not in help_text
