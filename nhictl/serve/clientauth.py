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
from collections.abc import Mapping
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import jwt

from nhictl.core.identity import IdentityError, VerifiedIdentity, verify_identity
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


def unverified_claims(token: str, what: str, error: str) -> dict[str, Any]:
    try:
        claims = jwt.decode(token, options={"verify_signature": False})
    except jwt.PyJWTError:
        raise OAuthError(error, f"the {what} is not a JWT") from None
    if not isinstance(claims, dict):
        raise OAuthError(error, f"the {what} is not a JWT")
    return claims


def _subject_matches(wi: Mapping[str, Any], issuer: object, subject: object) -> bool:
    if wi.get("type") == "spiffe":
        return bool(wi.get("spiffeId") == subject)
    if wi.get("type") != "oidc" or wi.get("issuer") != issuer or not isinstance(subject, str):
        return False
    expected = str(wi.get("subject", ""))
    if wi.get("subjectMatch") == "glob":
        return expected.endswith("*") and subject.startswith(expected[:-1])
    return subject == expected


def agent_for_identity(store: Store, issuer: object, subject: object) -> tuple[str, dict[str, Any]]:
    """The registered agent whose current manifest names this workload identity."""
    with store.read() as tx:
        rows = tx.query(
            "SELECT a.name, r.manifest_json FROM agents a JOIN agent_revisions r "
            "ON r.name = a.name AND r.revision = a.current_revision"
        )
    found = []
    for name, manifest_json in rows:
        manifest = json.loads(manifest_json)
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


def verify_workload_token(
    ctx: ServiceContext, token: str, *, what: str, error: str, single_use: bool
) -> tuple[str, VerifiedIdentity]:
    """(agent name, verified identity) for a JWT-SVID / OIDC token, or an ``OAuthError``."""
    claims = unverified_claims(token, what, error)
    agent, manifest = agent_for_identity(ctx.runtime.store, claims.get("iss"), claims.get("sub"))
    now = ctx.now()
    try:
        identity = verify_identity(
            token, manifest["spec"]["workloadIdentity"], ctx.trust, now=now, leeway=ctx.leeway
        )
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


def _load_jwks(path: str) -> jwt.PyJWKSet:
    try:
        return jwt.PyJWKSet.from_json(Path(path).read_text(encoding="utf-8"))
    except (OSError, jwt.PyJWTError, ValueError) as exc:
        raise OAuthError(
            "server_error", f"client key file {path} is unusable: {exc}", status=500
        ) from None


def _private_key_jwt(
    ctx: ServiceContext, assertion: str, client_id: str | None, keys: Mapping[str, str], url: str
) -> str:
    claims = unverified_claims(assertion, "client assertion", "invalid_client")
    issuer = claims.get("iss")
    if not isinstance(issuer, str) or issuer not in keys:
        raise OAuthError("invalid_client", "unknown client", status=401)
    if client_id is not None and client_id != issuer:
        raise OAuthError("invalid_client", "client_id is not the assertion's issuer", status=401)
    header_kid = jwt.get_unverified_header(assertion).get("kid")
    candidates = [k for k in _load_jwks(keys[issuer]).keys if header_kid in (None, k.key_id)]
    audiences = [url, ctx.options.public_url + "/token", ctx.settings_issuer]
    verified: dict[str, Any] | None = None
    last = "no matching key"
    for key in candidates:
        try:
            verified = jwt.decode(
                assertion,
                key.key,
                algorithms=[key.algorithm_name] if key.algorithm_name else _ASSERTION_ALGS,
                audience=audiences,
                issuer=issuer,
                leeway=ctx.leeway,
                options={"require": ["iss", "sub", "aud", "exp", "jti"]},
            )
            break
        except jwt.PyJWTError as exc:
            last = str(exc)
    if verified is None:
        raise OAuthError(
            "invalid_client",
            f"client assertion not verified: {last}",
            status=401,
        )
    if verified.get("sub") != issuer:
        raise OAuthError("invalid_client", "client assertion 'sub' is not its 'iss'", status=401)
    now = ctx.now()
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
