"""SQLite backend: the embedded default, one file in the data folder.

WAL mode lets readers run beside one writer; every write transaction takes the lock with
``BEGIN IMMEDIATE`` before its first write, so two writers queue on the lock (up to
``busy_timeout``) instead of failing half-way with "database is locked". A ``late_lock`` write
(credential issue) reads in autocommit first and takes the lock at ``tx.serialise()``: its policy
decision and signature are made while other processes write.

``synchronous = NORMAL`` in WAL mode: a commit appends to the WAL without an fsync; a crash
cannot corrupt the database, but the last commits before a power loss or OS crash (not a
process crash) may be rolled back. The WAL is fsynced at every checkpoint. A process that keeps
writing starts a helper thread that runs those checkpoints (``PASSIVE``, the same kind SQLite's
automatic checkpoint runs) every ``CHECKPOINT_EVERY`` commits, so their fsyncs overlap the next
transactions instead of stalling one commit in ~100; the WAL is then fsynced every 16 commits
rather than every ~100. The automatic checkpoint stays on as the backstop that bounds the WAL
(at ``BACKSTOP_CHECKPOINT_PAGES`` while the helper runs: it then only has to catch up, and
rarer catch-ups stall fewer commits).
"""

from __future__ import annotations

import os
import shutil
import sqlite3
import threading
from collections.abc import Callable, Iterator, Sequence
from contextlib import contextmanager
from pathlib import Path
from typing import Any

from nhictl.core.errors import StoreError
from nhictl.core.store.base import Deferred, Row, Store, Tx
from nhictl.core.store.chainhash import CHAIN_HASH_FUNCTION, chain_hash
from nhictl.core.store.schema import apply_migrations
from nhictl.core.store.writerturns import WriterTurns

BUSY_TIMEOUT_MS = 30_000
#: Commits between two background checkpoints (~10 WAL pages per credential issue), and the
#: number of commits before a process starts the helper thread at all.
CHECKPOINT_EVERY = 16
#: With the helper running, the committing connection's own (blocking) automatic checkpoint only
#: has to catch up; it runs at this many WAL pages instead of SQLite's default 1,000.
BACKSTOP_CHECKPOINT_PAGES = 2000


class _Checkpointer:
    """A daemon thread with its own connection that checkpoints the WAL when poked."""

    def __init__(self, path: Path) -> None:
        self._path = path
        self._wake = threading.Event()
        self._stopping = False
        self.checkpoints = 0
        self._thread = threading.Thread(target=self._run, name="nhictl-wal-checkpoint")
        self._thread.daemon = True
        self._thread.start()

    def _run(self) -> None:
        try:
            connection = sqlite3.connect(self._path, isolation_level=None)
        except sqlite3.Error:
            return  # the writers' automatic checkpoint still runs
        stand_aside = False
        try:
            while True:
                self._wake.wait()
                self._wake.clear()
                if self._stopping:
                    return
                if stand_aside:
                    # The WAL only starts over after a checkpoint that has caught up completely,
                    # which the writer's own automatic checkpoint does right after a commit; a
                    # helper always busy with the checkpoint lock would keep it out, and the WAL
                    # would grow. So skip one round whenever the WAL is past the backstop.
                    stand_aside = False
                    continue
                try:
                    row = connection.execute("PRAGMA wal_checkpoint(PASSIVE)").fetchone()
                    self.checkpoints += 1
                    stand_aside = row is not None and row[1] >= BACKSTOP_CHECKPOINT_PAGES
                except sqlite3.Error:
                    # Harmless: the writers' own automatic checkpoint still runs.
                    pass
        finally:
            connection.close()

    def poke(self) -> None:
        self._wake.set()

    def stop(self) -> None:
        self._stopping = True
        self._wake.set()
        self._thread.join()


class _SqliteTx(Tx):
    def __init__(
        self,
        path: Path,
        connection: sqlite3.Connection,
        *,
        take_lock: Callable[[], None] | None = None,
    ) -> None:
        """``take_lock``: how a late-lock transaction takes the lock at ``serialise()``;
        None for one that holds it already (or, reading, never needs it)."""
        self._path = path
        self._connection = connection
        self.committed: list[Callable[[], None]] = []
        self._take_lock = take_lock

    @property
    def locked(self) -> bool:
        return self._take_lock is None

    def serialise(self) -> None:
        # Until now each read ran in autocommit, its own snapshot of the latest commit (as on
        # PostgreSQL under READ COMMITTED): there is no older snapshot to upgrade, so taking
        # the lock cannot fail with SQLITE_BUSY_SNAPSHOT, and what follows sees every commit
        # made before the lock was granted.
        if self._take_lock is not None:
            self._take_lock()
            self._take_lock = None

    def _require_lock(self) -> None:
        if not self.locked:
            raise RuntimeError("a late-lock write transaction wrote before tx.serialise()")

    def execute(self, sql: str, params: Sequence[Any] = ()) -> int:
        self._require_lock()
        try:
            return self._connection.execute(sql, tuple(params)).rowcount
        except sqlite3.OperationalError as exc:  # disk full, I/O error, read-only: not a bug
            raise _store_error(self._path, exc) from None

    def query(self, sql: str, params: Sequence[Any] = ()) -> list[Row]:
        try:
            rows = self._connection.execute(sql, tuple(params)).fetchall()
        except sqlite3.OperationalError as exc:
            raise _store_error(self._path, exc) from None
        return [tuple(row) for row in rows]

    def defer(self, sql: str, params: Sequence[Any] = ()) -> Deferred:
        # Nothing to save by waiting: the database is in this process.
        self._require_lock()
        try:
            cursor = self._connection.execute(sql, tuple(params))
            rows = [tuple(row) for row in cursor.fetchall()]
        except sqlite3.OperationalError as exc:
            raise _store_error(self._path, exc) from None
        return Deferred(cursor.rowcount, rows)

    def after_commit(self, callback: Callable[[], None]) -> None:
        self.committed.append(callback)


class SqliteStore(Store):
    """A store in one SQLite file (created with mode 0600 inside a 0700 folder)."""

    def __init__(self, path: Path) -> None:
        self.path = path
        self.location = str(path)
        self._connection: sqlite3.Connection | None = None
        self._commits = 0
        self._checkpointer: _Checkpointer | None = None
        self._turns = WriterTurns(path.with_name(path.name + ".write-lock"), BUSY_TIMEOUT_MS / 1000)

    def _connect(self, *, create: bool) -> sqlite3.Connection:
        if self._connection is not None:
            return self._connection
        if not create and not self.path.exists():
            from nhictl.core.errors import NotInitializedError

            raise NotInitializedError(f"no nhictl store at {self.path}")
        try:
            if create:
                self.path.parent.mkdir(parents=True, exist_ok=True, mode=0o700)
                if not self.path.exists():
                    os.close(os.open(self.path, os.O_CREAT | os.O_WRONLY, 0o600))
            connection = sqlite3.connect(
                self.path, timeout=BUSY_TIMEOUT_MS / 1000, isolation_level=None
            )
            connection.execute(f"PRAGMA busy_timeout = {BUSY_TIMEOUT_MS}")
            mode = connection.execute("PRAGMA journal_mode = WAL").fetchone()
            connection.execute("PRAGMA foreign_keys = ON")
            connection.create_function(CHAIN_HASH_FUNCTION, 3, chain_hash, deterministic=True)
            connection.execute(
                "PRAGMA synchronous = NORMAL"
                if mode and mode[0] == "wal"
                else "PRAGMA synchronous = FULL"
            )
        except sqlite3.DatabaseError as exc:
            raise _store_error(self.path, exc) from None
        except OSError as exc:
            raise StoreError(f"cannot open the store {self.path}: {exc.strerror or exc}") from None
        self._connection = connection
        return connection

    def schema_version(self) -> int:
        if not self.path.exists():
            return 0
        try:
            connection = self._connect(create=False)
            row = connection.execute(
                "SELECT name FROM sqlite_master WHERE type = 'table' AND name = 'schema_migrations'"
            ).fetchone()
            if row is None:
                return 0
            value = connection.execute("SELECT MAX(version) FROM schema_migrations").fetchone()
        except sqlite3.DatabaseError as exc:
            raise _store_error(self.path, exc) from None
        return int(value[0] or 0)

    def migrate(self) -> list[int]:
        self._connect(create=True)
        with self.write() as tx:
            return apply_migrations(tx, dialect="sqlite", location=self.location)

    @contextmanager
    def write(self, *, late_lock: bool = False) -> Iterator[Tx]:
        # Locked at BEGIN IMMEDIATE, or for ``late_lock`` at ``tx.serialise()`` (reads before
        # it run in autocommit): a deferred transaction that read first could not take the
        # lock later without failing (SQLITE_BUSY_SNAPSHOT) once another writer committed.
        connection = self._connect(create=False)

        def lock() -> None:
            self._turns.take()
            try:
                connection.execute("BEGIN IMMEDIATE")
            except sqlite3.DatabaseError as exc:
                self._turns.give_back()
                raise _store_error(self.path, exc) from None

        if not late_lock:
            lock()
        tx = _SqliteTx(self.path, connection, take_lock=lock if late_lock else None)
        try:
            try:
                yield tx
            except BaseException:
                _rollback(connection)
                raise
            if tx.locked:  # else a late-lock transaction that only read: nothing to commit
                try:
                    connection.execute("COMMIT")
                except sqlite3.DatabaseError as exc:
                    _rollback(connection)
                    raise _store_error(self.path, exc) from None
        finally:
            self._turns.give_back()
        for callback in tx.committed:
            callback()
        if not tx.locked:
            return
        self._commits += 1
        if self._commits % CHECKPOINT_EVERY == 0:
            if self._checkpointer is None:
                self._checkpointer = _Checkpointer(self.path)
                connection.execute(f"PRAGMA wal_autocheckpoint = {BACKSTOP_CHECKPOINT_PAGES}")
            self._checkpointer.poke()

    @contextmanager
    def read(self) -> Iterator[Tx]:
        connection = self._connect(create=False)
        try:
            connection.execute("BEGIN")
        except sqlite3.DatabaseError as exc:
            raise _store_error(self.path, exc) from None
        try:
            yield _SqliteTx(self.path, connection)  # as PostgreSQL's: no late lock
        finally:
            _rollback(connection)

    def read_one(self, sql: str, params: Sequence[Any] = ()) -> Row | None:
        # In autocommit mode one statement is its own read transaction (one snapshot), so the
        # BEGIN / ROLLBACK round trips of ``read()`` buy nothing here. fetchall() runs the
        # statement to completion, which ends that implicit transaction.
        connection = self._connect(create=False)
        try:
            rows = connection.execute(sql, tuple(params)).fetchall()
        except sqlite3.DatabaseError as exc:
            raise _store_error(self.path, exc) from None
        return tuple(rows[0]) if rows else None

    def close(self) -> None:
        if self._checkpointer is not None:
            self._checkpointer.stop()  # first: the last connection to close checkpoints
            self._checkpointer = None
        if self._connection is not None:
            self._connection.close()
            self._connection = None
        self._turns.close()


def _rollback(connection: sqlite3.Connection) -> None:
    """End the transaction unless SQLite already rolled it back itself, as it does when a
    statement or COMMIT fails for a full disk or an I/O error (ROLLBACK would then raise and
    hide the error that matters)."""
    if connection.in_transaction:
        connection.execute("ROLLBACK")


def _store_error(path: Path, exc: sqlite3.DatabaseError) -> StoreError:
    text = str(exc)
    if "disk is full" in text or ("disk I/O error" in text and _no_space_left(path)):
        return StoreError(
            f"the disk holding the store {path} is full: nothing was written",
            hint="free space on that file system, then run the command again",
        )
    if "disk I/O error" in text:
        return StoreError(
            f"the store {path} could not be read or written (disk I/O error): nothing was written",
            hint="check the file system holding it (dmesg, df)",
        )
    if "readonly" in text or "read-only" in text:
        return StoreError(f"the store {path} is read-only: nothing was written")
    if "not a database" in text or "malformed" in text:
        return StoreError(
            f"the store {path} is corrupt ({text})",
            hint="restore it from a backup; `nhictl log verify` checks the audit chain",
        )
    if "locked" in text or "busy" in text:
        return StoreError(f"the store {path} stayed locked for {BUSY_TIMEOUT_MS // 1000} s")
    if "unable to open" in text:
        return StoreError(f"cannot open the store {path}: check the folder exists and is writable")
    return StoreError(f"store error in {path}: {text}")


def _no_space_left(path: Path) -> bool:
    """Less room than SQLite's shared-memory file needs (32 KiB): SQLite reports a full disk met
    while sizing that file as an I/O error, not as SQLITE_FULL."""
    try:
        return shutil.disk_usage(path.parent).free < 64 * 1024
    except OSError:
        return False
