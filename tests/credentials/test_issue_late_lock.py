"""``issue`` decides before the write lock and re-checks under it (the late lock), on both stores.

Each test holds the write lock in a second session, lets an issue make its decision and queue
on the lock, changes what the decision rested on inside the held transaction, commits, and
checks the issue's outcome follows the state it found under the lock, not the one it decided
on. On PostgreSQL the queueing is seen in ``pg_locks``; on SQLite (whose lock table cannot be
read) the issue announces it at ``tx.serialise()``, where it asks for the lock. Neither is
guessed from a sleep.
"""

from __future__ import annotations

import threading
import time
from collections.abc import Callable, Iterator
from concurrent.futures import ThreadPoolExecutor
from contextlib import contextmanager
from typing import Any

import pytest

from nhictl.core.credentials import CredentialService, IssueDenied
from nhictl.core.credentials.issue import CredentialIssuer
from nhictl.core.credentials.records import IssuedCredential
from nhictl.core.runtime import Runtime
from nhictl.core.store.base import Store, Tx
from tests.credentials.support import DEPLOYER, INVOICE, Clock, audit_rows, invoice

WAITING_FOR_LOCK = "SELECT COUNT(*) FROM pg_locks WHERE locktype = 'advisory' AND NOT granted"


def wait_until_queued(observer: Store) -> None:
    """Return once a session waits for the write lock (fail after 60 s: it never queued)."""
    give_up = time.monotonic() + 60
    while time.monotonic() < give_up:
        row = observer.read_one(WAITING_FOR_LOCK)
        if row and int(row[0]) > 0:
            return
        time.sleep(0.01)
    pytest.fail("the issue never queued on the write lock")


def announce_lock_requests(store: Store, monkeypatch: pytest.MonkeyPatch) -> threading.Event:
    """An event set when a late-lock write of ``store`` asks for the lock (``serialise``)."""
    asked = threading.Event()
    write = store.write

    @contextmanager
    def watched(*, late_lock: bool = False) -> Iterator[Tx]:
        with write(late_lock=late_lock) as tx:
            serialise = tx.serialise

            def announce() -> None:
                asked.set()
                serialise()

            monkeypatch.setattr(tx, "serialise", announce)
            yield tx

    monkeypatch.setattr(store, "write", watched)
    return asked


#: ``behind_lock(call, change)``: ``call()``'s result once it has queued behind a held lock.
BehindLock = Callable[[Callable[[], IssuedCredential], Callable[[Tx], object]], IssuedCredential]


@pytest.fixture
def behind_lock(runtime: Runtime, backend: str, monkeypatch: pytest.MonkeyPatch) -> BehindLock:
    """Run ``call`` (an issue) here while another session, in a thread, holds the write lock;
    once the issue queues, that session runs ``change`` and commits; ``call``'s result. (The
    issue runs on this thread: a SQLite connection belongs to the thread that opened it.)"""
    asked = None if backend == "postgresql" else announce_lock_requests(runtime.store, monkeypatch)

    def hold(call_started: threading.Event, change: Callable[[Tx], object]) -> None:
        holder, observer = Runtime().store, Runtime().store  # the same store, other sessions
        try:
            with holder.write() as tx:
                tx.one("SELECT 1")  # BEGIN and the write lock ride with the first statement
                call_started.set()
                if asked is None:
                    wait_until_queued(observer)
                elif not asked.wait(60):
                    pytest.fail("the issue never asked for the write lock")
                change(tx)
        finally:
            holder.close()
            observer.close()

    def run(
        call: Callable[[], IssuedCredential], change: Callable[[Tx], object]
    ) -> IssuedCredential:
        held = threading.Event()
        with ThreadPoolExecutor(1) as pool:
            holding = pool.submit(hold, held, change)
            if not held.wait(60):
                holding.result()  # the holder failed: say why
            try:
                return call()
            finally:
                holding.result(timeout=60)

    return run


def set_status(runtime: Runtime, agent: str, status: str) -> None:
    with runtime.store.write() as tx:
        tx.execute("UPDATE agents SET status = ? WHERE name = ?", (status, agent))


def disable(tx: Tx) -> None:
    tx.execute("UPDATE agents SET status = 'disabled' WHERE name = ?", (INVOICE,))


def test_agent_disabled_while_the_issue_queued_is_refused(
    service: CredentialService, runtime: Runtime, behind_lock: BehindLock
) -> None:
    with pytest.raises(IssueDenied) as excinfo:
        behind_lock(lambda: invoice(service, task="LATE-1"), disable)
    assert excinfo.value.reason == "agent-not-active"
    assert runtime.store.read_one("SELECT COUNT(*) FROM credentials") == (0,)
    [(subject, outcome, _)] = audit_rows(runtime, "credential.issue")
    assert (subject, outcome) == (INVOICE, "denied")


def test_agent_enabled_while_the_issue_queued_is_issued(
    service: CredentialService, runtime: Runtime, behind_lock: BehindLock
) -> None:
    set_status(runtime, INVOICE, "disabled")
    issued = behind_lock(
        lambda: invoice(service, task="LATE-2"),
        lambda tx: tx.execute("UPDATE agents SET status = 'active' WHERE name = ?", (INVOICE,)),
    )
    assert issued.record.agent == INVOICE and issued.record.status == "active"
    [(subject, outcome, _)] = audit_rows(runtime, "credential.issue")
    assert (subject, outcome) == (INVOICE, "issued")


def test_cap_filled_while_the_issue_queued_is_refused(
    service: CredentialService, runtime: Runtime, clock: Clock, behind_lock: BehindLock
) -> None:
    service.issue(DEPLOYER, task="D-1", intent="deploy-staging")  # 1 of its 2 slots
    other = CredentialIssuer(service)
    ask: dict[str, Any] = {
        "task": "D-2",
        "intent": "deploy-staging",
        "scopes": None,
        "ttl_seconds": None,
        "audience": None,
        "data_sensitivity": None,
        "environment": None,
        "tools": None,
        "on_behalf_of": None,
        "consent": None,
    }

    def take_the_second_slot(tx: Tx) -> None:  # while D-3 waits with an allow decision
        issued = other.issue_in_tx(tx, DEPLOYER, ask, clock.now, action="credential.issue")
        assert isinstance(issued, IssuedCredential)

    with pytest.raises(IssueDenied) as excinfo:
        behind_lock(
            lambda: service.issue(DEPLOYER, task="D-3", intent="deploy-staging"),
            take_the_second_slot,
        )
    assert excinfo.value.policy_ids == ["builtin.max-concurrent-credentials"]
    row = runtime.store.read_one("SELECT COUNT(*) FROM credentials WHERE agent = ?", (DEPLOYER,))
    assert row == (2,)


def test_a_late_lock_transaction_cannot_write_before_it_serialises(runtime: Runtime) -> None:
    with (
        pytest.raises(RuntimeError, match=r"before tx\.serialise"),
        runtime.store.write(late_lock=True) as tx,
    ):
        tx.execute("UPDATE agents SET status = 'disabled' WHERE name = ?", (INVOICE,))
    with runtime.store.write(late_lock=True) as tx:
        tx.serialise()
        tx.execute("UPDATE agents SET status = 'disabled' WHERE name = ?", (INVOICE,))
    assert runtime.store.read_one("SELECT status FROM agents WHERE name = ?", (INVOICE,)) == (
        "disabled",
    )
