"""``nhictl log``: read, export and verify the hash-chained audit log."""

from __future__ import annotations

from pathlib import Path

import typer

from nhictl.cli.common import FORMAT_OPTION, output_option, print_table, show
from nhictl.cli.output import emit, message, output_stream

app = typer.Typer(
    help="Read, export and verify the tamper-evident audit log.", no_args_is_help=True
)


@app.command("list")
def list_events(
    subject: str = typer.Option(None, "--subject", help="Only events about this agent/subject."),
    action: str = typer.Option(None, "--action", help="Only this action (or prefix: agent)."),
    limit: int = typer.Option(None, "--limit", min=1, help="At most this many events."),
    fmt: str = FORMAT_OPTION,
) -> None:
    """Show audit events, oldest first."""
    from nhictl.core import auditlog
    from nhictl.core.runtime import Runtime
    from nhictl.render.table import short_time

    with Runtime().store.read() as tx:
        events = auditlog.list_events(tx, subject=subject, action=action, limit=limit)
    rows = [[e.seq, short_time(e.at), e.actor, e.action, e.subject, e.outcome] for e in events]
    columns = ["seq", "at", "actor", "action", "subject", "outcome"]
    show(
        [e.to_dict() for e in events],
        fmt,
        lambda: print_table(columns, rows, drop=["actor", "at", "outcome"]),
    )


@app.command("export")
def export(
    output: Path | None = output_option("Write to this file (atomically) instead of stdout."),
) -> None:
    """Export every event as JSON lines (one event per line, with its hashes)."""
    from nhictl.core import auditlog
    from nhictl.core.jsonout import line
    from nhictl.core.runtime import Runtime

    with Runtime().store.read() as tx:
        events = auditlog.list_events(tx)
    with output_stream(output) as out:
        emit(b"".join(line(event.to_dict(), sort_keys=True) for event in events), out)


@app.command("verify")
def verify(fmt: str = FORMAT_OPTION) -> None:
    """Recompute the hash chain; exit 1 naming each edited, deleted or moved event."""
    from nhictl.core import auditlog
    from nhictl.core.runtime import Runtime

    with Runtime().store.read() as tx:
        report = auditlog.verify(tx)
    data = {
        "ok": report.ok,
        "events": report.events,
        "head": report.head,
        "problems": [{"seq": p.seq, "message": p.message} for p in report.problems],
    }

    def lines() -> None:
        for problem in report.problems:
            emit(f"event {problem.seq}: {problem.message}\n")

    show(data, fmt, lines)
    if report.ok:
        message(f"audit log intact: {report.events} event(s), head {report.head[:16]}…")
        return
    message(f"audit log BROKEN: {len(report.problems)} problem(s) in {report.events} event(s)")
    raise typer.Exit(1)
