"""Every backend's store: shortcuts read and write exactly what the long way does, types and
row shapes match, migrations, rollback; then the SQLite store's WAL checkpoint helper."""

from __future__ import annotations

import sqlite3
import time
from collections.abc import Iterator
from pathlib import Path

import psycopg
import pytest

from nhictl.core.errors import StoreError
from nhictl.core.store import Store, open_store
from nhictl.core.store.schema import LATEST_VERSION, MIGRATIONS, TABLES
from nhictl.core.store.sqlite import (
    BACKSTOP_CHECKPOINT_PAGES,
    CHECKPOINT_EVERY,
    SqliteStore,
    _Checkpointer,
)


def two_stores(url: str, folder: Path) -> tuple[Store, Store]:
    """Two connections to one fresh store, as two processes would have."""
    first = open_store(url, folder)
    first.migrate()
    with first.write() as tx:
        tx.execute("CREATE TABLE t (k TEXT PRIMARY KEY, v INTEGER NOT NULL)")
        tx.execute("INSERT INTO t VALUES ('a', 1)")
    return first, open_store(url, folder)


@pytest.fixture
def stores(store_url: str, tmp_path: Path) -> Iterator[tuple[Store, Store]]:
    first, second = two_stores(store_url, tmp_path)
    yield first, second
    first.close()
    second.close()


@pytest.fixture
def sqlite_stores(tmp_path: Path) -> Iterator[tuple[SqliteStore, SqliteStore]]:
    first, second = two_stores("", tmp_path)
    assert isinstance(first, SqliteStore) and isinstance(second, SqliteStore)
    yield first, second
    first.close()
    second.close()


def test_migrate_creates_every_table_once(store_url: str, tmp_path: Path) -> None:
    store = open_store(store_url, tmp_path)
    assert store.schema_version() == 0
    assert store.migrate() == list(MIGRATIONS)
    assert store.migrate() == []
    assert store.schema_version() == LATEST_VERSION
    store.require_initialized()
    with store.read() as tx:
        for table in TABLES:
            assert tx.query(f"SELECT COUNT(*) FROM {table}") == [(0,)]
        versions = tx.query("SELECT version, applied_at FROM schema_migrations ORDER BY version")
    assert [v for v, _ in versions] == list(MIGRATIONS)
    assert all(isinstance(at, str) and at.endswith("Z") for _, at in versions)
    store.close()


def test_rows_are_tuples_of_the_same_python_types(stores: tuple[Store, Store]) -> None:
    store, other = stores
    with store.write() as tx:
        tx.execute(
            "CREATE TABLE types (i INTEGER, b BIGINT, t TEXT, n TEXT, blob BLOB)"
            if isinstance(store, SqliteStore)
            else "CREATE TABLE types (i BIGINT, b BIGINT, t TEXT, n TEXT, blob BYTEA)"
        )
        changed = tx.execute(
            "INSERT INTO types VALUES (?, ?, ?, ?, ?)",
            (7, 2**62, "2026-01-02T03:04:05.000006Z", None, b"\x00\xff"),
        )
        assert changed == 1
    row = other.read_one("SELECT i, b, t, n, blob FROM types")
    assert row == (7, 2**62, "2026-01-02T03:04:05.000006Z", None, b"\x00\xff")
    assert [type(v) for v in row] == [int, int, str, type(None), bytes]


def test_text_sorts_bytewise_on_every_backend(stores: tuple[Store, Store]) -> None:
    store, _ = stores
    names = ["b", "B", "a-b", "a_b", "ab", "Z", "é", "10", "9"]
    with store.write() as tx:
        for name in names:
            tx.execute(
                "INSERT INTO agents (name, status, current_revision, owner, sponsor, "
                "review_expires, created_at, updated_at) VALUES (?, 'active', 1, 'o', 's', "
                "'2030-01-01', 'now', 'now')",
                (name,),
            )
    with store.read() as tx:
        ordered = [r[0] for r in tx.query("SELECT name FROM agents ORDER BY name")]
    assert ordered == sorted(names, key=lambda n: n.encode())


def test_placeholders_percent_signs_and_quoted_question_marks(stores: tuple[Store, Store]) -> None:
    store, _ = stores
    with store.write() as tx:
        tx.execute("INSERT INTO t VALUES (?, ?)", ("50%?", 2))
        rows = tx.query("SELECT k, v, '?' FROM t WHERE k LIKE '5%' AND v = ?", (2,))
    assert rows == [("50%?", 2, "?")]


def test_a_failed_write_leaves_nothing(stores: tuple[Store, Store]) -> None:
    store, other = stores
    with pytest.raises(RuntimeError, match="boom"), store.write() as tx:
        tx.execute("INSERT INTO t VALUES ('b', 2)")
        raise RuntimeError("boom")
    assert other.read_one("SELECT COUNT(*) FROM t") == (1,)
    with store.write() as tx:  # the connection is usable afterwards
        tx.execute("INSERT INTO t VALUES ('c', 3)")
    assert other.read_one("SELECT k FROM t WHERE v = 3") == ("c",)


def test_deferred_statements_run_in_order_before_the_next_one(
    stores: tuple[Store, Store],
) -> None:
    first, second = stores
    with first.write() as tx:
        tx.defer("INSERT INTO t VALUES ('b', 2)")
        tx.defer("UPDATE t SET v = v * 10 WHERE k = ?", ("b",))
        assert tx.query("SELECT v FROM t WHERE k = 'b'") == [(20,)]
        tx.defer("INSERT INTO t VALUES (?, ?)", ("c", 3))  # sent with the commit
    assert second.read_one("SELECT COUNT(*), SUM(v) FROM t") == (3, 24)


def test_a_failing_deferred_statement_rolls_everything_back(
    stores: tuple[Store, Store],
) -> None:
    first, second = stores
    with pytest.raises((sqlite3.IntegrityError, psycopg.IntegrityError)), first.write() as tx:
        tx.execute("INSERT INTO t VALUES ('b', 2)")
        tx.defer("INSERT INTO t VALUES ('a', 9)")  # 'a' exists: fails at the commit
    assert second.read_one("SELECT k, v FROM t ORDER BY k") == ("a", 1)
    assert second.read_one("SELECT COUNT(*) FROM t") == (1,)
    with first.write() as tx:  # the store is usable afterwards
        tx.defer("INSERT INTO t VALUES ('b', 2)")
    assert second.read_one("SELECT COUNT(*) FROM t") == (2,)


def test_a_write_sent_whole_at_the_commit_is_all_or_nothing(stores: tuple[Store, Store]) -> None:
    # On PostgreSQL nothing goes before the commit here: one implicit transaction, no BEGIN.
    first, second = stores
    with pytest.raises((sqlite3.IntegrityError, psycopg.IntegrityError)), first.write() as tx:
        tx.defer("INSERT INTO t VALUES ('b', 2)")
        tx.defer("INSERT INTO t VALUES ('a', 9)")  # 'a' exists: fails at the commit
        tx.defer("INSERT INTO t VALUES ('c', 3)")
    assert second.read_one("SELECT COUNT(*) FROM t") == (1,)
    with first.write() as tx:  # the store is usable afterwards, with no transaction left open
        tx.defer("INSERT INTO t VALUES ('b', 2)")
    assert second.read_one("SELECT COUNT(*) FROM t") == (2,)


def test_a_read_is_one_snapshot(stores: tuple[Store, Store]) -> None:
    reader, writer = stores
    with reader.read() as tx:
        assert tx.one("SELECT v FROM t WHERE k = 'a'") == (1,)
        with writer.write() as wtx:
            wtx.execute("UPDATE t SET v = 5 WHERE k = 'a'")
        assert tx.one("SELECT v FROM t WHERE k = 'a'") == (1,)
    assert reader.read_one("SELECT v FROM t WHERE k = 'a'") == (5,)


def test_read_one_sees_every_commit_of_another_connection(
    stores: tuple[Store, Store],
) -> None:
    reader, writer = stores
    assert reader.read_one("SELECT v FROM t WHERE k = ?", ("a",)) == (1,)
    assert reader.read_one("SELECT v FROM t WHERE k = ?", ("b",)) is None
    # If read_one left its implicit read transaction open, the reader would stay on the old
    # snapshot and miss this commit.
    with writer.write() as tx:
        tx.execute("UPDATE t SET v = 2 WHERE k = 'a'")
    assert reader.read_one("SELECT v FROM t WHERE k = ?", ("a",)) == (2,)
    # ... and it holds no lock: the reader can write at once.
    with reader.write() as tx:
        tx.execute("UPDATE t SET v = 3 WHERE k = 'a'")
    assert writer.read_one("SELECT v FROM t WHERE k = 'a'") == (3,)


def test_read_one_reports_store_errors(stores: tuple[Store, Store]) -> None:
    reader, _ = stores
    with pytest.raises(StoreError):
        reader.read_one("SELECT v FROM no_such_table")


def test_one_shot_writers_start_no_checkpoint_thread(
    sqlite_stores: tuple[SqliteStore, SqliteStore],
) -> None:
    store, _ = sqlite_stores
    for i in range(CHECKPOINT_EVERY - 3):  # the fixture committed twice already
        with store.write() as tx:
            tx.execute("INSERT INTO t VALUES (?, ?)", (f"k{i}", i))
    assert store._checkpointer is None


def test_busy_writer_checkpoints_in_the_background_and_loses_nothing(
    sqlite_stores: tuple[SqliteStore, SqliteStore],
) -> None:
    store, other = sqlite_stores
    rows = 5 * CHECKPOINT_EVERY
    for i in range(rows):
        with store.write() as tx:
            tx.execute("INSERT INTO t VALUES (?, ?)", (f"k{i}", i))
    checkpointer = store._checkpointer
    assert checkpointer is not None
    deadline = time.monotonic() + 10
    while checkpointer.checkpoints == 0 and time.monotonic() < deadline:
        time.sleep(0.01)
    assert checkpointer.checkpoints >= 1
    assert other.read_one("SELECT COUNT(*), SUM(v) FROM t") == (rows + 1, 1 + sum(range(rows)))
    store.close()  # stops and joins the thread before the connection closes
    assert store._checkpointer is None
    assert not checkpointer._thread.is_alive()
    with store.write() as tx:  # the store reopens as usual after close
        tx.execute("UPDATE t SET v = 0 WHERE k = 'a'")
    assert other.read_one("SELECT v FROM t WHERE k = 'a'") == (0,)


def test_the_wal_stays_bounded_while_the_helper_runs(
    sqlite_stores: tuple[SqliteStore, SqliteStore],
) -> None:
    store, other = sqlite_stores
    connection = store._connect(create=False)
    assert connection.execute("PRAGMA wal_autocheckpoint").fetchone() == (1000,)
    # Each commit dirties 2 to 3 pages: this writes over six backstop intervals' worth of WAL.
    commits = 3 * BACKSTOP_CHECKPOINT_PAGES
    for i in range(commits):
        with store.write() as tx:
            tx.execute("INSERT INTO t VALUES (?, ?)", (f"k{i}", i))
    assert connection.execute("PRAGMA wal_autocheckpoint").fetchone() == (
        BACKSTOP_CHECKPOINT_PAGES,
    )
    page = connection.execute("PRAGMA page_size").fetchone()[0]
    wal = store.path.with_name(store.path.name + "-wal").stat().st_size
    # It started over rather than growing with every commit; past the backstop it can only
    # grow by what is written while one background checkpoint holds the checkpoint lock.
    assert wal <= 3 * BACKSTOP_CHECKPOINT_PAGES * (page + 24)
    assert other.read_one("SELECT COUNT(*) FROM t") == (commits + 1,)


def test_the_helper_stands_aside_once_the_wal_is_past_the_backstop(tmp_path: Path) -> None:
    path = tmp_path / "nhictl.db"
    writer = sqlite3.connect(path, isolation_level=None)
    writer.execute("PRAGMA journal_mode = WAL")
    writer.execute("PRAGMA wal_autocheckpoint = 0")
    writer.execute("CREATE TABLE b (v BLOB)")
    writer.execute("BEGIN")
    for _ in range(BACKSTOP_CHECKPOINT_PAGES + 50):  # one page each: a WAL past the backstop
        writer.execute("INSERT INTO b VALUES (zeroblob(3500))")
    writer.execute("COMMIT")
    helper = _Checkpointer(path)
    try:

        def wait_for(checkpoints: int) -> None:
            deadline = time.monotonic() + 10
            while helper.checkpoints < checkpoints and time.monotonic() < deadline:
                time.sleep(0.01)
            assert helper.checkpoints == checkpoints

        helper.poke()
        wait_for(1)  # it checkpointed and saw the WAL past the backstop...
        helper.poke()
        while helper._wake.is_set():
            time.sleep(0.01)
        time.sleep(0.2)
        assert helper.checkpoints == 1  # ...so it left this round to the writer's own
        helper.poke()
        wait_for(2)  # and then went on as before
    finally:
        helper.stop()
        writer.close()
