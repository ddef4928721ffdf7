"""``nhictl db``: the store itself: status, migrations, and moving a registry between backends.

The store is the ``store`` setting (NHICTL_STORE): empty for SQLite in the data folder,
``sqlite:///PATH``, or ``postgresql://USER@HOST:PORT/DATABASE``. Passwords never reach the
screen: every URL shown is redacted.
"""

from __future__ import annotations

from pathlib import Path
from typing import TYPE_CHECKING, Any

import typer

from nhictl.cli.common import FORMAT_OPTION, print_table, show
from nhictl.cli.output import message

if TYPE_CHECKING:
    from nhictl.core.store import Store

app = typer.Typer(
    help="The registry's database: status, schema migrations, and copying it to PostgreSQL.",
    no_args_is_help=True,
)


def _configured_store() -> tuple[Store, str, Path]:
    """The store the settings name, its backend, and the data folder (for sqlite:/// paths)."""
    from nhictl.core.runtime import Runtime
    from nhictl.core.store import open_store
    from nhictl.core.store.url import backend_of

    runtime = Runtime()
    url = runtime.settings["store"]
    return open_store(url, runtime.data_dir), backend_of(url), runtime.data_dir


@app.command("status")
def status(fmt: str = FORMAT_OPTION) -> None:
    """Show the backend, where the store is, its schema version and rows per table."""
    from nhictl.core.store.copy import row_counts
    from nhictl.core.store.schema import LATEST_VERSION

    store, backend, _ = _configured_store()
    try:
        version = store.schema_version()
        counts: dict[str, int] = {}
        if version:
            with store.read() as tx:
                counts = row_counts(tx)
    finally:
        store.close()
    state = (
        "not initialised (run `nhictl init`)"
        if version == 0
        else "current"
        if version == LATEST_VERSION
        else "behind (run `nhictl db migrate`)"
        if version < LATEST_VERSION
        else "newer than this nhictl (upgrade nhictl)"
    )
    data: dict[str, Any] = {
        "backend": backend,
        "location": store.location,
        "schema_version": version,
        "latest_version": LATEST_VERSION,
        "state": state,
        "tables": counts,
    }

    def table() -> None:
        rows: list[list[Any]] = [
            ["backend", backend],
            ["location", store.location],
            ["schema", f"{version} of {LATEST_VERSION}: {state}"],
            *[[f"rows in {name}", count] for name, count in counts.items()],
        ]
        print_table(["field", "value"], rows)

    show(data, fmt, table)


@app.command("migrate")
def migrate() -> None:
    """Bring the store's schema up to this nhictl's version (safe to run again)."""
    from nhictl.core import auditlog
    from nhictl.core.store.schema import LATEST_VERSION

    store, _, _ = _configured_store()
    try:
        applied = store.migrate()
        if applied:
            with store.write() as tx:
                auditlog.append(
                    tx,
                    action="store.migrate",
                    subject="registry",
                    outcome="migrated",
                    details={"schema_versions": applied},
                )
    finally:
        store.close()
    if applied:
        shown = ", ".join(map(str, applied))
        message(f"store {store.location}: applied schema version(s) {shown}")
    else:
        message(f"store {store.location}: schema already at version {LATEST_VERSION}")


@app.command("copy")
def copy(
    to: str = typer.Option(
        ...,
        "--to",
        help="The target store URL, e.g. postgresql://nhictl@db.example.com/nhictl "
        "(the database must exist; put the password in PGPASSWORD or ~/.pgpass, not here).",
        show_default=False,
    ),
    force: bool = typer.Option(
        False,
        "--force",
        help="Replace whatever registry the target already holds (default: refuse a "
        "non-empty target).",
    ),
    fmt: str = FORMAT_OPTION,
) -> None:
    """Copy the configured store (NHICTL_STORE, else SQLite) to --to, then prove nothing was
    lost: rows per table equal, and the audit log verifies on the target with the same head.

    One transaction on the target: it ends up with the whole registry or unchanged. Keys and
    policies stay in the data folder; afterwards set NHICTL_STORE to the target. Exits 1 if
    the proof fails.
    """
    from nhictl.core import auditlog
    from nhictl.core.errors import ConfigError, InputError
    from nhictl.core.store import open_store
    from nhictl.core.store.copy import copy_store
    from nhictl.core.store.url import parse_store_url

    try:
        target_url = parse_store_url(to)
    except InputError as exc:
        raise ConfigError(f"--to: {exc.message}") from None
    source, _, data_dir = _configured_store()
    target = open_store(target_url, data_dir)
    if target.location == source.location:
        raise InputError(f"--to names the store being copied ({source.location})")
    try:
        counts = copy_store(source, target, replace=force)
        with source.read() as tx:
            before = auditlog.verify(tx)
        with target.read() as tx:
            after = auditlog.verify(tx)
    finally:
        source.close()
        target.close()
    same_head = before.head == after.head and before.events == after.events
    ok = all(c.equal for c in counts) and after.ok and same_head
    data = {
        "ok": ok,
        "source": source.location,
        "target": target.location,
        "tables": [{"table": c.table, "source": c.source, "target": c.target} for c in counts],
        "audit_log": {
            "ok": after.ok,
            "events": after.events,
            "head": after.head,
            "source_head": before.head,
            "problems": [{"seq": p.seq, "message": p.message} for p in after.problems],
        },
    }
    show(
        data,
        fmt,
        lambda: print_table(
            ["table", "source", "target"], [[c.table, c.source, c.target] for c in counts]
        ),
    )
    message(f"copied {source.location} to {target.location}")
    if after.ok and same_head:
        message(
            f"audit log on the target: intact, {after.events} event(s), "
            f"head {after.head[:16]}… (the source's)"
        )
    else:
        message(
            f"audit log on the target does NOT match the source: {len(after.problems)} "
            f"problem(s), {after.events} event(s) against {before.events}"
        )
    if not ok:
        raise typer.Exit(1)
