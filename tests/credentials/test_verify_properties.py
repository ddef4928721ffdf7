"""Property-based tests for token verification (hypothesis; profiles in tests/conftest.py).

For arbitrary bytes and for valid tokens mutated every way an attacker can (a bit flipped,
a byte inserted or deleted in any segment, a character replaced, segments swapped, the header
re-encoded with ``alg: none``, HS256 keyed with our public key, or duplicate members):

- only the unchanged token is ever accepted, online (store) and offline (JWKS + status list);
- nothing raises: every outcome is a verdict with a reason;
- every online refusal writes exactly one audit event, and a CLI refusal exits 1 with it.

The long run: ``HYPOTHESIS_PROFILE=long pytest -q tests/credentials/test_verify_properties.py``.
"""

from __future__ import annotations

import base64
import hashlib
import hmac
import json
import os
from pathlib import Path
from typing import Any

import pytest
from cryptography.hazmat.primitives import serialization
from hypothesis import given
from hypothesis import strategies as st

from nhictl.core.credentials import CredentialService, IssuedCredential, verify_token_offline
from nhictl.core.runtime import Runtime
from tests.conftest import CliRunner
from tests.credentials.support import Clock, invoice
from tests.jwt_forge import b64

BASE64URL = "ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789-_"


def _decode(segment: str) -> bytes:
    return base64.urlsafe_b64decode(segment + "=" * (-len(segment) % 4))


def _audit_count(runtime: Runtime) -> int:
    with runtime.store.read() as tx:
        row = tx.one("SELECT COUNT(*) FROM audit_events")
    return int(row[0]) if row else 0


@pytest.fixture
def issued(service: CredentialService) -> IssuedCredential:
    return invoice(service, scopes=["invoices:read"])


@pytest.fixture
def offline(service: CredentialService, clock: Clock) -> dict[str, Any]:
    """What a resource server holds: our JWKS and a fresh status list."""
    return {
        "jwks": service.jwks(),
        "status_list_jwt": service.status_list_token(),
        "issuer": service.issuer,
        "audience": service.default_audience,
        "now": clock(),
    }


# --------------------------------------------------------------------------- mutations

_SEGMENT = st.integers(min_value=0, max_value=2)
_POSITION = st.integers(min_value=0, max_value=10_000)

MUTATIONS = st.one_of(
    st.tuples(st.just("flip-bit"), _SEGMENT, _POSITION, st.integers(0, 7)),
    st.tuples(st.just("insert-byte"), _SEGMENT, _POSITION, st.integers(0, 255)),
    st.tuples(st.just("delete-byte"), _SEGMENT, _POSITION, st.just(0)),
    st.tuples(st.just("replace-char"), st.just(-1), _POSITION, st.sampled_from(BASE64URL + ".=")),
    st.tuples(st.just("insert-char"), st.just(-1), _POSITION, st.characters()),
    st.tuples(st.just("swap-segments"), _SEGMENT, _SEGMENT, st.just(0)),
    st.tuples(
        st.just("header"),
        st.just(-1),
        st.just(0),
        st.sampled_from(
            ["alg-none", "alg-none-unsigned", "hs256-pem", "hs256-jwk", "dup-alg", "dup-kid"]
        ),
    ),
)


def _reheader(token: str, how: str, public_pem: bytes, public_jwk: bytes) -> str:
    header_seg, payload, _ = token.split(".")
    header = json.loads(_decode(header_seg))
    if how.startswith("dup-"):
        member = how[4:]
        other = "none" if member == "alg" else "attacker-key"
        text = json.dumps(header)[:-1] + f', "{member}": "{other}"}}'
        return f"{b64(text.encode())}.{payload}.{token.split('.')[2]}"
    if how.startswith("alg-none"):
        new = b64(json.dumps({**header, "alg": "none"}).encode())
        return f"{new}.{payload}." + ("" if how.endswith("unsigned") else b64(b"x"))
    new = b64(json.dumps({**header, "alg": "HS256"}).encode())
    secret = public_pem if how == "hs256-pem" else public_jwk
    signature = hmac.new(secret, f"{new}.{payload}".encode(), hashlib.sha256).digest()
    return f"{new}.{payload}.{b64(signature)}"


def mutate(token: str, plan: tuple[str, int, int, Any], pem: bytes, jwk: bytes) -> str:
    op, segment, pos, arg = plan
    parts = token.split(".")
    if op in ("flip-bit", "insert-byte", "delete-byte"):
        raw = bytearray(_decode(parts[segment]))
        at = pos % (len(raw) + (1 if op == "insert-byte" else 0))
        if op == "flip-bit":
            raw[at] ^= 1 << arg
        elif op == "insert-byte":
            raw.insert(at, arg)
        else:
            del raw[at]
        parts[segment] = b64(bytes(raw))
        return ".".join(parts)
    if op == "replace-char":
        at = pos % len(token)
        return token[:at] + str(arg) + token[at + 1 :]
    if op == "insert-char":
        at = pos % (len(token) + 1)
        return token[:at] + str(arg) + token[at:]
    if op == "swap-segments":
        parts[segment], parts[pos % 3] = parts[pos % 3], parts[segment]
        return ".".join(parts)
    return _reheader(token, arg, pem, jwk)


def _public_forms(runtime: Runtime) -> tuple[bytes, bytes]:
    key = runtime.keys.current()
    pem = key.private_key.public_key().public_bytes(
        serialization.Encoding.PEM, serialization.PublicFormat.SubjectPublicKeyInfo
    )
    return pem, json.dumps(key.public_jwk()).encode()


# --------------------------------------------------------------------------- properties


@given(plan=MUTATIONS)
def test_properties_a_mutated_token_is_accepted_only_when_unchanged(
    service: CredentialService,
    runtime: Runtime,
    issued: IssuedCredential,
    offline: dict[str, Any],
    plan: tuple[str, int, int, Any],
) -> None:
    pem, jwk = _public_forms(runtime)
    token = mutate(issued.token, plan, pem, jwk)
    before = _audit_count(runtime)
    online = service.verify(token)
    resource_server = verify_token_offline(token, **offline)
    if token == issued.token:
        assert online.valid and resource_server.valid
        assert _audit_count(runtime) == before
    else:
        assert not online.valid and online.reason and online.message, plan
        assert not resource_server.valid and resource_server.reason, plan
        assert _audit_count(runtime) == before + 1  # the refusal, and only it
        assert token not in online.message


@given(raw=st.binary(max_size=2048))
def test_properties_arbitrary_bytes_are_never_accepted_and_never_raise(
    service: CredentialService, runtime: Runtime, offline: dict[str, Any], raw: bytes
) -> None:
    text = raw.decode("ascii", "surrogateescape")  # what the CLI hands the core
    before = _audit_count(runtime)
    result = service.verify(text)
    assert not result.valid and result.reason and result.message
    assert not verify_token_offline(text, **offline).valid
    assert not service.authorize(text, action="invoices:read").allowed
    assert _audit_count(runtime) == before + 2  # one verify, one authorize refusal


@given(text=st.text(max_size=512))
def test_properties_arbitrary_text_is_never_accepted_and_never_raises(
    service: CredentialService, offline: dict[str, Any], text: str
) -> None:
    assert not service.verify(text).valid
    assert not verify_token_offline(text, **offline).valid


@given(
    raw=st.one_of(
        st.binary(max_size=512),
        st.builds(lambda h, p: f"{b64(h)}.{b64(p)}.c2ln".encode(), st.binary(), st.binary()),
    ),
    command=st.sampled_from(["verify", "authorize"]),
    how=st.sampled_from(["stdin", "argument"]),
)
def test_properties_a_cli_refusal_exits_1_with_its_audit_event(
    cli: CliRunner, home: Path, raw: bytes, command: str, how: str
) -> None:
    runtime = Runtime()
    try:
        before = _audit_count(runtime)
    finally:
        runtime.store.close()
    args = ["--action", "invoices:read"] if command == "authorize" else []
    if how == "stdin":
        result = cli(command, "-", *args, stdin=raw)
    else:
        argument = os.fsdecode(raw.replace(b"\x00", b"")) or "x"
        if argument.startswith("-"):
            argument = "./" + argument  # an option, not a token: click's business
        result = cli(command, argument, *args)
    assert result.code in (1, 2), result.stderr
    assert "internal error" not in result.stderr and "Traceback" not in result.stderr
    runtime = Runtime()
    try:
        after = _audit_count(runtime)
    finally:
        runtime.store.close()
    if result.code == 1:
        assert after == before + 1, result.stderr
    else:  # unreadable input: empty, or an argument that is neither a file nor dotted
        assert after == before
        assert "cannot read the token" in result.stderr or "empty" in result.stderr


_TOKENISH = st.from_regex(
    r"(eyJ[A-Za-z0-9_-]{0,24}(\.[A-Za-z0-9_-]{0,8}){0,5}|-----BEGIN [A-Z ]{0,12}KEY-----)",
    fullmatch=True,
)


@given(
    pieces=st.lists(st.one_of(st.text(max_size=40), _TOKENISH), max_size=6),
    limit=st.integers(1, 80),
)
def test_properties_redacted_text_always_passes_the_audit_screen(
    pieces: list[str], limit: int
) -> None:
    """What a refusal quotes (``quote``) or says (``redact``) can always be audited."""
    from nhictl.core.redact import holds_token_or_private_key, quote, redact

    text = "".join(pieces)
    assert not holds_token_or_private_key(redact(text))
    assert not holds_token_or_private_key(quote(text, limit))
    assert not holds_token_or_private_key(redact(quote(text, limit)))
