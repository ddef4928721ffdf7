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
    # Just-in-time credentials (nhictl.core.credentials). Never the token: only its SHA-256.
    2: [
        """CREATE TABLE credentials (
            jti TEXT PRIMARY KEY,
            agent TEXT NOT NULL REFERENCES agents(name),
            agent_revision INTEGER NOT NULL,
            subject TEXT NOT NULL,
            task TEXT NOT NULL,
            intent TEXT NOT NULL,
            scopes_json TEXT NOT NULL,
            audience TEXT NOT NULL,
            data_sensitivity TEXT NOT NULL,
            environment TEXT NOT NULL,
            tools_json TEXT NOT NULL,
            on_behalf_of TEXT,
            consent TEXT,
            ttl_seconds INTEGER NOT NULL,
            issued_at TEXT NOT NULL,
            expires_at TEXT NOT NULL,
            status TEXT NOT NULL,
            status_list TEXT NOT NULL,
            status_idx BIGINT NOT NULL,
            kid TEXT NOT NULL,
            token_sha256 TEXT NOT NULL,
            decision_json TEXT NOT NULL,
            parent_jti TEXT,
            issued_by TEXT NOT NULL,
            revoked_at TEXT,
            revoked_by TEXT,
            revoked_reason TEXT,
            UNIQUE (status_list, status_idx)
        )""",
        "CREATE INDEX credentials_agent ON credentials (agent, status, expires_at)",
        "CREATE INDEX credentials_task ON credentials (task, status)",
        # One row per status list: the next free index, handed out under the write lock.
        """CREATE TABLE status_lists (
            uri TEXT PRIMARY KEY,
            next_idx BIGINT NOT NULL,
            created_at TEXT NOT NULL
        )""",
    ],
}

LATEST_VERSION = max(MIGRATIONS)
