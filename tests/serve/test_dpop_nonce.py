"""RFC 9449 section 8 server nonces (setting ``dpop_nonce``): the token endpoint refuses a proof
without a nonce it handed out with ``use_dpop_nonce`` and a ``DPoP-Nonce`` header, stores
nothing for it, and accepts the retry that carries the nonce; the client and the CLI retry by
themselves. Without the setting nothing changes (tests/serve/test_dpop.py)."""

from __future__ import annotations

import json
import subprocess
import sys
from collections.abc import Iterator
from pathlib import Path

import jwt
import pytest
from cryptography.hazmat.primitives.asymmetric import ec, ed25519

from nhictl.client import BadRequest, TokenClient
from nhictl.core.dpop import key_thumbprint, make_proof
from nhictl.core.keys import private_key_pem
from nhictl.serve.dpop_nonce import (
    WINDOW_SECONDS,
    issue_nonce,
    nonce_accepted,
    nonce_secret,
)
from tests.credentials.support import INVOICE_ID
from tests.serve.conftest import Service, launch
from tests.serve.test_token_service import credential_count, exchange_form, row_count

# --------------------------------------------------------------------------- the nonce itself


def test_a_nonce_lives_its_window_and_the_next() -> None:
    secret = nonce_secret(ed25519.Ed25519PrivateKey.generate())
    start = 1_800_000_000.0 - 1_800_000_000.0 % WINDOW_SECONDS  # the start of a window
    nonce = issue_nonce(secret, start)
    assert nonce_accepted(secret, nonce, start)
    assert nonce_accepted(secret, nonce, start + WINDOW_SECONDS - 0.5)
    assert nonce_accepted(secret, nonce, start + 2 * WINDOW_SECONDS - 0.5)
    assert not nonce_accepted(secret, nonce, start + 2 * WINDOW_SECONDS)
    assert not nonce_accepted(secret, nonce, start - 1)  # from the future


def test_a_nonce_is_bound_to_the_key_and_cannot_be_edited() -> None:
    now = 1_800_000_000.0
    secret = nonce_secret(ec.generate_private_key(ec.SECP256R1()))
    other = nonce_secret(ed25519.Ed25519PrivateKey.generate())
    nonce = issue_nonce(secret, now)
    assert not nonce_accepted(other, nonce, now)  # another registry key (rotated away)
    edited = nonce[:-2] + ("AA" if not nonce.endswith("AA") else "BA")
    for bad in (edited, "", "x" * 65, "not base64!", None, 7, nonce + "A"):
        assert not nonce_accepted(secret, bad, now)
    # A later window's MAC is not derivable from this one's.
    assert issue_nonce(secret, now + WINDOW_SECONDS) != nonce


# --------------------------------------------------------------------------- through the server


@pytest.fixture(scope="module")
def noncing(
    tmp_path_factory: pytest.TempPathFactory, request: pytest.FixtureRequest, backend: str
) -> Iterator[Service]:
    root = tmp_path_factory.mktemp("nonce")
    yield from launch(root, request, backend, settings={"NHICTL_DPOP_NONCE": "true"})


def _replay_rows(service: Service) -> int:
    return row_count(service, "SELECT COUNT(*) FROM assertion_replay WHERE key LIKE 'dpop:%'")


def test_a_proof_without_our_nonce_gets_one_and_the_retry_is_bound(noncing: Service) -> None:
    key = ec.generate_private_key(ec.SECP256R1())
    url = f"{noncing.url}/token"
    credentials, replays = credential_count(noncing), _replay_rows(noncing)
    with noncing.client() as http:
        first = http.post(
            "/token",
            data=exchange_form(noncing.idp.mint(INVOICE_ID, "nhictl"), "NONCE-1"),
            headers={"DPoP": make_proof(key, htm="POST", htu=url)},
        )
        assert first.status_code == 400, first.text
        assert first.json()["error"] == "use_dpop_nonce"
        assert first.headers["cache-control"] == "no-store"
        nonce = first.headers["dpop-nonce"]
        # Nothing stored for the refused request: no credential, not even its proof's jti.
        assert credential_count(noncing) == credentials
        assert _replay_rows(noncing) == replays
        # A made-up nonce is refused the same way.
        forged = http.post(
            "/token",
            data=exchange_form(noncing.idp.mint(INVOICE_ID, "nhictl"), "NONCE-2"),
            headers={"DPoP": make_proof(key, htm="POST", htu=url, nonce="AAAAAAAAAAAAAAAA")},
        )
        assert forged.status_code == 400 and forged.json()["error"] == "use_dpop_nonce"
        retry = http.post(
            "/token",
            data=exchange_form(noncing.idp.mint(INVOICE_ID, "nhictl"), "NONCE-3"),
            headers={"DPoP": make_proof(key, htm="POST", htu=url, nonce=nonce)},
        )
    assert retry.status_code == 200, retry.text
    assert retry.json()["token_type"] == "DPoP"
    assert retry.headers["dpop-nonce"]  # the next proof's nonce, in every reply
    claims = jwt.decode(retry.json()["access_token"], options={"verify_signature": False})
    assert claims["cnf"] == {"jkt": key_thumbprint(key)}
    assert credential_count(noncing) == credentials + 1
    # The refusals are audit events like any other.
    rt = noncing.runtime()
    try:
        with rt.store.read() as tx:
            rows = tx.query(
                "SELECT details_json FROM audit_events WHERE action = 'serve.token' "
                "AND outcome = 'denied' ORDER BY seq"
            )
    finally:
        rt.store.close()
    reasons = [json.loads(details).get("reason") for (details,) in rows]
    assert reasons.count("dpop-nonce") >= 2


def test_requests_without_a_proof_need_no_nonce(noncing: Service) -> None:
    with noncing.client() as http:
        reply = http.post(
            "/token", data=exchange_form(noncing.idp.mint(INVOICE_ID, "nhictl"), "NONCE-4")
        )
    assert reply.status_code == 200, reply.text
    assert reply.json()["token_type"] == "Bearer"


def test_the_client_retries_with_the_servers_nonce(noncing: Service) -> None:
    key = ec.generate_private_key(ec.SECP256R1())

    def prove(method: str, url: str, nonce: str | None = None) -> str:
        return make_proof(key, htm=method, htu=url, nonce=nonce)

    with TokenClient(noncing.url, ca_file=noncing.ca.ca_pem) as tokens:
        for task in ("NONCE-5", "NONCE-6"):  # the second proof carries the kept nonce at once
            reply = tokens.exchange(
                noncing.idp.mint(INVOICE_ID, "nhictl"),
                task=task,
                intent="reconcile-invoices",
                dpop=prove,
            )
            assert reply.token_type == "DPoP"
    # A two-argument prover cannot answer a server that wants nonces: a clear error.
    with (
        TokenClient(noncing.url, ca_file=noncing.ca.ca_pem) as tokens,
        pytest.raises(BadRequest) as refused,
    ):
        tokens.exchange(
            noncing.idp.mint(INVOICE_ID, "nhictl"),
            task="NONCE-7",
            intent="reconcile-invoices",
            dpop=lambda m, u: make_proof(key, htm=m, htu=u),
        )
    assert "must accept (method, url, nonce)" in str(refused.value)


def test_the_cli_binds_its_token_through_the_nonce(noncing: Service, tmp_path: Path) -> None:
    key = ec.generate_private_key(ec.SECP256R1())
    key_file = tmp_path / "agent-key.pem"
    key_file.write_bytes(private_key_pem(key))
    key_file.chmod(0o600)
    svid = tmp_path / "svid.jwt"
    svid.write_text(noncing.idp.mint(INVOICE_ID, "nhictl"))
    result = subprocess.run(
        [
            str(Path(sys.executable).parent / "nhictl"),
            "token", "exchange",
            "--server", noncing.url,
            "--ca-file", str(noncing.ca.ca_pem),
            "--identity-token", str(svid),
            "--task", "NONCE-8",
            "--intent", "reconcile-invoices",
            "--dpop-key", str(key_file),
            "-f", "json",
        ],
        capture_output=True,
        text=True,
        env=noncing.env,
        timeout=60,
    )  # fmt: skip
    assert result.returncode == 0, result.stderr
    reply = json.loads(result.stdout)
    assert reply["token_type"] == "DPoP"
    claims = jwt.decode(reply["access_token"], options={"verify_signature": False})
    assert claims["cnf"] == {"jkt": key_thumbprint(key)}
