"""Helpers for the audit-log tests: the chain hash written out independently of nhictl (so the
tests check the documented format, not nhictl against itself), and an attacker with SQL access."""

from __future__ import annotations

import hashlib
import json
from typing import Any

from nhictl.core.runtime import Runtime


def chain_hash(event: dict[str, Any]) -> str:
    """SHA-256 of the JSON array [seq, at, actor, action, subject, outcome, details, prev_hash],
    details as sorted compact JSON: what docs/audit-log.md tells an offline verifier."""
    details = json.dumps(
        event["details"], sort_keys=True, separators=(",", ":"), ensure_ascii=False
    )
    fields = [event[k] for k in ("seq", "at", "actor", "action", "subject", "outcome")]
    body = [*fields, details, event["prev_hash"]]
    canonical = json.dumps(body, separators=(",", ":"), ensure_ascii=False)
    return hashlib.sha256(canonical.encode("utf-8")).hexdigest()


def verify_offline(lines: list[dict[str, Any]]) -> None:
    """Re-verify an exported chain: every hash recomputes and links to the one before."""
    previous = lines[0]["prev_hash"]
    for event in lines:
        assert event["prev_hash"] == previous, event["seq"]
        assert chain_hash(event) == event["hash"], event["seq"]
        previous = event["hash"]


def rewrite_and_recompute(seq: int, **changes: str) -> None:
    """What someone with write access to the database can do: edit event ``seq`` and recompute
    every hash from it to the head, so the chain alone looks intact. Plain SQL on the store the
    environment names (SQLite or PostgreSQL), around nhictl's audit log."""
    runtime = Runtime()
    try:
        with runtime.store.write() as tx:
            _rewrite(tx, seq, changes)
    finally:
        runtime.store.close()


def _rewrite(tx: Any, seq: int, changes: dict[str, str]) -> None:
    columns = "seq, at, actor, action, subject, outcome, details_json, prev_hash"
    rows = tx.query(f"SELECT {columns} FROM audit_events ORDER BY seq")
    previous = None
    for row in rows:
        event = dict(zip(columns.split(", "), row, strict=True))
        if event["seq"] < seq:
            found = tx.one("SELECT hash FROM audit_events WHERE seq = ?", (event["seq"],))
            previous = found[0] if found else None
            continue
        if event["seq"] == seq:
            event.update(changes)
        if previous is not None:
            event["prev_hash"] = previous
        event["details"] = json.loads(event.pop("details_json"))
        digest = chain_hash(event)
        tx.execute(
            "UPDATE audit_events SET actor = ?, subject = ?, outcome = ?, prev_hash = ?, "
            "hash = ? WHERE seq = ?",
            (
                event["actor"],
                event["subject"],
                event["outcome"],
                event["prev_hash"],
                digest,
                event["seq"],
            ),
        )
        previous = digest


def run_sql(sql: str, params: tuple[Any, ...] = ()) -> None:
    """One statement on the environment's store, around nhictl."""
    runtime = Runtime()
    try:
        with runtime.store.write() as tx:
            tx.execute(sql, params)
    finally:
        runtime.store.close()
