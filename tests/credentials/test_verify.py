"""Online verification of JIT credentials: every RFC 8725 attack and every store check.

Each case asserts the exact ``reason`` code, so a removed check shows up even when a later
check would also have refused the token for another reason.
"""

from __future__ import annotations

import base64
import json
from typing import Any

import jwt
import pytest
from cryptography.hazmat.primitives import serialization
from cryptography.hazmat.primitives.asymmetric import ed25519

from nhictl.core.credentials import CredentialService, IssuedCredential
from nhictl.core.keys import SigningKey
from nhictl.core.runtime import Runtime
from tests.credentials.support import DEPLOYER, INVOICE, Clock, audit_rows, invoice
from tests.jwt_forge import b64, forge, replace_payload


@pytest.fixture
def issued(service: CredentialService) -> IssuedCredential:
    return invoice(service, scopes=["invoices:read"])


@pytest.fixture
def key(runtime: Runtime) -> SigningKey:
    return runtime.keys.current()


def claims_of(token: str) -> dict[str, Any]:
    return jwt.decode(token, options={"verify_signature": False})


def header_of(token: str, **over: Any) -> dict[str, Any]:
    header = {**jwt.get_unverified_header(token), **over}
    return {k: v for k, v in header.items() if v is not None}


def refused(service: CredentialService, token: str, reason: str, **kw: Any) -> None:
    result = service.verify(token, **kw)
    assert not result.valid
    assert result.reason == reason, result.message
    assert result.message and token not in result.message
    assert result.to_json()["valid"] is False and result.to_json()["reason"] == reason


def test_fresh_token_verifies(
    service: CredentialService, issued: IssuedCredential, runtime: Runtime
) -> None:
    result = service.verify(issued.token)
    assert result.valid and result.reason is None
    assert result.to_json() == {
        "valid": True,
        "reason": None,
        "jti": issued.jti,
        "agent": INVOICE,
        "task": "INV-1",
        "scopes": ["invoices:read"],
        "expires_at": issued.record.expires_at,
    }
    assert audit_rows(runtime, "credential.verify") == []  # only refusals are events


# --------------------------------------------------------------------------- JOSE attacks


def test_alg_none(service: CredentialService, issued: IssuedCredential) -> None:
    header = b64(json.dumps(header_of(issued.token, alg="none")).encode())
    payload = issued.token.split(".")[1]
    refused(service, f"{header}.{payload}.", "malformed")  # no signature part at all
    refused(service, f"{header}.{payload}.{b64(b'x')}", "alg-not-allowed")


@pytest.mark.parametrize("form", ["pem", "jwk"])
def test_hs256_signed_with_the_public_key(
    service: CredentialService, issued: IssuedCredential, key: SigningKey, form: str
) -> None:
    public = key.private_key.public_key()
    if form == "pem":
        secret = public.public_bytes(
            serialization.Encoding.PEM, serialization.PublicFormat.SubjectPublicKeyInfo
        )
    else:
        secret = json.dumps(key.public_jwk()).encode()
    token = forge(header_of(issued.token, alg="HS256"), claims_of(issued.token), hmac_secret=secret)
    refused(service, token, "alg-not-allowed")


def test_payload_edited_signature_kept(
    service: CredentialService, issued: IssuedCredential
) -> None:
    widened = {**claims_of(issued.token), "scope": "invoices:read reports:write"}
    refused(service, replace_payload(issued.token, widened), "bad-signature")


def test_unknown_kid(service: CredentialService, issued: IssuedCredential) -> None:
    other = ed25519.Ed25519PrivateKey.generate()
    token = forge(header_of(issued.token, kid="attacker-key"), claims_of(issued.token), other)
    refused(service, token, "unknown-kid")
    refused(
        service, forge(header_of(issued.token, kid="../../etc/passwd"), {}, other), "unknown-kid"
    )


@pytest.mark.parametrize(
    "extra",
    [
        {"jku": "https://attacker.example/jwks.json"},
        {"x5u": "https://attacker.example/cert.pem"},
        {"jwk": {"kty": "OKP", "crv": "Ed25519", "x": b64(b"\x00" * 32)}},
    ],
    ids=["jku", "x5u", "jwk"],
)
def test_key_injection_headers(
    service: CredentialService, issued: IssuedCredential, key: SigningKey, extra: dict[str, Any]
) -> None:
    # Signed with the real key, so only the header screen can refuse it.
    token = forge(header_of(issued.token, **extra), claims_of(issued.token), key.private_key)
    refused(service, token, "forbidden-header")


@pytest.mark.parametrize("typ", [None, "JWT", "at+JWT+x", "txntoken+jwt"])
def test_typ_missing_or_wrong(
    service: CredentialService, issued: IssuedCredential, key: SigningKey, typ: str | None
) -> None:
    header = {k: v for k, v in header_of(issued.token).items() if k != "typ"}
    if typ is not None:
        header["typ"] = typ
    refused(service, forge(header, claims_of(issued.token), key.private_key), "bad-typ")


def test_expired_and_leeway(
    service: CredentialService, issued: IssuedCredential, clock: Clock
) -> None:
    clock.advance(minutes=10, seconds=30)  # past exp (10m) but inside the 60 s leeway
    assert service.verify(issued.token).valid
    clock.advance(seconds=31)
    refused(service, issued.token, "expired")


def test_listed_active_exactly_while_verify_accepts(
    service: CredentialService, issued: IssuedCredential, clock: Clock
) -> None:
    """``list(active=True)`` (``credentials list --active``) counts as verify and the cap do:
    a token past exp but inside the leeway is live."""
    clock.advance(minutes=10, seconds=30)
    assert service.verify(issued.token).valid
    assert [r.jti for r in service.list(active=True)] == [issued.jti]
    clock.advance(seconds=31)
    assert not service.verify(issued.token).valid
    assert service.list(active=True) == []


def test_nbf_in_the_future(
    service: CredentialService, issued: IssuedCredential, key: SigningKey, clock: Clock
) -> None:
    # Re-signed with the real key so the store check would pass but for nbf.
    soon = int(clock.now.timestamp()) + 600
    token = forge(
        header_of(issued.token), {**claims_of(issued.token), "nbf": soon}, key.private_key
    )
    refused(service, token, "not-yet-valid")


def test_wrong_issuer(
    service: CredentialService, issued: IssuedCredential, key: SigningKey
) -> None:
    forged = {**claims_of(issued.token), "iss": "https://evil.example"}
    refused(service, forge(header_of(issued.token), forged, key.private_key), "wrong-issuer")


def test_wrong_audience(service: CredentialService, issued: IssuedCredential) -> None:
    refused(service, issued.token, "wrong-audience", audience="https://payments.example")


def test_any_audience_takes_the_tokens_own_but_only_a_well_formed_one(
    service: CredentialService, issued: IssuedCredential, key: SigningKey
) -> None:
    # Introspection and revocation: whatever the token names is accepted, and returned.
    result = service.verify(issued.token, audience="https://payments.example", any_audience=True)
    assert result.valid and result.claims is not None
    assert result.claims["aud"] == claims_of(issued.token)["aud"]
    for aud, reason in (
        (None, "missing-claim"),
        (7, "wrong-audience"),
        (["ok", 7], "wrong-audience"),
    ):
        claims = {**claims_of(issued.token), "aud": aud}
        token = forge(
            header_of(issued.token), {k: v for k, v in claims.items() if v}, key.private_key
        )
        refused(service, token, reason, any_audience=True)


@pytest.mark.parametrize("part", ["header", "payload"])
def test_duplicate_json_keys(
    service: CredentialService, issued: IssuedCredential, key: SigningKey, part: str
) -> None:
    # A last-member-wins parser would accept both: the duplicates carry acceptable values.
    header = json.dumps(header_of(issued.token))
    claims = json.dumps(claims_of(issued.token))
    if part == "header":
        header = '{"typ": "JWT", ' + header[1:]
    else:
        claims = claims[:-1] + ', "scope": "invoices:read reports:write"}'
    signing_input = f"{b64(header.encode())}.{b64(claims.encode())}".encode()
    assert isinstance(key.private_key, ed25519.Ed25519PrivateKey)
    token = f"{signing_input.decode()}.{b64(key.private_key.sign(signing_input))}"
    refused(service, token, "malformed")


# --------------------------------------------------------------------------- the store


def test_revoked(service: CredentialService, issued: IssuedCredential) -> None:
    service.revoke(jti=issued.jti, reason="leaked in a log")
    refused(service, issued.token, "revoked")


def test_agent_disabled_after_issue_revokes(
    service: CredentialService, issued: IssuedCredential, runtime: Runtime
) -> None:
    runtime.registry.disable(INVOICE, reason="compromised host")
    refused(service, issued.token, "revoked")
    record = service.get(issued.jti)
    assert record is not None and record.revoked_reason == "agent disabled: compromised host"


def test_agent_state_is_checked_even_if_not_revoked(
    service: CredentialService, issued: IssuedCredential, runtime: Runtime, clock: Clock
) -> None:
    # Someone flips the agent row without the revocation hook (e.g. a manual fix in the DB).
    with runtime.store.write() as tx:
        tx.execute("UPDATE agents SET status = 'disabled' WHERE name = ?", (INVOICE,))
    refused(service, issued.token, "agent-disabled")
    with runtime.store.write() as tx:
        tx.execute("UPDATE agents SET status = 'pending-approval' WHERE name = ?", (INVOICE,))
    refused(service, issued.token, "agent-not-active")
    with runtime.store.write() as tx:
        tx.execute("UPDATE agents SET status = 'active' WHERE name = ?", (INVOICE,))
        tx.execute(
            "UPDATE agents SET review_expires = ? WHERE name = ?",
            ((clock.now.date().replace(year=clock.now.year - 1)).isoformat(), INVOICE),
        )
    refused(service, issued.token, "agent-expired")


def test_unknown_jti_even_with_a_valid_signature(
    service: CredentialService, issued: IssuedCredential, key: SigningKey
) -> None:
    # Whoever holds the key still cannot mint tokens the store does not know.
    forged = {**claims_of(issued.token), "jti": "never-issued"}
    refused(service, forge(header_of(issued.token), forged, key.private_key), "unknown-jti")


def test_token_must_be_the_one_issued_under_its_jti(
    service: CredentialService, issued: IssuedCredential, key: SigningKey
) -> None:
    widened = {**claims_of(issued.token), "scope": "invoices:read reports:write"}
    refused(service, forge(header_of(issued.token), widened, key.private_key), "token-mismatch")


def test_token_of_agent_a_with_agent_b_task(
    service: CredentialService, issued: IssuedCredential, key: SigningKey
) -> None:
    other = service.issue(DEPLOYER, task="DEPLOY-9", intent="deploy-staging")
    assert service.verify(other.token, task="DEPLOY-9").valid
    refused(service, issued.token, "task-mismatch", task="DEPLOY-9")
    result = service.authorize(issued.token, action="invoices:read", task="DEPLOY-9")
    assert not result.allowed and result.reason == "task-mismatch"
    # Swapping the task into A's token breaks the signature; re-signing breaks the hash binding.
    swapped = {**claims_of(issued.token), "txn": "DEPLOY-9"}
    refused(service, replace_payload(issued.token, swapped), "bad-signature")
    refused(service, forge(header_of(issued.token), swapped, key.private_key), "token-mismatch")


def test_garbage_and_oversized_input(service: CredentialService) -> None:
    for token in ("", "abc", "a.b.c", "x" * 20000, "eyJ.eyJ.", "\u00e9.\u00e9.\u00e9"):
        assert service.verify(token).reason == "malformed"


def test_refusals_are_audited_without_the_token(
    service: CredentialService, issued: IssuedCredential, runtime: Runtime
) -> None:
    service.revoke(jti=issued.jti, reason="test")
    service.verify(issued.token)
    service.verify("not.a.token")
    rows = audit_rows(runtime, "credential.verify")
    assert [(s, o) for s, o, _ in rows] == [(INVOICE, "denied"), ("unknown", "denied")]
    first = json.loads(rows[0][2])
    assert first["reason"] == "revoked" and first["jti"] == issued.jti
    assert all(issued.token not in r[2] for r in rows)


# --------------------------------------------------------------------------- interop


def test_plain_pyjwt_verifies_with_only_our_jwks(
    service: CredentialService, issued: IssuedCredential
) -> None:
    jwks = json.loads(json.dumps(service.jwks()))  # what a resource server would fetch
    kid = jwt.get_unverified_header(issued.token)["kid"]
    key = jwt.PyJWKSet.from_dict(jwks)[kid]
    claims = jwt.decode(
        issued.token,
        key,
        algorithms=[key.algorithm_name],
        audience="urn:nhictl:api",
        issuer="urn:nhictl:registry",
    )
    assert claims["jti"] == issued.jti and claims["client_id"] == INVOICE
    assert base64.urlsafe_b64decode(jwks["keys"][0]["x"] + "=")  # a public key, nothing else
    assert "d" not in jwks["keys"][0]
