"""Findings of the independent red team on token verification (issue 13), one test each.

Every refusal here must be a verdict (exit 1, or 2 for unreadable input), never an internal
error (3); every refusal of a presented token writes its audit event, with any value that looks
like a token redacted; the token itself is never echoed.
"""

from __future__ import annotations

import base64
import hashlib
import json
import os
from pathlib import Path
from typing import Any

import pytest

from nhictl.core.credentials import CredentialService, IssueDenied
from nhictl.core.errors import StoreError
from nhictl.core.runtime import Runtime
from tests.conftest import CliRunner
from tests.credentials.support import DEPLOYER, Clock, audit_rows, invoice
from tests.credentials.test_cli import issue_token
from tests.jwt_forge import b64

# Values a forged header can carry that the audit log's screen (a compact JWS) refused.
JWT_LIKE = "eyJhbGciOiJFUzI1NiJ9.eyJzdWIiOiJ4In0.c2lnbmF0dXJl"
SHORT_JWT_LIKE = "eyJabcdefgh.x.y"  # fits in the 16 characters an alg is cut to


def _header(token: str) -> dict[str, Any]:
    segment = token.split(".")[0]
    return dict(json.loads(base64.urlsafe_b64decode(segment + "=" * (-len(segment) % 4))))


def _with_header(token: str, header_json: str | bytes) -> str:
    raw = header_json.encode() if isinstance(header_json, str) else header_json
    _, payload, signature = token.split(".")
    return f"{b64(raw)}.{payload}.{signature}"


def forged_headers(token: str) -> dict[str, str]:
    header = _header(token)
    dup = json.dumps(header)[:-1] + f', "{JWT_LIKE}": 1, "{JWT_LIKE}": 2}}'
    return {
        "kid": _with_header(token, json.dumps({**header, "kid": JWT_LIKE})),
        "alg": _with_header(token, json.dumps({**header, "alg": SHORT_JWT_LIKE})),
        "typ": _with_header(token, json.dumps({**header, "typ": JWT_LIKE})),
        "duplicate-member": _with_header(token, dup),
    }


def _events(runtime: Runtime, action: str) -> list[dict[str, Any]]:
    return [
        {"subject": s, "outcome": o, **json.loads(d)} for s, o, d in audit_rows(runtime, action)
    ]


# --------------------------------------------------------------------------- finding 1


@pytest.mark.parametrize("member", ["kid", "alg", "typ", "duplicate-member"])
@pytest.mark.parametrize("command", ["verify", "authorize"])
def test_a_forged_header_quoting_a_token_is_refused_redacted_and_audited(
    cli: CliRunner, home: Path, tmp_path: Path, member: str, command: str
) -> None:
    token = forged_headers(issue_token(cli, "--scope", "invoices:read"))[member]
    path = tmp_path / "forged.jwt"
    path.write_text(token)
    args = [command, str(path)] + (["--action", "invoices:read"] if command == "authorize" else [])
    result = cli(*args, "-f", "json")
    assert result.code == 1, result.stderr
    assert "internal error" not in result.stderr
    for shown in (result.stdout, result.stderr):
        assert JWT_LIKE not in shown and SHORT_JWT_LIKE not in shown and token not in shown
    doc = json.loads(result.stdout)
    assert doc["reason"] in {"unknown-kid", "alg-not-allowed", "bad-typ", "malformed"}
    with Runtime().store.read() as tx:
        rows = tx.query(
            "SELECT outcome, details_json FROM audit_events WHERE action = ?",
            (f"credential.{command}",),
        )
    assert len(rows) == 1
    outcome, details_json = rows[0]
    details = json.loads(details_json)
    assert outcome == "denied" and details["reason"] == doc["reason"]
    assert "[redacted]" in details["message"] and JWT_LIKE not in details_json
    assert details["token_sha256"] == hashlib.sha256(token.encode()).hexdigest()


def test_the_service_returns_redacted_messages(
    service: CredentialService, runtime: Runtime
) -> None:
    for member, token in forged_headers(invoice(service).token).items():
        result = service.verify(token)
        assert not result.valid and result.message is not None, member
        assert "[redacted]" in result.message and JWT_LIKE not in result.message
    assert len(_events(runtime, "credential.verify")) == 4


def test_a_token_shaped_task_or_audience_is_not_echoed(
    service: CredentialService, runtime: Runtime
) -> None:
    token = invoice(service).token
    mismatch = service.verify(token, task=JWT_LIKE)
    audience = service.verify(token, audience=JWT_LIKE)
    assert (mismatch.reason, audience.reason) == ("task-mismatch", "wrong-audience")
    for result in (mismatch, audience):
        assert result.message is not None and JWT_LIKE not in result.message
    assert [e["reason"] for e in _events(runtime, "credential.verify")] == [
        "task-mismatch",
        "wrong-audience",
    ]


# --------------------------------------------------------------------------- finding 2


def _non_utf8_segments(token: str) -> dict[str, str]:
    header, payload, signature = token.split(".")
    bad_header = b64(b'{"alg":"ES256","kid":"\xff\xfe"}')
    bad_payload = b64(b'{"sub":"\xc3\x28"}')
    return {
        "header": f"{bad_header}.{payload}.{signature}",
        "payload": f"{header}.{bad_payload}.{signature}",
        "signature": f"{header}.{payload}.{b64(bytes(range(256)))}",  # bytes anyway: bad sig
    }


@pytest.mark.parametrize("segment", ["header", "payload", "signature"])
def test_segments_decoding_to_non_utf8_are_refused_and_audited(
    cli: CliRunner, home: Path, tmp_path: Path, segment: str
) -> None:
    token = _non_utf8_segments(issue_token(cli, "--scope", "invoices:read"))[segment]
    path = tmp_path / "t.jwt"
    path.write_text(token)
    result = cli("verify", str(path), "-f", "json")
    assert result.code == 1, result.stderr
    expected = "bad-signature" if segment == "signature" else "malformed"
    assert json.loads(result.stdout)["reason"] == expected
    events = _events(Runtime(), "credential.verify")
    assert [e["reason"] for e in events] == [expected]


RAW = [
    b"\xff\xfe\xfd",
    b"eyJ\xc3\xa9.eyJ.sig",  # UTF-8, not ASCII
    b"eyJhbGciOiJFUzI1NiJ9.eyJ\xff.c2ln",  # undecodable byte inside a segment
    b"\x00\x01.\x02.\x03",
]


@pytest.mark.parametrize(
    ("how", "raw"),
    [(how, raw) for how in ("stdin", "file") for raw in RAW]
    + [("argument", raw) for raw in RAW if b"\x00" not in raw],  # argv holds no NUL byte
)
def test_raw_bytes_are_a_malformed_token_not_a_crash(
    cli: CliRunner, home: Path, tmp_path: Path, raw: bytes, how: str
) -> None:
    if how == "stdin":
        result = cli("verify", "-", "-f", "json", stdin=raw)
    elif how == "file":
        path = tmp_path / "raw.jwt"
        path.write_bytes(raw)
        result = cli("verify", str(path), "-f", "json")
    else:
        # What Python makes of undecodable bytes in argv (PEP 383).
        result = cli("verify", os.fsdecode(raw), "-f", "json")
    if how == "argument" and raw.count(b".") not in (2, 4):
        # Not dotted like a token: read as a (missing) path, an input error printed safely.
        assert result.code == 2 and "cannot read the token" in result.stderr
        return
    assert result.code == 1, result.stderr
    assert json.loads(result.stdout)["reason"] == "malformed"
    (event,) = _events(Runtime(), "credential.verify")
    assert event["reason"] == "malformed"
    assert event["token_sha256"] == hashlib.sha256(raw.strip()).hexdigest()


def test_an_undecodable_path_is_printed_escaped(cli: CliRunner, home: Path) -> None:
    result = cli("verify", os.fsdecode(b"/nowhere/\xff-token"))
    assert result.code == 2
    assert "'/nowhere/\\udcff-token': cannot read the token" in result.stderr


@pytest.mark.parametrize("raw", [b"\xff\xfe", b"eyJ\xc3\xa9.a.b"])
def test_authorize_refuses_raw_bytes_too(cli: CliRunner, home: Path, raw: bytes) -> None:
    result = cli("authorize", "-", "--action", "invoices:read", stdin=raw)
    assert result.code == 1, result.stderr
    assert result.stdout.startswith("deny: invoices:read: token is not ASCII text")
    assert [e["reason"] for e in _events(Runtime(), "credential.authorize")] == ["malformed"]


# --------------------------------------------------------------------------- finding 3


def _crafted(token: str) -> dict[str, Any]:
    header, payload, signature = token.split(".")
    h = _header(token)
    return {
        "none": None,
        "bytes": token.encode(),
        "number": 42,
        "lone surrogate": token[:10] + "\udcff" + token[10:],
        "high surrogate": "\ud800" + token,
        "typ is a list": _with_header(token, json.dumps({**h, "typ": ["at+jwt"]})),
        "typ is an object": _with_header(token, json.dumps({**h, "typ": {"a": 1}})),
        "kid is a list": _with_header(token, json.dumps({**h, "kid": [1]})),
        "alg is an object": _with_header(token, json.dumps({**h, "alg": {"x": JWT_LIKE}})),
        "huge number": _with_header(token, '{"alg":"ES256","n":' + "9" * 5000 + "}"),
        "deep nesting": _with_header(token, '{"a":' + "[" * 100_000 + "]" * 100_000 + "}"),
        "not an object": _with_header(token, "[1,2]"),
        "NaN": _with_header(token, '{"alg":NaN}'),
        "BOM": _with_header(token, b"\xef\xbb\xbf" + json.dumps(h).encode()),
        "too large": f"{header}.{payload}{'A' * 20_000}.{signature}",
        "five parts": f"{token}.x.y",
        "empty": "",
        "spaces": "  \n ",
        "unknown kid": _with_header(token, json.dumps({**h, "kid": "no-such-key"})),
        "no kid": _with_header(token, json.dumps({k: v for k, v in h.items() if k != "kid"})),
    }


def test_verify_never_raises_for_any_input(service: CredentialService, runtime: Runtime) -> None:
    cases = _crafted(invoice(service).token)
    for name, value in cases.items():
        result = service.verify(value)
        assert not result.valid, name
        assert result.reason and result.message, name
    events = _events(runtime, "credential.verify")
    assert len(events) == len(cases)
    digests = [e["token_sha256"] for e in events]
    assert digests[:2] == [None, hashlib.sha256(cases["bytes"]).hexdigest()]
    assert all(d is None or len(d) == 64 for d in digests)


def test_authorize_never_raises_for_any_input(service: CredentialService, runtime: Runtime) -> None:
    cases = _crafted(invoice(service).token)
    for name, value in cases.items():
        result = service.authorize(value, action="invoices:read")
        assert not result.allowed and result.reason, name
    assert len(_events(runtime, "credential.authorize")) == len(cases)


@pytest.mark.backends("sqlite")  # breaks the file; test_store_postgres.py stops a server
def test_an_unreachable_store_is_still_an_error(
    service: CredentialService, runtime: Runtime
) -> None:
    token = invoice(service).token
    runtime.store.close()
    db = Path(runtime.store.location)
    for suffix in ("", "-wal", "-shm"):
        Path(f"{db}{suffix}").unlink(missing_ok=True)
    db.write_bytes(b"this is not a database" * 100)
    with pytest.raises(StoreError, match="corrupt"):  # the service reconnects lazily
        service.verify(token)


# --------------------------------------------------------------------------- finding 4


def test_short_lived_tokens_count_against_the_cap_while_they_verify(
    service: CredentialService, clock: Clock
) -> None:
    # payments-deployer: maxConcurrentCredentials 2; the clock leeway is 60 s.
    first = service.issue(DEPLOYER, task="D-1", intent="deploy-staging", ttl_seconds=1)
    second = service.issue(DEPLOYER, task="D-2", intent="deploy-staging", ttl_seconds=1)
    clock.advance(seconds=30)  # past exp, inside the leeway: both still verify ...
    assert service.verify(first.token).valid and service.verify(second.token).valid
    with pytest.raises(IssueDenied, match="maxConcurrentCredentials 2") as denied:
        service.issue(DEPLOYER, task="D-3", intent="deploy-staging", ttl_seconds=1)
    assert denied.value.policy_ids == ["builtin.max-concurrent-credentials"]
    clock.advance(seconds=31)  # exp + 61 s: neither verifies, neither counts
    assert service.verify(first.token).reason == "expired"
    third = service.issue(DEPLOYER, task="D-3", intent="deploy-staging", ttl_seconds=1)
    fourth = service.issue(DEPLOYER, task="D-4", intent="deploy-staging", ttl_seconds=1)
    assert service.verify(third.token).valid and service.verify(fourth.token).valid


def test_the_cap_boundary_is_exactly_verifys(service: CredentialService, clock: Clock) -> None:
    """At exp + leeway - 1 s a token verifies and counts; at exp + leeway it does neither."""
    service.issue(DEPLOYER, task="D-1", intent="deploy-staging", ttl_seconds=1)
    last = service.issue(DEPLOYER, task="D-2", intent="deploy-staging", ttl_seconds=1)
    clock.advance(seconds=1 + 60 - 1)
    assert service.verify(last.token).valid
    with pytest.raises(IssueDenied, match="maxConcurrentCredentials"):
        service.issue(DEPLOYER, task="D-3", intent="deploy-staging", ttl_seconds=1)
    clock.advance(seconds=1)
    assert service.verify(last.token).reason == "expired"
    service.issue(DEPLOYER, task="D-3", intent="deploy-staging", ttl_seconds=1)


# --------------------------------------------------------------------------- found by fuzzing


def _non_canonical(segment: str) -> str:
    """The same bytes with a spare bit of the last character set (lenient decoders agree)."""
    alphabet = "ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789-_"
    spare = {2: 0b1111, 3: 0b11}[len(segment) % 4]
    value = alphabet.index(segment[-1])
    assert value & spare == 0
    return segment[:-1] + alphabet[value | 1]


def test_a_non_canonical_encoding_is_a_changed_token(
    service: CredentialService, clock: Clock
) -> None:
    """Python's base64 ignores the spare bits, so the signature still verified over the same
    bytes: offline, with no stored hash to compare, a different string was accepted."""
    from nhictl.core.credentials import verify_token_offline

    token = invoice(service).token
    header, payload, signature = token.split(".")
    changed = f"{header}.{payload}.{_non_canonical(signature)}"
    assert base64.urlsafe_b64decode(changed.split(".")[2] + "==") == base64.urlsafe_b64decode(
        signature + "=="
    )
    offline = verify_token_offline(
        changed,
        service.jwks(),
        service.status_list_token(),
        issuer=service.issuer,
        audience=service.default_audience,
        now=clock(),
    )
    assert (offline.valid, offline.reason) == (False, "malformed")
    assert service.verify(changed).reason == "malformed"
