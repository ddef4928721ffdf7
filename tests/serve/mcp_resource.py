"""A real MCP server (the ``mcp`` SDK's ``MCPServer``, streamable HTTP on uvicorn with TLS) that
is a protected resource of a running ``nhictl serve``.

It publishes RFC 9728 metadata naming nhictl as its authorization server (the SDK's own
``AuthSettings``), answers an unauthenticated request with ``401`` and ``WWW-Authenticate:
Bearer resource_metadata=...``, and verifies bearer tokens offline with PyJWT against nhictl's
``/jwks``: signature, ``iss``, ``aud`` = this resource, ``exp``. Its one tool, ``whoami``,
answers with the verified token's claims.

Run: ``python -m tests.serve.mcp_resource --port P --resource URL --issuer ISS --jwks URL
--ca CA --tls-cert F --tls-key F`` (the tests start it; see ``test_mcp_client.py``).
"""

from __future__ import annotations

import argparse
import ssl
from typing import Any

import anyio.to_thread
import jwt
import uvicorn
from mcp.server.auth.middleware.auth_context import get_access_token
from mcp.server.auth.provider import AccessToken
from mcp.server.auth.settings import AuthSettings
from mcp.server.mcpserver import MCPServer

REQUIRED_SCOPE = "invoices:read"


class NhictlTokenVerifier:
    """The SDK's ``TokenVerifier`` hook: an RFC 9068 token from nhictl, checked offline."""

    def __init__(self, jwks_url: str, issuer: str, resource: str, ca: str) -> None:
        self._keys = jwt.PyJWKClient(jwks_url, ssl_context=ssl.create_default_context(cafile=ca))
        self._issuer = issuer
        self._resource = resource

    def _verify(self, token: str) -> AccessToken | None:
        try:
            key = self._keys.get_signing_key_from_jwt(token)
            claims: dict[str, Any] = jwt.decode(
                token,
                key.key,
                algorithms=["EdDSA", "ES256"],
                audience=self._resource,
                issuer=self._issuer,
                options={"require": ["iss", "sub", "aud", "exp", "jti"]},
            )
        except jwt.PyJWTError:
            return None
        return AccessToken(
            token=token,
            client_id=str(claims.get("client_id", claims["sub"])),
            scopes=str(claims.get("scope", "")).split(),
            expires_at=int(claims["exp"]),
            resource=self._resource,
            subject=str(claims["sub"]),
            claims=claims,
        )

    async def verify_token(self, token: str) -> AccessToken | None:
        return await anyio.to_thread.run_sync(self._verify, token)


def build(args: argparse.Namespace) -> MCPServer:
    server = MCPServer(
        "nhictl-test-resource",
        token_verifier=NhictlTokenVerifier(args.jwks, args.issuer, args.resource, args.ca),
        auth=AuthSettings(
            issuer_url=args.authorization_server,
            resource_server_url=args.resource,
            required_scopes=[REQUIRED_SCOPE],
            validate_token_resource=True,
        ),
    )

    @server.tool()
    def whoami() -> dict[str, Any]:
        """The verified access token's claims (who called, for which task)."""
        token = get_access_token()
        assert token is not None and token.claims is not None
        return {
            "sub": token.subject,
            "client_id": token.client_id,
            "scopes": token.scopes,
            "jti": token.claims["jti"],
            "aud": token.claims["aud"],
        }

    return server


def main() -> None:
    parser = argparse.ArgumentParser()
    parser.add_argument("--port", type=int, required=True)
    parser.add_argument("--resource", required=True, help="this server's URL (RFC 8707)")
    parser.add_argument("--authorization-server", required=True, help="nhictl serve's issuer URL")
    parser.add_argument("--issuer", required=True, help="the 'iss' of nhictl's tokens")
    parser.add_argument("--jwks", required=True)
    parser.add_argument("--ca", required=True)
    parser.add_argument("--tls-cert", required=True)
    parser.add_argument("--tls-key", required=True)
    args = parser.parse_args()
    app = build(args).streamable_http_app(json_response=True, stateless_http=True)
    uvicorn.run(
        app,
        host="127.0.0.1",
        port=args.port,
        ssl_certfile=args.tls_cert,
        ssl_keyfile=args.tls_key,
        log_level="warning",
    )


if __name__ == "__main__":
    main()
