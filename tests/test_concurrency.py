"""Eight real processes issue, verify and revoke at once against one store, on both backends.

Afterwards: no credential lost (every issue that returned a token is stored), no jti or
status-list index twice, every change paired with its audit event in one unbroken chain
(``nhictl log verify``), no exception (a lock error above all) reaching a caller, and each
revocation seen by the next verify in every process: a revoker process revokes a probe
credential and sets a signal; every process verifies the probe as soon as it sees the signal.
"""

from __future__ import annotations

import multiprocessing
from concurrent.futures import ProcessPoolExecutor
from pathlib import Path

from nhictl.core.runtime import Runtime
from tests.robust_driver import (
    INTENT,
    WorkerPlan,
    concurrency_worker,
    consistency_problems,
    log_verify,
    prepare,
    probe_task,
)

PROCESSES = 8
OPS = 200  # per process: an issue and a verify each, a revoke and a verify for ~2 in 5
PROBES = 4


def test_eight_processes_issue_verify_and_revoke_at_once(
    isolated_env: Path, store_url: str, backend: str
) -> None:
    agents = prepare(isolated_env)
    runtime = Runtime()
    probes = [
        runtime.credentials.issue(agents[0], task=probe_task(k), intent=INTENT)
        for k in range(PROBES)
    ]
    runtime.store.close()

    ctx = multiprocessing.get_context("spawn")
    with (
        ctx.Manager() as manager,
        ProcessPoolExecutor(PROCESSES, mp_context=ctx) as pool,
    ):
        start = manager.Barrier(PROCESSES)
        signals = [manager.Event() for _ in range(PROBES)]
        plans = [
            WorkerPlan(
                str(isolated_env),
                store_url,
                w,
                OPS,
                agents,
                [p.token for p in probes],
                revoker=w == PROCESSES - 1,
            )
            for w in range(PROCESSES)
        ]
        futures = [pool.submit(concurrency_worker, plan, start, signals) for plan in plans]
        reports = [f.result(timeout=600) for f in futures]

    errors = [e for r in reports for e in r.errors]
    assert errors == [], errors[:5]
    wrong = [w for r in reports for w in r.wrong]
    assert wrong == [], wrong[:5]
    assert all(r.signals_checked == PROBES for r in reports)

    issued = [j for r in reports for j in r.issued] + [p.jti for p in probes]
    revoked = [j for r in reports for j in r.revoked]
    assert len(issued) == PROCESSES * OPS + PROBES
    assert len(set(issued)) == len(issued), "a jti was handed out twice"
    assert len(set(revoked)) == len(revoked), "a credential was revoked twice"
    assert {p.jti for p in probes} <= set(revoked)

    runtime = Runtime()
    with runtime.store.read() as tx:
        rows = tx.query("SELECT jti, status, status_idx FROM credentials")
        revoke_events = tx.one(
            "SELECT COUNT(*) FROM audit_events WHERE action IN (?, ?) AND outcome = ?",
            ("credential.revoke", "task.complete", "revoked"),
        )
        events = int(tx.query("SELECT COUNT(*) FROM audit_events")[0][0])
        reserved = int(tx.query("SELECT SUM(next_idx) FROM status_lists")[0][0])
    stored = {jti: status for jti, status, _ in rows}
    assert set(stored) == set(issued), "a credential that returned a token is not stored"
    assert {j for j, s in stored.items() if s == "revoked"} == set(revoked)
    # Every index once; each process reserves indexes ahead (at most 64), so there are gaps.
    indexes = [idx for _, _, idx in rows]
    assert len(set(indexes)) == len(indexes), "a status index was handed out twice"
    assert all(0 <= idx < reserved for idx in indexes)
    assert reserved - len(indexes) <= 64 * PROCESSES + PROBES
    # One revoke event per revoking call: the probes, every third op, and 1 op in 21 more.
    calls = PROBES + PROCESSES * sum(1 for i in range(OPS) if i % 3 == 0 or i % 7 == 0)
    assert revoke_events is not None and int(revoke_events[0]) == calls
    assert consistency_problems(runtime.store) == []
    runtime.store.close()

    report = log_verify()
    assert report["ok"] is True and report["problems"] == []
    assert report["events"] == events
