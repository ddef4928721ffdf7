"""``nhictl log export``: the audit log as JSON lines, in nhictl's own shape or as OCSF events.

Events are streamed from the store a page at a time and written one line each, so exporting a
million events holds one page in memory, never the log. ``json`` keeps every stored field
(with both hashes), so the chain can be re-verified offline; ``ocsf`` is for a SIEM
(``nhictl.core.ocsf``). The store never holds a secret, but each line is screened again before it
leaves: a value shaped like a token or private key (a row written around ``append``) is
replaced by ``[redacted]`` and reported, never exported.
"""

from __future__ import annotations

import datetime as dt
from collections.abc import Callable, Iterable, Iterator
from typing import Any, Literal

from nhictl.core import auditlog
from nhictl.core.durations import parse_duration
from nhictl.core.errors import InputError
from nhictl.core.jsonout import line

ExportFormat = Literal["json", "ocsf"]
EXPORT_FORMATS: tuple[ExportFormat, ...] = ("json", "ocsf")
REDACTED = "[redacted]"


def time_bound(text: str, flag: str, *, now: dt.datetime | None = None) -> str:
    """``--since``/``--until``: an ISO 8601 time (no zone means UTC) or a duration back from
    now (``24h``, ``7d``, ``PT30M``), in the stored form so it compares with ``at`` as text."""
    raw = text.strip()
    try:
        moment = dt.datetime.fromisoformat(raw)
    except ValueError:
        try:
            seconds = parse_duration(raw)
        except InputError:
            raise InputError(
                f"{flag}: {text[:40]!r} is neither an ISO 8601 time (2026-05-01 or "
                "2026-05-01T09:30:00Z) nor a duration back from now (24h, 7d, PT30M)"
            ) from None
        back = (now or dt.datetime.now(dt.UTC)) - dt.timedelta(seconds=seconds)
        return auditlog.utc_now_text(back)
    if moment.tzinfo is None:
        moment = moment.replace(tzinfo=dt.UTC)
    return auditlog.utc_now_text(moment)


def time_window(
    since: str | None, until: str | None, *, now: dt.datetime | None = None
) -> tuple[str | None, str | None]:
    """Both bounds parsed; an empty window (since not before until) is an input error."""
    start = None if since is None else time_bound(since, "--since", now=now)
    end = None if until is None else time_bound(until, "--until", now=now)
    if start is not None and end is not None and start >= end:
        raise InputError(f"--since ({start}) is not before --until ({end}): nothing to export")
    return start, end


def _scrub(value: Any) -> Any:
    """``value`` with every string that holds a secret shape replaced by ``[redacted]``."""
    if isinstance(value, str):
        return REDACTED if auditlog.looks_secret(value) else value
    if isinstance(value, dict):
        return {_scrub(k): _scrub(v) for k, v in value.items()}
    if isinstance(value, list):
        return [_scrub(item) for item in value]
    return value


def export_lines(
    events: Iterable[auditlog.AuditEvent],
    fmt: ExportFormat,
    *,
    on_redacted: Callable[[int], None] = lambda seq: None,
) -> Iterator[bytes]:
    """One JSON line per event; ``on_redacted(seq)`` is told of each event that was screened."""
    if fmt == "ocsf":
        from nhictl.core.ocsf import to_ocsf

        shape: Callable[[auditlog.AuditEvent], dict[str, Any]] = to_ocsf
    else:
        shape = auditlog.AuditEvent.to_dict
    for event in events:
        data = shape(event)
        text = line(data, sort_keys=True)
        # Cheap on the common path: one substring test on bytes nhictl just encoded.
        if auditlog.looks_secret(text.decode("utf-8")):
            on_redacted(event.seq)
            text = line(_scrub(data), sort_keys=True)
        yield text
