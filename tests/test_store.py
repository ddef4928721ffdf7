"""The SQLite store's own shortcuts: each must read and write exactly what the long way does."""

from __future__ import annotations

import sqlite3
import time
from collections.abc import Iterator
from pathlib import Path

import pytest

from nhictl.core.errors import StoreError
from nhictl.core.store.sqlite import (
    BACKSTOP_CHECKPOINT_PAGES,
    CHECKPOINT_EVERY,
    SqliteStore,
    _Checkpointer,
)


@pytest.fixture
def stores(tmp_path: Path) -> Iterator[tuple[SqliteStore, SqliteStore]]:
    """Two connections to one fresh store, as two processes would have."""
    path = tmp_path / "nhictl.db"
    first = SqliteStore(path)
    first.migrate()
    with first.write() as tx:
        tx.execute("CREATE TABLE t (k TEXT PRIMARY KEY, v INTEGER NOT NULL)")
        tx.execute("INSERT INTO t VALUES ('a', 1)")
    second = SqliteStore(path)
    yield first, second
    first.close()
    second.close()


def test_read_one_sees_every_commit_of_another_connection(
    stores: tuple[SqliteStore, SqliteStore],
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


def test_read_one_reports_store_errors(stores: tuple[SqliteStore, SqliteStore]) -> None:
    reader, _ = stores
    with pytest.raises(StoreError):
        reader.read_one("SELECT v FROM no_such_table")


def test_one_shot_writers_start_no_checkpoint_thread(
    stores: tuple[SqliteStore, SqliteStore],
) -> None:
    store, _ = stores
    for i in range(CHECKPOINT_EVERY - 3):  # the fixture committed twice already
        with store.write() as tx:
            tx.execute("INSERT INTO t VALUES (?, ?)", (f"k{i}", i))
    assert store._checkpointer is None


def test_busy_writer_checkpoints_in_the_background_and_loses_nothing(
    stores: tuple[SqliteStore, SqliteStore],
) -> None:
    store, other = stores
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
    stores: tuple[SqliteStore, SqliteStore],
) -> None:
    store, other = stores
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
