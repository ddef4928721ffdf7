"""Who is calling: workload identity tokens and client assertions, verified and replay-checked.

* A JWT-SVID or OIDC token (``subject_token``, a ``jwt-bearer`` assertion, or the SPIFFE client
  assertion ``urn:ietf:params:oauth:client-assertion-type:jwt-spiffe``) is matched to the one
  registered agent whose manifest names that identity, then verified exactly as ``register``
  verifies it (``nhictl.core.identity.verify_identity``: pinned keys, the manifest's audience).
* ``private_key_jwt`` (RFC 7523 section 2.2): ``iss`` = ``sub`` = ``client_id``, signed by a key
  from the ``client_keys`` (agents) or ``introspection_clients`` (resource servers) setting,
  ``aud`` = the token endpoint, the endpoint called, or the issuer.

Assertions are accepted once (``replay``); the token's claims are read unverified only to pick
the candidate agent or key, never to decide.
"""

from __future__ import annotations

import datetime as dt
import json
import os
import time
from collections.abc import Mapping
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from nhictl.core.errors import InputError
from nhictl.core.identity import IdentityError, VerifiedIdentity, verify_identity
from nhictl.core.jose import (
    JoseError,
    KeySet,
    ParsedToken,
    check_signature,
    check_times,
    parse_unverified,
    sha256_hex,
    strict_json_loads,
)
from nhictl.core.registry import agents_for_subject
from nhictl.core.replaycache import accept_once, replay_key
from nhictl.core.store.base import Store
from nhictl.serve.context import ServiceContext
from nhictl.serve.oauth import OAuthError

JWT_BEARER = "urn:ietf:params:oauth:client-assertion-type:jwt-bearer"
JWT_SPIFFE = "urn:ietf:params:oauth:client-assertion-type:jwt-spiffe"
_ASSERTION_ALGS = ["ES256", "ES384", "EdDSA", "RS256", "PS256"]


@dataclass(frozen=True)
class Caller:
    """An authenticated caller: an agent (``agent`` set) or a resource server."""

    client_id: str
    agent: str | None
    method: str  # private_key_jwt | jwt-spiffe | subject_token | jwt-bearer


class _Malformed(JoseError):
    pass


def unverified(token: str, what: str, error: str) -> ParsedToken:
    """The token's header and claims, strictly decoded, not verified: they only pick the
    candidate agent or key. (The core's parser: PyJWT's unverified decode checked base64 one
    character at a time in Python and was ~0.1 ms a call, several calls a request.)"""
    try:
        return parse_unverified(token, _Malformed)
    except _Malformed:
        raise OAuthError(error, f"the {what} is not a JWT") from None


def unverified_claims(token: str, what: str, error: str) -> dict[str, Any]:
    return unverified(token, what, error).claims


def _subject_matches(wi: Mapping[str, Any], issuer: object, subject: object) -> bool:
    if wi.get("type") == "spiffe":
        return bool(wi.get("spiffeId") == subject)
    if wi.get("type") != "oidc" or wi.get("issuer") != issuer or not isinstance(subject, str):
        return False
    expected = str(wi.get("subject", ""))
    if wi.get("subjectMatch") == "glob":
        return expected.endswith("*") and subject.startswith(expected[:-1])
    return subject == expected


#: Parsed manifests by their stored SHA-256: the rows are read per request (a revision or a
#: new agent is seen at once), each manifest's JSON is parsed once, not once per agent per
#: request. Content-addressed, so never stale; bounded.
_MANIFESTS: dict[str, dict[str, Any]] = {}
_MANIFESTS_MAX = 4096


def agent_for_identity(store: Store, issuer: object, subject: object) -> tuple[str, dict[str, Any]]:
    """The registered agent whose current manifest names this workload identity (found by
    the revisions' subject index, then matched against each candidate's manifest)."""
    with store.read() as tx:
        rows = agents_for_subject(tx, subject)
    if len(_MANIFESTS) + len(rows) > _MANIFESTS_MAX:
        _MANIFESTS.clear()
    found = []
    for name, sha, manifest_json in rows:
        manifest = _MANIFESTS.get(sha)
        if manifest is None:
            manifest = _MANIFESTS[sha] = json.loads(manifest_json)
        if _subject_matches(manifest["spec"]["workloadIdentity"], issuer, subject):
            found.append((str(name), manifest))
    if not found:
        raise OAuthError(
            "invalid_grant",
            "no registered agent has this workload identity",
            reason="agent-not-registered",
        )
    if len(found) > 1:
        names = ", ".join(n for n, _ in found)
        raise OAuthError("invalid_grant", f"the workload identity is claimed by {names}")
    return found[0]


_VERIFIED_MAX = 8192


def _verified_identity(
    ctx: ServiceContext, token: str, spec: Mapping[str, Any], now: dt.datetime
) -> VerifiedIdentity:
    """``verify_identity``, or its earlier answer for the same JWT-SVID and identity spec
    (``ctx.verified_svids``). Agents present the same SVID for its lifetime; its signature,
    audience and SPIFFE ID were checked against this context's trust bundle (loaded once:
    ``ctx.trust``), so a second verification can only give the same answer until the token
    expires, which is checked on every use. OIDC tokens are not kept: an issuer's keys can
    change at run time."""
    kept = ctx.verified_svids
    spiffe = spec.get("type") == "spiffe"
    key = (sha256_hex(token), json.dumps(spec, sort_keys=True)) if spiffe else None
    if key is not None:
        hit = kept.get(key)
        if hit is not None and now.timestamp() < hit.expires_at.timestamp() + ctx.leeway:
            return hit
    identity = verify_identity(token, spec, ctx.trust, now=now, leeway=ctx.leeway)
    if key is not None:
        if len(kept) >= _VERIFIED_MAX:
            kept.clear()
        kept[key] = identity
    return identity


def verify_workload_token(
    ctx: ServiceContext, token: str, *, what: str, error: str, single_use: bool
) -> tuple[str, VerifiedIdentity]:
    """(agent name, verified identity) for a JWT-SVID / OIDC token, or an ``OAuthError``."""
    claims = unverified_claims(token, what, error)
    agent, manifest = agent_for_identity(ctx.runtime.store, claims.get("iss"), claims.get("sub"))
    now = ctx.now()
    try:
        identity = _verified_identity(ctx, token, manifest["spec"]["workloadIdentity"], now)
    except IdentityError as exc:
        raise OAuthError(
            error, f"{what} not verified: {exc.message}", status=_status(error), reason=exc.reason
        ) from None
    if single_use:
        jti = claims.get("jti") if isinstance(claims.get("jti"), str) else None
        key = replay_key(issuer=identity.issuer, jti=jti, token_sha256=identity.token_sha256)
        if not accept_once(ctx.runtime.store, key, identity.expires_at, now):
            raise OAuthError(
                error, f"the {what} was already used", status=_status(error), reason="replayed"
            )
    return agent, identity


def _status(error: str) -> int:
    return 401 if error == "invalid_client" else 400


#: Parsed client key files by path, with the file's identity when read: a changed or
#: replaced file (a rotated key) is read again on the next request; an unchanged one is not
#: re-parsed per request. A ``stat`` per request is what this costs.
_KEY_FILES: dict[str, tuple[tuple[int, int, int], KeySet]] = {}


class _AssertionError(JoseError):
    pass


def _client_keys(path: str) -> KeySet:
    try:
        st = os.stat(path)
        stamp = (st.st_ino, st.st_mtime_ns, st.st_size)
        cached = _KEY_FILES.get(path)
        if cached is not None and cached[0] == stamp:
            return cached[1]
        keys = KeySet.from_jwks(
            strict_json_loads(Path(path).read_bytes()), source="the client's keys"
        )
    except (OSError, InputError, ValueError) as exc:
        raise OAuthError(
            "server_error", f"client key file {path} is unusable: {exc}", status=500
        ) from None
    # A file changed within the timestamp granularity could change again unseen ("racy git"):
    # such a fresh one is read again next time, not kept.
    if time.time() - st.st_mtime > 2:
        _KEY_FILES[path] = (stamp, keys)
    return keys


def _verified_assertion(
    parsed: ParsedToken, keys: KeySet, issuer: str, audiences: list[str], leeway: float, now: float
) -> dict[str, Any]:
    """RFC 7523 section 3 checks of a client assertion, signed by one of ``keys``: an allowed
    asymmetric ``alg`` that fits the key, ``iss``/``sub``/``aud``/``exp``/``jti`` present,
    ``iss`` the client, ``aud`` one of ours, inside ``nbf``..``exp`` (small leeway), ``iat``
    not in the future. Raises ``_AssertionError``."""
    alg = parsed.header.get("alg")
    if not isinstance(alg, str) or alg not in _ASSERTION_ALGS:
        raise _AssertionError("alg-not-allowed", "the algorithm is not allowed")
    kid = parsed.header.get("kid")
    # Without a kid every key of the client is tried (as before); with one, only that key.
    candidates = list(keys.entries) if kid is None else [keys.select(kid, _AssertionError)]
    if not candidates:
        raise _AssertionError("unknown-kid", "no matching key")
    last: JoseError | None = None
    for entry in candidates:
        try:
            check_signature(parsed, entry, alg, _AssertionError)
            break
        except JoseError as exc:
            last = exc
    else:
        raise last or _AssertionError("bad-signature", "no matching key")
    claims = parsed.claims
    for name in ("iss", "sub", "aud", "exp", "jti"):
        if name not in claims:
            raise _AssertionError("missing-claim", f"the assertion has no {name!r} claim")
    if claims["iss"] != issuer:
        raise _AssertionError("wrong-issuer", "invalid issuer")
    if not isinstance(claims["jti"], str):
        raise _AssertionError("malformed", "'jti' is not a string")
    aud = claims["aud"]
    auds = [aud] if isinstance(aud, str) else aud if isinstance(aud, list) else []
    if not any(isinstance(a, str) and a in audiences for a in auds):
        raise _AssertionError("wrong-audience", "the audience is not this service")
    check_times(claims, now, leeway, _AssertionError)
    return claims


def _private_key_jwt(
    ctx: ServiceContext, assertion: str, client_id: str | None, keys: Mapping[str, str], url: str
) -> str:
    parsed = unverified(assertion, "client assertion", "invalid_client")
    issuer = parsed.claims.get("iss")
    if not isinstance(issuer, str) or issuer not in keys:
        raise OAuthError("invalid_client", "unknown client", status=401)
    if client_id is not None and client_id != issuer:
        raise OAuthError("invalid_client", "client_id is not the assertion's issuer", status=401)
    audiences = [url, ctx.options.public_url + "/token", ctx.settings_issuer]
    now = ctx.now()
    try:
        verified = _verified_assertion(
            parsed, _client_keys(keys[issuer]), issuer, audiences, ctx.leeway, now.timestamp()
        )
    except JoseError as exc:
        raise OAuthError(
            "invalid_client", f"client assertion not verified: {exc.message}", status=401
        ) from None
    if verified.get("sub") != issuer:
        raise OAuthError("invalid_client", "client assertion 'sub' is not its 'iss'", status=401)
    expires = dt.datetime.fromtimestamp(int(verified["exp"]), dt.UTC)
    key_text = replay_key(issuer=issuer, jti=str(verified["jti"]), token_sha256="")
    if not accept_once(ctx.runtime.store, key_text, expires, now):
        raise OAuthError("invalid_client", "the client assertion was already used", status=401)
    return issuer


def authenticate(
    ctx: ServiceContext, form: Mapping[str, str], *, url: str, resource_server: bool
) -> Caller | None:
    """The client the form authenticates, or None when it carries no client authentication.

    ``resource_server`` picks the keys private_key_jwt is checked against: the
    ``introspection_clients`` setting, else ``client_keys`` (agents).
    """
    kind = form.get("client_assertion_type")
    assertion = form.get("client_assertion")
    client_id = form.get("client_id")
    if kind is None and assertion is None:
        return None
    if not kind or not assertion:
        raise OAuthError(
            "invalid_request", "client_assertion and client_assertion_type go together"
        )
    settings = ctx.runtime.settings
    if kind == JWT_BEARER and not resource_server:
        # RFC 7523 section 2.2 asks only for a JWT whose ``sub`` is the client: an assertion not
        # issued by a ``client_keys`` agent is a workload identity token (what MCP SDKs send for
        # workload identity federation), checked exactly as the SPIFFE client assertion is.
        issuer = unverified_claims(assertion, "client assertion", "invalid_client").get("iss")
        if not isinstance(issuer, str) or issuer not in settings["client_keys"]:
            kind = JWT_SPIFFE
    if kind == JWT_SPIFFE:
        agent, identity = verify_workload_token(
            ctx, assertion, what="SPIFFE client assertion", error="invalid_client", single_use=True
        )
        if client_id is not None and client_id not in (agent, identity.subject):
            raise OAuthError("invalid_client", "client_id is not the asserted agent", status=401)
        return Caller(agent, agent, "jwt-spiffe")
    if kind == JWT_BEARER:
        keys = settings["introspection_clients"] if resource_server else settings["client_keys"]
        issuer = _private_key_jwt(ctx, assertion, client_id, keys, url)
        return Caller(issuer, None if resource_server else issuer, "private_key_jwt")
    raise OAuthError("invalid_client", f"unsupported client_assertion_type {kind!r}", status=401)
