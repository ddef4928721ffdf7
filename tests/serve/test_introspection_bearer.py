"""RFC 7662 section 2.1: a resource server calls ``/introspect`` with a bearer token from
``/token`` instead of a fresh ``private_key_jwt`` assertion per call. Driven through the real
service process, with the ``nhictl.client`` API and raw httpx."""

from __future__ import annotations

import time
from typing import Any

import jwt
import pytest

from nhictl.client import TokenClient, TokenRefused
from nhictl.core.errors import InputError
from tests.credentials.support import INVOICE, INVOICE_ID
from tests.serve.conftest import RS_ID, Service
from tests.serve.test_client import client, rs_auth
from tests.serve.test_protection import audit_since, last_seq
from tests.serve.test_token_service import exchange_form, rs_assertion

ASSERTION_TYPE = "urn:ietf:params:oauth:client-assertion-type:jwt-bearer"


def agent_token(service: Service, task: str) -> str:
    svid = service.idp.mint(INVOICE_ID, "nhictl")
    with service.client() as http:
        reply = http.post("/token", data=exchange_form(svid, task))
    assert reply.status_code == 200, reply.text
    return str(reply.json()["access_token"])


def bearer_introspect(service: Service, bearer: str, token: str) -> Any:
    with service.client() as http:
        return http.post(
            "/introspect", data={"token": token}, headers={"Authorization": f"Bearer {bearer}"}
        )


def test_a_resource_server_introspects_with_one_bearer_token(service: Service) -> None:
    seq = last_seq(service)
    with client(service) as tokens:
        granted = tokens.introspection_token(auth=rs_auth(service))
        assert granted.token_type == "Bearer" and granted.scope == ("introspect",)
        assert granted.expires_in is not None and 0 < granted.expires_in <= 300
        header = jwt.get_unverified_header(granted.access_token)
        claims = jwt.decode(granted.access_token, options={"verify_signature": False})
        assert header["typ"] == "introspection+jwt"
        assert claims["aud"] == f"{service.url}/introspect"
        assert claims["sub"] == claims["client_id"] == RS_ID
        access = agent_token(service, "BR-1")
        # The same bearer token serves many calls (an assertion is single-use).
        for _ in range(3):
            facts = tokens.introspect(access, bearer=granted.access_token)
            assert facts["active"] and facts["client_id"] == INVOICE and facts["txn"] == "BR-1"
        rt = service.runtime()
        try:
            rt.credentials.revoke(jti=facts["jti"], reason="test: revoked while introspected")
        finally:
            rt.store.close()
        assert tokens.introspect(access, bearer=granted.access_token) == {"active": False}
    issued = [e for e in audit_since(service, seq) if e["action"] == "serve.token"]
    assert [e["outcome"] for e in issued] == ["issued"]
    assert issued[0]["subject"] == RS_ID
    assert issued[0]["details"]["jti"] == claims["jti"]
    assert granted.access_token not in str(issued)


def test_an_agents_credential_is_not_an_introspection_token(service: Service) -> None:
    access = agent_token(service, "BR-2")
    seq = last_seq(service)
    reply = bearer_introspect(service, access, access)
    assert reply.status_code == 401
    assert reply.json()["error"] == "invalid_token"
    assert reply.headers["www-authenticate"] == 'Bearer error="invalid_token"'
    assert "typ" in reply.json()["error_description"]
    events = audit_since(service, seq)
    assert [(e["action"], e["outcome"]) for e in events] == [("serve.introspect", "denied")]
    assert access not in str(events)


def test_an_introspection_token_is_not_an_agents_credential(service: Service) -> None:
    with client(service) as tokens:
        bearer = tokens.introspection_token(auth=rs_auth(service)).access_token
    rt = service.runtime()
    try:
        result = rt.credentials.verify(bearer, audience=f"{service.url}/introspect")
    finally:
        rt.store.close()
    assert not result.valid and result.reason == "bad-typ"


@pytest.mark.parametrize(
    "mutate",
    [
        lambda t: t[:-4] + ("AAAA" if not t.endswith("AAAA") else "BBBB"),  # signature
        lambda t: "x" + t,  # header
        lambda t: "not a token",
    ],
    ids=["forged-signature", "broken-header", "garbage"],
)
def test_a_forged_bearer_token_is_refused(service: Service, mutate: Any) -> None:
    with client(service) as tokens:
        bearer = tokens.introspection_token(auth=rs_auth(service)).access_token
    reply = bearer_introspect(service, mutate(bearer), "x")
    assert reply.status_code == 401 and reply.json()["error"] == "invalid_token"


def test_a_bearer_token_from_another_key_is_refused(service: Service) -> None:
    from cryptography.hazmat.primitives.asymmetric import ec

    now = int(time.time())
    claims = {
        "iss": "https://nhictl.example",
        "sub": RS_ID,
        "client_id": RS_ID,
        "aud": f"{service.url}/introspect",
        "scope": "introspect",
        "iat": now,
        "nbf": now,
        "exp": now + 60,
        "jti": "forged",
    }
    forged = jwt.encode(
        claims,
        ec.generate_private_key(ec.SECP256R1()),
        algorithm="ES256",
        headers={"typ": "introspection+jwt", "kid": "unknown"},
    )
    reply = bearer_introspect(service, forged, "x")
    assert reply.status_code == 401 and reply.json()["error"] == "invalid_token"


def test_bearer_and_assertion_together_is_a_bad_request(service: Service) -> None:
    with client(service) as tokens:
        bearer = tokens.introspection_token(auth=rs_auth(service)).access_token
    with service.client() as http:
        reply = http.post(
            "/introspect",
            data={
                "token": "x",
                "client_assertion_type": ASSERTION_TYPE,
                "client_assertion": rs_assertion(service, f"{service.url}/introspect"),
            },
            headers={"Authorization": f"Bearer {bearer}"},
        )
    assert reply.status_code == 400 and reply.json()["error"] == "invalid_request"


def introspection_grant(service: Service, **fields: str) -> Any:
    """A raw ``client_credentials`` grant for the /introspect endpoint, plus ``fields``."""
    form = {"grant_type": "client_credentials", "resource": f"{service.url}/introspect"}
    with service.client() as http:
        return http.post("/token", data={**form, **fields})


def test_an_agent_cannot_get_an_introspection_token(service: Service) -> None:
    """The grant for /introspect authenticates against ``introspection_clients`` only."""
    reply = introspection_grant(
        service,
        client_assertion_type="urn:ietf:params:oauth:client-assertion-type:jwt-spiffe",
        client_assertion=service.idp.mint(INVOICE_ID, "nhictl"),
    )
    assert reply.status_code == 401 and reply.json()["error"] == "invalid_client"


def test_an_introspection_token_needs_client_authentication_and_its_scope(
    service: Service,
) -> None:
    bare = introspection_grant(service)
    assert bare.status_code == 401 and bare.json()["error"] == "invalid_client"
    reply = introspection_grant(
        service,
        scope="introspect admin",
        client_assertion_type=ASSERTION_TYPE,
        client_assertion=rs_assertion(service, f"{service.url}/token"),
    )
    assert reply.status_code == 400 and reply.json()["error"] == "invalid_scope"


def test_the_client_takes_exactly_one_authentication(service: Service) -> None:
    with TokenClient(service.url, ca_file=service.ca.ca_pem) as tokens:
        with pytest.raises(InputError):
            tokens.introspect("x", auth=None, bearer=None)
        with pytest.raises(InputError):
            tokens.introspect("x", auth=rs_auth(service), bearer="y")
        with pytest.raises(TokenRefused) as refused:
            tokens.introspect("x", bearer="not-a-token")
        assert refused.value.error == "invalid_token"
