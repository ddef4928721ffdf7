"""RFC 9449 DPoP through a real ``nhictl serve``: a bound token is useless without the agent's
key, whoever holds the token."""

from __future__ import annotations

import datetime as dt
from collections.abc import Iterator
from typing import Any

import jwt
import pytest
from cryptography.hazmat.primitives.asymmetric import ec

from nhictl.core.credentials import CredentialService
from nhictl.core.dpop import DpopPresentation, key_thumbprint, make_proof
from tests.credentials.support import INVOICE_ID
from tests.serve.conftest import Service
from tests.serve.test_token_service import credential_count, exchange_form, introspect

API = "https://orders.example/api/orders"


@pytest.fixture
def credentials(service: Service) -> Iterator[CredentialService]:
    """The CLI's credential service on the same store (what `nhictl verify` runs)."""
    rt = service.runtime()
    try:
        yield rt.credentials
    finally:
        rt.store.close()


def bound_token(service: Service, key: ec.EllipticCurvePrivateKey, task: str) -> dict[str, Any]:
    proof = make_proof(key, htm="POST", htu=f"{service.url}/token")
    svid = service.idp.mint(INVOICE_ID, "nhictl")
    with service.client() as http:
        reply = http.post("/token", data=exchange_form(svid, task), headers={"DPoP": proof})
    assert reply.status_code == 200, reply.text
    return dict(reply.json())


def test_metadata_lists_dpop_algorithms(service: Service) -> None:
    with service.client() as http:
        meta = http.get("/.well-known/oauth-authorization-server").json()
    assert "ES256" in meta["dpop_signing_alg_values_supported"]
    assert "HS256" not in meta["dpop_signing_alg_values_supported"]


def test_a_stolen_bound_token_is_useless_without_the_agents_key(
    service: Service, credentials: CredentialService
) -> None:
    agent_key = ec.generate_private_key(ec.SECP256R1())
    reply = bound_token(service, agent_key, "DPOP-1")
    token = reply["access_token"]
    assert reply["token_type"] == "DPoP"
    assert jwt.decode(token, options={"verify_signature": False})["cnf"] == {
        "jkt": key_thumbprint(agent_key)
    }

    # The thief has the token only.
    stolen = credentials.verify(token)
    assert not stolen.valid and stolen.reason == "dpop-proof-required"
    thief_key = ec.generate_private_key(ec.SECP256R1())
    theirs = make_proof(thief_key, htm="GET", htu=API, access_token=token)
    forged = credentials.verify(token, dpop=DpopPresentation(theirs, "GET", API))
    assert not forged.valid and forged.reason == "dpop-key-mismatch"
    denied = credentials.authorize(
        token, action="invoices:read", dpop=DpopPresentation(theirs, "GET", API)
    )
    assert not denied.allowed and denied.reason == "dpop-key-mismatch"

    # The agent's own proof is accepted once, for this token and this request only.
    mine = make_proof(agent_key, htm="GET", htu=API, access_token=token)
    assert credentials.verify(token, dpop=DpopPresentation(mine, "GET", API)).valid
    replayed = credentials.verify(token, dpop=DpopPresentation(mine, "GET", API))
    assert not replayed.valid and replayed.reason == "dpop-replayed"
    other_url = make_proof(agent_key, htm="GET", htu=API, access_token=token)
    moved = credentials.verify(token, dpop=DpopPresentation(other_url, "GET", API + "/7"))
    assert not moved.valid and moved.reason == "dpop-htu-mismatch"
    unbound = make_proof(agent_key, htm="GET", htu=API)  # no ath: not for this token
    no_ath = credentials.verify(token, dpop=DpopPresentation(unbound, "GET", API))
    assert not no_ath.valid and no_ath.reason == "dpop-ath-mismatch"
    mine_again = make_proof(agent_key, htm="POST", htu=API, access_token=token)
    allowed = credentials.authorize(
        token, action="invoices:read", dpop=DpopPresentation(mine_again, "POST", API)
    )
    assert allowed.allowed, allowed.reasons


def test_introspection_returns_the_binding(service: Service) -> None:
    key = ec.generate_private_key(ec.SECP256R1())
    token = bound_token(service, key, "DPOP-2")["access_token"]
    facts = introspect(service, token)
    assert facts["active"] and facts["token_type"] == "DPoP"
    assert facts["cnf"] == {"jkt": key_thumbprint(key)}


def _stale(key: ec.EllipticCurvePrivateKey, url: str) -> str:
    return make_proof(key, htm="POST", htu=url, now=dt.datetime.now(dt.UTC) - dt.timedelta(hours=1))


@pytest.mark.parametrize(
    "case", ["wrong-url", "wrong-method", "stale", "hmac", "private-jwk", "two"]
)
def test_bad_proofs_at_the_token_endpoint_mint_nothing(service: Service, case: str) -> None:
    key = ec.generate_private_key(ec.SECP256R1())
    url = f"{service.url}/token"
    headers: list[tuple[str, str]]
    if case == "wrong-url":
        headers = [("DPoP", make_proof(key, htm="POST", htu=f"{service.url}/introspect"))]
    elif case == "wrong-method":
        headers = [("DPoP", make_proof(key, htm="GET", htu=url))]
    elif case == "stale":
        headers = [("DPoP", _stale(key, url))]
    elif case == "hmac":
        claims = {
            "jti": "x" * 16,
            "htm": "POST",
            "htu": url,
            "iat": int(dt.datetime.now().timestamp()),
        }
        hs = jwt.encode(claims, "k" * 32, algorithm="HS256", headers={"typ": "dpop+jwt"})
        headers = [("DPoP", hs)]
    elif case == "private-jwk":
        good = make_proof(key, htm="POST", htu=url)
        header = jwt.get_unverified_header(good)
        d = key.private_numbers().private_value.to_bytes(32, "big")
        from nhictl.core.jose import b64url_encode

        leaked = {**header["jwk"], "d": b64url_encode(d)}
        claims = jwt.decode(good, options={"verify_signature": False})
        headers = [("DPoP", jwt.encode(claims, key, algorithm="ES256",
                                       headers={"typ": "dpop+jwt", "jwk": leaked}))]  # fmt: skip
    else:
        headers = [("DPoP", make_proof(key, htm="POST", htu=url))] * 2
    before = credential_count(service)
    svid = service.idp.mint(INVOICE_ID, "nhictl")
    with service.client() as http:
        reply = http.post("/token", data=exchange_form(svid, f"DPOP-BAD-{case}"), headers=headers)
    assert reply.status_code == 400, reply.text
    assert reply.json()["error"] == "invalid_dpop_proof"
    assert credential_count(service) == before


def test_a_replayed_token_request_proof_is_refused(service: Service) -> None:
    key = ec.generate_private_key(ec.SECP256R1())
    proof = make_proof(key, htm="POST", htu=f"{service.url}/token")
    with service.client() as http:
        first = http.post(
            "/token",
            data=exchange_form(service.idp.mint(INVOICE_ID, "nhictl"), "DPOP-3"),
            headers={"DPoP": proof},
        )
        assert first.status_code == 200, first.text
        before = credential_count(service)
        again = http.post(
            "/token",
            data=exchange_form(service.idp.mint(INVOICE_ID, "nhictl"), "DPOP-4"),
            headers={"DPoP": proof},
        )
    assert again.status_code == 400 and again.json()["error"] == "invalid_dpop_proof"
    assert "already used" in again.json()["error_description"]
    assert credential_count(service) == before


def test_the_agent_revokes_its_bound_token_without_a_proof(service: Service) -> None:
    """RFC 7009 authenticates the client, so revocation needs no proof of the bound token."""
    key = ec.generate_private_key(ec.SECP256R1())
    token = bound_token(service, key, "DPOP-5")["access_token"]
    with service.client() as http:
        reply = http.post(
            "/revoke",
            data={
                "token": token,
                "client_assertion_type": "urn:ietf:params:oauth:client-assertion-type:jwt-spiffe",
                "client_assertion": service.idp.mint(INVOICE_ID, "nhictl"),
            },
        )
    assert reply.status_code == 200
    assert introspect(service, token) == {"active": False}
