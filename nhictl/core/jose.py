"""Strict JOSE plumbing shared by ``keys``, ``identity`` and ``tokens``.

Why our own layer on top of PyJWT: PyJWT verifies signatures well, but it accepts duplicate JSON
keys, decodes base64 leniently, ignores ``typ`` and lets the caller pass any key for any ``alg``.
RFC 8725 asks for all of that to be pinned, so every token is pre-parsed here (strict base64url,
strict UTF-8, no duplicate keys), its header is screened (alg allow-list, no ``jku``/``x5u``/
``x5c``/``jwk``/``crit``), the key is chosen only from a pinned ``KeySet`` by ``kid`` and bound to
the ``alg`` by key type, and only then does PyJWT's algorithm object for that single ``alg`` check
the signature over the segments we decoded (PyJWS would re-parse the whole token a second time,
which cost a third of the verification time).

Error messages never contain the token, a claim value that could be secret, or key material.
"""

from __future__ import annotations

import base64
import binascii
import hashlib
import math
import re
import threading
from collections.abc import Iterable, Mapping
from dataclasses import dataclass, field
from datetime import UTC, datetime
from typing import Any

import jwt
from cryptography.hazmat.primitives.asymmetric import ec, ed448, ed25519, rsa

from nhictl.core import strictjson
from nhictl.core.errors import InputError, VerdictError
from nhictl.core.redact import quote

PublicKey = (
    rsa.RSAPublicKey | ec.EllipticCurvePublicKey | ed25519.Ed25519PublicKey | ed448.Ed448PublicKey
)

#: Asymmetric algorithms only. ``none`` and HS* can never appear here (RFC 8725 §3.1, §3.2).
ALLOWED_ALGS: frozenset[str] = frozenset(
    {"RS256", "RS384", "RS512", "ES256", "ES384", "ES512", "PS256", "PS384", "PS512", "EdDSA"}
)

#: Headers that would let the token choose its own key or extensions; always refused.
FORBIDDEN_HEADERS: frozenset[str] = frozenset({"jku", "x5u", "x5c", "jwk", "crit"})

#: A JWT larger than this is refused before any parsing (bounds memory and JSON nesting).
MAX_TOKEN_BYTES = 16 * 1024

_EC_CURVES: dict[str, tuple[type[ec.EllipticCurve], int, str]] = {
    # crv -> (curve class, coordinate length in bytes, the one alg allowed with it)
    "P-256": (ec.SECP256R1, 32, "ES256"),
    "P-384": (ec.SECP384R1, 48, "ES384"),
    "P-521": (ec.SECP521R1, 66, "ES512"),
}
_RSA_ALGS = frozenset({"RS256", "RS384", "RS512", "PS256", "PS384", "PS512"})
_PRIVATE_JWK_MEMBERS = frozenset({"d", "p", "q", "dp", "dq", "qi", "oth", "k"})
#: Year 10000: a datetime (messages, stored timestamps) cannot hold a later NumericDate.
_MAX_NUMERIC_DATE = 253402300800
_B64URL_RE = re.compile(r"[A-Za-z0-9_-]*")
_B64URL_VALUE = {
    c: i for i, c in enumerate("ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789-_")
}
#: Length mod 4 -> the low bits of the last character that encode no data (2: 4 bits, 3: 2).
_SPARE_BITS = {0: 0, 2: 0b1111, 3: 0b11}
#: PyJWT's algorithm objects, one per allowed alg (they carry no state).
_ALGORITHMS: dict[str, Any] = {alg: jwt.get_algorithm_by_name(alg) for alg in ALLOWED_ALGS}


class JoseError(VerdictError):
    """A token was refused. ``reason`` is a stable machine-readable code for output and audit."""

    def __init__(self, reason: str, message: str, *, hint: str | None = None) -> None:
        super().__init__(message, hint=hint)
        self.reason = reason


# --------------------------------------------------------------------------- encoding helpers


def b64url_encode(data: bytes) -> str:
    return base64.urlsafe_b64encode(data).rstrip(b"=").decode("ascii")


def b64url_decode(text: str) -> bytes:
    """Strict base64url without padding; raises ValueError on anything else.

    Canonical only: the bits the last character carries beyond the data must be zero, so a
    token has exactly one encoding (a changed character is a changed token, RFC 4648 §3.5).
    """
    if not _B64URL_RE.fullmatch(text) or len(text) % 4 == 1:
        raise ValueError("not base64url")
    spare = _SPARE_BITS[len(text) % 4]
    if spare and _B64URL_VALUE[text[-1]] & spare:
        raise ValueError("not canonical base64url")
    try:
        return base64.urlsafe_b64decode(text + "=" * (-len(text) % 4))
    except binascii.Error as exc:  # pragma: no cover - the regex already excludes this
        raise ValueError("not base64url") from exc


def strict_json_loads(raw: bytes | str) -> Any:
    """Parse JSON as UTF-8 with duplicate members and NaN/Infinity refused (ValueError)."""
    return strictjson.loads(raw)


def sha256_hex(token: str) -> str:
    """SHA-256 of the token's bytes. Text decoded with ``surrogateescape`` (a command line, or a
    file that was not ASCII) hashes as the bytes it came from; other lone surrogates as UTF-8
    would encode them, so every str has a digest."""
    try:
        raw = token.encode("utf-8", "surrogateescape")
    except UnicodeEncodeError:
        raw = token.encode("utf-8", "surrogatepass")
    return hashlib.sha256(raw).hexdigest()


def to_epoch(now: datetime | None) -> float:
    """Seconds since the epoch for an aware datetime (naive datetimes are a programming error)."""
    if now is None:
        return datetime.now(UTC).timestamp()
    if now.tzinfo is None:
        raise ValueError("now must be timezone-aware")
    return now.timestamp()


def from_epoch(value: float) -> datetime:
    return datetime.fromtimestamp(value, UTC)


# --------------------------------------------------------------------------- keys


def _b64_int(value: Any, what: str) -> int:
    if not isinstance(value, str):
        raise ValueError(f"{what} must be a base64url string")
    return int.from_bytes(b64url_decode(value), "big")


def _b64_fixed(value: Any, size: int, what: str) -> bytes:
    if not isinstance(value, str):
        raise ValueError(f"{what} must be a base64url string")
    raw = b64url_decode(value)
    if len(raw) != size:
        raise ValueError(f"{what} has the wrong length")
    return raw


@dataclass(frozen=True)
class JwkEntry:
    """One usable public key from a pinned JWKS. ``algs`` is what this key may verify."""

    kid: str | None
    kty: str
    algs: frozenset[str]
    key: PublicKey
    #: The key's public members and the algs it may verify, as text: what names this key in
    #: the memo of verified signatures, whichever key set object it came from.
    material: str


def public_key_from_jwk(jwk: Mapping[str, Any]) -> JwkEntry:
    """Build a public key from a JWK; ValueError for symmetric, private or malformed keys."""
    kty = jwk.get("kty")
    if any(member in jwk for member in _PRIVATE_JWK_MEMBERS):
        # Never echo the member values: they are secrets.
        raise ValueError("contains private or symmetric key material")
    kid = jwk.get("kid")
    if kid is not None and not isinstance(kid, str):
        raise ValueError("kid must be a string")
    key: PublicKey
    if kty == "RSA":
        n = _b64_int(jwk.get("n"), "n")
        e = _b64_int(jwk.get("e"), "e")
        if n.bit_length() < 2048:
            raise ValueError("RSA key shorter than 2048 bits")
        key = rsa.RSAPublicNumbers(e, n).public_key()
        algs = _RSA_ALGS
    elif kty == "EC":
        crv = jwk.get("crv")
        if crv not in _EC_CURVES:
            raise ValueError(f"unsupported EC curve {crv!r}")
        curve_cls, size, alg = _EC_CURVES[crv]
        x = int.from_bytes(_b64_fixed(jwk.get("x"), size, "x"), "big")
        y = int.from_bytes(_b64_fixed(jwk.get("y"), size, "y"), "big")
        # cryptography checks the point is on the curve (invalid-curve defence, RFC 8725 §3.4).
        key = ec.EllipticCurvePublicNumbers(x, y, curve_cls()).public_key()
        algs = frozenset({alg})
    elif kty == "OKP":
        crv = jwk.get("crv")
        if crv == "Ed25519":
            key = ed25519.Ed25519PublicKey.from_public_bytes(_b64_fixed(jwk.get("x"), 32, "x"))
        elif crv == "Ed448":
            key = ed448.Ed448PublicKey.from_public_bytes(_b64_fixed(jwk.get("x"), 57, "x"))
        else:
            raise ValueError(f"unsupported OKP curve {crv!r}")
        algs = frozenset({"EdDSA"})
    else:
        raise ValueError(f"unsupported key type {kty!r}")
    declared = jwk.get("alg")
    if declared is not None:
        # A JWK that names its alg narrows the key to exactly that alg (RFC 8725 §3.1).
        if declared not in algs:
            raise ValueError(f"alg {declared!r} does not fit key type {kty}")
        algs = frozenset({declared})
    members = "|".join(f"{name}={jwk.get(name)}" for name in ("kty", "crv", "x", "y", "n", "e"))
    material = f"{members}|algs={','.join(sorted(algs))}"
    return JwkEntry(kid=kid, kty=str(kty), algs=algs, key=key, material=material)


class KeySet:
    """A pinned set of verification keys (from our JWKS, a trust bundle or an issuer's JWKS)."""

    def __init__(self, entries: Iterable[JwkEntry], *, source: str) -> None:
        self.entries: tuple[JwkEntry, ...] = tuple(entries)
        self.source = source
        self._by_kid: dict[str, JwkEntry] = {}
        for entry in self.entries:
            if entry.kid is not None:
                if entry.kid in self._by_kid:
                    raise InputError(f"{source}: duplicate kid {entry.kid!r} in key set")
                self._by_kid[entry.kid] = entry

    @classmethod
    def from_jwks(
        cls,
        jwks: Any,
        *,
        source: str = "JWKS",
        accepted_uses: frozenset[str | None] = frozenset({None, "sig"}),
    ) -> KeySet:
        """Parse a JWKS object. Keys with another ``use`` are skipped; broken keys are errors."""
        keys = jwks.get("keys") if isinstance(jwks, Mapping) else None
        if not isinstance(keys, list):
            raise InputError(f"{source}: not a JWKS (no 'keys' list)")
        entries: list[JwkEntry] = []
        for index, jwk in enumerate(keys):
            if not isinstance(jwk, Mapping):
                raise InputError(f"{source}: keys[{index}] is not an object")
            if jwk.get("use") not in accepted_uses:
                continue
            try:
                entries.append(public_key_from_jwk(jwk))
            except ValueError as exc:
                raise InputError(f"{source}: keys[{index}]: {exc}") from None
        return cls(entries, source=source)

    def __len__(self) -> int:
        return len(self.entries)

    def select(self, kid: Any, err: type[JoseError]) -> JwkEntry:
        """Pick the key by ``kid``; without a kid only a single-key set is unambiguous."""
        if kid is None:
            if len(self.entries) == 1:
                return self.entries[0]
            raise err(
                "unknown-kid",
                f"token has no 'kid' and the key set ({self.source}) "
                f"holds {len(self.entries)} keys",
            )
        if not isinstance(kid, str):
            raise err("malformed", "token header 'kid' is not a string")
        entry = self._by_kid.get(kid)
        if entry is None:
            # The kid is attacker-controlled: show a bounded, repr-escaped prefix only.
            raise err("unknown-kid", f"token 'kid' {quote(kid)} is not in {self.source}")
        return entry


# --------------------------------------------------------------------------- verification


@dataclass(frozen=True)
class ParsedToken:
    header: dict[str, Any]
    claims: dict[str, Any]
    #: ``base64url(header) "." base64url(payload)`` and the decoded signature.
    signing_input: bytes = field(default=b"", repr=False)
    signature: bytes = field(default=b"", repr=False)


HEADER_CACHE: dict[str, dict[str, Any]] = {}
HEADER_CACHE_SIZE = 64
HEADER_CACHE_MAX_CHARS = 512  # ours are ~100; keeps the cache small whatever tokens arrive


def _parse_header(segment: str) -> Any:
    """Strictly decode a header segment. A signer sends the same few headers over and over, so
    decoded headers are kept by their exact text (bounded; a caller gets its own copy)."""
    header = HEADER_CACHE.get(segment)
    if header is None:
        header = strict_json_loads(b64url_decode(segment))
        if not isinstance(header, dict) or len(segment) > HEADER_CACHE_MAX_CHARS:
            return header
        if len(HEADER_CACHE) >= HEADER_CACHE_SIZE:
            HEADER_CACHE.clear()
        HEADER_CACHE[segment] = header
    return dict(header)


def parse_unverified(token: str, err: type[JoseError]) -> ParsedToken:
    """Split and strictly decode a compact JWS. Nothing here is trusted until verified."""
    if not isinstance(token, str):
        raise err("malformed", "token is not text")
    token = token.strip()
    if not token.isascii():
        # A compact JWS is base64url and dots; anything else (text from undecodable bytes too)
        # is refused here, before any decoding.
        raise err("malformed", "token is not ASCII text (a compact JWS is base64url and dots)")
    if len(token) > MAX_TOKEN_BYTES:
        raise err("malformed", f"token is larger than {MAX_TOKEN_BYTES} bytes")
    parts = token.split(".")
    if len(parts) != 3 or not all(parts):
        raise err("malformed", "token is not a compact JWS (three non-empty base64url parts)")
    try:
        header = _parse_header(parts[0])
        claims = strict_json_loads(b64url_decode(parts[1]))
        signature = b64url_decode(parts[2])
    except UnicodeDecodeError:
        raise err("malformed", "token header or payload is not valid UTF-8") from None
    except ValueError as exc:
        # exc text comes from our own parser/json: a position, or a member name (quoted and
        # redacted by strictjson, since it is the sender's choice).
        raise err("malformed", f"token header or payload is not valid JSON: {exc}") from None
    if not isinstance(header, dict) or not isinstance(claims, dict):
        raise err("malformed", "token header and payload must be JSON objects")
    signing_input = f"{parts[0]}.{parts[1]}".encode("ascii")
    return ParsedToken(header, claims, signing_input, signature)


def verify_signature(
    token: str,
    keys: KeySet,
    err: type[JoseError],
    *,
    allowed_typ: frozenset[str | None],
) -> tuple[ParsedToken, JwkEntry]:
    """Screen the header, select the pinned key, verify the signature. Claims are not checked."""
    parsed = parse_unverified(token, err)
    header = parsed.header
    alg = header.get("alg")
    if not isinstance(alg, str) or alg not in ALLOWED_ALGS:
        raise err(
            "alg-not-allowed",
            f"token algorithm {quote(alg, 16)} is not allowed (asymmetric algorithms only)",
        )
    forbidden = sorted(FORBIDDEN_HEADERS.intersection(header))
    if forbidden:
        raise err(
            "forbidden-header",
            f"token header carries {', '.join(forbidden)}: keys and extensions are never "
            "taken from the token",
        )
    typ = header.get("typ")
    if not (typ is None or isinstance(typ, str)) or typ not in allowed_typ:  # lists: unhashable
        wanted = " or ".join(sorted("absent" if t is None else repr(t) for t in allowed_typ))
        raise err("bad-typ", f"token 'typ' is {quote(typ, 32)}; expected {wanted}")
    entry = keys.select(header.get("kid"), err)
    seen = (entry.material, alg, parsed.signing_input, parsed.signature)
    if seen not in VERIFIED_SIGNATURES:
        check_signature(parsed, entry, alg, err)
        _remember(seen)
    return parsed, entry


#: Signatures this process has verified under a pinned key: (key material, alg, signing input,
#: signature). Verification is a pure function of those four, and the whole of each is the
#: key (no digest that could collide), so a hit is exactly as good as verifying again. Why:
#: the same token is verified over and over (a resource server introspects an agent's token on
#: each of its calls, an agent presents its cached SVID), and an Ed25519 check is ~150 us here.
#: Only pinned key sets land here; DPoP proofs and client assertions (``check_signature``
#: alone) are single-use and would only crowd it. Claims, times and the store are checked on
#: every call as before. Bounded: the oldest entry goes first.
VERIFIED_SIGNATURES: dict[tuple[str, str, bytes, bytes], None] = {}
VERIFIED_SIGNATURES_SIZE = 4096
_VERIFIED_LOCK = threading.Lock()


def _remember(seen: tuple[str, str, bytes, bytes]) -> None:
    with _VERIFIED_LOCK:
        if len(VERIFIED_SIGNATURES) >= VERIFIED_SIGNATURES_SIZE:
            del VERIFIED_SIGNATURES[next(iter(VERIFIED_SIGNATURES))]
        VERIFIED_SIGNATURES[seen] = None


def check_signature(parsed: ParsedToken, entry: JwkEntry, alg: str, err: type[JoseError]) -> None:
    """``parsed``'s signature under ``entry`` with ``alg`` (one of ``ALLOWED_ALGS``)."""
    if alg not in entry.algs:
        raise err(
            "alg-key-mismatch",
            f"token algorithm {alg} does not fit the {entry.kty} key {entry.kid!r}",
        )
    try:
        if isinstance(entry.key, ed25519.Ed25519PublicKey) and sodium_ready():
            ok = sodium_verify(entry.key, parsed.signing_input, parsed.signature)
        else:
            ok = _ALGORITHMS[alg].verify(parsed.signing_input, entry.key, parsed.signature)
    except (ValueError, TypeError, jwt.PyJWTError):  # e.g. an ES256 signature of the wrong size
        ok = False
    if not ok:
        raise err("bad-signature", "token signature does not verify")


#: Ed25519 checks go to libsodium (PyNaCl) once this process has made this many: a check there
#: takes ~60 us against ~120-170 us through OpenSSL here, but importing it costs ~21 ms, more
#: than a one-shot command's few checks would save. A service or a pipeline that verifies
#: many tokens switches early. Both follow RFC 8032; libsodium also refuses small-order keys
#: and non-canonical point encodings, which no honest signer produces.
SODIUM_AFTER = 64
_ed25519_checks = 0


def sodium_ready() -> bool:
    """Count one Ed25519 check; has this process made enough to be worth libsodium?"""
    global _ed25519_checks
    _ed25519_checks += 1  # a race between threads only moves the switch by a check or two
    return _ed25519_checks > SODIUM_AFTER


def sodium_verify(key: ed25519.Ed25519PublicKey, message: bytes, signature: bytes) -> bool:
    """Verify an Ed25519 signature with libsodium (``crypto_sign_open``)."""
    from nacl.exceptions import BadSignatureError
    from nacl.signing import VerifyKey

    try:
        VerifyKey(key.public_bytes_raw()).verify(message, signature)
    except BadSignatureError:
        return False
    return True


def _numeric(claims: Mapping[str, Any], name: str, err: type[JoseError]) -> float | None:
    value = claims.get(name)
    if value is None:
        return None
    if (
        isinstance(value, bool)
        or not isinstance(value, int | float)
        or not math.isfinite(value)
        or not 0 <= value < _MAX_NUMERIC_DATE
    ):
        raise err("malformed", f"claim '{name}' is not a NumericDate")
    return float(value)


def check_times(
    claims: Mapping[str, Any],
    now: float,
    leeway: float,
    err: type[JoseError],
    *,
    require_iat: bool = False,
) -> float:
    """``exp`` required and not past; ``nbf``/``iat`` not in the future. Returns ``exp``."""
    exp = _numeric(claims, "exp", err)
    if exp is None:
        raise err("missing-claim", "token has no 'exp' claim")
    if now >= exp + leeway:
        raise err("expired", f"token expired at {from_epoch(exp).isoformat()}")
    nbf = _numeric(claims, "nbf", err)
    if nbf is not None and nbf > now + leeway:
        raise err("not-yet-valid", f"token is not valid before {from_epoch(nbf).isoformat()}")
    iat = _numeric(claims, "iat", err)
    if iat is None and require_iat:
        raise err("missing-claim", "token has no 'iat' claim")
    if iat is not None and iat > now + leeway:
        when = from_epoch(iat).isoformat()
        raise err("issued-in-future", f"token 'iat' {when} is in the future")
    return exp


def check_audience(claims: Mapping[str, Any], audience: str | None, err: type[JoseError]) -> None:
    """``aud`` is a string or a list of strings that includes ``audience`` (with ``None``:
    any audience, the claim only has to be well-formed)."""
    aud = claims.get("aud")
    if isinstance(aud, str):
        auds = [aud]
    elif isinstance(aud, list) and all(isinstance(a, str) for a in aud):
        auds = aud
    else:
        raise err("wrong-audience", "token has no valid 'aud' claim")
    if audience is not None and audience not in auds:
        raise err("wrong-audience", f"token audience does not include {audience!r}")
