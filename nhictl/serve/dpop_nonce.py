"""RFC 9449 section 8: nonces the token endpoint hands out for DPoP proofs (setting
``dpop_nonce``), so a proof made in advance, before the nonce existed, is refused.

A nonce is a time window and its MAC: ``base64url(window || HMAC-SHA256(secret, window)[:16])``
with a window of ``WINDOW_SECONDS``. One is accepted during its own window and the next, so it
lives one to two windows. Nothing is stored: every worker and every replica that shares the
registry key accepts the others' nonces, because the MAC key is derived from the current
signing key (HKDF-SHA256 with a label of its own, never used for anything else). After a key
rotation the old nonces are refused and a client retries once with the new one.
"""

from __future__ import annotations

import hashlib
import hmac
import struct

from cryptography.hazmat.primitives import hashes, serialization
from cryptography.hazmat.primitives.kdf.hkdf import HKDF

from nhictl.core.jose import b64url_decode, b64url_encode
from nhictl.core.keys import PrivateKey

WINDOW_SECONDS = 60
#: RFC 9449 section 8: the error that tells the client to retry with the ``DPoP-Nonce`` header's
#: value.
USE_DPOP_NONCE = "use_dpop_nonce"
_MAC_BYTES = 16
_LABEL = b"nhictl dpop nonce v1"


def nonce_secret(key: PrivateKey) -> bytes:
    """The MAC key for nonces, derived from the registry's signing key."""
    material = key.private_bytes(
        serialization.Encoding.DER,
        serialization.PrivateFormat.PKCS8,
        serialization.NoEncryption(),
    )
    return HKDF(algorithm=hashes.SHA256(), length=32, salt=None, info=_LABEL).derive(material)


def _mac(secret: bytes, window: int) -> bytes:
    return hmac.new(secret, struct.pack(">Q", window), hashlib.sha256).digest()[:_MAC_BYTES]


def issue_nonce(secret: bytes, now: float) -> str:
    """A nonce for the window ``now`` falls in."""
    window = int(now // WINDOW_SECONDS)
    return b64url_encode(struct.pack(">Q", window) + _mac(secret, window))


def nonce_accepted(secret: bytes, nonce: object, now: float) -> bool:
    """Is ``nonce`` one this service handed out in the current or the previous window?"""
    if not isinstance(nonce, str) or len(nonce) > 64:
        return False
    try:
        raw = b64url_decode(nonce)
    except ValueError:
        return False
    if len(raw) != 8 + _MAC_BYTES:
        return False
    (window,) = struct.unpack(">Q", raw[:8])
    current = int(now // WINDOW_SECONDS)
    if window not in (current, current - 1):
        return False
    return hmac.compare_digest(raw[8:], _mac(secret, window))
