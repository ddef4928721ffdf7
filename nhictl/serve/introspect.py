"""``POST /introspect`` (RFC 7662), for resource servers in the ``introspection_clients`` setting.

The token is verified online, exactly as ``nhictl verify`` does (signature, claims, the store:
revoked, agent disabled...), against the audience the token itself names.
"""

from __future__ import annotations

from typing import Any

from starlette.requests import Request
from starlette.responses import JSONResponse, Response

from nhictl.serve.audit import caller_actor
from nhictl.serve.clientauth import authenticate, unverified_claims
from nhictl.serve.context import ServiceContext
from nhictl.serve.oauth import NO_STORE, OAuthError, read_form, require

_CLAIMS = ("scope", "client_id", "sub", "aud", "iss", "exp", "iat", "nbf", "jti", "act", "txn")


def token_audience(token: str) -> str | None:
    try:
        aud = unverified_claims(token, "token", "invalid_request").get("aud")
    except OAuthError:
        return None
    if isinstance(aud, list) and aud and isinstance(aud[0], str):
        return aud[0]
    return aud if isinstance(aud, str) else None


def introspect(ctx: ServiceContext, form: dict[str, str], address: str, url: str) -> dict[str, Any]:
    caller = authenticate(ctx, form, url=url, resource_server=True)
    if caller is None or caller.agent is not None:
        raise OAuthError(
            "invalid_client",
            "introspection needs a resource server's private_key_jwt client assertion",
            status=401,
        )
    token = require(form, "token")
    audience = token_audience(token)
    if audience is None:
        ctx.metrics.decision("introspect", "inactive")
        return {"active": False}
    service = ctx.credentials_as(caller_actor(caller.client_id, address))
    # The resource server checks the DPoP proof it received; it learns the key from ``cnf``.
    result = service.verify(token, audience=audience, binding_checked_by_caller=True)
    if not result.valid or result.claims is None:
        ctx.metrics.decision("introspect", "inactive")
        return {"active": False}
    ctx.metrics.decision("introspect", "active")
    body: dict[str, Any] = {"active": True, "token_type": "Bearer"}
    body.update({k: result.claims[k] for k in _CLAIMS if k in result.claims})
    if "cnf" in result.claims:
        # RFC 9449 section 6.2: bound, so the resource server must demand a proof from cnf.jkt.
        body.update({"token_type": "DPoP", "cnf": result.claims["cnf"]})
    if result.record is not None:
        body["username"] = result.record.agent
    return body


async def endpoint(request: Request) -> Response:
    ctx: ServiceContext = request.app.state.ctx
    address = request.client.host if request.client else "unknown"
    try:
        form = await read_form(request)
        body = await ctx.core(lambda: introspect(ctx, form, address, str(request.url)))
    except OAuthError as exc:
        return exc.response()
    return JSONResponse(body, headers=dict(NO_STORE))
