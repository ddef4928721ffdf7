"""Eight processes issue and revoke at once against one SQLite store: nothing lost, no lock
errors, every credential and audit event accounted for (a bounded run of the benchmark check)."""

from __future__ import annotations

from pathlib import Path

from benchmarks.bench_credentials import concurrency_check


def test_eight_processes_issue_and_revoke_against_one_store(tmp_path: Path) -> None:
    report = concurrency_check(tmp_path / "home", processes=8, ops=12)
    assert report.errors == []
    assert report.problems == []
    assert report.issued == 8 * 12
    # Every even op is revoked by jti; odd ops divisible by 5 by task completion.
    assert report.revoked == 8 * (6 + 1)
