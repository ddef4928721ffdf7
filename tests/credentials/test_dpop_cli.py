"""``nhictl verify`` / ``authorize`` of a DPoP-bound credential: ``--dpop-proof`` with
``--htm`` / ``--htu``, and every way of getting it wrong (exit 1 for a refusal, 2 for bad input)."""

from __future__ import annotations

from pathlib import Path

import jwt
import pytest
from cryptography.hazmat.primitives.asymmetric import ec

from nhictl.core.credentials import CredentialService
from nhictl.core.dpop import key_thumbprint, make_proof
from tests.conftest import CliRunner
from tests.credentials.support import invoice

API = "https://orders.example/api/orders"
AGENT_KEY = ec.generate_private_key(ec.SECP256R1())


@pytest.fixture
def token_file(service: CredentialService, tmp_path: Path) -> Path:
    issued = invoice(service, "DPOP-CLI", dpop_jkt=key_thumbprint(AGENT_KEY))
    path = tmp_path / "token.jwt"
    path.write_text(issued.token)
    return path


def proof_file(tmp_path: Path, token: Path, key: ec.EllipticCurvePrivateKey, name: str) -> Path:
    path = tmp_path / name
    path.write_text(make_proof(key, htm="GET", htu=API, access_token=token.read_text()))
    return path


def test_bound_token_needs_the_agents_proof(
    cli: CliRunner, home: Path, tmp_path: Path, token_file: Path
) -> None:
    claims = jwt.decode(token_file.read_text(), options={"verify_signature": False})
    assert claims["cnf"] == {"jkt": key_thumbprint(AGENT_KEY)}
    plain = cli("verify", str(token_file))
    assert plain.code == 1 and "dpop-proof-required" in plain.stderr
    thief = proof_file(tmp_path, token_file, ec.generate_private_key(ec.SECP256R1()), "t.jwt")
    stolen = cli("verify", str(token_file), "--dpop-proof", str(thief), "--htm", "GET",
                 "--htu", API)  # fmt: skip
    assert stolen.code == 1 and "dpop-key-mismatch" in stolen.stderr
    mine = proof_file(tmp_path, token_file, AGENT_KEY, "p.jwt")
    args = ("--dpop-proof", str(mine), "--htm", "get", "--htu", API + "?page=2")
    ok = cli("verify", str(token_file), *args)
    assert ok.code == 0, ok.stderr
    again = cli("verify", str(token_file), *args)
    assert again.code == 1 and "dpop-replayed" in again.stderr
    fresh = proof_file(tmp_path, token_file, AGENT_KEY, "q.jwt")
    allowed = cli("authorize", str(token_file), "--action", "invoices:read",
                  "--dpop-proof", str(fresh), "--htm", "GET", "--htu", API)  # fmt: skip
    assert allowed.code == 0, allowed.stdout + allowed.stderr
    denied = cli("authorize", str(token_file), "--action", "invoices:read")
    assert denied.code == 1 and "DPoP-bound" in denied.stdout


def test_offline_verify_checks_the_proof(
    cli: CliRunner, home: Path, tmp_path: Path, token_file: Path
) -> None:
    jwks = tmp_path / "jwks.json"
    status = tmp_path / "status.jwt"
    assert cli("keys", "jwks", "--out", str(jwks)).code == 0
    assert cli("status-list", "publish", "--out", str(status)).code == 0
    offline = ("verify", "--offline", "--jwks", str(jwks), "--status-list", str(status))
    bare = cli(*offline, str(token_file))
    assert bare.code == 1 and "dpop-proof-required" in bare.stderr
    mine = proof_file(tmp_path, token_file, AGENT_KEY, "p.jwt")
    ok = cli(*offline, str(token_file), "--dpop-proof", str(mine), "--htm", "GET", "--htu", API)
    assert ok.code == 0, ok.stderr


def test_rebind_keeps_the_binding(service: CredentialService, token_file: Path) -> None:
    jti = jwt.decode(token_file.read_text(), options={"verify_signature": False})["jti"]
    successor = service.rebind(jti, task="DPOP-CLI-2")
    claims = jwt.decode(successor.token, options={"verify_signature": False})
    assert claims["cnf"] == {"jkt": key_thumbprint(AGENT_KEY)}
    assert successor.record.cnf_jkt == key_thumbprint(AGENT_KEY)


@pytest.mark.parametrize(
    ("extra", "says"),
    [
        (("--dpop-proof", "{proof}"), "--dpop-proof needs --htm METHOD and --htu URL"),
        (("--htm", "GET"), "--htm and --htu go with --dpop-proof"),
        (("--dpop-proof", "{missing}", "--htm", "GET", "--htu", API), "no such file"),
        (("--dpop-proof", "{empty}", "--htm", "GET", "--htu", API), "the DPoP proof is empty"),
    ],
)
def test_bad_dpop_options_exit_2(
    cli: CliRunner,
    home: Path,
    tmp_path: Path,
    token_file: Path,
    extra: tuple[str, ...],
    says: str,
) -> None:
    proof = proof_file(tmp_path, token_file, AGENT_KEY, "p.jwt")
    (tmp_path / "empty.jwt").write_text("")
    names = {"proof": proof, "missing": tmp_path / "nope.jwt", "empty": tmp_path / "empty.jwt"}
    args = [a.format(**{k: str(v) for k, v in names.items()}) for a in extra]
    result = cli("verify", str(token_file), *args)
    assert result.code == 2, result.stderr
    assert says in result.stderr
    assert "Traceback" not in result.stderr


def test_token_and_proof_cannot_both_be_stdin(cli: CliRunner, home: Path) -> None:
    result = cli("verify", "-", "--dpop-proof", "-", "--htm", "GET", "--htu", API)
    assert result.code == 2 and "only one of TOKEN, --dpop-proof can be -" in result.stderr
