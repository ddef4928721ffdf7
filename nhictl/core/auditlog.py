"""Append-only, hash-chained audit log.

Every state change appends its event in the same transaction (``Tx``), so a change without its
event cannot be committed. Each event's hash covers its content and the previous event's hash;
``verify`` recomputes the chain and names the first event that was edited, deleted or moved.
Events never hold a token, secret or private key: ``append`` refuses anything that looks like
one, so a careless caller fails loudly instead of leaking.
"""

from __future__ import annotations

import datetime as dt
import getpass
import hashlib
import json
import os
from collections.abc import Iterator
from dataclasses import dataclass
from typing import Any

from nhictl.core.redact import holds_token_or_private_key
from nhictl.core.store.base import Tx
from nhictl.core.store.chainhash import CHAIN_HASH_FUNCTION

GENESIS = "0" * 64
_COLUMNS = "seq, at, actor, action, subject, outcome, details_json, prev_hash, hash"


def _storable(text: str) -> str:
    """``text`` as UTF-8 can hold it: lone surrogates (undecodable bytes from a command line or
    file, carried by Python as ``\\udcff``) are written as that escape instead of failing the
    insert. Any other text is returned unchanged, so existing hashes are unaffected."""
    try:
        text.encode("utf-8")
    except UnicodeEncodeError:
        return text.encode("utf-8", "backslashreplace").decode("utf-8")
    return text


def looks_secret(text: str) -> bool:
    """Does ``text`` hold what ``append`` refuses (a compact JWS, a private-key PEM)? Exports
    screen their output with it too, in case a row was written around ``append``."""
    return holds_token_or_private_key(text)


# Built once: json.dumps with options builds a new encoder on every call.
_CANONICAL = json.JSONEncoder(ensure_ascii=False, separators=(",", ":")).encode
_DETAILS = json.JSONEncoder(ensure_ascii=False, sort_keys=True, separators=(",", ":")).encode


@dataclass(frozen=True)
class AuditEvent:
    seq: int
    at: str
    actor: str
    action: str
    subject: str
    outcome: str
    details: dict[str, Any]
    prev_hash: str
    hash: str

    def to_dict(self) -> dict[str, Any]:
        return {
            "seq": self.seq,
            "at": self.at,
            "actor": self.actor,
            "action": self.action,
            "subject": self.subject,
            "outcome": self.outcome,
            "details": self.details,
            "prev_hash": self.prev_hash,
            "hash": self.hash,
        }


@dataclass(frozen=True)
class ChainProblem:
    seq: int
    message: str


@dataclass(frozen=True)
class Anchor:
    """A claim made outside the store (a signed checkpoint): event ``seq`` had hash ``hash``."""

    seq: int
    hash: str


@dataclass(frozen=True)
class VerifyReport:
    events: int
    head: str
    problems: list[ChainProblem]
    head_seq: int = 0

    @property
    def ok(self) -> bool:
        return not self.problems


def default_actor() -> str:
    """Who is acting: ``NHICTL_ACTOR`` or the local user name."""
    explicit = os.environ.get("NHICTL_ACTOR")
    if explicit:
        return explicit
    try:
        return f"user:{getpass.getuser()}"
    except (KeyError, OSError):
        return f"uid:{os.getuid()}"


def utc_now_text(now: dt.datetime | None = None) -> str:
    """ISO 8601 UTC with a Z, microsecond precision (sorts as text)."""
    moment = now or dt.datetime.now(dt.UTC)
    # The same text as strftime("%Y-%m-%dT%H:%M:%S.%fZ"), without strftime's cost.
    return moment.astimezone(dt.UTC).isoformat(timespec="microseconds")[:26] + "Z"


def _canonical(
    seq: int,
    at: str,
    actor: str,
    action: str,
    subject: str,
    outcome: str,
    details_json: str,
    prev_hash: str,
) -> bytes:
    body = [seq, at, actor, action, subject, outcome, details_json, prev_hash]
    return _CANONICAL(body).encode("utf-8")


def _hash(*fields: Any) -> str:
    return hashlib.sha256(_canonical(*fields)).hexdigest()


#: Appends one event: the head (seq, hash) is read and the link hash computed by the store in
#: the same statement (nhictl.core.store.chainhash), so no round trip reads the head first.
#: ``{only_if}`` is an optional extra condition (the event is then written only where it holds).
_APPEND_SQL = (
    f"INSERT INTO audit_events ({_COLUMNS}) "
    f"SELECT head.seq, ?, ?, ?, ?, ?, ?, head.prev, {CHAIN_HASH_FUNCTION}(head.seq, ?, head.prev) "
    "FROM (SELECT COALESCE(MAX(seq), 0) + 1 AS seq, COALESCE((SELECT hash FROM audit_events "
    "ORDER BY seq DESC LIMIT 1), ?) AS prev FROM audit_events) AS head{only_if}"
)


def append(
    tx: Tx,
    *,
    action: str,
    subject: str,
    outcome: str,
    details: dict[str, Any] | None = None,
    actor: str | None = None,
    now: dt.datetime | None = None,
    only_if: tuple[str, tuple[Any, ...]] | None = None,
) -> None:
    """Append one event inside ``tx`` (the caller's state-change transaction).

    The insert is deferred (it rides with the transaction's next statement or its commit).
    ``only_if`` = (SQL condition, its parameters): write the event only where the condition
    holds when the statement runs (issuance makes its event depend on its credential's row, so
    the two are written together or not at all).
    """
    details_json = _storable(_DETAILS(details or {}))
    subject = _storable(subject)
    if holds_token_or_private_key(details_json) or holds_token_or_private_key(subject):
        raise ValueError(f"refusing to write a token or key into audit event {action!r}")
    at = utc_now_text(now)
    who = _storable(actor or default_actor())
    body = _CANONICAL([at, who, action, subject, outcome, details_json])[1:-1]
    condition, extra = only_if if only_if is not None else ("", ())
    tx.defer(
        _APPEND_SQL.format(only_if=f" WHERE {condition}" if condition else ""),
        (at, who, action, subject, outcome, details_json, body, GENESIS, *extra),
    )


def _event(row: tuple[Any, ...]) -> AuditEvent:
    seq, at, actor, action, subject, outcome, details_json, prev_hash, digest = row
    return AuditEvent(
        int(seq), at, actor, action, subject, outcome, json.loads(details_json), prev_hash, digest
    )


def list_events(
    tx: Tx,
    *,
    subject: str | None = None,
    action: str | None = None,
    after: int = 0,
    limit: int | None = None,
) -> list[AuditEvent]:
    """Events in order, optionally filtered by subject or action prefix."""
    sql = f"SELECT {_COLUMNS} FROM audit_events WHERE seq > ?"
    params: list[Any] = [after]
    if subject is not None:
        sql += " AND subject = ?"
        params.append(subject)
    if action is not None:
        sql += " AND (action = ? OR action LIKE ?)"
        params += [action, action + ".%"]
    sql += " ORDER BY seq"
    if limit is not None:
        sql += " LIMIT ?"
        params.append(limit)
    return [_event(row) for row in tx.query(sql, params)]


#: Rows read per query when walking the whole log: bounded memory for any number of events.
PAGE_SIZE = 1000


def _pages(tx: Tx, where: str = "", params: tuple[Any, ...] = ()) -> Iterator[tuple[Any, ...]]:
    """Every row of ``audit_events`` (optionally filtered), in seq order, a page at a time.
    Keyset paging (``seq > last``) keeps each query on the primary key, so a million events
    cost a thousand short queries, never a million rows in memory."""
    last = 0
    while True:
        rows = tx.query(
            f"SELECT {_COLUMNS} FROM audit_events WHERE seq > ?{where} ORDER BY seq LIMIT ?",
            (last, *params, PAGE_SIZE),
        )
        yield from rows
        if len(rows) < PAGE_SIZE:
            return
        last = int(rows[-1][0])


def iter_events(
    tx: Tx, *, since: str | None = None, until: str | None = None
) -> Iterator[AuditEvent]:
    """Every event in seq order, streamed; ``since`` (inclusive) and ``until`` (exclusive) are
    times in the stored form (``utc_now_text``), which sorts as text."""
    where = ""
    params: tuple[str, ...] = ()
    if since is not None:
        where, params = where + " AND at >= ?", (*params, since)
    if until is not None:
        where, params = where + " AND at < ?", (*params, until)
    return (_event(row) for row in _pages(tx, where, params))


def head(tx: Tx) -> AuditEvent | None:
    """The newest event (the chain head), or ``None`` for an empty log."""
    row = tx.one(f"SELECT {_COLUMNS} FROM audit_events ORDER BY seq DESC LIMIT 1")
    return _event(row) if row else None


def verify(tx: Tx, *, anchor: Anchor | None = None) -> VerifyReport:
    """Recompute the chain; report every event whose hash or link does not hold.

    With ``anchor`` (from a signed checkpoint), event ``anchor.seq`` must also still carry the
    anchored hash. Since every hash covers the one before it, that proves no event at or before
    ``anchor.seq`` changed, even if whoever changed one recomputed every hash after it.
    """
    problems: list[ChainProblem] = []
    expected_prev = GENESIS
    expected_seq = 1
    count = 0
    head_hash = GENESIS
    anchored = False
    for row in _pages(tx):
        seq, at, actor, action, subject, outcome, details_json, prev_hash, digest = row
        count += 1
        if seq != expected_seq:
            problems.append(ChainProblem(int(seq), f"events {expected_seq}..{seq - 1} are missing"))
        if prev_hash != expected_prev:
            problems.append(
                ChainProblem(int(seq), "does not link to the event before it (deleted or moved)")
            )
        recomputed = _hash(seq, at, actor, action, subject, outcome, details_json, prev_hash)
        if recomputed != digest:
            problems.append(ChainProblem(int(seq), "content does not match its hash (edited)"))
        if anchor is not None and seq == anchor.seq:
            anchored = True
            if digest != anchor.hash:
                problems.append(
                    ChainProblem(
                        int(seq),
                        "hash differs from the checkpoint's: an event at or before it was "
                        "rewritten (and the hashes after it recomputed)",
                    )
                )
        expected_prev = digest
        expected_seq = int(seq) + 1
        head_hash = digest
    if anchor is not None and not anchored:
        problems.append(
            ChainProblem(
                anchor.seq,
                f"is missing: the checkpoint covers seq {anchor.seq} but the log ends at seq "
                f"{expected_seq - 1} (newest events deleted)"
                if anchor.seq >= expected_seq
                else "is missing (deleted), so the checkpoint cannot be matched",
            )
        )
    return VerifyReport(count, head_hash, problems, expected_seq - 1)
