"""JIT access tokens (RFC 9068) and the Token Status List, as pure functions over keys.

Access token shape (header ``typ: at+jwt``, ``kid`` = our signing key)::

    iss, aud, exp, iat, nbf, jti, client_id, scope   RFC 9068 (scope space-separated)
    sub                                              the agent's workload identity; with
                                                     on-behalf-of it is the *user* instead and
    act   {"sub": <agent workload identity>}          names the agent as the current actor
                                                     (RFC 8693 §4.1: sub = principal, act = actor)
    txn                                              the task id (OAuth transaction tokens draft)
    tctx  {"intent", "data_sensitivity",             the task context the policy decided on
           "environment", "tools"}
    status {"status_list": {"idx": N, "uri": U}}     draft-ietf-oauth-status-list

``agent_subject(claims)`` returns the agent identity in both cases.

Verification follows RFC 8725: asymmetric alg allow-list bound to the key type, ``typ`` must be
``at+jwt``, ``kid`` resolved only in our JWKS (``jku``/``x5u``/``x5c``/``jwk``/``crit`` refused),
strict JSON (no duplicate members), ``iss``/``aud``/``exp``/``nbf``/``iat`` checked with a small
leeway. Revocation is online (the store, done by the caller) or offline via the status list.
"""

from __future__ import annotations

import json
import secrets
import zlib
from collections.abc import Mapping, Sequence
from dataclasses import dataclass
from datetime import datetime, timedelta
from typing import Any, NamedTuple

import jwt

from nhictl.core.errors import InputError
from nhictl.core.jose import (
    JoseError,
    KeySet,
    b64url_decode,
    b64url_encode,
    check_audience,
    check_times,
    sha256_hex,
    strict_json_loads,
    to_epoch,
    verify_signature,
)
from nhictl.core.keys import SigningKey
from nhictl.core.redact import looks_like_secret

ACCESS_TOKEN_TYP = "at+jwt"
STATUS_LIST_TYP = "statuslist+jwt"
#: RFC 9068 §4: "at+jwt" or the full media type "application/at+jwt".
_ACCESS_TYPS: frozenset[str | None] = frozenset({ACCESS_TOKEN_TYP, "application/at+jwt"})
_STATUS_TYPS: frozenset[str | None] = frozenset({STATUS_LIST_TYP, "application/statuslist+jwt"})
_REQUIRED_CLAIMS = ("iss", "exp", "aud", "sub", "client_id", "iat", "jti")

# Status values from the Token Status List draft.
STATUS_VALID = 0
STATUS_INVALID = 1  # revoked
STATUS_SUSPENDED = 2
_STATUS_REASONS = {STATUS_INVALID: "revoked", STATUS_SUSPENDED: "suspended"}
_STATUS_BITS = (1, 2, 4, 8)
#: Refuse status lists that inflate beyond this (RFC 8725 §3.9 on decompression bombs).
MAX_STATUS_LIST_BYTES = 8 * 1024 * 1024
DEFAULT_LEEWAY_SECONDS = 60.0


class TokenError(JoseError):
    """An access token (or status list) was refused: exit 1. See ``reason``."""


class MintedToken(NamedTuple):
    token: str
    jti: str
    token_sha256: str


def load_jwks(jwks: Mapping[str, Any] | KeySet, *, source: str = "nhictl JWKS") -> KeySet:
    """Parse a JWKS once; pass the ``KeySet`` to the verify functions to skip re-parsing."""
    return jwks if isinstance(jwks, KeySet) else KeySet.from_jwks(jwks, source=source)


def parse_jwks_document(raw: bytes, *, source: str) -> KeySet:
    """A published JWKS file (``nhictl keys jwks``) as a ``KeySet``.

    ``InputError`` naming ``source`` when it is not UTF-8 JSON, not a JWKS, or holds no key.
    """
    try:
        doc = strict_json_loads(raw)
    except UnicodeDecodeError:
        raise InputError(f"{source}: the JWKS is not UTF-8 text") from None
    except ValueError as exc:
        raise InputError(f"{source}: the JWKS is not valid JSON ({exc})") from None
    keys = KeySet.from_jwks(doc, source=source)
    if not len(keys):
        raise InputError(f"{source}: the JWKS holds no signing keys")
    return keys


def parse_status_list_document(raw: bytes, *, source: str) -> str:
    """A published status list file (``nhictl status-list publish``): the compact JWT in it.

    ``InputError`` naming ``source`` when it does not hold one JWT; whether that JWT is a valid
    status list is for ``verify_status_list_token`` to say.
    """
    try:
        text = raw.decode("ascii").strip()
    except UnicodeDecodeError:
        text = ""
    parts = text.split(".")
    if len(parts) != 3 or not all(p and all(c.isalnum() or c in "-_" for c in p) for p in parts):
        raise InputError(
            f"{source}: not a status list token (expected the JWT that "
            "`nhictl status-list publish` writes)"
        )
    return text


# --------------------------------------------------------------------------- minting


def new_jti() -> str:
    """128 random bits, base64url. Never led by ``-``: one in 64 would be, and a jti is typed
    after a command (``nhictl rebind JTI``) where a leading dash reads as an option. Never
    shaped like a secret either (one in ~260,000 starts with "eyJ", a JOSE header's start):
    ``revoke``/``rebind`` refuse such a value unshown, so that credential could not be named."""
    while True:
        jti = secrets.token_urlsafe(16)
        if not jti.startswith("-") and not looks_like_secret(jti):
            return jti


def mint_access_token(
    signing_key: SigningKey,
    *,
    issuer: str,
    subject: str,
    audience: str,
    client_id: str,
    scopes: Sequence[str],
    ttl: timedelta,
    task_id: str,
    intent: str,
    data_sensitivity: str,
    environment: str,
    tools: Sequence[str] = (),
    on_behalf_of: str | None = None,
    status_index: int | None = None,
    status_uri: str | None = None,
    now: datetime | None = None,
    jti: str | None = None,
    cnf_jkt: str | None = None,
) -> MintedToken:
    """Sign an RFC 9068 access token for one task. ``subject`` is the agent's workload identity.

    Inputs are assumed to be policy-approved already; this only refuses malformed values.
    ``cnf_jkt`` binds the token to a DPoP key (RFC 9449 section 6.1).
    """
    if ttl <= timedelta(0):
        raise InputError("ttl must be positive")
    for scope in scopes:
        if scope.split() != [scope]:  # empty, or holds whitespace
            raise InputError(f"invalid scope {scope!r}: scopes are non-empty and have no spaces")
    if (status_index is None) != (status_uri is None):
        raise InputError("status_index and status_uri go together")
    if status_index is not None and status_index < 0:
        raise InputError("status_index must be >= 0")
    iat = int(to_epoch(now))
    jti = jti or new_jti()
    claims: dict[str, Any] = {
        "iss": issuer,
        "sub": on_behalf_of if on_behalf_of is not None else subject,
        "aud": audience,
        "iat": iat,
        "nbf": iat,
        "exp": iat + int(ttl.total_seconds()),
        "jti": jti,
        "client_id": client_id,
        "scope": " ".join(scopes),
        "txn": task_id,
        "tctx": {
            "intent": intent,
            "data_sensitivity": data_sensitivity,
            "environment": environment,
            "tools": list(tools),
        },
    }
    if on_behalf_of is not None:
        claims["act"] = {"sub": subject}
    if status_index is not None:
        claims["status"] = {"status_list": {"idx": status_index, "uri": status_uri}}
    if cnf_jkt is not None:
        claims["cnf"] = {"jkt": cnf_jkt}
    token = sign_compact(signing_key, ACCESS_TOKEN_TYP, claims)
    return MintedToken(token=token, jti=jti, token_sha256=sha256_hex(token))


def sign_compact(signing_key: SigningKey, typ: str, claims: Mapping[str, Any]) -> str:
    """A compact JWS of ``claims`` (built by nhictl, not read from input) with an explicit
    ``typ`` (RFC 8725 section 3.11), signed by ``signing_key``. By hand: PyJWT's ``encode``
    adds ~40% on top of the signature for checks that do not apply to claims we built
    ourselves. PyJWT's algorithm object still signs (it converts ECDSA signatures to the JOSE
    r||s form)."""
    header = _HEADERS.get((signing_key.kid, signing_key.alg, typ))
    if header is None:
        header = b64url_encode(
            json.dumps(
                {"alg": signing_key.alg, "typ": typ, "kid": signing_key.kid},
                separators=(",", ":"),
            ).encode("utf-8")
        )
        _HEADERS[(signing_key.kid, signing_key.alg, typ)] = header
    payload = b64url_encode(_COMPACT(claims).encode("utf-8"))
    signing_input = f"{header}.{payload}"
    algorithm = _ALGORITHMS.get(signing_key.alg)
    if algorithm is None:  # PyJWT builds a fresh table per lookup: do it once per alg
        algorithm = _ALGORITHMS[signing_key.alg] = jwt.get_algorithm_by_name(signing_key.alg)
    signature = algorithm.sign(signing_input.encode("ascii"), signing_key.private_key)
    return f"{signing_input}.{b64url_encode(signature)}"


_HEADERS: dict[tuple[str, str, str], str] = {}
_COMPACT = json.JSONEncoder(separators=(",", ":"), ensure_ascii=False).encode
_ALGORITHMS: dict[str, Any] = {}


# --------------------------------------------------------------------------- verification


def verify_access_token(
    token: str,
    jwks: Mapping[str, Any] | KeySet,
    *,
    issuer: str,
    audience: str | None,
    now: datetime | None = None,
    leeway: float = DEFAULT_LEEWAY_SECONDS,
) -> dict[str, Any]:
    """Verify signature and claims; returns the claims or raises ``TokenError``. ``audience``
    None accepts whatever audience the token names (introspection: the caller gets ``aud``).

    Revocation is not checked here: the caller checks the store (online) or uses
    ``verify_offline`` with a status list.
    """
    keys = load_jwks(jwks)
    parsed, _ = verify_signature(token, keys, TokenError, allowed_typ=_ACCESS_TYPS)
    claims = parsed.claims
    for name in _REQUIRED_CLAIMS:
        if name not in claims:
            raise TokenError("missing-claim", f"token has no '{name}' claim (RFC 9068)")
    check_times(claims, to_epoch(now), leeway, TokenError, require_iat=True)
    if claims["iss"] != issuer:
        raise TokenError("wrong-issuer", f"token issuer is not {issuer!r}")
    check_audience(claims, audience, TokenError)
    for name in ("sub", "client_id", "jti"):
        if not isinstance(claims[name], str) or not claims[name]:
            raise TokenError("malformed", f"claim '{name}' must be a non-empty string")
    if not isinstance(claims.get("scope", ""), str):
        raise TokenError("malformed", "claim 'scope' must be a space-separated string")
    act = claims.get("act")
    if act is not None and not (isinstance(act, dict) and isinstance(act.get("sub"), str)):
        raise TokenError("malformed", "claim 'act' must be an object with a string 'sub'")
    return claims


def agent_subject(claims: Mapping[str, Any]) -> str:
    """The agent's workload identity: ``act.sub`` for delegated tokens, else ``sub``."""
    act = claims.get("act")
    if isinstance(act, Mapping) and isinstance(act.get("sub"), str):
        return str(act["sub"])
    return str(claims["sub"])


def token_scopes(claims: Mapping[str, Any]) -> list[str]:
    scope = claims.get("scope", "")
    return scope.split() if isinstance(scope, str) else []


# --------------------------------------------------------------------------- status list


def build_status_list(
    statuses: Mapping[int, int], bits: int = 1, *, size: int | None = None
) -> dict[str, Any]:
    """The ``status_list`` object: ``{"bits", "lst"}``, lst = base64url(zlib(DEFLATE(bytes))).

    Index i lives at bit offset i*bits, least significant bit first, as in the draft.
    ``size`` (entries) defaults to the highest index + 1; indexes not given are VALID (0).
    """
    if bits not in _STATUS_BITS:
        raise InputError(f"bits must be one of {_STATUS_BITS}")
    top = max(statuses, default=-1) + 1
    size = top if size is None else size
    if size < top:
        raise InputError("size is smaller than the highest index")
    per_byte = 8 // bits
    data = bytearray((size + per_byte - 1) // per_byte or 1)
    for idx, value in statuses.items():
        if idx < 0 or not 0 <= value < (1 << bits):
            raise InputError(f"status {value} at index {idx} does not fit in {bits} bit(s)")
        data[idx // per_byte] |= value << ((idx % per_byte) * bits)
    return {"bits": bits, "lst": b64url_encode(zlib.compress(bytes(data), 9))}


@dataclass(frozen=True)
class StatusList:
    bits: int
    data: bytes
    uri: str | None = None

    def __len__(self) -> int:
        return len(self.data) * 8 // self.bits

    def get(self, idx: int) -> int:
        """Status at ``idx``; IndexError outside the list."""
        if idx < 0 or idx >= len(self):
            raise IndexError(idx)
        per_byte = 8 // self.bits
        shift = (idx % per_byte) * self.bits
        return (self.data[idx // per_byte] >> shift) & ((1 << self.bits) - 1)


def decode_status_list(status_list: Any, *, uri: str | None = None) -> StatusList:
    """Decode a ``status_list`` object with a cap on the inflated size."""
    if not isinstance(status_list, Mapping):
        raise TokenError("status-list-invalid", "status_list is not an object")
    bits, lst = status_list.get("bits"), status_list.get("lst")
    if bits not in _STATUS_BITS or not isinstance(lst, str):
        raise TokenError("status-list-invalid", "status_list needs bits in 1/2/4/8 and a lst")
    try:
        inflater = zlib.decompressobj()
        data = inflater.decompress(b64url_decode(lst), MAX_STATUS_LIST_BYTES)
        if inflater.unconsumed_tail or not inflater.eof:
            raise TokenError(
                "status-list-invalid", "status list is truncated or inflates beyond the cap"
            )
    except (ValueError, zlib.error):
        raise TokenError("status-list-invalid", "status list lst is not base64url zlib") from None
    return StatusList(bits=bits, data=data, uri=uri)


def sign_status_list(
    signing_key: SigningKey,
    status_list: Mapping[str, Any],
    *,
    uri: str,
    issuer: str | None = None,
    now: datetime | None = None,
    lifetime: timedelta = timedelta(hours=1),
    ttl: timedelta = timedelta(minutes=5),
) -> str:
    """A Status List Token (``typ: statuslist+jwt``, ``sub`` = its URI, ``iat``/``exp``/``ttl``).

    ``ttl`` tells verifiers how long they may cache it; ``lifetime`` is when it stops verifying.
    """
    iat = int(to_epoch(now))
    claims: dict[str, Any] = {
        "sub": uri,
        "iat": iat,
        "exp": iat + int(lifetime.total_seconds()),
        "ttl": int(ttl.total_seconds()),
        "status_list": dict(status_list),
    }
    if issuer is not None:
        claims["iss"] = issuer
    return jwt.encode(
        claims,
        signing_key.private_key,
        algorithm=signing_key.alg,
        headers={"typ": STATUS_LIST_TYP, "kid": signing_key.kid},
    )


def verify_status_list_token(
    status_list_jwt: str,
    jwks: Mapping[str, Any] | KeySet,
    *,
    uri: str | None = None,
    issuer: str | None = None,
    now: datetime | None = None,
    leeway: float = DEFAULT_LEEWAY_SECONDS,
) -> StatusList:
    """Verify a Status List Token signed with our keys; ``uri`` (when given) must be its ``sub``."""
    keys = load_jwks(jwks)
    try:
        parsed, _ = verify_signature(status_list_jwt, keys, TokenError, allowed_typ=_STATUS_TYPS)
        claims = parsed.claims
        check_times(claims, to_epoch(now), leeway, TokenError, require_iat=True)
    except TokenError as exc:
        detail = {
            "expired": "the status list has expired (publish a fresh one)",
            "unknown-kid": f"the status list is signed by a key that is not in {keys.source}",
        }.get(exc.reason, "status list token refused")
        raise TokenError("status-list-invalid", f"{detail}: {exc.message}") from None
    sub = claims.get("sub")
    if not isinstance(sub, str) or (uri is not None and sub != uri):
        shown = repr(sub[:200]) if isinstance(sub, str) else "no 'sub'"
        wanted = f"; the token's status list is {uri[:200]!r}" if uri is not None else ""
        raise TokenError("status-list-mismatch", f"the status list given is for {shown}{wanted}")
    if issuer is not None and claims.get("iss", issuer) != issuer:
        raise TokenError("status-list-mismatch", f"status list token issuer is not {issuer!r}")
    return decode_status_list(claims.get("status_list"), uri=sub)


def _status_ref(token_claims: Mapping[str, Any]) -> tuple[int, str]:
    status = token_claims.get("status")
    ref = status.get("status_list") if isinstance(status, Mapping) else None
    idx = ref.get("idx") if isinstance(ref, Mapping) else None
    uri = ref.get("uri") if isinstance(ref, Mapping) else None
    if isinstance(idx, bool) or not isinstance(idx, int) or not isinstance(uri, str):
        raise TokenError("no-status", "token has no status list reference")
    return idx, uri


def token_status(
    token_claims: Mapping[str, Any],
    status_list_jwt: str,
    jwks: Mapping[str, Any] | KeySet,
    *,
    now: datetime | None = None,
    leeway: float = DEFAULT_LEEWAY_SECONDS,
) -> int:
    """The status value of a (verified) token in the status list (0 = valid)."""
    idx, uri = _status_ref(token_claims)
    iss = token_claims.get("iss")
    lst = verify_status_list_token(
        status_list_jwt,
        jwks,
        uri=uri,
        issuer=iss if isinstance(iss, str) else None,
        now=now,
        leeway=leeway,
    )
    try:
        return lst.get(idx)
    except IndexError:
        raise TokenError("status-unknown", "token's status index is outside the list") from None


def check_status(
    token_claims: Mapping[str, Any],
    status_list_jwt: str,
    jwks: Mapping[str, Any] | KeySet,
    *,
    now: datetime | None = None,
    leeway: float = DEFAULT_LEEWAY_SECONDS,
) -> None:
    """Raise ``TokenError`` (revoked / suspended / status-unknown) unless the status is VALID."""
    value = token_status(token_claims, status_list_jwt, jwks, now=now, leeway=leeway)
    if value != STATUS_VALID:
        reason = _STATUS_REASONS.get(value, "status-unknown")
        raise TokenError(reason, f"token status in the status list is {reason} ({value})")


def verify_offline(
    token: str,
    jwks: Mapping[str, Any] | KeySet,
    status_list_jwt: str,
    *,
    issuer: str,
    audience: str,
    now: datetime | None = None,
    leeway: float = DEFAULT_LEEWAY_SECONDS,
) -> dict[str, Any]:
    """What a resource server can do with only our JWKS and the published status list."""
    keys = load_jwks(jwks)
    claims = verify_access_token(
        token, keys, issuer=issuer, audience=audience, now=now, leeway=leeway
    )
    check_status(claims, status_list_jwt, keys, now=now, leeway=leeway)
    return claims
