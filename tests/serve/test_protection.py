"""Protection of the real service: rate limits (429 + Retry-After), the body and time limits,
single-use identity tokens, a disabled agent, and the audit trail of every decision (who called,
from where), each read back from the store after the request."""

from __future__ import annotations

import json
import socket
from collections.abc import Iterator
from typing import Any

import pytest

from tests.credentials.support import DEPLOYER, DEPLOYER_ID, INVOICE, INVOICE_ID
from tests.serve.conftest import Service, launch, tls_context
from tests.serve.test_token_service import credential_count, exchange_form, introspect

ADDRESS = "127.0.0.1"


@pytest.fixture(scope="module")
def limited(
    tmp_path_factory: pytest.TempPathFactory, request: pytest.FixtureRequest, backend: str
) -> Iterator[Service]:
    """Burst 2 per address (8 a minute), burst 1 per agent (4 a minute)."""
    args = ("--rate-per-address", "8", "--rate-per-identity", "4")
    yield from launch(tmp_path_factory.mktemp("limited"), request, backend, args=args)


@pytest.fixture(scope="module")
def single_use(
    tmp_path_factory: pytest.TempPathFactory, request: pytest.FixtureRequest, backend: str
) -> Iterator[Service]:
    settings = {"NHICTL_SINGLE_USE_IDENTITY_TOKENS": "true"}
    yield from launch(tmp_path_factory.mktemp("single"), request, backend, settings=settings)


def audit_since(service: Service, seq: int) -> list[dict[str, Any]]:
    rt = service.runtime()
    try:
        with rt.store.read() as tx:
            rows = tx.query(
                "SELECT seq, actor, action, subject, outcome, details_json FROM audit_events "
                "WHERE seq > ? ORDER BY seq",
                (seq,),
            )
    finally:
        rt.store.close()
    keys = ("seq", "actor", "action", "subject", "outcome", "details")
    return [{**dict(zip(keys, r, strict=True)), "details": json.loads(r[5])} for r in rows]


def last_seq(service: Service) -> int:
    events = audit_since(service, -1)
    return int(events[-1]["seq"]) if events else 0


def test_per_agent_rate_limit_429_with_retry_after(limited: Service) -> None:
    with limited.client() as http:
        first = http.post(
            "/token", data=exchange_form(limited.idp.mint(INVOICE_ID, "nhictl"), "R1")
        )
        second = http.post(
            "/token", data=exchange_form(limited.idp.mint(INVOICE_ID, "nhictl"), "R2")
        )
    assert first.status_code == 200, first.text
    assert second.status_code == 429 and second.json()["error"] == "slow_down"
    assert int(second.headers["retry-after"]) >= 1
    assert second.headers["cache-control"] == "no-store"


def test_per_address_rate_limit_429_with_retry_after(limited: Service) -> None:
    with limited.client() as http:
        codes = [http.get("/healthz").status_code for _ in range(4)]
        refused = http.get("/jwks")
    assert codes[-1] == 429 and refused.status_code == 429
    assert int(refused.headers["retry-after"]) >= 1
    assert refused.json()["error"] == "slow_down"


def test_a_body_over_64_kib_gets_413(service: Service) -> None:
    big = exchange_form(service.idp.mint(INVOICE_ID, "nhictl"), "BIG", scope="x" * 70_000)
    before = credential_count(service)

    def chunks() -> Iterator[bytes]:  # no Content-Length: the limit is counted as it arrives
        for _ in range(20):
            yield b"a" * 8192

    with service.client() as http:
        declared = http.post("/token", data=big)
        streamed = http.post(
            "/token",
            content=chunks(),
            headers={"content-type": "application/x-www-form-urlencoded"},
        )
    for reply in (declared, streamed):
        assert reply.status_code == 413 and reply.json()["error"] == "invalid_request"
    assert credential_count(service) == before


def test_a_request_that_never_finishes_gets_503(service: Service) -> None:
    """Headers and part of a body, then silence: the 10 s request limit answers 503."""
    host, port = service.url.removeprefix("https://").split(":")
    head = (
        f"POST /token HTTP/1.1\r\nHost: {host}\r\n"
        "Content-Type: application/x-www-form-urlencoded\r\n"
        "Content-Length: 1000\r\n\r\ngrant_type="
    )
    context = tls_context(service.ca.ca_pem)
    with (
        socket.create_connection((host, int(port)), timeout=30) as raw,
        context.wrap_socket(raw, server_hostname=host) as tls,
    ):
        tls.sendall(head.encode())
        reply = b""
        while b"\r\n\r\n" not in reply:
            chunk = tls.recv(4096)
            if not chunk:
                break
            reply += chunk
    assert reply.startswith(b"HTTP/1.1 503"), reply[:200]
    assert b"retry-after: 1" in reply.lower()


def test_single_use_identity_tokens(single_use: Service) -> None:
    svid = single_use.idp.mint(INVOICE_ID, "nhictl")
    with single_use.client() as http:
        first = http.post("/token", data=exchange_form(svid, "SU-1"))
        again = http.post("/token", data=exchange_form(svid, "SU-2"))
    assert first.status_code == 200, first.text
    assert again.status_code == 400 and again.json()["error"] == "invalid_grant"
    assert "already used" in again.json()["error_description"]


def test_a_disabled_agent_gets_nothing_and_its_tokens_die(service: Service) -> None:
    form = exchange_form(
        service.idp.mint(DEPLOYER_ID, "nhictl"), "DIS-1", detail={"intent": "deploy-staging"}
    )
    with service.client() as http:
        live = http.post("/token", data=form)
        assert live.status_code == 200, live.text
        rt = service.runtime()
        try:
            rt.registry.disable(DEPLOYER, reason="test: incident")
        finally:
            rt.store.close()
        try:
            before = credential_count(service)
            again = dict(form, subject_token=service.idp.mint(DEPLOYER_ID, "nhictl"))
            refused = http.post("/token", data=again)
            assert credential_count(service) == before
            assert not introspect(service, live.json()["access_token"])["active"]
        finally:
            rt = service.runtime()
            try:
                rt.registry.enable(DEPLOYER)
            finally:
                rt.store.close()
    assert refused.status_code == 400, refused.text
    assert refused.json()["error"] == "access_denied"
    assert "disabled" in refused.json()["error_description"]


def actors(events: list[dict[str, Any]]) -> list[str]:
    return [e["actor"] for e in events]


def test_every_decision_is_audited_with_caller_and_address(service: Service) -> None:
    me = f"nhictl-serve:{INVOICE}@{ADDRESS}"
    with service.client() as http:
        seq = last_seq(service)
        issued = http.post(
            "/token", data=exchange_form(service.idp.mint(INVOICE_ID, "nhictl"), "A-1")
        )
        events = audit_since(service, seq)
        assert [(e["action"], e["outcome"], e["actor"]) for e in events] == [
            ("credential.issue", "issued", me)
        ]

        seq = last_seq(service)
        denied = http.post(
            "/token",
            data=exchange_form(
                service.idp.mint(INVOICE_ID, "nhictl"), "A-2", scope="payments:write"
            ),
        )
        assert denied.status_code == 400
        events = audit_since(service, seq)
        assert [(e["action"], e["outcome"]) for e in events] == [("credential.issue", "denied")]
        assert actors(events) == [me]

        seq = last_seq(service)
        forged = http.post("/token", data=exchange_form("a.b.c", "A-3"))
        assert forged.status_code == 400
        events = audit_since(service, seq)
        assert [(e["action"], e["outcome"]) for e in events] == [("serve.token", "denied")]
        assert events[0]["actor"] == f"nhictl-serve:unauthenticated@{ADDRESS}"
        assert events[0]["details"]["address"] == ADDRESS

        seq = last_seq(service)
        access = issued.json()["access_token"]
        revoked = http.post(
            "/revoke",
            data={
                "token": access,
                "client_assertion_type": "urn:ietf:params:oauth:client-assertion-type:jwt-spiffe",
                "client_assertion": service.idp.mint(INVOICE_ID, "nhictl"),
            },
        )
        assert revoked.status_code == 200
        events = audit_since(service, seq)
        assert ("credential.revoke", me) in [(e["action"], e["actor"]) for e in events]
    # Nothing in the audit trail is a token.
    for event in audit_since(service, 0):
        assert access not in json.dumps(event)
