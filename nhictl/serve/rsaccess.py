"""Access tokens for resource servers to call ``/introspect`` with (RFC 7662 section 2.1).

RFC 7662 lets the introspection endpoint be protected by "a separate OAuth 2.0 access token
such as the bearer token" instead of client authentication on every call. A resource server in
the ``introspection_clients`` setting gets one with a ``client_credentials`` grant whose
``resource`` is this service's ``/introspect`` URL (RFC 8707), authenticated by its
``private_key_jwt`` assertion as before, and then sends ``Authorization: Bearer`` (RFC 6750).

Why: a ``private_key_jwt`` assertion is single-use, so each introspection cost a second
signature check and a shared write to record the assertion's ``jti``. The bearer token is
checked once per worker and then kept by its hash until it expires; each call re-checks its
expiry and that the resource server is still configured.

The token is a JWT signed with the registry key, explicitly typed ``introspection+jwt`` (RFC
8725 section 3.11) so that it is never taken for an agent's RFC 9068 ``at+jwt`` credential,
nor the other way round; its audience is the ``/introspect`` URL alone. It is not stored:
it cannot be revoked one by one, so its lifetime is short (``TOKEN_TTL_SECONDS``, at most the
TTL ceiling), and every one issued is an audit event.
"""

from __future__ import annotations

import datetime as dt
from collections.abc import Mapping
from typing import Any

from nhictl.core.jose import JoseError, check_audience, check_times, sha256_hex, verify_signature
from nhictl.core.tokens import new_jti, sign_compact
from nhictl.serve.context import ServiceContext
from nhictl.serve.oauth import OAuthError

TYP = "introspection+jwt"
SCOPE = "introspect"
TOKEN_TTL_SECONDS = 300
_KEPT_MAX = 1024


class _BearerError(JoseError):
    pass


def introspection_url(ctx: ServiceContext) -> str:
    return f"{ctx.options.public_url}/introspect"


def mint(ctx: ServiceContext, client_id: str, now: dt.datetime) -> tuple[dict[str, Any], str]:
    """The RFC 6749 section 5.1 reply carrying a new token for ``client_id``, and its ``jti``."""
    ttl = min(TOKEN_TTL_SECONDS, int(ctx.runtime.settings.ttl_ceiling_seconds))
    iat = int(now.timestamp())
    jti = new_jti()
    claims = {
        "iss": ctx.settings_issuer,
        "sub": client_id,
        "client_id": client_id,
        "aud": introspection_url(ctx),
        "scope": SCOPE,
        "iat": iat,
        "nbf": iat,
        "exp": iat + ttl,
        "jti": jti,
    }
    token = sign_compact(ctx.credentials.key_cache.signing_key(), TYP, claims)
    reply = {"access_token": token, "token_type": "Bearer", "expires_in": ttl, "scope": SCOPE}
    return reply, jti


def _checked_claims(ctx: ServiceContext, token: str, now: float) -> dict[str, Any]:
    parsed, _ = verify_signature(
        token, ctx.credentials.key_cache.keyset(), _BearerError, allowed_typ=frozenset({TYP})
    )
    claims = parsed.claims
    check_times(claims, now, ctx.leeway, _BearerError, require_iat=True)
    if claims.get("iss") != ctx.settings_issuer:
        raise _BearerError("wrong-issuer", "the token is not from this service")
    check_audience(claims, introspection_url(ctx), _BearerError)
    client = claims.get("client_id")
    if not isinstance(client, str) or claims.get("sub") != client or claims.get("scope") != SCOPE:
        raise _BearerError("malformed", "the token is not an introspection token")
    return claims


def resource_server(ctx: ServiceContext, authorization: str) -> str:
    """The resource server an ``Authorization: Bearer`` header authenticates, or an
    ``OAuthError`` (``invalid_token``, 401, RFC 6750 section 3.1)."""
    scheme, _, token = authorization.partition(" ")
    token = token.strip()
    if scheme.lower() != "bearer" or not token:
        raise OAuthError("invalid_request", "Authorization must be 'Bearer <token>'")
    now = ctx.now().timestamp()
    key = sha256_hex(token)
    kept = ctx.introspection_tokens.get(key)
    if kept is None:
        try:
            claims = _checked_claims(ctx, token, now)
        except JoseError as exc:
            raise OAuthError(
                "invalid_token", f"bearer token not accepted: {exc.message}", status=401
            ) from None
        kept = (str(claims["client_id"]), float(claims["exp"]))
        if len(ctx.introspection_tokens) >= _KEPT_MAX:
            ctx.introspection_tokens.clear()
        ctx.introspection_tokens[key] = kept
    client, exp = kept
    if now >= exp + ctx.leeway:
        del ctx.introspection_tokens[key]
        raise OAuthError("invalid_token", "bearer token not accepted: it expired", status=401)
    clients: Mapping[str, str] = ctx.runtime.settings["introspection_clients"]
    if client not in clients:
        raise OAuthError(
            "invalid_token", "bearer token not accepted: its client is not configured", status=401
        )
    return client
