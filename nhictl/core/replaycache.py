"""Things accepted once, in the shared store: client assertions (RFC 7523 section 3) and
DPoP proofs (RFC 9449 section 11.1).

One row per accepted assertion or proof until it expires: replicas sharing a store share the
table, so one replayed against another replica is refused too. The cost is one indexed insert
in a write transaction each, plus a periodic delete of expired rows.
"""

from __future__ import annotations

import datetime as dt
import itertools

from nhictl.core.store.base import Store

_calls = itertools.count()
_PURGE_EVERY = 64


def _ts(moment: dt.datetime) -> str:
    return moment.astimezone(dt.UTC).strftime("%Y-%m-%dT%H:%M:%SZ")


def replay_key(*, issuer: str | None, jti: str | None, token_sha256: str) -> str:
    """By ``jti`` (scoped to its issuer) when there is one, else by the token's hash."""
    if jti:
        return f"jti:{issuer or ''}:{jti}"[:400]
    return f"sha256:{token_sha256}"


def accept_once(store: Store, key: str, expires_at: dt.datetime, now: dt.datetime) -> bool:
    """True the first time ``key`` is seen before it expires; False for a replay."""
    with store.write() as tx:
        if next(_calls) % _PURGE_EVERY == 0:
            tx.execute("DELETE FROM assertion_replay WHERE expires_at < ?", (_ts(now),))
        row = tx.one("SELECT expires_at FROM assertion_replay WHERE key = ?", (key,))
        if row is not None and str(row[0]) >= _ts(now):
            return False
        tx.execute("DELETE FROM assertion_replay WHERE key = ?", (key,))
        tx.execute(
            "INSERT INTO assertion_replay (key, expires_at, seen_at) VALUES (?, ?, ?)",
            (key, _ts(expires_at), _ts(now)),
        )
    return True
