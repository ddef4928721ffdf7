"""The pooled PostgreSQL store (psycopg-pool) that the threads of ``nhictl serve`` share:
writers from many threads queue on the write lock and lose nothing, the pool never opens more
connections than its size, a dead pooled connection is replaced, and a refused server is the
same one line as for the CLI's store."""

from __future__ import annotations

from collections.abc import Iterator
from concurrent.futures import ThreadPoolExecutor
from pathlib import Path

import pytest

from nhictl.core import auditlog
from nhictl.core.errors import StoreError
from nhictl.core.store import open_store
from nhictl.core.store.postgres import PooledPostgresStore, PostgresStore
from tests.pg_server import PgServer, free_port

THREADS = 8
WRITES = 40


@pytest.fixture
def url(pg_server: PgServer) -> Iterator[str]:
    created = pg_server.create_database()
    migrated = PostgresStore(created)
    migrated.migrate()
    migrated.close()
    yield created
    pg_server.drop_database(created)


def pooled(url: str, size: int) -> PooledPostgresStore:
    store = open_store(url, Path("/nonexistent"), pool_size=size)
    assert isinstance(store, PooledPostgresStore)
    return store


def test_threads_share_one_pooled_store_and_lose_nothing(url: str) -> None:
    store = pooled(url, 4)
    seen: set[int] = set()

    def writer(worker: int) -> None:
        for n in range(WRITES):
            with store.write() as tx:
                tx.defer(
                    "INSERT INTO status_lists (uri, next_idx, created_at) VALUES (?, 0, 'now')",
                    (f"w{worker}-{n}",),
                )
                auditlog.append(tx, action="t.write", subject=f"w{worker}", outcome="ok")
            seen.add(int((store.read_one("SELECT pg_backend_pid()") or (0,))[0]))

    try:
        with ThreadPoolExecutor(THREADS) as pool:
            list(pool.map(writer, range(THREADS)))
        assert store.read_one("SELECT COUNT(*) FROM status_lists") == (THREADS * WRITES,)
        with store.read() as tx:
            report = auditlog.verify(tx)
        assert report.ok and report.events == THREADS * WRITES
        assert 1 <= len(seen) <= 4  # never more connections than the pool's size
    finally:
        store.close()


def test_a_dead_pooled_connection_is_replaced(url: str, pg_server: PgServer) -> None:
    store = pooled(url, 2)
    try:
        row = store.read_one("SELECT pg_backend_pid()")
        assert row is not None
        with pg_server.admin() as admin:
            admin.execute("SELECT pg_terminate_backend(%s, 5000)", (int(row[0]),))
        with store.write() as tx:  # nothing had reached the dead session: once more, new one
            tx.defer("INSERT INTO status_lists VALUES ('after', 0, 'now')")
        assert store.read_one("SELECT COUNT(*) FROM status_lists") == (1,)
        assert store.read_one("SELECT pg_backend_pid()") != row
    finally:
        store.close()


def test_a_refused_server_is_one_line(tmp_path: Path) -> None:
    store = pooled(f"postgresql://u:pw@127.0.0.1:{free_port()}/db", 4)
    with pytest.raises(StoreError, match="connection refused") as info:
        store.schema_version()
    assert "\n" not in str(info.value) and ":pw@" not in str(info.value)
