"""``kill -9`` at random points in a stream of registers, issues and revokes, on both backends.

A child process (``python -m tests.robust_driver crash SEED``) loops over registrations, new
revisions, issues and revokes; the parent kills it with SIGKILL after a random short delay, and
does so ``ROUNDS`` times (seeded, so a failing round can be replayed) against one store. After
every kill: the store passes its integrity check (SQLite ``PRAGMA integrity_check`` and
``foreign_key_check``; on both, the schema's constraints re-checked by query), every stored
change has its audit event and every change event its stored change, and ``nhictl log verify``
passes.
"""

from __future__ import annotations

import itertools
import os
import random
import signal
import subprocess
import sys
from pathlib import Path

from nhictl.core.runtime import Runtime
from tests.conftest import ROOT
from tests.robust_driver import consistency_problems, log_verify, prepare

ROUNDS = 20
SEED = 1913


def sqlite_integrity(path: Path) -> list[str]:
    """SQLite's own checks of the file, through a connection of our own."""
    import sqlite3

    connection = sqlite3.connect(path)
    try:
        integrity = [r[0] for r in connection.execute("PRAGMA integrity_check")]
        foreign = connection.execute("PRAGMA foreign_key_check").fetchall()
    finally:
        connection.close()
    return ([] if integrity == ["ok"] else integrity) + [f"foreign key: {r}" for r in foreign]


def kill_during_stream(seed: int, delay: float) -> None:
    """Start the child, wait for its first commit, let it run ``delay`` s more, SIGKILL it."""
    with subprocess.Popen(
        [sys.executable, "-m", "tests.robust_driver", "crash", str(seed)],
        cwd=ROOT,
        stdout=subprocess.PIPE,
        stderr=subprocess.PIPE,
        text=True,
    ) as child:
        assert child.stdout is not None and child.stderr is not None
        try:
            ready = child.stdout.readline()
            if ready == "ready\n":
                try:
                    child.wait(timeout=delay)
                except subprocess.TimeoutExpired:
                    os.kill(child.pid, signal.SIGKILL)  # still running: it failed nowhere
        finally:
            child.kill()  # a no-op when it already ended
            _, err = child.communicate()
        assert ready == "ready\n" and child.returncode == -signal.SIGKILL, err[-2000:]


def test_kill_nine_during_registers_issues_and_revokes(
    isolated_env: Path, store_url: str, backend: str
) -> None:
    prepare(isolated_env, agents=2)
    rng = random.Random(SEED)
    totals: list[int] = []
    for round_ in range(ROUNDS):
        kill_during_stream(seed=SEED * 100 + round_, delay=rng.uniform(0.05, 0.6))
        if backend == "sqlite":
            assert sqlite_integrity(isolated_env / "nhictl.db") == [], f"round {round_}"
        runtime = Runtime()
        assert consistency_problems(runtime.store) == [], f"round {round_}"
        with runtime.store.read() as tx:
            totals.append(int(tx.query("SELECT COUNT(*) FROM audit_events")[0][0]))
        runtime.store.close()
        report = log_verify()
        assert report["ok"] is True and report["events"] == totals[-1], f"round {round_}"
    # Every round committed something before it was killed: the kills landed mid-stream.
    assert all(later > earlier for earlier, later in itertools.pairwise(totals))
