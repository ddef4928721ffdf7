"""The Token Status List: status indexes handed to new credentials, and the signed list.

Offline verifiers fetch the list (``typ: statuslist+jwt``) and check it with only the JWKS.
"""

from __future__ import annotations

import datetime as dt
import threading
from typing import TYPE_CHECKING

from nhictl.core.registry import ACTIVE, agent_status
from nhictl.core.revocation import STATUS_REVOKED, credential_time
from nhictl.core.store.base import Tx
from nhictl.core.tokens import build_status_list, sign_status_list

if TYPE_CHECKING:
    from nhictl.core.credentials.context import CredentialContext


#: Status list indexes handed out after a publication read as valid in it (see
#: ``status_list_token``); this many are published ahead so fresh tokens verify offline.
STATUS_LIST_HEADROOM = 4096
DEFAULT_STATUS_LIST_LIFETIME = dt.timedelta(minutes=15)
DEFAULT_STATUS_LIST_TTL = dt.timedelta(minutes=5)


#: The most indexes an issuing process reserves ahead of need (unused ones are gaps when it
#: exits: a bit each in the published list, which compresses to nothing).
MAX_RESERVED_INDEXES = 64
_RESERVE_SQL = "UPDATE status_lists SET next_idx = next_idx + ? WHERE uri = ? RETURNING next_idx"


def reserve_status_indexes(tx: Tx, uri: str, count: int, now: dt.datetime) -> int:
    """Reserve ``count`` consecutive indexes in status list ``uri`` and return the first
    (inside the caller's write transaction: a rollback gives them back)."""
    rows = tx.query(_RESERVE_SQL, (count, uri))
    if not rows:
        tx.execute(
            "INSERT INTO status_lists (uri, next_idx, created_at) VALUES (?, 0, ?) "
            "ON CONFLICT (uri) DO NOTHING",
            (uri, credential_time(now)),
        )
        rows = tx.query(_RESERVE_SQL, (count, uri))
    return int(rows[0][0]) - count


class StatusIndexPool:
    """Status indexes this process has reserved ahead, so that an issue can sign its token
    (which carries its index) before it takes the write lock, and hold the lock only for the
    inserts and the commit.

    Reservations ride in issuing transactions and are only handed out once those committed.
    Each index is handed out once, used or not: a token signed in a transaction that then wrote
    nothing is dropped, and its index stays a gap. Reservations grow with use (1, 2, 4, ... up
    to ``MAX_RESERVED_INDEXES``), so a one-shot CLI process leaves at most one gap.
    """

    def __init__(self, uri: str) -> None:
        self.uri = uri
        self._lock = threading.Lock()
        self._free: list[range] = []  # reserved blocks, oldest first
        self._handed_out = 0

    def take(self) -> int | None:
        """A reserved index, or ``None`` when none is left."""
        with self._lock:
            while self._free and not self._free[0]:
                self._free.pop(0)
            if not self._free:
                return None
            block = self._free[0]
            self._free[0] = block[1:]
            self._handed_out += 1
            return block[0]

    def index_in(self, tx: Tx, now: dt.datetime) -> int:
        """An index for a credential ``tx`` stores under the write lock: a reserved one, else
        one reserved now together with the next block."""
        index = self.take()
        if index is not None:
            self.refill(tx)
            return index
        extra = self._block_size()
        first = reserve_status_indexes(tx, self.uri, 1 + extra, now)
        tx.after_commit(lambda: self._add(first + 1, first + 1 + extra))
        with self._lock:
            self._handed_out += 1
        return first

    def refill(self, tx: Tx) -> None:
        """When none is left, reserve the next block in ``tx`` (which holds the write lock),
        deferred: it rides with the commit."""
        with self._lock:
            if any(self._free):
                return
        size = self._block_size()
        reserved = tx.defer(_RESERVE_SQL, (size, self.uri))

        def credit() -> None:
            if reserved.rows:
                end = int(reserved.rows[0][0])
                self._add(end - size, end)

        tx.after_commit(credit)

    def _block_size(self) -> int:
        with self._lock:
            return min(MAX_RESERVED_INDEXES, max(1, self._handed_out))

    def _add(self, start: int, end: int) -> None:
        with self._lock:
            self._free.append(range(start, end))


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
