"""Agent authentication for the agent's own endpoints (``/register``, ``/tasks/...``): its
JWT-SVID (or OIDC token) as ``Authorization: Bearer``, or a client assertion in a form body."""

from __future__ import annotations

from collections.abc import Mapping

from starlette.datastructures import Headers
from starlette.responses import JSONResponse

from nhictl.serve.clientauth import authenticate, verify_workload_token
from nhictl.serve.context import ServiceContext
from nhictl.serve.oauth import OAuthError

INVALID_TOKEN = "invalid_token"


def bearer_token(headers: Headers) -> str | None:
    """The ``Authorization: Bearer`` credential (RFC 6750 section 2.1), or None."""
    values = headers.getlist("authorization")
    if not values:
        return None
    scheme, _, token = values[0].partition(" ")
    if len(values) > 1 or scheme.lower() != "bearer" or not token.strip():
        raise OAuthError(INVALID_TOKEN, "send one 'Authorization: Bearer <JWT-SVID>'", status=401)
    return token.strip()


def refusal(exc: OAuthError) -> JSONResponse:
    """``exc`` as a reply; a bad bearer says so in ``WWW-Authenticate`` (RFC 6750 section 3)."""
    response = exc.response()
    if exc.error == INVALID_TOKEN:
        response.headers["WWW-Authenticate"] = 'Bearer error="invalid_token"'
    return response


def registered_agent(
    ctx: ServiceContext, bearer: str | None, form: Mapping[str, str], url: str
) -> str:
    """The registered agent calling: by its identity token (bearer) or client assertion."""
    if bearer is not None:
        try:
            agent, _ = verify_workload_token(
                ctx,
                bearer,
                what="bearer identity token",
                error=INVALID_TOKEN,
                single_use=ctx.single_use_identity_tokens,
            )
        except OAuthError as exc:  # e.g. no agent has this identity: still a bad bearer
            raise OAuthError(
                INVALID_TOKEN, exc.description, status=401, reason=exc.reason
            ) from None
        return agent
    caller = authenticate(ctx, form, url=url, resource_server=False)
    if caller is None or caller.agent is None:
        raise OAuthError(
            INVALID_TOKEN,
            "authenticate as the agent: 'Authorization: Bearer <JWT-SVID>' or a client assertion",
            status=401,
        )
    return caller.agent
