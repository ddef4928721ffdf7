"""The Token Status List: status indexes handed to new credentials, and the signed list.

Offline verifiers fetch the list (``typ: statuslist+jwt``) and check it with only the JWKS.
"""

from __future__ import annotations

import datetime as dt
from typing import TYPE_CHECKING

from nhictl.core.registry import ACTIVE, agent_status
from nhictl.core.revocation import STATUS_REVOKED, credential_time
from nhictl.core.store.base import Tx
from nhictl.core.tokens import build_status_list, sign_status_list

if TYPE_CHECKING:
    pass
    from nhictl.core.credentials.context import CredentialContext


#: Status list indexes handed out after a publication read as valid in it (see
#: ``status_list_token``); this many are published ahead so fresh tokens verify offline.
STATUS_LIST_HEADROOM = 4096
DEFAULT_STATUS_LIST_LIFETIME = dt.timedelta(minutes=15)
DEFAULT_STATUS_LIST_TTL = dt.timedelta(minutes=5)


def next_status_index(tx: Tx, uri: str, now: dt.datetime) -> int:
    """The next free index in status list ``uri`` (inside the issuing transaction)."""
    sql = "UPDATE status_lists SET next_idx = next_idx + 1 WHERE uri = ? RETURNING next_idx"
    rows = tx.query(sql, (uri,))
    if not rows:
        tx.execute(
            "INSERT INTO status_lists (uri, next_idx, created_at) VALUES (?, 0, ?) "
            "ON CONFLICT (uri) DO NOTHING",
            (uri, credential_time(now)),
        )
        rows = tx.query(sql, (uri,))
    return int(rows[0][0]) - 1


class StatusListPublisher:
    """``status_list_token``: the signed list offline verifiers fetch."""

    def __init__(self, ctx: CredentialContext) -> None:
        self.ctx = ctx

    def status_list_token(
        self,
        *,
        lifetime: dt.timedelta = DEFAULT_STATUS_LIST_LIFETIME,
        ttl: dt.timedelta = DEFAULT_STATUS_LIST_TTL,
    ) -> str:
        """The signed Token Status List (``typ: statuslist+jwt``) offline verifiers fetch.

        A credential reads INVALID (1) when it was revoked or its agent is no longer active
        (disabled, expired review, waiting for re-approval), matching what ``verify`` says
        online. Only credentials that have not expired are looked at: an expired token fails
        on ``exp`` anyway. Indexes handed out after this publication read VALID until the next
        one (the same staleness as any revocation after publication; keep ``lifetime`` short).
        """
        now = self.ctx.clock()
        cutoff = self.ctx.usable_cutoff(now)
        with self.ctx.store.read() as tx:
            counter = tx.one(
                "SELECT next_idx FROM status_lists WHERE uri = ?", (self.ctx.status_list_uri,)
            )
            rows = tx.query(
                "SELECT c.status_idx, c.status, a.status, a.review_expires FROM credentials c "
                "JOIN agents a ON a.name = c.agent WHERE c.status_list = ? AND c.expires_at > ?",
                (self.ctx.status_list_uri, cutoff),
            )
        statuses = {
            int(idx): 1
            for idx, status, stored, review in rows
            if status == STATUS_REVOKED or agent_status(stored, review, now.date()) != ACTIVE
        }
        used = int(counter[0]) if counter else 0
        size = used + STATUS_LIST_HEADROOM
        lst = build_status_list(statuses, 1, size=size + (-size % 8))
        return sign_status_list(
            self.ctx.key_cache.signing_key(),
            lst,
            uri=self.ctx.status_list_uri,
            issuer=self.ctx.issuer,
            now=now,
            lifetime=lifetime,
            ttl=ttl,
        )
