"""RFC 9449 DPoP: proofs of possession that bind an access token to the agent's key.

A proof is a JWT the client signs with its own key and sends in the ``DPoP`` header: header
``typ: dpop+jwt``, an asymmetric ``alg``, and the public key in ``jwk``; claims ``jti``, ``htm``
(HTTP method), ``htu`` (URL without query or fragment), ``iat``, and ``ath`` (the hash of the
access token) when it accompanies one. ``verify_proof`` makes every check of RFC 9449 section
4.3 (the server nonce of section 8 through the caller's ``nonce_ok``) and returns the key's
RFC 7638 thumbprint: a token minted for that thumbprint carries ``cnf.jkt`` and is useless
without a fresh proof from the same key.
"""

from __future__ import annotations

import datetime as dt
import hashlib
import secrets
from collections.abc import Callable, Mapping
from dataclasses import dataclass
from typing import Any
from urllib.parse import urlsplit, urlunsplit

import jwt

from nhictl.core.errors import InputError
from nhictl.core.jose import (
    ALLOWED_ALGS,
    JoseError,
    b64url_encode,
    check_signature,
    from_epoch,
    parse_unverified,
    public_key_from_jwk,
    to_epoch,
)
from nhictl.core.keys import PrivateKey, jwk_thumbprint, public_jwk
from nhictl.core.replaycache import accept_once
from nhictl.core.store.base import Store

DPOP_TYP = "dpop+jwt"
#: What a proof may be signed with: asymmetric only (RFC 9449 section 4.3, check 5).
DPOP_ALGS: tuple[str, ...] = tuple(sorted(ALLOWED_ALGS))
#: How old (or, within the leeway, how far ahead) a proof's ``iat`` may be.
DEFAULT_MAX_AGE_SECONDS = 300
MAX_PROOF_BYTES = 8 * 1024


class DpopError(JoseError):
    """A proof was refused (``reason`` a stable code: ``dpop-*``)."""


@dataclass(frozen=True)
class DpopPresentation:
    """A proof as a request presented it: the proof and the request it must describe."""

    proof: str
    htm: str
    htu: str


@dataclass(frozen=True)
class VerifiedProof:
    jkt: str
    jti: str
    iat: float


def normalize_htu(url: str) -> str:
    """``url`` as ``htu`` compares it: no query, no fragment (RFC 9449 section 4.3, check 9),
    scheme and host lower-case (RFC 3986 section 6.2.2.1)."""
    parts = urlsplit(url.strip())
    return urlunsplit((parts.scheme.lower(), parts.netloc.lower(), parts.path or "/", "", ""))


def access_token_hash(token: str) -> str:
    """``ath``: base64url(SHA-256(the access token's ASCII))."""
    return b64url_encode(hashlib.sha256(token.strip().encode("ascii", "replace")).digest())


def _fail(reason: str, message: str) -> DpopError:
    return DpopError(f"dpop-{reason}", f"DPoP proof {message}")


def _parse(proof: str) -> tuple[Any, dict[str, Any], str]:
    """(parsed JWS, its claims, the key thumbprint) after the header and signature checks."""
    if len(proof) > MAX_PROOF_BYTES:
        raise _fail("malformed", f"is larger than {MAX_PROOF_BYTES} bytes")
    try:
        parsed = parse_unverified(proof, DpopError)
    except DpopError as exc:
        raise _fail("malformed", f"is not a JWS: {exc.message}") from None
    header = parsed.header
    if header.get("typ") != DPOP_TYP:
        raise _fail("bad-typ", f"'typ' must be {DPOP_TYP!r}")
    alg = header.get("alg")
    if not isinstance(alg, str) or alg not in ALLOWED_ALGS:
        raise _fail("alg-not-allowed", "'alg' must be an asymmetric algorithm")
    jwk = header.get("jwk")
    if not isinstance(jwk, Mapping):
        raise _fail("no-jwk", "has no 'jwk' header")
    for extra in ("jku", "x5u", "x5c", "crit"):
        if extra in header:
            raise _fail("forbidden-header", f"header carries {extra!r}")
    try:
        entry = public_key_from_jwk(jwk)  # refuses private and symmetric keys
        jkt = jwk_thumbprint(dict(jwk))
    except (ValueError, InputError) as exc:
        raise _fail("bad-jwk", f"'jwk' is unusable: {exc}") from None
    try:
        check_signature(parsed, entry, alg, DpopError)
    except DpopError as exc:
        raise _fail("bad-signature", f"signature: {exc.message}") from None
    return parsed, parsed.claims, jkt


def verify_proof(
    proof: str,
    *,
    htm: str,
    htu: str,
    now: dt.datetime,
    store: Store | None,
    access_token: str | None = None,
    expected_jkt: str | None = None,
    max_age_seconds: float = DEFAULT_MAX_AGE_SECONDS,
    leeway: float = 60,
    nonce_ok: Callable[[object], bool] | None = None,
) -> VerifiedProof:
    """Check one proof against the request it came with; raise ``DpopError`` otherwise.

    ``store`` records the proof's ``jti`` (per key) until the proof is too old to be accepted
    anyway, so a replayed proof is refused on every replica sharing the store; ``None`` skips
    only that check (for a caller that keeps no state). ``expected_jkt`` (a bound token's
    ``cnf.jkt``) is checked before the proof is recorded: a refused proof leaves no row.
    ``nonce_ok``, when given, judges the proof's ``nonce`` claim (RFC 9449 section 8: a value
    the server handed out); a proof it refuses fails with reason ``dpop-nonce``, unrecorded.
    """
    _, claims, jkt = _parse(proof.strip())
    jti = claims.get("jti")
    if not isinstance(jti, str) or not 8 <= len(jti) <= 256:
        raise _fail("malformed", "needs a 'jti' of 8 to 256 characters")
    if claims.get("htm") != htm.upper():
        raise _fail("htm-mismatch", f"is for method {str(claims.get('htm'))[:16]!r}, not {htm}")
    claimed = claims.get("htu")
    if not isinstance(claimed, str) or normalize_htu(claimed) != normalize_htu(htu):
        raise _fail("htu-mismatch", f"is for another URL than {normalize_htu(htu)}")
    iat = claims.get("iat")
    if isinstance(iat, bool) or not isinstance(iat, int | float):
        raise _fail("malformed", "needs a numeric 'iat'")
    moment = to_epoch(now)
    if iat > moment + leeway:
        raise _fail("not-yet-valid", f"'iat' {from_epoch(iat).isoformat()} is in the future")
    if iat < moment - max_age_seconds - leeway:
        raise _fail("expired", f"is older than {int(max_age_seconds)} s")
    if access_token is not None and claims.get("ath") != access_token_hash(access_token):
        raise _fail("ath-mismatch", "'ath' is not the hash of the presented access token")
    if expected_jkt is not None and jkt != expected_jkt:
        raise _fail("key-mismatch", "is signed by another key than the token is bound to")
    if nonce_ok is not None and not nonce_ok(claims.get("nonce")):
        what = "has no 'nonce'" if "nonce" not in claims else "has a stale or unknown 'nonce'"
        raise _fail("nonce", f"{what}: use the one in the DPoP-Nonce header")
    if store is not None:
        until = from_epoch(float(iat) + max_age_seconds + leeway)
        if not accept_once(store, f"dpop:{jkt}:{jti}"[:400], until, now):
            raise _fail("replayed", "was already used")
    return VerifiedProof(jkt=jkt, jti=jti, iat=float(iat))


def make_proof(
    key: PrivateKey,
    *,
    htm: str,
    htu: str,
    access_token: str | None = None,
    now: dt.datetime | None = None,
    jti: str | None = None,
    nonce: str | None = None,
) -> str:
    """A proof from the client's side (``nhictl.client``, tests): signed by ``key``, with the
    server's ``nonce`` when it asked for one."""
    jwk = public_jwk(key)
    alg = {"EC": "ES256", "OKP": "EdDSA", "RSA": "PS256"}[jwk["kty"]]
    claims: dict[str, Any] = {
        "jti": jti or secrets.token_urlsafe(16),
        "htm": htm.upper(),
        "htu": normalize_htu(htu),
        "iat": int(to_epoch(now)),
    }
    if access_token is not None:
        claims["ath"] = access_token_hash(access_token)
    if nonce is not None:
        claims["nonce"] = nonce
    return jwt.encode(claims, key, algorithm=alg, headers={"typ": DPOP_TYP, "jwk": jwk})


def key_thumbprint(key: PrivateKey) -> str:
    """The ``cnf.jkt`` a token bound to ``key`` carries."""
    return jwk_thumbprint(public_jwk(key))
