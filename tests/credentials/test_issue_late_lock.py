"""``issue`` decides before the write lock and re-checks under it (PostgreSQL's late lock).

Each test holds the write lock in a second session, lets an issue make its decision and queue
on the lock (seen in ``pg_locks``, not guessed from a sleep), changes what the decision rested
on inside the held transaction, commits, and checks the issue's outcome follows the state it
found under the lock, not the one it decided on.
"""

from __future__ import annotations

import os
import time
from collections.abc import Callable, Iterator
from concurrent.futures import Future, ThreadPoolExecutor
from contextlib import contextmanager
from typing import Any

import pytest

from nhictl.core.credentials import CredentialService, IssueDenied
from nhictl.core.credentials.issue import CredentialIssuer
from nhictl.core.credentials.records import IssuedCredential
from nhictl.core.runtime import Runtime
from nhictl.core.store.base import Store, Tx
from nhictl.core.store.postgres import PostgresStore
from tests.credentials.support import DEPLOYER, INVOICE, Clock, audit_rows, invoice

pytestmark = pytest.mark.backends("postgresql")

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


@contextmanager
def queued_behind_lock(
    call: Callable[[], IssuedCredential],
) -> Iterator[tuple[Tx, Future[IssuedCredential]]]:
    """Hold the write lock in another session; run ``call`` in a thread until it queues."""
    holder = PostgresStore(os.environ["NHICTL_STORE"])
    observer = PostgresStore(os.environ["NHICTL_STORE"])
    try:
        with ThreadPoolExecutor(1) as pool:
            with holder.write() as tx:
                tx.one("SELECT 1")  # BEGIN and the write lock ride with the first statement
                future = pool.submit(call)
                wait_until_queued(observer)
                yield tx, future
            future.exception(timeout=60)  # the lock is free: the issue finishes
    finally:
        holder.close()
        observer.close()


def set_status(runtime: Runtime, agent: str, status: str) -> None:
    with runtime.store.write() as tx:
        tx.execute("UPDATE agents SET status = ? WHERE name = ?", (status, agent))


def test_agent_disabled_while_the_issue_queued_is_refused(
    service: CredentialService, runtime: Runtime
) -> None:
    with queued_behind_lock(lambda: invoice(service, task="LATE-1")) as (tx, future):
        tx.execute("UPDATE agents SET status = 'disabled' WHERE name = ?", (INVOICE,))
    with pytest.raises(IssueDenied) as excinfo:
        future.result()
    assert excinfo.value.reason == "agent-not-active"
    assert runtime.store.read_one("SELECT COUNT(*) FROM credentials") == (0,)
    [(subject, outcome, _)] = audit_rows(runtime, "credential.issue")
    assert (subject, outcome) == (INVOICE, "denied")


def test_agent_enabled_while_the_issue_queued_is_issued(
    service: CredentialService, runtime: Runtime
) -> None:
    set_status(runtime, INVOICE, "disabled")
    with queued_behind_lock(lambda: invoice(service, task="LATE-2")) as (tx, future):
        tx.execute("UPDATE agents SET status = 'active' WHERE name = ?", (INVOICE,))
    issued = future.result()
    assert issued.record.agent == INVOICE and issued.record.status == "active"
    [(subject, outcome, _)] = audit_rows(runtime, "credential.issue")
    assert (subject, outcome) == (INVOICE, "issued")


def test_cap_filled_while_the_issue_queued_is_refused(
    service: CredentialService, runtime: Runtime, clock: Clock
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
    queued = lambda: service.issue(DEPLOYER, task="D-3", intent="deploy-staging")  # noqa: E731
    with queued_behind_lock(queued) as (tx, future):
        # The second slot goes to another issuer while D-3 waits with an allow decision.
        assert isinstance(
            other.issue_in_tx(tx, DEPLOYER, ask, clock.now, action="credential.issue"),
            IssuedCredential,
        )
    with pytest.raises(IssueDenied) as excinfo:
        future.result()
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
