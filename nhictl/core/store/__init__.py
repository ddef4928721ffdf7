"""Persistence behind one interface: SQLite (the embedded default) and PostgreSQL."""

from __future__ import annotations

from pathlib import Path

from nhictl.core.errors import ConfigError, InputError, StoreError
from nhictl.core.store.base import Row, Store, Tx
from nhictl.core.store.url import SQLITE_PREFIX, backend_of, redact_url

DEFAULT_FILE = "nhictl.db"

__all__ = ["Row", "Store", "Tx", "open_store", "redact_url"]


def open_store(url: str, data_dir: Path, *, pool_size: int = 1) -> Store:
    """Open the store named by ``url`` (empty: SQLite in ``data_dir``).

    ``pool_size`` above 1: a PostgreSQL store that many threads may share, through a
    connection pool (psycopg-pool) of that size. A SQLite store ignores it.

    psycopg is imported only here, for a ``postgresql://`` URL: the CLI's cold start and the
    SQLite path never load it.
    """
    try:
        backend = backend_of(url)
    except InputError as exc:
        raise ConfigError(exc.message) from None
    if backend == "postgresql":
        try:
            from nhictl.core.store.postgres import PooledPostgresStore, PostgresStore
        except ImportError:
            raise StoreError(
                "the PostgreSQL store needs psycopg, which is not installed",
                hint="pip install 'nhictl[postgres]'",
            ) from None
        return PooledPostgresStore(url, pool_size) if pool_size > 1 else PostgresStore(url)
    from nhictl.core.store.sqlite import SqliteStore

    if not url:
        return SqliteStore(data_dir / DEFAULT_FILE)
    return SqliteStore(Path(url.removeprefix(SQLITE_PREFIX)))
