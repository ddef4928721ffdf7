"""``GET /.well-known/oauth-authorization-server`` (RFC 8414) and ``GET /jwks``."""

from __future__ import annotations

from starlette.requests import Request
from starlette.responses import JSONResponse, Response

from nhictl.core.dpop import DPOP_ALGS
from nhictl.serve.clientauth import JWT_SPIFFE
from nhictl.serve.context import ServiceContext
from nhictl.serve.issue_request import TASK_DETAILS_TYPE
from nhictl.serve.token import GRANT_TYPES


async def metadata(request: Request) -> Response:
    ctx: ServiceContext = request.app.state.ctx
    base = ctx.options.public_url
    return JSONResponse(
        {
            "issuer": ctx.settings_issuer,
            "jwks_uri": f"{base}/jwks",
            "token_endpoint": f"{base}/token",
            "introspection_endpoint": f"{base}/introspect",
            "revocation_endpoint": f"{base}/revoke",
            "registration_endpoint": f"{base}/register",
            "grant_types_supported": GRANT_TYPES,
            "token_endpoint_auth_methods_supported": ["private_key_jwt", JWT_SPIFFE],
            "token_endpoint_auth_signing_alg_values_supported": ["ES256", "EdDSA", "RS256"],
            "introspection_endpoint_auth_methods_supported": ["private_key_jwt"],
            "revocation_endpoint_auth_methods_supported": ["private_key_jwt", JWT_SPIFFE],
            "authorization_details_types_supported": [TASK_DETAILS_TYPE],
            "dpop_signing_alg_values_supported": list(DPOP_ALGS),
            "status_list_uri": ctx.options.status_list_uri,
            "response_types_supported": [],
        },
        headers={"Cache-Control": "max-age=300"},
    )


async def jwks(request: Request) -> Response:
    ctx: ServiceContext = request.app.state.ctx
    keys = await ctx.core(ctx.credentials.jwks)
    return JSONResponse(keys, headers={"Cache-Control": "max-age=60"})
