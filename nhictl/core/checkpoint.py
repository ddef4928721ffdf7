"""Signed checkpoints of the audit chain: anchoring it outside the store.

The hash chain shows an edit only to someone who did not recompute it: anyone with write access
to the database can rewrite an event and every hash after it, and ``log verify`` passes. A
checkpoint is the chain head (seq, hash) signed with the registry key as a compact JWS
(``typ: nhictl-log-checkpoint+jwt``, RFC 8725 explicit typing). Kept outside the store (in git,
in a WORM bucket), it proves later that nothing at or before that seq changed: the event at seq
must still carry the signed hash, and each hash covers all before it. It says nothing about
events after it: deleting the newest events after the last checkpoint is not detectable.

Payload: ``iss`` (the registry's issuer), ``iat``, ``seq``, ``hash``, ``event_at`` (the head
event's time) and ``store`` (its location, never a password). No ``exp``: a checkpoint stays
valid evidence for ever, so it verifies against every key the registry ever had (retired
ones included), not only the JWKS window for tokens.
"""

from __future__ import annotations

import hashlib
import math
import re
from collections.abc import Callable
from dataclasses import dataclass
from datetime import datetime
from pathlib import Path
from typing import Any

import jwt

from nhictl.core import auditlog
from nhictl.core.errors import InputError
from nhictl.core.inputfile import display_name, read_input
from nhictl.core.jose import JoseError, KeySet, to_epoch, verify_signature
from nhictl.core.keys import KeyStore
from nhictl.core.store.base import Store

CHECKPOINT_TYP = "nhictl-log-checkpoint+jwt"
CHECKPOINT_ACTION = "log.checkpoint"
MAX_CHECKPOINT_BYTES = 16 * 1024
_HEX64 = re.compile(r"[0-9a-f]{64}", re.ASCII)


class CheckpointError(JoseError):
    """A checkpoint file was refused (becomes an input error: the file, not the log, is bad)."""


@dataclass(frozen=True)
class Checkpoint:
    seq: int
    hash: str
    event_at: str
    issued_at: int
    store: str
    issuer: str
    kid: str

    @property
    def anchor(self) -> auditlog.Anchor:
        return auditlog.Anchor(self.seq, self.hash)

    def to_dict(self) -> dict[str, Any]:
        return {
            "seq": self.seq,
            "hash": self.hash,
            "event_at": self.event_at,
            "iat": self.issued_at,
            "store": self.store,
            "iss": self.issuer,
            "kid": self.kid,
        }


def create(
    store: Store,
    keys: KeyStore,
    *,
    issuer: str,
    deliver: Callable[[str], None],
    now: datetime | None = None,
) -> Checkpoint:
    """Sign the current head and record a ``log.checkpoint`` event, in one write transaction.

    ``deliver`` writes the token (to a file or stdout) before the transaction commits: if it
    fails, no event claims a checkpoint that nobody holds.
    """
    with store.write() as tx:  # the key too is read under the write lock (see rotate_key)
        signing = keys.current()
        head = auditlog.head(tx)
        if head is None:
            raise InputError("the audit log is empty: nothing to checkpoint")
        checkpoint = Checkpoint(
            seq=head.seq,
            hash=head.hash,
            event_at=head.at,
            issued_at=int(to_epoch(now)),
            store=store.location,
            issuer=issuer,
            kid=signing.kid,
        )
        claims = {k: v for k, v in checkpoint.to_dict().items() if k != "kid"}
        token = jwt.encode(
            claims,
            signing.private_key,
            algorithm=signing.alg,
            headers={"typ": CHECKPOINT_TYP, "kid": signing.kid},
        )
        auditlog.append(
            tx,
            action=CHECKPOINT_ACTION,
            subject="audit-log",
            outcome="signed",
            details={
                "seq": checkpoint.seq,
                "hash": checkpoint.hash,
                "kid": signing.kid,
                # Lets an auditor match the file they hold to this event.
                "checkpoint_sha256": hashlib.sha256(token.encode("ascii")).hexdigest(),
            },
            now=now,
        )
        deliver(token)
    return checkpoint


def registry_keys(keys: KeyStore) -> KeySet:
    """Every key the registry ever had, retired ones included: checkpoints never expire."""
    jwks = {"keys": [{**i.jwk, "kid": i.kid, "alg": i.alg, "use": "sig"} for i in keys.list()]}
    return KeySet.from_jwks(jwks, source="this registry's keys")


def _int(claims: dict[str, Any], name: str) -> int:
    value = claims.get(name)
    if isinstance(value, bool) or not isinstance(value, int | float) or not math.isfinite(value):
        raise CheckpointError("malformed", f"claim '{name}' is missing or not a number")
    if value != int(value) or value < (1 if name == "seq" else 0):
        raise CheckpointError("malformed", f"claim '{name}' is not a positive integer")
    return int(value)


def _text(claims: dict[str, Any], name: str) -> str:
    value = claims.get(name)
    if not isinstance(value, str) or not value:
        raise CheckpointError("malformed", f"claim '{name}' is missing or not text")
    return value


def parse(token: str, keys: KeySet) -> Checkpoint:
    """Verify a checkpoint token's signature and shape; raises ``CheckpointError``."""
    parsed, entry = verify_signature(
        token, keys, CheckpointError, allowed_typ=frozenset({CHECKPOINT_TYP})
    )
    claims = parsed.claims
    digest = _text(claims, "hash")
    if not _HEX64.fullmatch(digest):
        raise CheckpointError("malformed", "claim 'hash' is not a SHA-256 hex digest")
    return Checkpoint(
        seq=_int(claims, "seq"),
        hash=digest,
        event_at=_text(claims, "event_at"),
        issued_at=_int(claims, "iat"),
        store=_text(claims, "store"),
        issuer=_text(claims, "iss"),
        kid=str(entry.kid),
    )


_REFUSALS = {
    "unknown-kid": "it is signed by a key this registry never had (another registry's?)",
    "bad-signature": "its signature does not verify (forged or altered)",
    "bad-typ": f"it is not a log checkpoint (typ must be {CHECKPOINT_TYP!r})",
    "alg-not-allowed": "its algorithm is not allowed (asymmetric algorithms only)",
}


def load(path: str | Path, keys: KeySet) -> Checkpoint:
    """A checkpoint file (``-``: stdin), verified. Any refusal is an ``InputError`` naming the
    file and the reason: a bad file is bad input, not a verdict on the log."""
    name = display_name(path)
    raw = read_input(path, max_bytes=MAX_CHECKPOINT_BYTES, what="checkpoint file")
    try:
        token = raw.decode("ascii").strip()
    except UnicodeDecodeError:
        raise InputError(f"{name}: not a checkpoint (not ASCII text)") from None
    try:
        return parse(token, keys)
    except JoseError as exc:
        reason = _REFUSALS.get(exc.reason, exc.message)
        raise InputError(
            f"{name}: checkpoint refused: {reason}",
            hint="a checkpoint is the file `nhictl log checkpoint -o FILE` wrote",
        ) from None
