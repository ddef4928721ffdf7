"""Credential state every layer shares, and revoking an agent's live credentials.

It sits below both ``registry`` and ``credentials``: ``Registry.disable`` revokes the agent's
credentials in its own transaction (so no caller can disable an agent and forget them), and the
credential service builds on the same states and timestamps. Keeping it here, not in
``credentials``, is what lets the registry do that without importing the credential service.
"""

from __future__ import annotations

import datetime as dt
from collections.abc import Sequence
from typing import Any

from nhictl.core import auditlog
from nhictl.core.store.base import Tx

# Stored credential status. "expired" is never stored: it is an active row past expires_at.
STATUS_ACTIVE = "active"
STATUS_REVOKED = "revoked"
STATUS_EXPIRED = "expired"

#: Revocation reasons are cut to this length; audit events list at most this many jtis.
MAX_REASON = 500
AUDIT_JTI_LIMIT = 100


def utcnow() -> dt.datetime:
    return dt.datetime.now(dt.UTC)


def credential_time(moment: dt.datetime | None = None) -> str:
    """Credential timestamps: ISO 8601 UTC to the second, like ``exp``.

    Stored and compared as text, so every credential timestamp uses this one format
    (``expires_at > credential_time(now)``).
    """
    # isoformat is C all the way; strftime is slower, and this runs several times per issue.
    return (moment or utcnow()).astimezone(dt.UTC).isoformat(timespec="seconds")[:19] + "Z"


def revoke_agent_credentials(tx: Tx, agent: str, reason: str, now: dt.datetime) -> dict[str, Any]:
    """Revoke every live credential of ``agent`` in ``tx`` (``Registry.disable`` calls this).

    Returns the details ``disable`` merges into its audit event."""
    rows = tx.query(
        "SELECT jti FROM credentials WHERE agent = ? AND status = ?", (agent, STATUS_ACTIVE)
    )
    revoked = tx.execute(
        "UPDATE credentials SET status = ?, revoked_at = ?, revoked_by = ?, revoked_reason = ? "
        "WHERE agent = ? AND status = ?",
        (
            STATUS_REVOKED,
            credential_time(now),
            auditlog.default_actor(),
            f"agent disabled: {reason}"[:MAX_REASON],
            agent,
            STATUS_ACTIVE,
        ),
    )
    return {
        "revoked_credentials": revoked,
        "revoked_jtis": [r[0] for r in rows][:AUDIT_JTI_LIMIT],
    }


def mark_revoked(tx: Tx, jtis: Sequence[str], reason: str, now: dt.datetime, actor: str) -> None:
    """Revoke the named credentials that are still active (``revoke`` and ``rebind``)."""
    at = credential_time(now)
    for jti in jtis:
        tx.execute(
            "UPDATE credentials SET status = ?, revoked_at = ?, revoked_by = ?, "
            "revoked_reason = ? WHERE jti = ? AND status = ?",
            (STATUS_REVOKED, at, actor, reason, jti, STATUS_ACTIVE),
        )
