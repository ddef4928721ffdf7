"""SQLite writers take turns through a lock file (``writerturns``): a plain write at its start,
a late-lock write (credential issue) only when it asks for the lock; a turn that never comes
(a writer stopped with it) or a lock file that cannot be made leaves SQLite's own lock in charge.
"""

from __future__ import annotations

import fcntl
import os
import stat
import time
from collections.abc import Iterator
from pathlib import Path

import pytest

from nhictl.core.store.sqlite import SqliteStore
from nhictl.core.store.writerturns import WriterTurns

INSERT = "INSERT INTO assertion_replay (key, expires_at, seen_at) VALUES (?, 'x', 'x')"
COUNT = "SELECT COUNT(*) FROM assertion_replay WHERE key = ?"


@pytest.fixture
def store(tmp_path: Path) -> Iterator[SqliteStore]:
    made = SqliteStore(tmp_path / "data" / "nhictl.db")
    made.migrate()
    yield made
    made.close()


def lock_path(store: SqliteStore) -> Path:
    return store.path.with_name("nhictl.db.write-lock")


def taken_elsewhere(path: Path) -> bool:
    """Whether a writer holds the turn (tried from another open file, without waiting)."""
    fd = os.open(path, os.O_RDWR)
    try:
        fcntl.flock(fd, fcntl.LOCK_EX | fcntl.LOCK_NB)
    except BlockingIOError:
        return True
    else:
        fcntl.flock(fd, fcntl.LOCK_UN)
        return False
    finally:
        os.close(fd)


def test_a_plain_write_holds_the_turn_from_its_start(store: SqliteStore) -> None:
    with store.write() as tx:
        assert taken_elsewhere(lock_path(store))
        tx.execute(INSERT, ("a",))
    assert not taken_elsewhere(lock_path(store))
    assert stat.S_IMODE(lock_path(store).stat().st_mode) == 0o600
    assert store.read_one(COUNT, ("a",)) == (1,)


def test_a_late_lock_write_takes_the_turn_when_it_asks_for_the_lock(store: SqliteStore) -> None:
    with store.write(late_lock=True) as tx:
        assert tx.query("SELECT COUNT(*) FROM agents") == [(0,)]
        assert not taken_elsewhere(lock_path(store))  # deciding beside the other writers
        tx.serialise()
        assert taken_elsewhere(lock_path(store))
        tx.execute(INSERT, ("b",))
    assert not taken_elsewhere(lock_path(store))
    assert store.read_one(COUNT, ("b",)) == (1,)


def test_a_late_lock_write_that_only_reads_never_takes_a_turn(store: SqliteStore) -> None:
    with store.write(late_lock=True) as tx:
        tx.query("SELECT COUNT(*) FROM agents")
    assert not taken_elsewhere(lock_path(store))
    with (
        pytest.raises(RuntimeError, match=r"before tx\.serialise"),
        store.write(late_lock=True) as tx,
    ):
        tx.execute(INSERT, ("c",))
    assert store.read_one(COUNT, ("c",)) == (0,)
    assert not taken_elsewhere(lock_path(store))


def test_a_failed_write_gives_its_turn_back(store: SqliteStore) -> None:
    with pytest.raises(ZeroDivisionError), store.write() as tx:
        tx.execute(INSERT, ("d",))
        _ = 1 / 0
    assert not taken_elsewhere(lock_path(store))
    assert store.read_one(COUNT, ("d",)) == (0,)


def test_a_turn_that_never_comes_is_waited_for_only_until_the_timeout(tmp_path: Path) -> None:
    path = tmp_path / "db.write-lock"
    stopped_writer = os.open(path, os.O_RDWR | os.O_CREAT, 0o600)
    fcntl.flock(stopped_writer, fcntl.LOCK_EX)
    turns = WriterTurns(path, timeout_seconds=0.2)
    try:
        started = time.monotonic()
        turns.take()  # returns: SQLite's own busy timeout takes over from here
        waited = time.monotonic() - started
        assert waited >= 0.2
        fcntl.flock(stopped_writer, fcntl.LOCK_UN)
        turns.take()
        assert taken_elsewhere(path)
    finally:
        turns.close()
        os.close(stopped_writer)
    assert not taken_elsewhere(path)


def test_a_writer_waits_for_the_turn_another_store_holds(store: SqliteStore) -> None:
    other = SqliteStore(store.path)
    try:
        with other.write() as tx:
            tx.execute(INSERT, ("e",))
            turns = WriterTurns(lock_path(store), timeout_seconds=0.1)
            turns.take()  # the other store holds the turn: this one times out without it
            assert taken_elsewhere(lock_path(store))
            turns.close()
        with store.write() as tx:  # given back at the commit: this write goes straight on
            assert tx.query(COUNT, ("e",)) == [(1,)]
    finally:
        other.close()


def test_no_lock_file_leaves_the_writes_to_sqlites_lock(store: SqliteStore) -> None:
    store.close()
    lock_path(store).unlink()
    lock_path(store).mkdir()  # in the way: the lock file cannot be opened (even by root)
    reopened = SqliteStore(store.path)
    try:
        with reopened.write() as tx:
            tx.execute(INSERT, ("f",))
        with reopened.write(late_lock=True) as tx:
            tx.serialise()
            tx.execute(INSERT, ("g",))
        assert reopened.read_one("SELECT COUNT(*) FROM assertion_replay") == (2,)
    finally:
        reopened.close()


def test_a_symlink_in_place_of_the_lock_file_is_not_followed(store: SqliteStore) -> None:
    store.close()
    lock_path(store).unlink()
    elsewhere = store.path.parent.parent / "planted-target"
    lock_path(store).symlink_to(elsewhere)
    reopened = SqliteStore(store.path)
    try:
        with reopened.write() as tx:
            tx.execute(INSERT, ("h",))
        assert reopened.read_one(COUNT, ("h",)) == (1,)
    finally:
        reopened.close()
    assert not elsewhere.exists()
