"""``nhictl.client`` and ``nhictl token exchange`` against the real ``nhictl serve`` process."""

from __future__ import annotations

import json
import stat
from pathlib import Path

import jwt
import pytest
from cryptography.hazmat.primitives.asymmetric import ec

from nhictl.client import (
    BadRequest,
    PrivateKeyJwt,
    ServerUnavailable,
    SpiffeAssertion,
    TokenClient,
    TokenRefused,
)
from nhictl.core.dpop import key_thumbprint
from nhictl.core.keys import private_key_pem
from tests.conftest import CliRunner
from tests.credentials.support import INVOICE, INVOICE_ID
from tests.serve.conftest import RS_ID, Service, free_port
from tests.serve.test_token_service import credential_count, introspect, offline_valid

INTENT = "reconcile-invoices"


def client(service: Service) -> TokenClient:
    return TokenClient(service.url, ca_file=service.ca.ca_pem)


def rs_auth(service: Service) -> PrivateKeyJwt:
    return PrivateKeyJwt(RS_ID, service.rs_key, kid=service.rs_kid)


def test_exchange_introspect_revoke_through_the_client(service: Service) -> None:
    svid = service.idp.mint(INVOICE_ID, "nhictl")
    with client(service) as tokens:
        reply = tokens.exchange(svid, task="CL-1", intent=INTENT, scope=["invoices:read"])
        assert reply.token_type == "Bearer" and reply.scope == ("invoices:read",)
        assert reply.authorization_details[0]["task"] == "CL-1"
        assert reply.access_token not in repr(reply)
        assert offline_valid(service, reply.access_token)
        facts = tokens.introspect(reply.access_token, auth=rs_auth(service))
        assert facts["active"] and facts["client_id"] == INVOICE and facts["txn"] == "CL-1"
        tokens.revoke(
            reply.access_token, auth=SpiffeAssertion(service.idp.mint(INVOICE_ID, "nhictl"))
        )
        assert tokens.introspect(reply.access_token, auth=rs_auth(service)) == {"active": False}


def test_a_refusal_carries_the_servers_error(service: Service) -> None:
    before = credential_count(service)
    with client(service) as tokens, pytest.raises(TokenRefused) as refused:
        tokens.exchange(
            service.idp.mint(INVOICE_ID, "nhictl"),
            task="CL-2",
            intent=INTENT,
            scope=["payments:write"],
        )
    assert refused.value.error == "invalid_scope" and refused.value.exit_code == 1
    assert "scopes-within-intent" in refused.value.description
    assert credential_count(service) == before


def test_a_malformed_request_is_an_input_error(service: Service) -> None:
    with client(service) as tokens, pytest.raises(BadRequest) as bad:
        svid = service.idp.mint(INVOICE_ID, "nhictl")
        tokens.exchange(svid, task="CL-3", intent=INTENT, details={"ttl_seconds": "soon"})
    assert bad.value.exit_code == 2 and bad.value.status == 400


def test_an_unreachable_server_is_an_input_error() -> None:
    server = f"https://127.0.0.1:{free_port()}"
    with TokenClient(server) as tokens, pytest.raises(ServerUnavailable) as down:
        tokens.exchange("x.y.z", task="T", intent="i")
    assert down.value.exit_code == 2 and "cannot reach the server" in down.value.message


def test_an_untrusted_certificate_is_unreachable(service: Service) -> None:
    with TokenClient(service.url) as tokens, pytest.raises(ServerUnavailable) as down:
        tokens.exchange(service.idp.mint(INVOICE_ID, "nhictl"), task="CL-4", intent=INTENT)
    assert "CERTIFICATE_VERIFY_FAILED" in down.value.message


# --------------------------------------------------------------------------- the command


def exchange_args(service: Service, token_file: Path, task: str, *extra: str) -> list[str]:
    return [
        "token",
        "exchange",
        "--server",
        service.url,
        "--ca-file",
        str(service.ca.ca_pem),
        "--identity-token",
        str(token_file),
        "--task",
        task,
        "--intent",
        INTENT,
        *extra,
    ]


def svid_file(service: Service, tmp_path: Path) -> Path:
    path = tmp_path / "svid.jwt"
    path.write_text(service.idp.mint(INVOICE_ID, "nhictl"))
    return path


def test_cli_writes_the_token_0600_and_never_prints_it(
    cli: CliRunner, service: Service, tmp_path: Path
) -> None:
    out = tmp_path / "token.jwt"
    args = exchange_args(service, svid_file(service, tmp_path), "CLI-1", "-o", str(out))
    result = cli(*args, "--scope", "invoices:read")
    assert result.code == 0, result.stderr
    token = out.read_text().strip()
    assert stat.S_IMODE(out.stat().st_mode) == 0o600
    assert result.stdout == "" and token not in result.stderr
    assert "token for task CLI-1 [invoices:read]" in result.stderr
    assert introspect(service, token)["txn"] == "CLI-1"


def test_cli_json_from_stdin(cli: CliRunner, service: Service, tmp_path: Path) -> None:
    args = exchange_args(service, Path("-"), "CLI-2", "-f", "json")
    svid = service.idp.mint(INVOICE_ID, "nhictl").encode()
    result = cli(*args, stdin=svid)
    assert result.code == 0, result.stderr
    body = json.loads(result.stdout)
    assert body["token_type"] == "Bearer" and introspect(service, body["access_token"])["active"]


def test_cli_refusal_is_one_line_exit_1(cli: CliRunner, service: Service, tmp_path: Path) -> None:
    before = credential_count(service)
    args = exchange_args(
        service, svid_file(service, tmp_path), "CLI-3", "--scope", "payments:write"
    )
    result = cli(*args)
    assert result.code == 1 and result.stdout == ""
    lines = result.stderr.strip().splitlines()
    assert lines[0] == f"identity token: read from {tmp_path / 'svid.jwt'}"
    line = lines[1]
    assert line.startswith("nhictl: error: invalid_scope: ") and "scopes-within-intent" in line
    assert credential_count(service) == before


def test_cli_unreachable_server_exit_2(cli: CliRunner, tmp_path: Path) -> None:
    (tmp_path / "svid.jwt").write_text("a.b.c")
    result = cli(
        "token", "exchange", "--server", f"https://127.0.0.1:{free_port()}",
        "--identity-token", str(tmp_path / "svid.jwt"), "--task", "T", "--intent", "i",
    )  # fmt: skip
    assert result.code == 2 and "cannot reach the server" in result.stderr
    assert "Traceback" not in result.stderr


def test_cli_bad_inputs_exit_2_before_asking(
    cli: CliRunner, service: Service, tmp_path: Path
) -> None:
    svid = svid_file(service, tmp_path)
    before = credential_count(service)
    taken = tmp_path / "taken.jwt"
    taken.write_text("old")
    cases = {
        "already exists": exchange_args(service, svid, "BAD-1", "-o", str(taken)),
        "is a directory": exchange_args(service, svid, "BAD-2", "-o", str(tmp_path)),
        "no such file": exchange_args(service, tmp_path / "missing", "BAD-3"),
        "not an http(s) URL": [*exchange_args(service, svid, "BAD-4"), "--server", "ftp://x"],
        "cannot read the CA file": [
            *exchange_args(service, svid, "BAD-5"),
            "--ca-file",
            str(tmp_path / "no-ca.pem"),
        ],
    }
    for words, args in cases.items():
        result = cli(*args)
        assert result.code == 2 and words in result.stderr, (words, result.stderr)
        errors = [ln for ln in result.stderr.splitlines() if ln.startswith("nhictl: error:")]
        assert len(errors) == 1 and "Traceback" not in result.stderr
    assert taken.read_text() == "old"
    assert credential_count(service) == before


def test_cli_undeliverable_token_is_revoked(
    cli: CliRunner, service: Service, tmp_path: Path
) -> None:
    before = credential_count(service)
    args = exchange_args(service, svid_file(service, tmp_path), "CLI-5", "-o", "/dev/full")
    result = cli(*args)
    assert result.code == 2 and "the token was revoked" in result.stderr, result.stderr
    rt = service.runtime()
    try:
        rows = rt.store.read_one(
            "SELECT COUNT(*) FROM credentials WHERE task = ? AND revoked_at IS NOT NULL",
            ("CLI-5",),
        )
    finally:
        rt.store.close()
    assert credential_count(service) == before + 1 and rows is not None and rows[0] == 1


def _agent_key(tmp_path: Path, mode: int = 0o600) -> tuple[Path, ec.EllipticCurvePrivateKey]:
    key = ec.generate_private_key(ec.SECP256R1())
    path = tmp_path / "agent-key.pem"
    path.write_bytes(private_key_pem(key))
    path.chmod(mode)
    return path, key


def test_cli_dpop_key_binds_the_token_to_the_agents_key(
    cli: CliRunner, service: Service, tmp_path: Path
) -> None:
    key_file, key = _agent_key(tmp_path)
    args = exchange_args(service, svid_file(service, tmp_path), "CLI-DPOP", "-f", "json")
    result = cli(*args, "--dpop-key", str(key_file))
    assert result.code == 0, result.stderr
    body = json.loads(result.stdout)
    assert body["token_type"] == "DPoP"
    claims = jwt.decode(body["access_token"], options={"verify_signature": False})
    assert claims["cnf"] == {"jkt": key_thumbprint(key)}
    assert "PRIVATE KEY" not in result.stdout + result.stderr


@pytest.mark.parametrize("problem", ["readable by others", "not a key"])
def test_cli_bad_dpop_key_is_exit_2_before_asking(
    cli: CliRunner, service: Service, tmp_path: Path, problem: str
) -> None:
    key_file, _ = _agent_key(tmp_path, 0o644 if problem == "readable by others" else 0o600)
    if problem == "not a key":
        key_file.write_text("not a key")
    before = credential_count(service)
    args = exchange_args(service, svid_file(service, tmp_path), "CLI-DPOP-BAD")
    result = cli(*args, "--dpop-key", str(key_file))
    assert result.code == 2 and "Traceback" not in result.stderr
    errors = [ln for ln in result.stderr.splitlines() if ln.startswith("nhictl: error:")]
    assert len(errors) == 1 and str(key_file) in errors[0]
    assert credential_count(service) == before
