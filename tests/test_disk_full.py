"""A full disk and a read-only store: one clear line, exit 2, nothing half-written.

File systems used, and why:

* Disk full (SQLite): a real 8 MiB tmpfs mounted on the test's NHICTL_HOME when the test runs as
  root and may mount (the CI container does); it is filled with a filler file, so SQLite meets
  ENOSPC exactly where it would on a full disk. Without root the test says so and skips; the
  RLIMIT_FSIZE test next to it runs everywhere.
* File size cap (SQLite, everywhere): ``nhictl`` runs with RLIMIT_FSIZE set and SIGXFSZ ignored,
  so every write past the cap fails with EFBIG: an honest stand-in for a file system that stops
  taking data, not a mock (SQLite and the kernel do the failing).
* Read-only (SQLite): the home bind-mounted read-only (root), else the folder and file chmod-ed
  read-only (which only stops a non-root user).
* Read-only (PostgreSQL): ``default_transaction_read_only`` on the database, and a role that may
  read but was granted no writes.

After each failure the store is checked as after a crash (tests/robust_driver.py): no row
without its audit event, ``log verify`` passes, and the failed command left no credential.
"""

from __future__ import annotations

import contextlib
import os
import resource
import signal
import subprocess
import sys
from collections.abc import Iterator
from pathlib import Path

import psycopg
import pytest

from nhictl.core.errors import StoreError
from nhictl.core.runtime import Runtime
from tests.conftest import ROOT
from tests.robust_driver import INTENT, consistency_problems, log_verify, prepare
from tests.test_crash import sqlite_integrity

ISSUE = ("issue", "robust-0", "--intent", INTENT, "--task")


def can_mount() -> bool:
    return (
        os.geteuid() == 0
        and subprocess.run(["mount", "--version"], capture_output=True).returncode == 0
    )


@contextlib.contextmanager
def mounted(*argv: str, target: Path) -> Iterator[None]:
    subprocess.run(["mount", *argv, str(target)], check=True, capture_output=True)
    try:
        yield
    finally:
        subprocess.run(["umount", "-l", str(target)], check=True, capture_output=True)


def nhictl(*args: str, limit_bytes: int | None = None) -> subprocess.CompletedProcess[str]:
    """The real CLI in a new process; with ``limit_bytes``, under that RLIMIT_FSIZE."""

    def cap() -> None:
        if limit_bytes is not None:
            signal.signal(signal.SIGXFSZ, signal.SIG_IGN)  # a write past the cap fails: EFBIG
            resource.setrlimit(resource.RLIMIT_FSIZE, (limit_bytes, limit_bytes))

    return subprocess.run(
        [sys.executable, "-m", "nhictl", *args],
        capture_output=True,
        text=True,
        cwd=ROOT,
        timeout=120,
        preexec_fn=cap,
    )


def assert_one_clear_error(result: subprocess.CompletedProcess[str], *words: str) -> str:
    """Exit 2, nothing on stdout (no token), an ``nhictl: error:`` line, no traceback."""
    assert result.returncode == 2, (result.returncode, result.stderr)
    assert result.stdout == ""
    first = result.stderr.splitlines()[0]
    assert first.startswith("nhictl: error: "), result.stderr
    assert "Traceback" not in result.stderr and "internal error" not in result.stderr
    for word in words:
        assert word in first, first
    return first


def fill(folder: Path) -> Path:
    """Write a filler file until the file system holding ``folder`` refuses (ENOSPC)."""
    filler = folder / "filler"
    fd = os.open(filler, os.O_WRONLY | os.O_CREAT | os.O_TRUNC, 0o600)
    try:
        for size in (65536, 512, 1):  # down to the last byte
            with contextlib.suppress(OSError):
                while True:
                    os.write(fd, b"\0" * size)
    finally:
        os.close(fd)
    return filler


def credential_tasks(runtime: Runtime) -> set[str]:
    with runtime.store.read() as tx:
        return {r[0] for r in tx.query("SELECT task FROM credentials")}


def assert_store_sound(home: Path | None) -> None:
    runtime = Runtime()
    assert consistency_problems(runtime.store) == []
    runtime.store.close()
    if home is not None:
        assert sqlite_integrity(home / "nhictl.db") == []
    assert log_verify()["ok"] is True


@pytest.mark.backends("sqlite")
@pytest.mark.skipif(not can_mount(), reason="a real tmpfs needs root and mount")
def test_sqlite_on_a_full_tmpfs(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch, backend: str
) -> None:
    home = tmp_path / "tiny"
    home.mkdir()
    with mounted("-t", "tmpfs", "-o", "size=8m,mode=0700", "tmpfs", target=home):
        monkeypatch.setenv("NHICTL_HOME", str(home))
        prepare(home)
        runtime = Runtime()
        service = runtime.credentials
        kept = [service.issue("robust-0", task="before-0", intent=INTENT)]
        filler = fill(home)
        # The open connection's WAL has room for a few more commits; then the disk is full.
        refused: StoreError | None = None
        for n in range(1, 5000):
            try:
                kept.append(service.issue("robust-0", task=f"before-{n}", intent=INTENT))
            except StoreError as exc:
                refused, failed_task = exc, f"before-{n}"
                break
        assert refused is not None, "the full disk never refused a write"
        assert "is full: nothing was written" in refused.message
        runtime.store.close()

        # A new process on the full disk: one line, exit 2, no token.
        assert_one_clear_error(nhictl(*ISSUE, "on-full-disk"), "is full", "nothing was written")

        filler.unlink()
        runtime = Runtime()
        tasks = credential_tasks(runtime)
        assert failed_task not in tasks and "on-full-disk" not in tasks
        assert {c.record.task for c in kept} <= tasks
        assert all(runtime.credentials.verify(c.token).valid for c in kept)
        runtime.store.close()
        assert_store_sound(home)
        assert nhictl(*ISSUE, "after-space-freed").returncode == 0


@pytest.mark.backends("sqlite")
def test_sqlite_under_a_file_size_cap(isolated_env: Path, backend: str) -> None:
    prepare(isolated_env)
    events = log_verify()["events"]
    # 32 KiB: SQLite's shared-memory file fits exactly; the write-ahead log of one issue does not.
    result = nhictl(*ISSUE, "capped", limit_bytes=32 * 1024)
    assert_one_clear_error(result, str(isolated_env / "nhictl.db"), "nothing was written")
    runtime = Runtime()
    assert "capped" not in credential_tasks(runtime)
    runtime.store.close()
    assert_store_sound(isolated_env)
    assert log_verify()["events"] == events


@contextlib.contextmanager
def read_only_folder(folder: Path) -> Iterator[None]:
    """``folder`` read-only: a read-only bind mount as root (chmod does not stop root)."""
    if can_mount():
        with mounted("--bind", str(folder), target=folder):
            subprocess.run(
                ["mount", "-o", "remount,bind,ro", str(folder)], check=True, capture_output=True
            )
            yield
        return
    store = folder / "nhictl.db"
    store.chmod(0o400)
    folder.chmod(0o500)
    try:
        yield
    finally:
        folder.chmod(0o700)
        store.chmod(0o600)


@pytest.mark.backends("sqlite")
def test_sqlite_read_only_store(isolated_env: Path, backend: str) -> None:
    prepare(isolated_env)
    token = nhictl(*ISSUE, "before-ro", "-f", "json")
    assert token.returncode == 0, token.stderr
    events = log_verify()["events"]
    with read_only_folder(isolated_env):
        assert_one_clear_error(nhictl(*ISSUE, "while-ro"), str(isolated_env / "nhictl.db"))
        assert_one_clear_error(
            nhictl("revoke", "--task", "before-ro", "--reason", "read-only test"),
            str(isolated_env / "nhictl.db"),
        )
    runtime = Runtime()
    assert credential_tasks(runtime) == {"before-ro"}
    assert runtime.credentials.list() and all(
        r.status == "active" for r in runtime.credentials.list()
    )
    runtime.store.close()
    assert_store_sound(isolated_env)
    assert log_verify()["events"] == events


@pytest.mark.backends("postgresql")
@pytest.mark.parametrize("how", ["default_transaction_read_only", "role-without-write-grants"])
def test_postgres_read_only_store(
    isolated_env: Path,
    store_url: str,
    backend: str,
    how: str,
    monkeypatch: pytest.MonkeyPatch,
    request: pytest.FixtureRequest,
) -> None:
    from tests.pg_server import PgServer

    prepare(isolated_env)
    assert nhictl(*ISSUE, "before-ro").returncode == 0
    events = log_verify()["events"]
    server: PgServer = request.getfixturevalue("pg_server")
    database = store_url.rsplit("/", 1)[1].split("?", 1)[0]
    role = f"nhictl_reader_{database}"
    with server.admin() as admin:
        if how == "default_transaction_read_only":
            admin.execute(f'ALTER DATABASE "{database}" SET default_transaction_read_only = on')
            url = store_url
        else:
            admin.execute(f'CREATE ROLE "{role}" LOGIN')
            with psycopg.connect(server.url(database), autocommit=True) as conn:
                conn.execute(f'GRANT SELECT ON ALL TABLES IN SCHEMA public TO "{role}"')
            url = server.url(database, user=role, sslmode="disable")
    try:
        monkeypatch.setenv("NHICTL_STORE", url)
        expected = "is read-only" if how == "default_transaction_read_only" else "may not write"
        assert_one_clear_error(nhictl(*ISSUE, "while-ro"), expected, "nothing was written")
        assert_one_clear_error(
            nhictl("revoke", "--task", "before-ro", "--reason", "read-only test"),
            expected,
            "nothing was written",
        )
    finally:
        monkeypatch.setenv("NHICTL_STORE", store_url)
        with server.admin() as admin:
            admin.execute(f'ALTER DATABASE "{database}" RESET default_transaction_read_only')
        if how == "role-without-write-grants":
            with psycopg.connect(server.url(database), autocommit=True) as conn:
                conn.execute(f'DROP OWNED BY "{role}"')  # its grants, so the role can go
            with server.admin() as admin:
                admin.execute(f'DROP ROLE "{role}"')
    runtime = Runtime()
    assert credential_tasks(runtime) == {"before-ro"}
    assert all(r.status == "active" for r in runtime.credentials.list())
    runtime.store.close()
    assert_store_sound(None)
    assert log_verify()["events"] == events
