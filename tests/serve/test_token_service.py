"""``nhictl serve`` end to end: a real process over TLS, driven by authlib and httpx, checked by a
resource server that has only /jwks and the status list (PyJWT)."""

from __future__ import annotations

import base64
import datetime as dt
import json
import secrets
import time
import zlib
from collections.abc import Callable
from typing import Any

import jwt
import pytest
from authlib.integrations.httpx_client import OAuth2Client  # type: ignore[import-untyped]

from nhictl.core.identity.demo_idp import DemoSpiffeIdp
from tests.credentials.support import INVOICE, INVOICE_ID, PENDING, TRUST_DOMAIN
from tests.serve.conftest import RS_ID, Service, tls_context

EXCHANGE = "urn:ietf:params:oauth:grant-type:token-exchange"
JWT_TYPE = "urn:ietf:params:oauth:token-type:jwt"
TASK = "urn:nhictl:task"


def details(task: str, **extra: Any) -> str:
    return json.dumps([{"type": TASK, "task": task, "intent": "reconcile-invoices", **extra}])


def exchange_form(svid: str, task: str, **extra: Any) -> dict[str, str]:
    form = {
        "grant_type": EXCHANGE,
        "subject_token": svid,
        "subject_token_type": JWT_TYPE,
        "authorization_details": details(task, **extra.pop("detail", {})),
    }
    form.update(extra)
    return form


def row_count(service: Service, sql: str = "SELECT COUNT(*) FROM credentials") -> int:
    """A ``SELECT COUNT(*) ...`` on the service's store, read the CLI's way."""
    rt = service.runtime()
    try:
        row = rt.store.read_one(sql)
        return int(row[0]) if row else 0
    finally:
        rt.store.close()


def credential_count(service: Service) -> int:
    return row_count(service)


def rs_assertion(service: Service, audience: str) -> str:
    now = int(time.time())
    claims = {
        "iss": RS_ID,
        "sub": RS_ID,
        "aud": audience,
        "iat": now,
        "exp": now + 60,
        "jti": secrets.token_urlsafe(12),
    }
    return jwt.encode(claims, service.rs_key, algorithm="ES256", headers={"kid": service.rs_kid})


def introspect(service: Service, token: str) -> dict[str, Any]:
    with service.client() as http:
        reply = http.post(
            "/introspect",
            data={
                "token": token,
                "client_assertion_type": "urn:ietf:params:oauth:client-assertion-type:jwt-bearer",
                "client_assertion": rs_assertion(service, f"{service.url}/introspect"),
            },
        )
    assert reply.status_code == 200, reply.text
    return dict(reply.json())


def offline_valid(service: Service, token: str) -> bool:
    """A resource server with PyJWT, /jwks and the status list only (no nhictl code)."""
    with service.client() as http:
        jwks = jwt.PyJWKSet.from_dict(http.get("/jwks").json())
        header = jwt.get_unverified_header(token)
        key = next(k for k in jwks.keys if k.key_id == header["kid"])
        claims = jwt.decode(token, key.key, algorithms=[header["alg"]], audience="urn:nhictl:api")
        uri = claims["status"]["status_list"]["uri"]
        assert uri.startswith(service.url)
        reply = http.get(uri.removeprefix(service.url))
    assert reply.headers["content-type"] == "application/statuslist+jwt"
    assert "max-age=" in reply.headers["cache-control"]
    lst_header = jwt.get_unverified_header(reply.text)
    lst_key = next(k for k in jwks.keys if k.key_id == lst_header["kid"])
    lst = jwt.decode(
        reply.text, lst_key.key, algorithms=[lst_header["alg"]], options={"verify_aud": False}
    )
    assert lst["sub"] == uri
    raw = lst["status_list"]["lst"]
    bits = zlib.decompress(base64.urlsafe_b64decode(raw + "=" * (-len(raw) % 4)))
    idx = claims["status"]["status_list"]["idx"]
    return not (bits[idx // 8] >> (idx % 8)) & 1


def test_metadata_names_every_endpoint(service: Service) -> None:
    with service.client() as http:
        meta = http.get("/.well-known/oauth-authorization-server").json()
        assert http.get("/healthz").json() == {"status": "ok"}
    assert meta["token_endpoint"] == f"{service.url}/token"
    assert EXCHANGE in meta["grant_types_supported"]
    assert (
        "urn:ietf:params:oauth:client-assertion-type:jwt-spiffe"
        in meta["token_endpoint_auth_methods_supported"]
    )
    assert meta["authorization_details_types_supported"] == [TASK]
    assert meta["status_list_uri"] == f"{service.url}/statuslists/1"


def test_exchange_with_authlib_then_verify_introspect_and_revoke(service: Service) -> None:
    svid = service.idp.mint(INVOICE_ID, "nhictl")
    with OAuth2Client(verify=tls_context(service.ca.ca_pem)) as oauth:
        token = oauth.fetch_token(
            f"{service.url}/token",
            grant_type=EXCHANGE,
            subject_token=svid,
            subject_token_type=JWT_TYPE,
            scope="invoices:read",
            authorization_details=details("SRV-1"),
        )
    assert token["token_type"] == "Bearer" and token["scope"] == "invoices:read"
    assert token["issued_token_type"] == "urn:ietf:params:oauth:token-type:access_token"
    access = token["access_token"]
    assert jwt.get_unverified_header(access)["typ"] == "at+jwt"
    assert offline_valid(service, access)
    facts = introspect(service, access)
    assert facts["active"] and facts["client_id"] == INVOICE and facts["txn"] == "SRV-1"
    # A revocation from the CLI is seen by the service at once, online and in the status list.
    rt = service.runtime()
    try:
        rt.credentials.revoke(jti=facts["jti"], reason="test: CLI revokes")
    finally:
        rt.store.close()
    assert introspect(service, access) == {"active": False}
    assert not offline_valid(service, access)


def test_same_svid_may_be_presented_again(service: Service) -> None:
    svid = service.idp.mint(INVOICE_ID, "nhictl")
    with service.client() as http:
        for task in ("SRV-2", "SRV-3"):
            reply = http.post("/token", data=exchange_form(svid, task))
            assert reply.status_code == 200, reply.text
            assert reply.headers["cache-control"] == "no-store"
            assert reply.headers["pragma"] == "no-cache"


def test_agent_revokes_its_own_token_rfc7009(service: Service) -> None:
    with service.client() as http:
        issued = http.post(
            "/token", data=exchange_form(service.idp.mint(INVOICE_ID, "nhictl"), "SRV-4")
        )
        access = issued.json()["access_token"]
        reply = http.post(
            "/revoke",
            data={
                "token": access,
                "client_assertion_type": "urn:ietf:params:oauth:client-assertion-type:jwt-spiffe",
                "client_assertion": service.idp.mint(INVOICE_ID, "nhictl"),
            },
        )
    assert reply.status_code == 200
    assert introspect(service, access) == {"active": False}


def other_idp_svid(tmp_path: Any) -> str:
    return DemoSpiffeIdp(tmp_path / "forger", TRUST_DOMAIN).mint(INVOICE_ID, "nhictl")


Refusal = tuple[Callable[[Service, Any], str], dict[str, Any], str, str]
REFUSALS: dict[str, Refusal] = {
    "forged": (lambda s, tmp: other_idp_svid(tmp), {}, "invalid_grant", "not verified"),
    "expired": (
        lambda s, tmp: s.idp.mint(
            INVOICE_ID,
            "nhictl",
            ttl=dt.timedelta(seconds=1),
            now=dt.datetime.now(dt.UTC) - dt.timedelta(hours=1),
        ),
        {},
        "invalid_grant",
        "expired",
    ),
    "wrong-audience": (
        lambda s, tmp: s.idp.mint(INVOICE_ID, "someone-else"),
        {},
        "invalid_grant",
        "aud",
    ),
    "not-active": (
        lambda s, tmp: s.idp.mint(INVOICE_ID + "-2", "nhictl"),
        {},
        "access_denied",
        "agent-active",
    ),
    "undeclared-scope": (
        lambda s, tmp: s.idp.mint(INVOICE_ID, "nhictl"),
        {"scope": "payments:write"},
        "invalid_scope",
        "scopes-within-intent",
    ),
    "ttl-over-ceiling": (
        lambda s, tmp: s.idp.mint(INVOICE_ID, "nhictl"),
        {"detail": {"ttl_seconds": 7200}},
        "access_denied",
        "ttl-within-ceiling",
    ),
    "undeclared-audience": (
        lambda s, tmp: s.idp.mint(INVOICE_ID, "nhictl"),
        {"resource": "https://elsewhere.example"},
        "invalid_target",
        "audience-declared",
    ),
}


@pytest.mark.parametrize("case", sorted(REFUSALS))
def test_refusals_over_http_leave_no_credential(service: Service, tmp_path: Any, case: str) -> None:
    make, extra, error, words = REFUSALS[case]
    before = credential_count(service)
    with service.client() as http:
        reply = http.post(
            "/token", data=exchange_form(make(service, tmp_path), f"BAD-{case}", **extra)
        )
    assert reply.status_code == 400, reply.text
    body = reply.json()
    assert body["error"] == error and words in body["error_description"], body
    assert reply.headers["cache-control"] == "no-store"
    assert credential_count(service) == before
    assert PENDING  # the not-active case is the registered, never approved agent


def test_replayed_jwt_bearer_assertion_is_refused(service: Service) -> None:
    svid = service.idp.mint(INVOICE_ID, "nhictl")
    form = {
        "grant_type": "urn:ietf:params:oauth:grant-type:jwt-bearer",
        "assertion": svid,
        "authorization_details": details("SRV-5"),
    }
    with service.client() as http:
        first = http.post("/token", data=form)
        again = http.post("/token", data=form)
    assert first.status_code == 200, first.text
    assert again.status_code == 400 and "already used" in again.json()["error_description"]


def test_strict_content_type_and_unknown_grant(service: Service) -> None:
    with service.client() as http:
        as_json = http.post("/token", json={"grant_type": EXCHANGE})
        unknown = http.post("/token", data={"grant_type": "password"})
    assert as_json.status_code == 415 and as_json.json()["error"] == "invalid_request"
    assert unknown.json()["error"] == "unsupported_grant_type"


def test_metrics_count_requests_and_decisions(service: Service) -> None:
    with service.client() as http:
        http.get("/healthz")
        text = http.get("/metrics").text
    assert 'nhictl_serve_requests_total{endpoint="/healthz",status="200"}' in text
    assert "nhictl_serve_request_seconds_bucket" in text
