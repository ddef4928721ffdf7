"""Client authentication and delegation against the real service, driven by authlib:
``client_credentials`` with ``private_key_jwt`` (the ``client_keys`` setting), RFC 7662
introspection and RFC 7009 revocation through authlib's own calls, and RFC 8693 delegation
(the user's OIDC token as ``subject_token``, the agent's SVID as ``actor_token`` -> ``act``)."""

from __future__ import annotations

import secrets
import time
from collections.abc import Iterator
from dataclasses import dataclass
from typing import Any

import jwt
import pytest
from authlib.integrations.base_client.errors import OAuthError  # type: ignore[import-untyped]
from authlib.integrations.httpx_client import OAuth2Client  # type: ignore[import-untyped]
from authlib.oauth2.rfc7523 import PrivateKeyJWT  # type: ignore[import-untyped]
from cryptography.hazmat.primitives import serialization
from cryptography.hazmat.primitives.asymmetric import ec
from joserfc.jwk import ECKey

from tests.credentials.support import INVOICE, SUPPORT, SUPPORT_ID
from tests.serve.conftest import RS_ID, Service, launch, tls_context, write_jwks
from tests.serve.test_token_service import EXCHANGE, JWT_TYPE, credential_count, details

USER_IDP = "https://login.example.com"
CLIENT_CREDENTIALS_DETAILS = details("CC-1")


@dataclass(frozen=True)
class Delegating:
    service: Service
    agent_key: ec.EllipticCurvePrivateKey  # invoice-reconciler's private_key_jwt key
    user_key: ec.EllipticCurvePrivateKey  # the user IdP's signing key
    user_kid: str


@pytest.fixture(scope="module")
def delegating(
    tmp_path_factory: pytest.TempPathFactory, request: pytest.FixtureRequest, backend: str
) -> Iterator[Delegating]:
    root = tmp_path_factory.mktemp("delegating")
    agent_key = ec.generate_private_key(ec.SECP256R1())
    user_key = ec.generate_private_key(ec.SECP256R1())
    agent_jwks, _ = write_jwks(root / "agent-jwks.json", agent_key)
    user_jwks, user_kid = write_jwks(root / "user-idp-jwks.json", user_key)
    settings = {
        "NHICTL_CLIENT_KEYS": f"{INVOICE}={agent_jwks}",
        "NHICTL_OIDC_ISSUERS": f"{USER_IDP}={user_jwks}",
    }
    for service in launch(root, request, backend, settings=settings):
        yield Delegating(service, agent_key, user_key, user_kid)


def authlib_key(key: ec.EllipticCurvePrivateKey) -> Any:
    pem = key.private_bytes(
        serialization.Encoding.PEM,
        serialization.PrivateFormat.PKCS8,
        serialization.NoEncryption(),
    )
    return ECKey.import_key(pem)


def key_jwt_client(service: Service, client_id: str, key: ec.EllipticCurvePrivateKey) -> Any:
    oauth = OAuth2Client(
        client_id,
        authlib_key(key),
        token_endpoint_auth_method="private_key_jwt",
        revocation_endpoint_auth_method="private_key_jwt",
        verify=tls_context(service.ca.ca_pem),
    )
    oauth.register_client_auth_method(PrivateKeyJWT(alg="ES256"))
    return oauth


def test_client_credentials_private_key_jwt_introspect_and_revoke(delegating: Delegating) -> None:
    service = delegating.service
    with key_jwt_client(service, INVOICE, delegating.agent_key) as agent:
        token = agent.fetch_token(
            f"{service.url}/token",
            grant_type="client_credentials",
            scope="invoices:read",
            authorization_details=CLIENT_CREDENTIALS_DETAILS,
        )
        access = token["access_token"]
        assert token["scope"] == "invoices:read" and "issued_token_type" not in token
        with key_jwt_client(service, RS_ID, service.rs_key) as rs:
            facts = rs.introspect_token(f"{service.url}/introspect", token=access).json()
            assert facts["active"] and facts["client_id"] == INVOICE and facts["txn"] == "CC-1"
            revoked = agent.revoke_token(f"{service.url}/revoke", token=access)
            assert revoked.status_code == 200, revoked.text
            after = rs.introspect_token(f"{service.url}/introspect", token=access).json()
    assert after == {"active": False}


def agent_assertion(delegating: Delegating, audience: str) -> str:
    now = int(time.time())
    claims = {
        "iss": INVOICE,
        "sub": INVOICE,
        "aud": audience,
        "iat": now,
        "exp": now + 60,
        "jti": secrets.token_urlsafe(12),
    }
    return jwt.encode(claims, delegating.agent_key, algorithm="ES256")


def test_a_replayed_private_key_jwt_is_refused(delegating: Delegating) -> None:
    service = delegating.service
    form = {
        "grant_type": "client_credentials",
        "client_assertion_type": "urn:ietf:params:oauth:client-assertion-type:jwt-bearer",
        "client_assertion": agent_assertion(delegating, f"{service.url}/token"),
        "authorization_details": details("CC-2"),
    }
    with service.client() as http:
        first = http.post("/token", data=form)
        before = credential_count(service)
        again = http.post("/token", data=form)
    assert first.status_code == 200, first.text
    assert again.status_code == 401 and again.json()["error"] == "invalid_client"
    assert "already used" in again.json()["error_description"]
    assert again.headers["www-authenticate"].startswith("Bearer")
    assert credential_count(service) == before


def test_an_unknown_key_is_invalid_client(delegating: Delegating) -> None:
    service = delegating.service
    stranger = ec.generate_private_key(ec.SECP256R1())
    with key_jwt_client(service, INVOICE, stranger) as agent, pytest.raises(OAuthError) as refused:
        agent.fetch_token(
            f"{service.url}/token",
            grant_type="client_credentials",
            authorization_details=details("CC-3"),
        )
    assert refused.value.error == "invalid_client"


def user_token(
    delegating: Delegating, subject: str, key: ec.EllipticCurvePrivateKey | None = None
) -> str:
    now = int(time.time())
    claims = {
        "iss": USER_IDP,
        "sub": subject,
        "aud": "urn:nhictl:registry",
        "iat": now,
        "exp": now + 300,
    }
    signer = key or delegating.user_key
    return jwt.encode(claims, signer, algorithm="ES256", headers={"kid": delegating.user_kid})


def delegation_form(delegating: Delegating, user: str, **detail: Any) -> dict[str, str]:
    task = {"environment": "dev", "consent": "CONSENT-7", **detail}
    return {
        "grant_type": EXCHANGE,
        "subject_token": user,
        "subject_token_type": JWT_TYPE,
        "actor_token": delegating.service.idp.mint(SUPPORT_ID, "nhictl"),
        "actor_token_type": JWT_TYPE,
        "authorization_details": details("DEL-1", intent="summarize-ticket", **task),
    }


def test_delegation_actor_token_becomes_act(delegating: Delegating) -> None:
    service = delegating.service
    form = delegation_form(delegating, user_token(delegating, "user:ann@example.com"))
    with OAuth2Client(verify=tls_context(service.ca.ca_pem)) as oauth:
        token = oauth.fetch_token(f"{service.url}/token", **form)
    claims = jwt.decode(token["access_token"], options={"verify_signature": False})
    assert claims["sub"] == "user:ann@example.com"
    assert claims["act"] == {"sub": SUPPORT_ID} and claims["client_id"] == SUPPORT
    rt = service.runtime()
    try:
        row = rt.store.read_one("SELECT agent, on_behalf_of FROM credentials WHERE task = 'DEL-1'")
    finally:
        rt.store.close()
    assert row is not None and tuple(row) == (SUPPORT, "user:ann@example.com")


DELEGATION_REFUSALS: dict[str, tuple[dict[str, Any], str]] = {
    "user-not-allowed": ({"user": "user:eve@elsewhere.example"}, "access_denied"),
    "no-consent": ({"detail": {"consent": None}}, "access_denied"),
    "forged-user-token": ({"forged": True}, "invalid_grant"),
    "wrong-actor-type": ({"actor_token_type": "urn:x"}, "invalid_request"),
}


@pytest.mark.parametrize("case", sorted(DELEGATION_REFUSALS))
def test_delegation_refusals_leave_nothing(delegating: Delegating, case: str) -> None:
    service = delegating.service
    over, error = DELEGATION_REFUSALS[case]
    forger = ec.generate_private_key(ec.SECP256R1()) if over.get("forged") else None
    user = user_token(delegating, str(over.get("user", "user:ann@example.com")), forger)
    form = delegation_form(delegating, user)
    if "detail" in over:
        task = {"environment": "dev", "consent": "CONSENT-7", **over["detail"]}
        task = {k: v for k, v in task.items() if v is not None}
        form["authorization_details"] = details("DEL-2", intent="summarize-ticket", **task)
    if "actor_token_type" in over:
        form["actor_token_type"] = over["actor_token_type"]
    before = credential_count(service)
    with service.client() as http:
        reply = http.post("/token", data=form)
    assert reply.status_code == 400 and reply.json()["error"] == error, reply.text
    assert credential_count(service) == before
