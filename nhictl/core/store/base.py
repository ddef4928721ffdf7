"""The store interface every backend implements.

Core modules write portable SQL with ``?`` placeholders against a ``Tx``; a backend owns the
connection, the dialect details (placeholders, locking, pragmas) and the migrations runner.
Everything that changes state runs in ``store.write()``: the state change and its audit event
commit together or not at all.
"""

from __future__ import annotations

import abc
from collections.abc import Callable, Iterator, Sequence
from contextlib import contextmanager
from dataclasses import dataclass, field
from typing import Any

Row = tuple[Any, ...]


@dataclass
class Deferred:
    """What a deferred statement did, filled in once it has run (at the latest by the commit)."""

    rowcount: int = -1
    rows: list[Row] = field(default_factory=list)


class Tx(abc.ABC):
    """One transaction. SQL uses ``?`` placeholders and only portable SQL."""

    @abc.abstractmethod
    def execute(self, sql: str, params: Sequence[Any] = ()) -> int:
        """Run a statement; return the number of rows it changed."""

    @abc.abstractmethod
    def query(self, sql: str, params: Sequence[Any] = ()) -> list[Row]:
        """Run a query and return all rows."""

    def defer(self, sql: str, params: Sequence[Any] = ()) -> Deferred:
        """Run a statement at the latest before the next statement or the commit (in order),
        and say what it did in the returned ``Deferred`` once it has run. A backend may send
        it with that one (PostgreSQL pipelines them: one round trip fewer each); an error in it
        surfaces there, and rolls the transaction back as any other."""
        rows = self.query(sql, params)
        return Deferred(len(rows), rows)

    @abc.abstractmethod
    def after_commit(self, callback: Callable[[], None]) -> None:
        """Call ``callback`` once this transaction has committed (never if it rolls back)."""

    def serialise(self) -> None:
        """Hold the store's write lock from here on, if this transaction does not yet.

        Only ``write(late_lock=True)`` transactions start without it; they read first (no
        writes before this call) and must re-read what they decided on, since another writer
        may have committed in between. A backend may send the lock with the next statement.
        The default does nothing: for backends whose ``write()`` always locks at the start.
        """
        return None

    def one(self, sql: str, params: Sequence[Any] = ()) -> Row | None:
        """The first row of a query, or ``None``."""
        rows = self.query(sql, params)
        return rows[0] if rows else None


class Store(abc.ABC):
    """A registry database."""

    #: A description safe to print (no passwords).
    location: str

    @abc.abstractmethod
    def migrate(self) -> list[int]:
        """Create or upgrade the schema; return the versions applied now (empty if current)."""

    @abc.abstractmethod
    def schema_version(self) -> int:
        """The applied schema version; 0 for an empty database."""

    @abc.abstractmethod
    @contextmanager
    def write(self, *, late_lock: bool = False) -> Iterator[Tx]:
        """A serialised read-write transaction, committed on success, rolled back on error.

        ``late_lock``: the transaction may start without the write lock (each statement then
        reads the latest committed state) and takes it at ``tx.serialise()``, which must come
        before its first write. A backend may take the lock at the start regardless.
        """

    @abc.abstractmethod
    @contextmanager
    def read(self) -> Iterator[Tx]:
        """A consistent read-only snapshot."""

    def read_one(self, sql: str, params: Sequence[Any] = ()) -> Row | None:
        """The first row of a single query, read from one consistent snapshot."""
        with self.read() as tx:
            return tx.one(sql, params)

    @abc.abstractmethod
    def close(self) -> None:
        """Release the connection."""

    def require_initialized(self) -> None:
        """Raise ``NotInitializedError`` unless ``migrate`` has run."""
        from nhictl.core.errors import NotInitializedError
        from nhictl.core.store.schema import LATEST_VERSION

        version = self.schema_version()
        if version == 0:
            raise NotInitializedError(f"no nhictl store at {self.location}")
        if version < LATEST_VERSION:
            raise NotInitializedError(
                f"the store at {self.location} is at schema version {version}, "
                f"this nhictl needs {LATEST_VERSION}"
            )
