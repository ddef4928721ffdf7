"""``POST /revoke`` (RFC 7009): an agent revokes a token issued to it.

The client authenticates (SPIFFE assertion or private_key_jwt). A token that is invalid, expired
or already revoked gets 200, as RFC 7009 section 2.2 asks; another agent's token is refused.
"""

from __future__ import annotations

from starlette.requests import Request
from starlette.responses import Response

from nhictl.serve.audit import caller_actor, record
from nhictl.serve.clientauth import authenticate
from nhictl.serve.context import ServiceContext
from nhictl.serve.oauth import NO_STORE, OAuthError, read_form, require


def revoke(ctx: ServiceContext, form: dict[str, str], address: str, url: str) -> None:
    caller = authenticate(ctx, form, url=url, resource_server=False)
    if caller is None or caller.agent is None:
        raise OAuthError(
            "invalid_client", "revocation needs the agent's client authentication", status=401
        )
    token = require(form, "token")
    hint = form.get("token_type_hint", "access_token")
    if hint not in ("access_token", "refresh_token"):
        raise OAuthError("unsupported_token_type", f"token_type_hint {hint[:50]!r} is unknown")
    actor = caller_actor(caller.client_id, address)
    service = ctx.credentials_as(actor)
    # The caller authenticated as the agent: revoking needs no DPoP proof of a bound token.
    result = service.verify(token, any_audience=True, binding_checked_by_caller=True)
    if not result.valid or result.record is None:
        ctx.metrics.decision("revoke", "not-live")
        return
    if result.record.agent != caller.agent:
        ctx.metrics.decision("revoke", "refused")
        record(
            ctx.runtime.store,
            endpoint="revoke",
            caller=caller.client_id,
            address=address,
            outcome="denied",
            details={"jti": result.record.jti, "reason": "not-your-token"},
        )
        raise OAuthError("unauthorized_client", "the token was not issued to this client")
    service.revoke(jti=result.record.jti, reason=f"revoked via /revoke by {caller.client_id}")
    ctx.metrics.decision("revoke", "revoked")


async def endpoint(request: Request) -> Response:
    ctx: ServiceContext = request.app.state.ctx
    address = request.client.host if request.client else "unknown"
    try:
        form = await read_form(request)
        await ctx.core(lambda: revoke(ctx, form, address, str(request.url)))
    except OAuthError as exc:
        return exc.response()
    return Response(status_code=200, headers=dict(NO_STORE))
