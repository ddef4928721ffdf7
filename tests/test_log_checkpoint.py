"""``nhictl log checkpoint`` and ``log verify --checkpoint``: a signed chain head that catches
what the chain alone cannot (a rewrite with every hash recomputed, a truncated log), and refuses
forged, foreign or mistyped checkpoint files as bad input."""

from __future__ import annotations

import base64
import hashlib
import json
from pathlib import Path
from typing import Any

import jwt
import pytest
from cryptography.hazmat.primitives.asymmetric import ed25519

from nhictl.core import auditlog
from nhictl.core.checkpoint import CHECKPOINT_TYP
from tests.auditlog_support import rewrite_and_recompute, run_sql
from tests.conftest import CliRunner
from tests.registry_fixtures import Home
from tests.registry_fixtures import home as home

AGENT = "support-summarizer"


def some_events(cli: CliRunner, home: Home) -> None:
    from tests.registry_fixtures import SUMMARIZER, load_manifest

    home.register(load_manifest(SUMMARIZER))
    assert cli("agents", "disable", AGENT, "--reason", "incident 7").code == 0
    assert cli("agents", "enable", AGENT).code == 0


def make_checkpoint(cli: CliRunner, path: Path) -> dict[str, Any]:
    result = cli("log", "checkpoint", "-o", str(path))
    assert result.code == 0, result.stderr
    payload = path.read_text().strip().split(".")[1]
    claims: dict[str, Any] = json.loads(base64.urlsafe_b64decode(payload + "=="))
    return claims


def verify(cli: CliRunner, path: Path | str) -> tuple[int, dict[str, Any] | None, str]:
    result = cli("log", "verify", "--checkpoint", str(path), "-f", "json")
    data = json.loads(result.stdout) if result.stdout else None
    return result.code, data, result.stderr


def test_checkpoint_signs_the_head_and_is_audited(
    cli: CliRunner, home: Home, tmp_path: Path
) -> None:
    some_events(cli, home)
    path = tmp_path / "cp.jwt"
    claims = make_checkpoint(cli, path)
    with home.runtime.store.read() as tx:
        events = auditlog.list_events(tx)
    head_before, audited = events[-2], events[-1]
    assert (claims["seq"], claims["hash"]) == (head_before.seq, head_before.hash)
    assert claims["event_at"] == head_before.at
    assert claims["store"] == home.runtime.store.location
    assert claims["iss"] == "urn:nhictl:registry" and isinstance(claims["iat"], int)
    header = jwt.get_unverified_header(path.read_text().strip())
    assert header["typ"] == CHECKPOINT_TYP
    assert header["kid"] == home.runtime.keys.current_info().kid
    # The checkpoint itself is an audit event, matching the file by its hash.
    assert (audited.action, audited.subject, audited.outcome) == (
        "log.checkpoint",
        "audit-log",
        "signed",
    )
    digest = hashlib.sha256(path.read_text().strip().encode()).hexdigest()
    assert audited.details == {
        "seq": head_before.seq,
        "hash": head_before.hash,
        "kid": header["kid"],
        "checkpoint_sha256": digest,
    }
    code, data, stderr = verify(cli, path)
    assert code == 0 and data is not None and data["ok"] and data["problems"] == []
    assert data["checkpoint"]["seq"] == head_before.seq
    assert f"matches the checkpoint at event {head_before.seq}" in stderr
    # Events after the checkpoint are fine as long as the chain holds.
    assert cli("agents", "disable", AGENT, "--reason", "again").code == 0
    assert verify(cli, path)[0] == 0


def test_checkpoint_goes_to_stdout_without_output(cli: CliRunner, home: Home) -> None:
    result = cli("log", "checkpoint")
    assert result.code == 0
    assert jwt.get_unverified_header(result.stdout.strip())["typ"] == CHECKPOINT_TYP
    verified = cli("log", "verify", "--checkpoint", "-", stdin=result.stdout.encode())
    assert verified.code == 0, verified.stderr


def test_a_rewrite_with_recomputed_hashes_passes_the_chain_but_not_the_checkpoint(
    cli: CliRunner, home: Home, tmp_path: Path
) -> None:
    some_events(cli, home)
    path = tmp_path / "cp.jwt"
    claims = make_checkpoint(cli, path)
    rewrite_and_recompute(2, actor="user:mallory")
    plain = cli("log", "verify")
    assert plain.code == 0, "the recomputed chain is self-consistent: the chain alone is fooled"
    code, data, _ = verify(cli, path)
    assert code == 1 and data is not None and not data["ok"]
    assert [p["seq"] for p in data["problems"]] == [claims["seq"]]
    assert "differs from the checkpoint's" in data["problems"][0]["message"]
    table = cli("log", "verify", "--checkpoint", str(path))
    assert table.code == 1
    assert f"event {claims['seq']}: hash differs from the checkpoint's" in table.stdout


def test_an_edit_after_the_checkpoint_is_named_by_the_chain(
    cli: CliRunner, home: Home, tmp_path: Path
) -> None:
    path = tmp_path / "cp.jwt"
    claims = make_checkpoint(cli, path)
    some_events(cli, home)
    later = claims["seq"] + 2
    run_sql("UPDATE audit_events SET outcome = 'x' WHERE seq = ?", (later,))
    code, data, _ = verify(cli, path)
    assert code == 1 and data is not None
    assert [(p["seq"], p["message"]) for p in data["problems"]] == [
        (later, "content does not match its hash (edited)")
    ]


def test_a_truncated_log_fails_against_the_checkpoint(
    cli: CliRunner, home: Home, tmp_path: Path
) -> None:
    some_events(cli, home)
    path = tmp_path / "cp.jwt"
    claims = make_checkpoint(cli, path)
    keep = claims["seq"] - 2
    run_sql("DELETE FROM audit_events WHERE seq > ?", (keep,))
    assert cli("log", "verify").code == 0, "deleting the newest events leaves a valid chain"
    code, data, _ = verify(cli, path)
    assert code == 1 and data is not None
    [problem] = data["problems"]
    assert problem["seq"] == claims["seq"]
    assert f"the log ends at seq {keep} (newest events deleted)" in problem["message"]


def test_a_checkpoint_signed_by_a_retired_key_still_verifies(
    cli: CliRunner, home: Home, tmp_path: Path
) -> None:
    path = tmp_path / "cp.jwt"
    make_checkpoint(cli, path)
    old_kid = home.runtime.keys.current_info().kid
    assert cli("keys", "rotate").code == 0
    # Long past its JWKS window: tokens it signed are dead, checkpoints are not.
    meta_path = home.runtime.keys.keys_dir / "keys.json"
    meta = json.loads(meta_path.read_text())
    for key in meta["keys"]:
        if key["kid"] == old_kid:
            key["retired_at"] = "2020-01-01T00:00:00+00:00"
    meta_path.write_text(json.dumps(meta))
    assert old_kid not in {k["kid"] for k in home.runtime.keys.public_jwks()["keys"]}
    assert verify(cli, path)[0] == 0


def resign(token: str, key: Any, alg: str, **header: Any) -> str:
    """The token's claims signed again with ``key`` and these header members."""
    claims = jwt.decode(token, options={"verify_signature": False})
    return jwt.encode(claims, key, algorithm=alg, headers=header)


def test_bad_checkpoint_files_are_input_errors(
    cli: CliRunner, home: Home, tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    path = tmp_path / "cp.jwt"
    make_checkpoint(cli, path)
    token = path.read_text().strip()
    kid = home.runtime.keys.current_info().kid
    own = home.runtime.keys.current()
    forger = ed25519.Ed25519PrivateKey.generate()
    # Another registry: its own home, its own key.
    other = tmp_path / "other-home"
    monkeypatch.setenv("NHICTL_HOME", str(other))
    assert cli("init").code == 0
    foreign = tmp_path / "foreign.jwt"
    make_checkpoint(cli, foreign)
    monkeypatch.setenv("NHICTL_HOME", str(tmp_path / "nhictl-home"))  # back to this one

    payload = json.loads(base64.urlsafe_b64decode(token.split(".")[1] + "=="))
    payload["seq"] = 1
    altered = token.split(".")
    altered[1] = base64.urlsafe_b64encode(json.dumps(payload).encode()).decode().rstrip("=")
    cases = {
        "foreign": (
            foreign.read_text(),
            "checkpoint refused: it is signed by a key this registry never had",
        ),
        "forged": (
            resign(token, forger, "EdDSA", kid=kid, typ=CHECKPOINT_TYP),
            "its signature does not verify (forged or altered)",
        ),
        "altered": (".".join(altered), "its signature does not verify (forged or altered)"),
        "wrong typ": (
            resign(token, own.private_key, own.alg, kid=kid, typ="at+jwt"),
            "it is not a log checkpoint",
        ),
        "alg none": (
            resign(token, None, "none", kid=kid, typ=CHECKPOINT_TYP) + "c2ln",
            "its algorithm is not allowed",
        ),
        "symmetric": (
            resign(token, b"k" * 32, "HS256", kid=kid, typ=CHECKPOINT_TYP),
            "its algorithm is not allowed",
        ),
        "garbage": ("hello", "checkpoint refused: token is not a compact JWS"),
        "not ascii": ("\u00e9t\u00e9", "not a checkpoint (not ASCII text)"),
    }
    for name, (text, expected) in cases.items():
        bad = tmp_path / f"{name}.jwt"
        bad.write_text(text)
        code, data, stderr = verify(cli, bad)
        assert code == 2 and data is None, name
        assert f"nhictl: error: {bad}: " in stderr and expected in stderr, name
        assert len(stderr.splitlines()) <= 2 and "Traceback" not in stderr, name
    missing = verify(cli, tmp_path / "nope.jwt")
    assert missing[0] == 2 and "nope.jwt: no such file" in missing[2]
    claims_bad = resign(token, own.private_key, own.alg, kid=kid, typ=CHECKPOINT_TYP)
    broken = json.loads(base64.urlsafe_b64decode(claims_bad.split(".")[1] + "=="))
    for field, value in (("seq", 0), ("seq", "3"), ("hash", "abc"), ("store", None)):
        doc = {**broken, field: value}
        bad = tmp_path / "claims.jwt"
        bad.write_text(
            jwt.encode(doc, own.private_key, algorithm=own.alg, headers={
                "kid": kid, "typ": CHECKPOINT_TYP})
        )  # fmt: skip
        code, _, stderr = verify(cli, bad)
        assert code == 2 and f"claim '{field}'" in stderr, (field, value)


def test_a_checkpoint_that_cannot_be_written_records_no_event(cli: CliRunner, home: Home) -> None:
    with home.runtime.store.read() as tx:
        before = auditlog.head(tx)
    result = cli("log", "checkpoint", "-o", "/dev/full")
    assert result.code == 2 and "/dev/full" in result.stderr
    with home.runtime.store.read() as tx:
        assert auditlog.head(tx) == before
    missing = cli("log", "checkpoint", "-o", "/no/such/folder/cp.jwt")
    assert missing.code == 2
