"""Schema migrations, written once in SQLite's spelling, and the one runner every backend uses.

Append a migration; never edit one that has shipped. Timestamps are ISO 8601 UTC text with a
``Z`` suffix so they sort and compare the same way in every backend.

The dialect differences live in ``ddl()`` alone: on PostgreSQL ``INTEGER`` becomes ``BIGINT``
(SQLite's integers are 64-bit) and ``TEXT`` is ``COLLATE "C"``, so ``ORDER BY`` and the text
comparisons of timestamps are bytewise, as in SQLite, whatever locale the database was created
with.
"""

from __future__ import annotations

import datetime as dt
import re
from dataclasses import dataclass
from typing import TYPE_CHECKING

from nhictl.core.errors import StoreError
from nhictl.core.store.chainhash import POSTGRES_CHAIN_HASH_DDL

if TYPE_CHECKING:
    from nhictl.core.store.base import Tx


@dataclass(frozen=True)
class Only:
    """A statement for one dialect only, run as written (no ``ddl()`` translation)."""

    dialect: str
    sql: str


def _backfill_workload_subject(path_sql: str, sep: str = ".") -> str:
    """The UPDATE that fills ``agent_revisions.workload_subject`` (migration 6) in a dialect
    whose JSON path expression is ``path_sql`` with the path's parts joined by ``sep``."""

    def member(*names: str) -> str:
        return path_sql.format(sep.join(("spec", "workloadIdentity", *names)))

    return (
        f"UPDATE agent_revisions SET workload_subject = CASE {member('type')} "
        f"WHEN 'spiffe' THEN {member('spiffeId')} "
        f"WHEN 'oidc' THEN CASE WHEN {member('subjectMatch')} = 'glob' THEN '*' "
        f"ELSE {member('subject')} END END"
    )


MIGRATIONS: dict[int, list[str | Only]] = {
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
    # nhictl serve: client assertions accepted once (RFC 7523 section 3), shared by replicas.
    # ``key`` is "jti:<iss>:<jti>" or, for a JWT-SVID without a jti, "sha256:<token hash>".
    3: [
        """CREATE TABLE assertion_replay (
            key TEXT PRIMARY KEY,
            expires_at TEXT NOT NULL,
            seen_at TEXT NOT NULL
        )""",
        "CREATE INDEX assertion_replay_expires ON assertion_replay (expires_at)",
    ],
    # RFC 9449 DPoP: the key thumbprint a credential is bound to (``cnf.jkt``), NULL for a
    # bearer credential; kept so a rebind binds the successor to the same key.
    4: ["ALTER TABLE credentials ADD COLUMN cnf_jkt TEXT"],
    # The audit chain's link hash, computed in the INSERT (nhictl.core.store.chainhash). SQLite
    # has the same function registered on every connection.
    5: [Only("postgresql", POSTGRES_CHAIN_HASH_DDL)],
    # The subject a workload identity token must carry to match a revision's manifest (its
    # SPIFFE ID or OIDC subject; "*" for an OIDC subject pattern): ``nhictl serve`` finds the
    # agent for a token by this index instead of reading every manifest. Only a pre-filter
    # (the manifest decides). Rows from before are filled from their manifests here, as
    # ``nhictl.core.registry.records.workload_subject`` computes it for new ones.
    6: [
        "ALTER TABLE agent_revisions ADD COLUMN workload_subject TEXT",
        Only("sqlite", _backfill_workload_subject("json_extract(manifest_json, '$.{}')")),
        Only(
            "postgresql",
            _backfill_workload_subject("(manifest_json::jsonb #>> '{{{}}}')", sep=","),
        ),
        "CREATE INDEX agent_revisions_workload ON agent_revisions (workload_subject)",
    ],
}

LATEST_VERSION = max(MIGRATIONS)

#: Every table a migration creates, parents first (the order ``db copy`` fills them in).
#: ``assertion_replay`` (migration 3) is left out: its rows only live as long as an assertion.
TABLES = ("agents", "agent_revisions", "credentials", "status_lists", "audit_events")

_POSTGRES_TYPES = {"INTEGER": "BIGINT", "TEXT": 'TEXT COLLATE "C"'}
_TYPE_WORD = re.compile(r"\b(INTEGER|TEXT)\b")


def ddl(statement: str, dialect: str) -> str:
    """``statement`` as ``dialect`` (``sqlite`` or ``postgresql``) spells it."""
    if dialect == "postgresql":
        return _TYPE_WORD.sub(lambda m: _POSTGRES_TYPES[m.group(1)], statement)
    return statement


def apply_migrations(tx: Tx, *, dialect: str, location: str) -> list[int]:
    """Bring the schema in ``tx`` up to ``LATEST_VERSION``; return the versions applied.

    The caller holds the store's write lock, so two processes migrating at once apply each
    version once.
    """
    tx.execute(
        ddl(
            "CREATE TABLE IF NOT EXISTS schema_migrations "
            "(version INTEGER PRIMARY KEY, applied_at TEXT NOT NULL)",
            dialect,
        )
    )
    row = tx.one("SELECT MAX(version) FROM schema_migrations")
    current = int(row[0] or 0) if row else 0
    if current > LATEST_VERSION:
        raise StoreError(
            f"the store at {location} has schema version {current}, newer than this "
            f"nhictl ({LATEST_VERSION}); upgrade nhictl"
        )
    now = dt.datetime.now(dt.UTC).strftime("%Y-%m-%dT%H:%M:%SZ")
    applied: list[int] = []
    for version in range(current + 1, LATEST_VERSION + 1):
        for statement in MIGRATIONS[version]:
            if isinstance(statement, Only):
                if statement.dialect == dialect:
                    tx.execute(statement.sql)
            else:
                tx.execute(ddl(statement, dialect))
        tx.execute(
            "INSERT INTO schema_migrations (version, applied_at) VALUES (?, ?)", (version, now)
        )
        applied.append(version)
    return applied
