"""``POST /token``: RFC 8693 token exchange, RFC 7523 jwt-bearer, and client_credentials.

Every grant ends the same way: an authenticated agent plus an ``IssueAsk`` go to the core's
``issue`` (same policies, guards and audit log as the CLI), and the reply is the RFC 9068 token.
"""

from __future__ import annotations

from collections.abc import Mapping
from typing import Any

from starlette.requests import Request
from starlette.responses import Response

from nhictl.core.credentials import IssueDenied
from nhictl.core.errors import InputError
from nhictl.core.jose import sha256_hex
from nhictl.serve import rsaccess
from nhictl.serve.audit import caller_actor, record
from nhictl.serve.clientauth import Caller, authenticate, unverified_claims, verify_workload_token
from nhictl.serve.context import ServiceContext
from nhictl.serve.dpop_binding import dpop_headers, fresh_nonce, token_request_jkt
from nhictl.serve.issue_request import denial_error, issue_ask, token_body
from nhictl.serve.oauth import OAuthError, read_form, require, token_reply

TOKEN_EXCHANGE = "urn:ietf:params:oauth:grant-type:token-exchange"
JWT_BEARER_GRANT = "urn:ietf:params:oauth:grant-type:jwt-bearer"
CLIENT_CREDENTIALS = "client_credentials"
GRANT_TYPES = [TOKEN_EXCHANGE, JWT_BEARER_GRANT, CLIENT_CREDENTIALS]
JWT_TYPE = "urn:ietf:params:oauth:token-type:jwt"
ID_TOKEN_TYPE = "urn:ietf:params:oauth:token-type:id_token"
ACCESS_TOKEN_TYPE = "urn:ietf:params:oauth:token-type:access_token"


def _delegating_user(ctx: ServiceContext, form: Mapping[str, str]) -> str:
    """RFC 8693 delegation: the ``subject_token`` is the user's OIDC token (from an issuer in
    ``oidc_issuers``, audience = our issuer); its ``sub`` becomes the token's ``sub`` and the
    agent (from ``actor_token``) its ``act``."""
    from nhictl.core.identity import IdentityError, verify_identity

    token = form["subject_token"]
    claims = unverified_claims(token, "subject_token", "invalid_grant")
    spec = {
        "type": "oidc",
        "issuer": claims.get("iss"),
        "subject": claims.get("sub"),
        "audience": ctx.settings_issuer,
    }
    if not isinstance(spec["issuer"], str) or not isinstance(spec["subject"], str):
        raise OAuthError("invalid_grant", "the subject_token has no 'iss' / 'sub'")
    try:
        identity = verify_identity(token, spec, ctx.trust, now=ctx.now(), leeway=ctx.leeway)
    except (IdentityError, InputError) as exc:
        raise OAuthError("invalid_grant", f"subject_token not verified: {exc}") from None
    return identity.subject


def _agent_for_grant(
    ctx: ServiceContext, form: Mapping[str, str], url: str
) -> tuple[str, str | None]:
    """(agent name, on-behalf-of user or None) for the grant in ``form``."""
    grant = require(form, "grant_type")
    client = authenticate(ctx, form, url=url, resource_server=False)
    on_behalf_of: str | None = None
    if grant == TOKEN_EXCHANGE:
        require(form, "subject_token")
        kind = require(form, "subject_token_type")
        if kind not in (JWT_TYPE, ID_TOKEN_TYPE):
            raise OAuthError("invalid_request", f"unsupported subject_token_type {kind!r}")
        wanted = form.get("requested_token_type", ACCESS_TOKEN_TYPE)
        if wanted not in (ACCESS_TOKEN_TYPE, JWT_TYPE):
            raise OAuthError("invalid_request", f"cannot issue requested_token_type {wanted!r}")
        if "actor_token" in form:
            if form.get("actor_token_type") != JWT_TYPE:
                raise OAuthError("invalid_request", f"actor_token_type must be {JWT_TYPE}")
            agent, _ = verify_workload_token(
                ctx,
                form["actor_token"],
                what="actor_token",
                error="invalid_grant",
                single_use=ctx.single_use_identity_tokens,
            )
            on_behalf_of = _delegating_user(ctx, form)
        else:
            agent, _ = verify_workload_token(
                ctx,
                form["subject_token"],
                what="subject_token",
                error="invalid_grant",
                single_use=ctx.single_use_identity_tokens,
            )
    elif grant == JWT_BEARER_GRANT:
        agent, _ = verify_workload_token(
            ctx,
            require(form, "assertion"),
            what="assertion",
            error="invalid_grant",
            single_use=True,
        )
    elif grant == CLIENT_CREDENTIALS:
        if client is None or client.agent is None:
            raise OAuthError(
                "invalid_client", "client_credentials needs client authentication", status=401
            )
        agent = client.agent
    else:
        raise OAuthError("unsupported_grant_type", f"grant_type {grant[:100]!r} is not supported")
    if client is not None and client.agent != agent:
        raise OAuthError("invalid_grant", "the authenticated client is not the token's agent")
    return agent, on_behalf_of


def _for_introspection(ctx: ServiceContext, form: Mapping[str, str]) -> bool:
    """A resource server's ``client_credentials`` grant for the ``/introspect`` endpoint."""
    return form.get("grant_type") == CLIENT_CREDENTIALS and form.get(
        "resource"
    ) == rsaccess.introspection_url(ctx)


def _introspection_token(
    ctx: ServiceContext, form: Mapping[str, str], address: str, url: str
) -> dict[str, Any]:
    """A bearer token for ``/introspect`` (``rsaccess``), to a resource server that
    authenticates with its ``private_key_jwt`` assertion; audited like every token."""
    caller = authenticate(ctx, form, url=url, resource_server=True)
    if caller is None or caller.agent is not None:  # an agent's SVID is not a resource server
        raise OAuthError(
            "invalid_client",
            "a token for /introspect needs a resource server's private_key_jwt assertion",
            status=401,
        )
    scope = form.get("scope", rsaccess.SCOPE)
    if scope != rsaccess.SCOPE:
        raise OAuthError("invalid_scope", f"a token for /introspect has scope {rsaccess.SCOPE!r}")
    reply, jti = rsaccess.mint(ctx, caller.client_id, ctx.now())
    record(
        ctx.runtime.store,
        endpoint="token",
        caller=caller.client_id,
        address=address,
        outcome="issued",
        details={
            "grant_type": CLIENT_CREDENTIALS,
            "resource": rsaccess.introspection_url(ctx),
            "jti": jti,
            "token_sha256": sha256_hex(reply["access_token"]),
            "expires_in": reply["expires_in"],
        },
    )
    ctx.metrics.decision("token", "issued")
    return reply


def issue_for(
    ctx: ServiceContext,
    form: Mapping[str, str],
    address: str,
    url: str,
    dpop_proofs: list[str] | None = None,
) -> dict[str, Any]:
    """The whole token request, on the store's thread. Raises ``OAuthError``; audits refusals.

    ``dpop_proofs`` (the request's ``DPoP`` headers) bind the token to the proof's key."""
    agent: str | None = None
    try:
        if _for_introspection(ctx, form):
            return _introspection_token(ctx, form, address, url)
        agent, on_behalf_of = _agent_for_grant(ctx, form, url)
        jkt = token_request_jkt(ctx, dpop_proofs or [])
        wait = ctx.by_identity.retry_after(agent)
        if wait:
            raise OAuthError(
                "slow_down",
                "too many token requests for this agent",
                status=429,
                reason=f"retry-after:{wait}",
            )
        ask = issue_ask(form)
        service = ctx.credentials_as(caller_actor(agent, address))
        try:
            issued = service.issue(agent, on_behalf_of=on_behalf_of, dpop_jkt=jkt, **ask.kwargs())
        except IssueDenied as exc:  # the core has audited the denial
            ctx.metrics.decision("token", "denied")
            error = denial_error(exc)
            error.audited = True
            raise error from None
        except InputError as exc:
            raise OAuthError("invalid_request", str(exc)) from None
    except OAuthError as exc:
        if not exc.audited:
            ctx.metrics.decision("token", "refused")
            record(
                ctx.runtime.store,
                endpoint="token",
                caller=agent,
                address=address,
                outcome="denied",
                details={
                    "error": exc.error,
                    "reason": exc.reason,
                    "description": exc.description,
                    "grant_type": form.get("grant_type", "")[:100],
                },
            )
        raise
    ctx.metrics.decision("token", "issued")
    return token_body(issued, ask, exchange=form.get("grant_type") == TOKEN_EXCHANGE)


async def endpoint(request: Request) -> Response:
    ctx: ServiceContext = request.app.state.ctx
    address = request.client.host if request.client else "unknown"
    try:
        form = await read_form(request)
        proofs = dpop_headers(request.headers)
        body = await ctx.core(lambda: issue_for(ctx, form, address, str(request.url), proofs))
        response = token_reply(body)
    except OAuthError as exc:
        response = exc.response()
        if exc.status == 429:
            response.headers["Retry-After"] = exc.reason.split(":", 1)[1]
    nonce = fresh_nonce(ctx)
    if nonce is not None:  # RFC 9449 section 8: in every reply, for the client's next proof
        response.headers["DPoP-Nonce"] = nonce
    return response


__all__ = ["GRANT_TYPES", "Caller", "endpoint"]
