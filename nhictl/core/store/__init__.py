"""Persistence behind one interface: SQLite (embedded default); PostgreSQL joins later."""

from __future__ import annotations

from pathlib import Path

from nhictl.core.errors import ConfigError
from nhictl.core.store.base import Row, Store, Tx

DEFAULT_FILE = "nhictl.db"

__all__ = ["Row", "Store", "Tx", "open_store"]


def open_store(url: str, data_dir: Path) -> Store:
    """Open the store named by ``url`` (empty: SQLite in ``data_dir``)."""
    from nhictl.core.store.sqlite import SqliteStore

    if not url:
        return SqliteStore(data_dir / DEFAULT_FILE)
    if url.startswith("sqlite:///"):
        return SqliteStore(Path(url.removeprefix("sqlite:///")))
    scheme = url.split(":", 1)[0]
    raise ConfigError(f"unsupported store URL scheme {scheme!r} (supported: sqlite:///PATH)")
