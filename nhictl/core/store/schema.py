"""Schema migrations, in portable SQL (SQLite and PostgreSQL both run them unchanged).

Append a migration; never edit one that has shipped. Timestamps are ISO 8601 UTC text with a
``Z`` suffix so they sort and compare the same way in every backend.
"""

from __future__ import annotations

MIGRATIONS: dict[int, list[str]] = {
    1: [
        """CREATE TABLE agents (
            name TEXT PRIMARY KEY,
            status TEXT NOT NULL,
            current_revision INTEGER NOT NULL,
            owner TEXT NOT NULL,
            sponsor TEXT NOT NULL,
            review_expires TEXT NOT NULL,
            approved_by TEXT,
            approved_at TEXT,
            disabled_reason TEXT,
            created_at TEXT NOT NULL,
            updated_at TEXT NOT NULL
        )""",
        """CREATE TABLE agent_revisions (
            name TEXT NOT NULL REFERENCES agents(name),
            revision INTEGER NOT NULL,
            manifest_json TEXT NOT NULL,
            manifest_sha256 TEXT NOT NULL,
            identity_json TEXT NOT NULL,
            decision_json TEXT NOT NULL,
            outcome TEXT NOT NULL,
            created_by TEXT NOT NULL,
            created_at TEXT NOT NULL,
            PRIMARY KEY (name, revision)
        )""",
        """CREATE TABLE audit_events (
            seq BIGINT PRIMARY KEY,
            at TEXT NOT NULL,
            actor TEXT NOT NULL,
            action TEXT NOT NULL,
            subject TEXT NOT NULL,
            outcome TEXT NOT NULL,
            details_json TEXT NOT NULL,
            prev_hash TEXT NOT NULL,
            hash TEXT NOT NULL
        )""",
        "CREATE INDEX audit_events_subject ON audit_events (subject, seq)",
    ],
}

LATEST_VERSION = max(MIGRATIONS)
