"""``nhictl log``: read, export and verify the hash-chained audit log."""

from __future__ import annotations

from pathlib import Path

import click
import typer

from nhictl.cli.common import FORMAT_OPTION, output_option, print_table, show
from nhictl.cli.output import check_output, emit, message, output_stream

app = typer.Typer(
    help="Read, export, checkpoint and verify the tamper-evident audit log.", no_args_is_help=True
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


EXPORT_FORMAT_OPTION = typer.Option(
    "json",
    "--format",
    "-f",
    help="json: the stored events with both hashes, to re-verify offline; ocsf: OCSF 1.3.0 "
    "events for a SIEM (docs/audit-log.md has the mapping).",
    click_type=click.Choice(["json", "ocsf"]),
    show_default=True,
)


@app.command("export")
def export(
    fmt: str = EXPORT_FORMAT_OPTION,
    since: str | None = typer.Option(
        None,
        "--since",
        help="Only events at or after this time: ISO 8601 (2026-05-01, 2026-05-01T09:30:00Z; "
        "no zone means UTC) or a duration back from now (24h, 7d, PT30M).",
    ),
    until: str | None = typer.Option(
        None, "--until", help="Only events before this time (same forms as --since)."
    ),
    output: Path | None = output_option("Write to this file (atomically) instead of stdout."),
) -> None:
    """Export events as JSON lines (one event per line, oldest first), streamed."""
    from nhictl.core import auditexport, auditlog
    from nhictl.core.runtime import Runtime

    start, end = auditexport.time_window(since, until)
    redacted: list[int] = []
    count = 0
    with Runtime().store.read() as tx, output_stream(output) as out:
        events = auditlog.iter_events(tx, since=start, until=end)
        for chunk in auditexport.export_lines(events, fmt, on_redacted=redacted.append):  # type: ignore[arg-type]
            emit(chunk, out)
            count += 1
    for seq in redacted[:10]:
        message(f"event {seq}: a value shaped like a token or key was redacted (not exported)")
    message(f"exported {count} event(s) as {fmt}")


@app.command("checkpoint")
def checkpoint(
    output: Path | None = output_option(
        "Write the checkpoint to this file (atomically) instead of stdout; keep it outside "
        "the store (git, a WORM bucket)."
    ),
) -> None:
    """Sign the chain head with the registry key, so `log verify --checkpoint` can later prove
    no event up to it was rewritten."""
    from nhictl.core import checkpoint as checkpoints
    from nhictl.core.runtime import Runtime

    runtime = Runtime()
    check_output(output)

    def deliver(token: str) -> None:
        with output_stream(output) as out:
            emit(token + "\n", out)

    made = checkpoints.create(
        runtime.store, runtime.keys, issuer=str(runtime.settings["issuer"]), deliver=deliver
    )
    message(f"checkpoint of event {made.seq} (hash {made.hash[:16]}…) signed by key {made.kid}")


@app.command("verify")
def verify(
    checkpoint: str | None = typer.Option(
        None,
        "--checkpoint",
        metavar="FILE",
        help="Also prove, with a checkpoint `log checkpoint` wrote (- for stdin), that no event "
        "up to it was rewritten, even with every hash recomputed.",
    ),
    fmt: str = FORMAT_OPTION,
) -> None:
    """Recompute the hash chain; exit 1 naming each edited, deleted or moved event."""
    from nhictl.core import auditlog
    from nhictl.core import checkpoint as checkpoints
    from nhictl.core.runtime import Runtime

    runtime = Runtime()
    anchor: checkpoints.Checkpoint | None = None
    if checkpoint is not None:
        anchor = checkpoints.load(checkpoint, checkpoints.registry_keys(runtime.keys))
    with runtime.store.read() as tx:
        report = auditlog.verify(tx, anchor=None if anchor is None else anchor.anchor)
    data: dict[str, object] = {
        "ok": report.ok,
        "events": report.events,
        "head": report.head,
        "problems": [{"seq": p.seq, "message": p.message} for p in report.problems],
    }
    if anchor is not None:
        data["checkpoint"] = anchor.to_dict()

    def lines() -> None:
        for problem in report.problems:
            emit(f"event {problem.seq}: {problem.message}\n")

    show(data, fmt, lines)
    if anchor is not None and anchor.store != runtime.store.location:
        message(f"note: the checkpoint was made on {anchor.store} (a copy of this store?)")
    if report.ok:
        proof = "" if anchor is None else f"; matches the checkpoint at event {anchor.seq}"
        message(f"audit log intact: {report.events} event(s), head {report.head[:16]}…{proof}")
        return
    message(f"audit log BROKEN: {len(report.problems)} problem(s) in {report.events} event(s)")
    raise typer.Exit(1)
