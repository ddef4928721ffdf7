"""Copy every registry table from one store to another (``nhictl db copy``).

The source is read in one snapshot and the target written in one transaction, tables in
dependency order, rows in key order and unchanged (the audit events keep their seq, hashes and
links), so the target either ends up with the whole registry or with nothing.
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass

from nhictl.core.errors import InputError
from nhictl.core.store.base import Store, Tx
from nhictl.core.store.schema import TABLES

# The key each table is read in (the target is filled in this order).
_ORDER = {
    "agents": "name",
    "agent_revisions": "name, revision",
    "credentials": "jti",
    "status_lists": "uri",
    "audit_events": "seq",
}


@dataclass(frozen=True)
class TableCount:
    table: str
    source: int
    target: int

    @property
    def equal(self) -> bool:
        return self.source == self.target


def row_counts(tx: Tx, tables: Sequence[str] = TABLES) -> dict[str, int]:
    """Rows per registry table."""
    counts: dict[str, int] = {}
    for table in tables:
        row = tx.one(f"SELECT COUNT(*) FROM {table}")
        counts[table] = int(row[0]) if row else 0
    return counts


def copy_store(source: Store, target: Store, *, replace: bool = False) -> list[TableCount]:
    """Copy ``source`` into ``target`` (migrated first); refuse a target holding any row unless
    ``replace``, which empties it in the same transaction. Returns rows per table, counted in
    the source snapshot and in the target after the commit."""
    source.require_initialized()
    target.migrate()
    with source.read() as src:
        counts = row_counts(src)
        with target.write() as dst:
            existing = row_counts(dst)
            if any(existing.values()) and not replace:
                held = ", ".join(f"{n} {t}" for t, n in existing.items() if n)
                raise InputError(
                    f"the target {target.location} already holds a registry ({held}): "
                    "nothing was copied",
                    hint="copy to an empty database, or pass --force to replace its contents",
                )
            for table in reversed(TABLES):  # children first, for the foreign keys
                dst.execute(f"DELETE FROM {table}")
            for table in TABLES:
                rows = src.query(f"SELECT * FROM {table} ORDER BY {_ORDER[table]}")
                if not rows:
                    continue
                marks = ", ".join("?" * len(rows[0]))
                insert = f"INSERT INTO {table} VALUES ({marks})"
                for row in rows:
                    dst.execute(insert, row)
    with target.read() as check:
        copied = row_counts(check)
    return [TableCount(t, counts[t], copied[t]) for t in TABLES]
