"""OIDC discovery against a loopback HTTP server: cache, caps, timeout, no redirects."""

from __future__ import annotations

import json
import threading
import time
from collections.abc import Iterator
from datetime import UTC, datetime
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from typing import Any

import pytest
from cryptography.hazmat.primitives.asymmetric import ec

from nhictl.core.identity import (
    IdentityError,
    OidcDiscovery,
    TrustSourceError,
    TrustSources,
    verify_identity,
)
from nhictl.core.keys import jwk_thumbprint, public_jwk
from tests.jwt_forge import forge

NOW = datetime(2026, 3, 1, 10, 0, tzinfo=UTC)
T = int(NOW.timestamp())


class Server:
    """Routes: path -> (status, body bytes, extra headers, delay seconds)."""

    def __init__(self) -> None:
        self.routes: dict[str, tuple[int, bytes, dict[str, str], float]] = {}
        self.hits: dict[str, int] = {}
        outer = self

        class Handler(BaseHTTPRequestHandler):
            def do_GET(self) -> None:
                outer.hits[self.path] = outer.hits.get(self.path, 0) + 1
                status, body, headers, delay = outer.routes.get(self.path, (404, b"", {}, 0.0))
                if delay:
                    time.sleep(delay)
                self.send_response(status)
                for k, v in headers.items():
                    self.send_header(k, v)
                self.send_header("Content-Length", str(len(body)))
                self.end_headers()
                self.wfile.write(body)

            def log_message(self, *args: Any) -> None:
                pass

        self.httpd = ThreadingHTTPServer(("127.0.0.1", 0), Handler)
        self.httpd.daemon_threads = True
        self.base = f"http://127.0.0.1:{self.httpd.server_address[1]}"
        self.thread = threading.Thread(target=self.httpd.serve_forever, daemon=True)
        self.thread.start()

    def json(self, path: str, doc: Any, delay: float = 0.0) -> None:
        self.routes[path] = (
            200,
            json.dumps(doc).encode(),
            {"Content-Type": "application/json"},
            delay,
        )


@pytest.fixture(scope="module")
def shared_server() -> Iterator[Server]:
    srv = Server()  # one server per module: shutdown() waits up to its 0.5 s poll interval
    yield srv
    srv.httpd.shutdown()
    srv.httpd.server_close()


@pytest.fixture
def server(shared_server: Server) -> Server:
    shared_server.routes.clear()
    shared_server.hits.clear()
    return shared_server


def setup_issuer(server: Server, key: ec.EllipticCurvePrivateKey) -> str:
    issuer = server.base + "/idp"
    jwk = public_jwk(key)
    server.json(
        "/idp/.well-known/openid-configuration",
        {"issuer": issuer, "jwks_uri": server.base + "/idp/jwks"},
    )
    server.json("/idp/jwks", {"keys": [{**jwk, "kid": jwk_thumbprint(jwk), "alg": "ES256"}]})
    return issuer


def token_for(issuer: str, key: ec.EllipticCurvePrivateKey) -> str:
    claims = {"iss": issuer, "sub": "agent-1", "aud": "nhictl", "iat": T, "exp": T + 300}
    return forge({"alg": "ES256", "kid": jwk_thumbprint(public_jwk(key))}, claims, key)


def spec(issuer: str) -> dict[str, str]:
    return {"type": "oidc", "issuer": issuer, "subject": "agent-1", "audience": "nhictl"}


def test_discovery_fetch_and_cache(server: Server) -> None:
    key = ec.generate_private_key(ec.SECP256R1())
    issuer = setup_issuer(server, key)
    discovery = OidcDiscovery([issuer], timeout=2)
    trust = TrustSources(discovery=discovery)
    for _ in range(3):
        ident = verify_identity(token_for(issuer, key), spec(issuer), trust, now=NOW)
        assert ident.issuer == issuer
    assert server.hits == {"/idp/.well-known/openid-configuration": 1, "/idp/jwks": 1}


def test_unconfigured_issuer_is_never_fetched(server: Server) -> None:
    key = ec.generate_private_key(ec.SECP256R1())
    issuer = setup_issuer(server, key)
    trust = TrustSources(discovery=OidcDiscovery(["https://other.example"]))
    with pytest.raises(IdentityError) as excinfo:
        verify_identity(token_for(issuer, key), spec(issuer), trust, now=NOW)
    assert excinfo.value.reason == "untrusted-issuer"
    assert server.hits == {}


def test_rotation_at_issuer_refreshes_once(server: Server) -> None:
    old, new = ec.generate_private_key(ec.SECP256R1()), ec.generate_private_key(ec.SECP256R1())
    issuer = setup_issuer(server, old)
    clock = [0.0]
    discovery = OidcDiscovery([issuer], min_refresh=30, monotonic=lambda: clock[0])
    trust = TrustSources(discovery=discovery)
    verify_identity(token_for(issuer, old), spec(issuer), trust, now=NOW)
    setup_issuer(server, new)
    # within min_refresh an unknown kid does not hammer the issuer
    with pytest.raises(IdentityError) as excinfo:
        verify_identity(token_for(issuer, new), spec(issuer), trust, now=NOW)
    assert excinfo.value.reason == "unknown-kid"
    assert server.hits["/idp/jwks"] == 1
    clock[0] = 31.0
    verify_identity(token_for(issuer, new), spec(issuer), trust, now=NOW)
    assert server.hits["/idp/jwks"] == 2


def test_size_cap(server: Server) -> None:
    key = ec.generate_private_key(ec.SECP256R1())
    issuer = setup_issuer(server, key)
    server.json("/idp/jwks", {"keys": [], "pad": "x" * 5000})
    with pytest.raises(TrustSourceError, match="larger than 1000 bytes"):
        OidcDiscovery([issuer], max_bytes=1000).jwks_for(issuer)


def test_timeout(server: Server) -> None:
    key = ec.generate_private_key(ec.SECP256R1())
    issuer = setup_issuer(server, key)
    server.json(
        "/idp/.well-known/openid-configuration",
        {"issuer": issuer, "jwks_uri": server.base + "/idp/jwks"},
        delay=1.0,
    )
    started = time.monotonic()
    with pytest.raises(TrustSourceError, match="timed out"):
        OidcDiscovery([issuer], timeout=0.2).jwks_for(issuer)
    assert time.monotonic() - started < 0.9


def test_redirect_not_followed(server: Server) -> None:
    key = ec.generate_private_key(ec.SECP256R1())
    issuer = setup_issuer(server, key)
    server.routes["/idp/jwks"] = (302, b"", {"Location": server.base + "/evil"}, 0.0)
    server.json("/evil", {"keys": []})
    with pytest.raises(TrustSourceError, match="HTTP 302"):
        OidcDiscovery([issuer]).jwks_for(issuer)
    assert "/evil" not in server.hits


def test_discovery_must_name_the_issuer(server: Server) -> None:
    key = ec.generate_private_key(ec.SECP256R1())
    issuer = setup_issuer(server, key)
    server.json(
        "/idp/.well-known/openid-configuration",
        {"issuer": "https://evil.example", "jwks_uri": server.base + "/idp/jwks"},
    )
    with pytest.raises(TrustSourceError, match="does not name issuer"):
        OidcDiscovery([issuer]).jwks_for(issuer)


def test_plain_http_only_to_loopback() -> None:
    issuer = "http://idp.example.com"
    with pytest.raises(TrustSourceError, match="refusing"):
        OidcDiscovery([issuer]).jwks_for(issuer)
