"""Helpers for the audit-log tests: the chain hash written out independently of nhictl (so the
tests check the documented format, not nhictl against itself), and an attacker with SQL access."""

from __future__ import annotations

import hashlib
import json
import sqlite3
from pathlib import Path
from typing import Any


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


def rewrite_and_recompute(db: Path, seq: int, **changes: str) -> None:
    """What someone with write access to the database can do: edit event ``seq`` and recompute
    every hash from it to the head, so the chain alone looks intact."""
    connection = sqlite3.connect(db)
    try:
        columns = "seq, at, actor, action, subject, outcome, details_json, prev_hash"
        rows = connection.execute(f"SELECT {columns} FROM audit_events ORDER BY seq").fetchall()
        previous = None
        for row in rows:
            event = dict(zip(columns.split(", "), row, strict=True))
            if event["seq"] < seq:
                previous = connection.execute(
                    "SELECT hash FROM audit_events WHERE seq = ?", (event["seq"],)
                ).fetchone()[0]
                continue
            if event["seq"] == seq:
                event.update(changes)
            if previous is not None:
                event["prev_hash"] = previous
            event["details"] = json.loads(event.pop("details_json"))
            digest = chain_hash(event)
            connection.execute(
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
        connection.commit()
    finally:
        connection.close()


def run_sql(db: Path, sql: str, params: tuple[Any, ...] = ()) -> None:
    connection = sqlite3.connect(db)
    try:
        connection.execute(sql, params)
        connection.commit()
    finally:
        connection.close()
