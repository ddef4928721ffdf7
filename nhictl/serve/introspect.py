"""``POST /introspect`` (RFC 7662), for resource servers in the ``introspection_clients`` setting.

A resource server authenticates with a bearer token from ``/token`` (``rsaccess``: checked once
per worker, then kept until it expires) or with a single-use ``private_key_jwt`` assertion per
call. A refused caller is an audit event.

The token is verified online, exactly as ``nhictl verify`` does (signature, claims, the store:
revoked, agent disabled...), whatever audience it names: the reply carries ``aud``.
"""

from __future__ import annotations

from typing import Any

from starlette.requests import Request
from starlette.responses import JSONResponse, Response

from nhictl.serve import rsaccess
from nhictl.serve.audit import caller_actor, record
from nhictl.serve.clientauth import authenticate
from nhictl.serve.context import ServiceContext
from nhictl.serve.oauth import NO_STORE, OAuthError, read_form, require

_CLAIMS = ("scope", "client_id", "sub", "aud", "iss", "exp", "iat", "nbf", "jti", "act", "txn")


def _resource_server(
    ctx: ServiceContext, form: dict[str, str], authorization: str | None, url: str
) -> str:
    """The calling resource server: by its bearer token (``rsaccess``) or by a
    ``private_key_jwt`` assertion in the form, never both (RFC 6749 section 2.3)."""
    if authorization is not None:
        if "client_assertion" in form or "client_assertion_type" in form:
            raise OAuthError(
                "invalid_request", "send a bearer token or a client assertion, not both"
            )
        return rsaccess.resource_server(ctx, authorization)
    caller = authenticate(ctx, form, url=url, resource_server=True)
    if caller is None or caller.agent is not None:
        raise OAuthError(
            "invalid_client",
            "introspection needs a resource server's bearer token (see docs/serve.md) or "
            "private_key_jwt client assertion",
            status=401,
        )
    return caller.client_id


def introspect(
    ctx: ServiceContext,
    form: dict[str, str],
    address: str,
    url: str,
    authorization: str | None = None,
) -> dict[str, Any]:
    try:
        client_id = _resource_server(ctx, form, authorization, url)
    except OAuthError as exc:
        ctx.metrics.decision("introspect", "refused")
        record(
            ctx.runtime.store,
            endpoint="introspect",
            caller=None,
            address=address,
            outcome="denied",
            details={"error": exc.error, "reason": exc.reason, "description": exc.description},
        )
        raise
    token = require(form, "token")
    service = ctx.credentials_as(caller_actor(client_id, address))
    # The resource server checks the DPoP proof it received; it learns the key from ``cnf``.
    # Any audience: the reply names it, and the resource server checks it is its own.
    result = service.verify(token, any_audience=True, binding_checked_by_caller=True)
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
        authorization = request.headers.get("authorization")
        body = await ctx.core(
            lambda: introspect(ctx, form, address, str(request.url), authorization)
        )
    except OAuthError as exc:
        return exc.response()
    return JSONResponse(body, headers=dict(NO_STORE))
