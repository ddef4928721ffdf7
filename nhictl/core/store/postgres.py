"""PostgreSQL backend (psycopg 3): one registry shared by a team, its pipelines and services.

Write transactions are serialised by a transaction-scoped advisory lock taken with ``BEGIN``
(both ride in the same round trip as the transaction's first statement): exactly what
SQLite's ``BEGIN IMMEDIATE`` serialises (one writer at a time, so the concurrency cap, revision
numbers and the audit chain's ``seq``/``prev_hash`` are read and written by one transaction
alone). SERIALIZABLE was the alternative; it was not chosen
because every write appends to the audit chain, so concurrent writers would conflict on nearly
every transaction, and ``write()`` is a context manager whose body cannot be replayed: a
serialization failure would reach the caller instead of being retried (docs/operations.md has
the measurement). The lock is released by COMMIT or ROLLBACK, and by the server when a
connection dies, so a killed process never leaves it held.
``write(late_lock=True)`` (credential issue) begins without the lock and takes it at
``tx.serialise()``, pipelined with the next statement; writing before that raises.
A write whose body only defers statements goes in one pipeline without BEGIN and COMMIT: the
statements before the pipeline's Sync are one implicit transaction, committed at the Sync and
rolled back whole on any error (READ COMMITTED, set for the session at connect).

Reads run in REPEATABLE READ READ ONLY transactions (one snapshot, as SQLite's read
transactions); ``read_one`` is a single autocommit statement (a snapshot of its own).
Statements are sent in psycopg pipelines: a round trip is one wait for the server, and under
the write lock every wait is one that every other writer queues behind.

Retries: only the start of a transaction on a connection kept from earlier that turns out to be
dead (the server restarted, an idle timeout): nothing of the transaction has run, so it is
reopened once. A failure after that rolls the transaction back and becomes one ``StoreError``.
"""

from __future__ import annotations

import functools
import threading
from collections.abc import Callable, Iterator, Sequence
from contextlib import contextmanager
from typing import TYPE_CHECKING, Any

import psycopg
from psycopg import conninfo as pg_conninfo
from psycopg import errors as pg_errors

from nhictl.core.errors import StoreError
from nhictl.core.store.base import Deferred, Row, Store, Tx
from nhictl.core.store.schema import apply_migrations
from nhictl.core.store.url import redact_text, redact_url

if TYPE_CHECKING:
    from psycopg_pool import ConnectionPool  # loaded only by a pooled store (nhictl serve)

#: How long a writer waits for another's lock, as SQLite's busy timeout.
LOCK_TIMEOUT_S = 30
CONNECT_TIMEOUT_S = 10
#: The advisory lock every write transaction holds ("nhictl.w"; advisory locks are per database).
WRITE_LOCK_KEY = int.from_bytes(b"nhictl.w", "big")
_TAKE_WRITE_LOCK = f"SELECT pg_advisory_xact_lock({WRITE_LOCK_KEY})"
#: How transactions open. The statements are not sent on their own: they ride in the same
#: round trip as the transaction's first statement (or its COMMIT).
_OPEN_UNLOCKED = ("BEGIN ISOLATION LEVEL READ COMMITTED",)
_OPEN_WRITE = (*_OPEN_UNLOCKED, _TAKE_WRITE_LOCK)
_OPEN_READ = ("BEGIN ISOLATION LEVEL REPEATABLE READ READ ONLY",)
#: How a write commits: the deferred statements and COMMIT in one round trip. The write lock is
#: held until the commit is durable, so no session ever sees a change that a crash could still
#: take back (an async commit was measured: no gain beyond this machine's noise, and a window in
#: which a log checkpoint could sign an event that a crash then loses).
_COMMIT_DURABLY = ("COMMIT",)
_NOTHING_WRITTEN = "nothing was written (the transaction rolled back)"


@functools.lru_cache(maxsize=1024)
def postgres_sql(sql: str) -> str:
    """Portable SQL with ``?`` placeholders as psycopg takes it: ``%s``, and ``%`` doubled.

    A ``?`` inside a quoted literal stays; psycopg reads ``%`` everywhere, quoted or not.
    """
    out: list[str] = []
    quoted = False
    for char in sql:
        if char == "'":
            quoted = not quoted
            out.append(char)
        elif char == "%":
            out.append("%%")
        elif char == "?" and not quoted:
            out.append("%s")
        else:
            out.append(char)
    return "".join(out)


class _Connection(psycopg.Connection[Row]):
    """Closes quietly when garbage-collected, as a sqlite3 connection does (psycopg warns).

    A Runtime sits in a reference cycle (its services' callbacks point back at it), so a store
    it opened is finalised by the cycle collector, in no set order with its connection.
    """

    def __del__(self, *args: Any) -> None:
        if hasattr(self, "pgconn") and not self.closed:
            self.close()


#: Driver errors that are the store's state, not a bug in our SQL: a lost or refused connection
#: (OperationalError), a read-only database or standby (25006), a role without write grants
#: (42501). Each becomes one ``StoreError`` line; the transaction is rolled back.
_STORE_STATE_ERRORS = (
    psycopg.OperationalError,
    pg_errors.ReadOnlySqlTransaction,
    pg_errors.InsufficientPrivilege,
)


class _PostgresTx(Tx):
    """Statements of one transaction; its opening and the deferred statements ride along with
    the next statement sent (one pipeline, one round trip)."""

    def __init__(self, store: PostgresStore, opening: Sequence[str], *, locked: bool) -> None:
        self._store = store
        self.connection = store.connection()
        self._opening = list(opening)
        #: Has the opening reached the server (so there is a transaction to end)?
        self.begun = False
        self._deferred: list[tuple[str, tuple[Any, ...], Deferred | None]] = []
        self._locked = locked
        self.committed: list[Callable[[], None]] = []

    def execute(self, sql: str, params: Sequence[Any] = ()) -> int:
        self._require_lock()
        cursor = self._send(postgres_sql(sql), tuple(params))
        return cursor.rowcount

    def query(self, sql: str, params: Sequence[Any] = ()) -> list[Row]:
        return self._send(postgres_sql(sql), tuple(params)).fetchall()

    def defer(self, sql: str, params: Sequence[Any] = ()) -> Deferred:
        self._require_lock()
        outcome = Deferred()
        self._deferred.append((postgres_sql(sql), tuple(params), outcome))
        return outcome

    def after_commit(self, callback: Callable[[], None]) -> None:
        self.committed.append(callback)

    def serialise(self) -> None:
        # Pipelined with the next statement, which (READ COMMITTED: a snapshot per statement)
        # then sees every write transaction that committed before the lock was granted.
        if not self._locked:
            self._locked = True
            self._deferred.append((_TAKE_WRITE_LOCK, (), None))

    def _require_lock(self) -> None:
        if not self._locked:
            raise RuntimeError("a late-lock write transaction wrote before tx.serialise()")

    def finish(self, closing: Sequence[str]) -> None:
        """The deferred statements, then ``closing`` (COMMIT ...), in one round trip.

        Driver errors are the caller's to describe: only it knows COMMIT was on its way.
        """
        self._flush(None, closing)

    def _send(self, sql: str, params: tuple[Any, ...]) -> psycopg.Cursor[Row]:
        try:
            cursor = self._flush((sql, params), ())
        except _STORE_STATE_ERRORS as exc:
            raise self._store.error(exc) from None
        assert cursor is not None
        return cursor

    def _flush(
        self, last: tuple[str, tuple[Any, ...]] | None, closing: Sequence[str]
    ) -> psycopg.Cursor[Row] | None:
        """Send what is waiting, then ``last``, then ``closing``: one round trip. If the
        opening was in it and a connection kept from earlier turns out dead (the server
        restarted, an idle timeout), nothing of the transaction ran: once more, on a new one."""
        opening = self._opening
        implicit = whole_in_one_trip(opening, last, closing)
        if implicit:
            # Statements before the pipeline's Sync run as one implicit transaction, committed
            # at the Sync and rolled back whole on any error: BEGIN and COMMIT need not go.
            opening, closing = opening[len(_OPEN_UNLOCKED) :], ()
        waiting: list[tuple[str, tuple[Any, ...], Deferred | None]] = [
            (sql, (), None) for sql in opening
        ]
        waiting += self._deferred
        if waiting or last is not None or closing:
            self._store.round_trips += 1
            try:
                cursor = self._run(waiting, last, closing)
            except psycopg.OperationalError:
                if not (self._opening and self._store.reconnectable(self.connection)):
                    raise
                self.connection = self._store.reconnect(self.connection)
                cursor = self._run(waiting, last, closing)
        else:
            cursor = None  # a write transaction that wrote nothing: nothing to send
        self.begun = self.begun or (bool(self._opening) and not implicit)
        self._opening, self._deferred = [], []
        return cursor

    def _run(
        self,
        waiting: list[tuple[str, tuple[Any, ...], Deferred | None]],
        last: tuple[str, tuple[Any, ...]] | None,
        closing: Sequence[str],
    ) -> psycopg.Cursor[Row] | None:
        connection = self.connection
        if not waiting and not closing and last is not None:
            return connection.execute(*last)
        cursor = None
        sent: list[tuple[psycopg.Cursor[Row], Deferred]] = []
        with connection.pipeline():
            for sql, params, outcome in waiting:
                queued = connection.execute(sql, params)
                if outcome is not None:
                    sent.append((queued, outcome))
            if last is not None:
                cursor = connection.execute(*last)
            for sql in closing:
                connection.execute(sql)
        _record(sent)
        return cursor


def whole_in_one_trip(
    opening: Sequence[str], last: tuple[str, tuple[Any, ...]] | None, closing: Sequence[str]
) -> bool:
    """Is this flush a whole write transaction: its opening, deferred statements and COMMIT,
    with nothing sent before and no statement whose result the body waits for?"""
    return (
        last is None
        and tuple(closing) == _COMMIT_DURABLY
        and tuple(opening[: len(_OPEN_UNLOCKED)]) == _OPEN_UNLOCKED
    )


def _record(sent: list[tuple[psycopg.Cursor[Row], Deferred]]) -> None:
    """Fill in what each deferred statement did, now that the pipeline has synced."""
    for cursor, outcome in sent:
        outcome.rowcount = cursor.rowcount
        outcome.rows = cursor.fetchall() if cursor.description is not None else []


class PostgresStore(Store):
    """A store in a PostgreSQL database, named by a ``postgresql://`` (or ``postgres://``) URL.

    One connection per store object, opened on first use (psycopg's libpq reads PGPASSWORD,
    ~/.pgpass and PGSSLMODE as usual). Not shared between threads: give each thread its own.
    """

    def __init__(self, url: str) -> None:
        self.url = url
        self.location = redact_url(url)
        self._connection: _Connection | None = None
        self._used = False
        #: Statements sent to the server so far (the store benchmark reports it per operation).
        self.round_trips = 0

    def conninfo(self) -> str:
        """The URL as libpq takes it, with nhictl's connection defaults added."""
        try:
            params = pg_conninfo.conninfo_to_dict(self.url)
        except psycopg.ProgrammingError as exc:
            raise StoreError(
                f"the store URL {self.location} is malformed: {redact_text(str(exc), self.url)}"
            ) from None
        defaults: dict[str, str | int] = {
            "connect_timeout": CONNECT_TIMEOUT_S,
            "application_name": "nhictl",
        }
        missing = {key: value for key, value in defaults.items() if key not in params}
        # Session settings, set at connect (no statement per transaction): the lock wait
        # bound, which an ``options`` in the URL may override (its -c settings come after),
        # and READ COMMITTED for the implicit transactions of one-round-trip writes, which
        # nothing overrides (every write transaction is READ COMMITTED, as BEGIN says).
        missing["options"] = (
            f"-c lock_timeout={LOCK_TIMEOUT_S}s {params.get('options', '')} "
            r"-c default_transaction_isolation=read\ committed"
        )
        return pg_conninfo.make_conninfo(self.url, **missing)

    def _connect(self) -> _Connection:
        if self._connection is not None and not self._connection.closed:
            return self._connection
        conninfo = self.conninfo()
        try:
            connection = _Connection.connect(conninfo, autocommit=True)
        except psycopg.Error as exc:
            raise self.error(exc) from None
        self._connection = connection
        self._used = False
        return connection

    def _drop_connection(self) -> None:
        if self._connection is not None:
            self._connection.close()
            self._connection = None

    def connection(self) -> psycopg.Connection[Row]:
        """A connection for one transaction (here: the store's one, opened on first use)."""
        return self._connect()

    def release(self, connection: psycopg.Connection[Row]) -> None:
        """The transaction on ``connection`` has ended (the one connection stays open)."""

    def discard(self, connection: psycopg.Connection[Row]) -> None:
        """``connection`` is dead or unusable: close it, never use it again."""
        self._drop_connection()

    def reconnectable(self, connection: psycopg.Connection[Row]) -> bool:
        """Did a kept connection die between two uses (so a fresh one may be tried once)?"""
        return self._used and connection.broken

    def reconnect(self, dead: psycopg.Connection[Row]) -> psycopg.Connection[Row]:
        self.discard(dead)
        self.release(dead)
        return self.connection()

    def _rollback(self, connection: psycopg.Connection[Row]) -> None:
        if connection.broken or connection.closed:
            self.discard(connection)  # the server rolled back when the session ended
            return
        self.round_trips += 1
        try:
            connection.execute("ROLLBACK")
        except psycopg.Error:
            self.discard(connection)

    def _end(self, tx: _PostgresTx) -> None:
        """Roll ``tx`` back (a transaction whose opening never went out has nothing to end)."""
        self._used = True
        if tx.begun:
            self._rollback(tx.connection)

    def schema_version(self) -> int:
        row = self.read_one("SELECT to_regclass('schema_migrations') IS NOT NULL")
        if not row or not row[0]:
            return 0
        value = self.read_one("SELECT MAX(version) FROM schema_migrations")
        return int(value[0] or 0) if value else 0

    def migrate(self) -> list[int]:
        with self.write() as tx:
            return apply_migrations(tx, dialect="postgresql", location=self.location)

    @contextmanager
    def write(self, *, late_lock: bool = False) -> Iterator[Tx]:
        tx = _PostgresTx(self, _OPEN_UNLOCKED if late_lock else _OPEN_WRITE, locked=not late_lock)
        try:
            try:
                yield tx
            except BaseException:
                self._end(tx)
                raise
            self._commit(tx)
        finally:
            self.release(tx.connection)
        for callback in tx.committed:
            callback()

    def _commit(self, tx: _PostgresTx) -> None:
        try:
            tx.finish(_COMMIT_DURABLY)
        except psycopg.Error as exc:
            broken = tx.connection.broken
            self._end(tx)
            if broken:
                # COMMIT was sent; whether the server applied it before the connection went is
                # unknowable from here. Say so rather than guess.
                raise StoreError(
                    f"lost the connection to {self.location} during COMMIT: the change may or "
                    "may not have been saved",
                    hint="`nhictl log list` shows whether its audit event is there",
                ) from None
            if isinstance(exc, _STORE_STATE_ERRORS):
                raise self.error(exc) from None
            raise  # a deferred statement failed (a constraint, say): as if run in the body
        self._used = True

    @contextmanager
    def read(self) -> Iterator[Tx]:
        tx = _PostgresTx(self, _OPEN_READ, locked=True)
        try:
            yield tx
        finally:
            self._end(tx)
            self.release(tx.connection)

    def read_one(self, sql: str, params: Sequence[Any] = ()) -> Row | None:
        connection = self.connection()
        self.round_trips += 1
        try:
            try:
                rows = connection.execute(postgres_sql(sql), tuple(params)).fetchall()
            except psycopg.OperationalError as exc:
                if not self.reconnectable(connection):
                    raise self.error(exc) from None
                # A kept connection was dead: nothing ran, ask again once on a new one.
                connection = self.reconnect(connection)
                try:
                    rows = connection.execute(postgres_sql(sql), tuple(params)).fetchall()
                except psycopg.DatabaseError as again:
                    raise self.error(again) from None
            except psycopg.DatabaseError as exc:
                raise self.error(exc) from None
        finally:
            self.release(connection)
        self._used = True
        return rows[0] if rows else None

    def close(self) -> None:
        self._drop_connection()

    def error(self, exc: psycopg.Error) -> StoreError:
        """One line for what went wrong, never the password."""
        return describe_error(exc, self.location, self.url)


class PooledPostgresStore(PostgresStore):
    """A PostgreSQL store the threads of a long-running process share (``nhictl serve``):
    each transaction borrows a connection from a psycopg-pool pool of at most ``size`` and
    gives it back when it ends. A connection found dead is closed (the pool drops it).
    """

    def __init__(self, url: str, size: int) -> None:
        super().__init__(url)
        self.size = size
        self._pool: ConnectionPool[_Connection] | None = None
        self._opening = threading.Lock()

    def _open_pool(self) -> ConnectionPool[_Connection]:
        with self._opening:
            if self._pool is None:
                from psycopg_pool import ConnectionPool

                # One plain connection first: a refused connection or bad credentials get the
                # same one-line error as the CLI's, not a pool timeout.
                super()._connect()
                super()._drop_connection()
                self._pool = ConnectionPool(
                    self.conninfo(),
                    connection_class=_Connection,
                    kwargs={"autocommit": True},
                    min_size=1,
                    max_size=self.size,
                    timeout=CONNECT_TIMEOUT_S,
                    name="nhictl-store",
                    open=True,
                )
            return self._pool

    def connection(self) -> psycopg.Connection[Row]:
        from psycopg_pool import PoolTimeout

        pool = self._pool or self._open_pool()
        try:
            return pool.getconn()
        except PoolTimeout:
            raise StoreError(
                f"no connection to {self.location} within {CONNECT_TIMEOUT_S} s "
                f"({self.size} in use, or the server stopped answering)"
            ) from None

    def release(self, connection: psycopg.Connection[Row]) -> None:
        if self._pool is not None and isinstance(connection, _Connection):
            self._pool.putconn(connection)

    def discard(self, connection: psycopg.Connection[Row]) -> None:
        connection.close()

    def reconnectable(self, connection: psycopg.Connection[Row]) -> bool:
        return connection.broken  # every pooled connection may have been kept from earlier

    def close(self) -> None:
        if self._pool is not None:
            self._pool.close()
            self._pool = None


def describe_error(exc: psycopg.Error, location: str, url: str) -> StoreError:
    """A driver error as the ``StoreError`` a user can act on (exit 2)."""
    text = redact_text(str(exc).strip().splitlines()[0] if str(exc).strip() else "", url)
    state = getattr(exc, "sqlstate", None) or ""
    lowered = str(exc).lower()
    if state == "57014":
        return StoreError(
            f"a statement on {location} ran past its statement_timeout: {_NOTHING_WRITTEN}",
            hint="raise statement_timeout for the nhictl role, or find what holds the tables",
        )
    if state == "25006":
        return StoreError(
            f"the store {location} is read-only (a read-only database or a standby): "
            f"{_NOTHING_WRITTEN}",
            hint="point NHICTL_STORE at the primary, or clear default_transaction_read_only",
        )
    if state == "42501":
        return StoreError(
            f"the role in {location} may not write to the store ({text}): {_NOTHING_WRITTEN}",
            hint="grant it INSERT, UPDATE and DELETE on the nhictl tables, or use the owner role",
        )
    if state == "53100" or "no space left" in lowered:
        return StoreError(
            f"the PostgreSQL server at {location} is out of disk space: {_NOTHING_WRITTEN}",
            hint="free space on the server's data volume, then run the command again",
        )
    if state == "55P03":
        return StoreError(f"the store {location} stayed locked for {LOCK_TIMEOUT_S} s")
    if state in ("40001", "40P01"):
        return StoreError(
            f"a concurrent transaction on {location} conflicted with this one: {_NOTHING_WRITTEN}",
            hint="run the command again",
        )
    if state.startswith("57P") or "terminating connection" in lowered:
        return StoreError(
            f"the PostgreSQL server at {location} ended the connection ({text}): {_NOTHING_WRITTEN}"
        )
    if state == "3D000" or ("database" in lowered and "does not exist" in lowered):
        return StoreError(
            f"the database in {location} does not exist",
            hint="create it (createdb -O USER NAME), then run `nhictl init`",
        )
    if state in ("28P01", "28000") or "password authentication failed" in lowered:
        return StoreError(
            f"PostgreSQL refused the credentials for {location} ({text})",
            hint="check the user and password (PGPASSWORD, ~/.pgpass or the URL)",
        )
    if "pg_hba.conf" in lowered and "no encryption" in lowered:
        return StoreError(
            f"the PostgreSQL server at {location} requires TLS",
            hint="add ?sslmode=require (or verify-full with sslrootcert=FILE) to the store URL",
        )
    if "server does not support ssl" in lowered:
        return StoreError(
            f"the store URL {location} requires TLS, but the server does not offer it",
            hint="enable ssl on the server, or change sslmode in the URL",
        )
    if "connection refused" in lowered or "could not connect" in lowered:
        return StoreError(
            f"cannot connect to PostgreSQL at {location}: connection refused",
            hint="is the server running and listening on that host and port?",
        )
    if (
        "server closed the connection" in lowered
        or "consuming input failed" in lowered
        or "connection is lost" in lowered
        or "connection is closed" in lowered
        # psycopg's word when the socket closed before libpq read why (a terminated backend).
        or "connection socket closed" in lowered
    ):
        return StoreError(
            f"lost the connection to PostgreSQL at {location}: {_NOTHING_WRITTEN}",
        )
    if "timeout expired" in lowered:
        return StoreError(f"timed out connecting to PostgreSQL at {location}")
    return StoreError(f"store error in {location}: {text or type(exc).__name__}")
