"""JIT access tokens and the token status list: RFC 9068 shape, RFC 8725 attacks, interop."""

from __future__ import annotations

import base64
import json
import subprocess
import sys
import zlib
from datetime import UTC, datetime, timedelta
from pathlib import Path
from typing import Any

import jwt
import pytest
from cryptography.hazmat.primitives import serialization
from cryptography.hazmat.primitives.asymmetric import ed25519

from nhictl.core import jose
from nhictl.core.errors import InputError
from nhictl.core.jose import parse_unverified
from nhictl.core.keys import KeyStore, SigningKey
from nhictl.core.tokens import (
    MintedToken,
    TokenError,
    agent_subject,
    build_status_list,
    check_status,
    decode_status_list,
    load_jwks,
    mint_access_token,
    sign_status_list,
    token_scopes,
    token_status,
    verify_access_token,
    verify_offline,
)
from tests.jwt_forge import forge, replace_payload

NOW = datetime(2026, 3, 1, 10, 0, tzinfo=UTC)
T = int(NOW.timestamp())
ISS = "https://nhictl.example/registry"
AUD = "https://api.example/reports"
AGENT = "spiffe://demo.test/agents/summariser"
STATUS_URI = "https://nhictl.example/status/1"
ROOT = Path(__file__).resolve().parent.parent


@pytest.fixture(scope="module")
def store(tmp_path_factory: pytest.TempPathFactory) -> KeyStore:
    ks = KeyStore(tmp_path_factory.mktemp("keys"))
    ks.create()
    return ks


@pytest.fixture(scope="module")
def key(store: KeyStore) -> SigningKey:
    return store.current()


@pytest.fixture(scope="module")
def jwks(store: KeyStore) -> dict[str, Any]:
    return store.public_jwks()


def mint(key: SigningKey, **over: Any) -> MintedToken:
    args: dict[str, Any] = {
        "issuer": ISS,
        "subject": AGENT,
        "audience": AUD,
        "client_id": "summariser",
        "scopes": ["reports:read", "reports:list"],
        "ttl": timedelta(minutes=10),
        "task_id": "task-42",
        "intent": "summarise-q3",
        "data_sensitivity": "internal",
        "environment": "staging",
        "tools": ["s3", "slack"],
        "status_index": 7,
        "status_uri": STATUS_URI,
        "now": NOW,
    }
    args.update(over)
    return mint_access_token(key, **args)


def good_claims(**over: Any) -> dict[str, Any]:
    claims: dict[str, Any] = {
        "iss": ISS,
        "sub": AGENT,
        "aud": AUD,
        "iat": T,
        "nbf": T,
        "exp": T + 600,
        "jti": "j-1",
        "client_id": "summariser",
        "scope": "reports:read",
    }
    claims.update(over)
    return {k: v for k, v in claims.items() if v is not None}


def signed(key: SigningKey, header: dict[str, Any] | None = None, **over: Any) -> str:
    """A token signed with the real registry key, with header/claims varied."""
    h = {"alg": "EdDSA", "typ": "at+jwt", "kid": key.kid, **(header or {})}
    return forge(
        {k: v for k, v in h.items() if v is not None}, good_claims(**over), key.private_key
    )


def refused(token: str, jwks: Any, reason: str, **kw: Any) -> TokenError:
    with pytest.raises(TokenError) as excinfo:
        verify_access_token(
            token,
            jwks,
            issuer=kw.get("issuer", ISS),
            audience=kw.get("audience", AUD),
            now=kw.get("now", NOW),
        )
    assert excinfo.value.reason == reason, excinfo.value.message
    assert token not in excinfo.value.message
    return excinfo.value


# --------------------------------------------------------------------------- minting


def test_minted_token_shape(key: SigningKey, jwks: dict[str, Any]) -> None:
    minted = mint(key)
    header = jwt.get_unverified_header(minted.token)
    assert header == {"alg": "EdDSA", "typ": "at+jwt", "kid": key.kid}
    claims = verify_access_token(minted.token, jwks, issuer=ISS, audience=AUD, now=NOW)
    assert claims["jti"] == minted.jti and len(minted.jti) >= 22
    assert claims["sub"] == AGENT and "act" not in claims
    assert (claims["iat"], claims["nbf"], claims["exp"]) == (T, T, T + 600)
    assert claims["client_id"] == "summariser" and claims["txn"] == "task-42"
    assert token_scopes(claims) == ["reports:read", "reports:list"]
    assert claims["tctx"] == {
        "intent": "summarise-q3",
        "data_sensitivity": "internal",
        "environment": "staging",
        "tools": ["s3", "slack"],
    }
    assert claims["status"] == {"status_list": {"idx": 7, "uri": STATUS_URI}}
    import hashlib

    assert minted.token_sha256 == hashlib.sha256(minted.token.encode()).hexdigest()


def test_on_behalf_of_uses_act(key: SigningKey, jwks: dict[str, Any]) -> None:
    minted = mint(key, on_behalf_of="user:alice@example.com")
    claims = verify_access_token(minted.token, jwks, issuer=ISS, audience=AUD, now=NOW)
    # RFC 8693: sub is the principal acted for, act.sub the current actor (the agent)
    assert claims["sub"] == "user:alice@example.com"
    assert claims["act"] == {"sub": AGENT}
    assert agent_subject(claims) == AGENT
    assert agent_subject(good_claims()) == AGENT


def test_mint_refuses_malformed_inputs(key: SigningKey) -> None:
    with pytest.raises(InputError):
        mint(key, ttl=timedelta(0))
    with pytest.raises(InputError):
        mint(key, scopes=["a b"])
    with pytest.raises(InputError):
        mint(key, status_uri=None)


def test_es256_keys_work(tmp_path: Path) -> None:
    ks = KeyStore(tmp_path)
    ks.create("ES256")
    minted = mint(ks.current())
    assert jwt.get_unverified_header(minted.token)["alg"] == "ES256"
    verify_access_token(minted.token, ks.public_jwks(), issuer=ISS, audience=AUD, now=NOW)


def test_interop_plain_pyjwt_with_only_our_jwks(key: SigningKey, jwks: dict[str, Any]) -> None:
    minted = mint(key)
    keyset = jwt.PyJWKSet.from_dict(json.loads(json.dumps(jwks)))
    kid = jwt.get_unverified_header(minted.token)["kid"]
    claims = jwt.decode(
        minted.token,
        keyset[kid].key,
        algorithms=["EdDSA"],
        audience=AUD,
        issuer=ISS,
        options={"verify_exp": False, "verify_iat": False, "verify_nbf": False},
    )
    assert claims["jti"] == minted.jti


def test_token_signed_before_rotation_verifies_until_window(tmp_path: Path) -> None:
    clock = [NOW]
    ks = KeyStore(tmp_path, clock=lambda: clock[0], max_token_lifetime=timedelta(minutes=15))
    ks.create()
    old = mint(ks.current(), ttl=timedelta(minutes=15))
    ks.rotate()
    new = mint(ks.current())
    for token in (old.token, new.token):
        verify_access_token(token, ks.public_jwks(), issuer=ISS, audience=AUD, now=NOW)
    clock[0] = NOW + timedelta(minutes=16)
    refused(old.token, ks.public_jwks(), "unknown-kid", now=NOW)


# --------------------------------------------------------------------------- RFC 8725 attacks


def test_alg_none(key: SigningKey, jwks: dict[str, Any]) -> None:
    token = forge({"alg": "none", "typ": "at+jwt", "kid": key.kid}, good_claims())
    refused(token.rsplit(".", 1)[0] + ".", jwks, "malformed")  # empty signature part
    refused(token, jwks, "alg-not-allowed")


@pytest.mark.parametrize("form", ["pem", "jwk"])
def test_hs256_signed_with_public_key(form: str, key: SigningKey, jwks: dict[str, Any]) -> None:
    pub = key.private_key.public_key()
    if form == "pem":
        secret = pub.public_bytes(
            serialization.Encoding.PEM, serialization.PublicFormat.SubjectPublicKeyInfo
        )
    else:
        secret = json.dumps(jwks["keys"][0]).encode()
    token = forge(
        {"alg": "HS256", "typ": "at+jwt", "kid": key.kid}, good_claims(), hmac_secret=secret
    )
    refused(token, jwks, "alg-not-allowed")


def test_alg_must_fit_key_type(key: SigningKey, jwks: dict[str, Any]) -> None:
    from cryptography.hazmat.primitives.asymmetric import ec

    other = ec.generate_private_key(ec.SECP256R1())
    token = forge({"alg": "ES256", "typ": "at+jwt", "kid": key.kid}, good_claims(), other)
    refused(token, jwks, "alg-key-mismatch")


def test_payload_edited_signature_kept(key: SigningKey, jwks: dict[str, Any]) -> None:
    token = signed(key)
    refused(replace_payload(token, good_claims(scope="reports:read admin")), jwks, "bad-signature")


def test_unknown_kid(key: SigningKey, jwks: dict[str, Any]) -> None:
    attacker = ed25519.Ed25519PrivateKey.generate()
    token = forge({"alg": "EdDSA", "typ": "at+jwt", "kid": "attacker"}, good_claims(), attacker)
    refused(token, jwks, "unknown-kid")
    # our kid, someone else's key
    token = forge({"alg": "EdDSA", "typ": "at+jwt", "kid": key.kid}, good_claims(), attacker)
    refused(token, jwks, "bad-signature")


@pytest.mark.parametrize(
    "extra",
    [
        {"jku": "https://attacker.example/jwks.json"},
        {"x5u": "https://attacker.example/cert.pem"},
        {
            "jwk": {
                "kty": "OKP",
                "crv": "Ed25519",
                "x": "11qYAYKxCrfVS_7TyWQHOg7hcvPapiMlrwIaaPcHURo",
            }
        },
        {"x5c": ["MIIBIjAN"]},
    ],
)
def test_key_injection_headers(
    extra: dict[str, Any], key: SigningKey, jwks: dict[str, Any]
) -> None:
    # Signed with our real key, so only the header screen stops it.
    refused(signed(key, header=extra), jwks, "forbidden-header")


@pytest.mark.parametrize("typ", [None, "JWT", "statuslist+jwt", "txntoken+jwt"])
def test_typ_must_be_at_jwt(typ: str | None, key: SigningKey, jwks: dict[str, Any]) -> None:
    refused(signed(key, header={"typ": typ}), jwks, "bad-typ")


def test_application_at_jwt_typ_accepted(key: SigningKey, jwks: dict[str, Any]) -> None:
    token = signed(key, header={"typ": "application/at+jwt"})
    assert verify_access_token(token, jwks, issuer=ISS, audience=AUD, now=NOW)["jti"] == "j-1"


@pytest.mark.parametrize(
    ("over", "reason"),
    [
        ({"exp": T - 61}, "expired"),
        ({"nbf": T + 61}, "not-yet-valid"),
        ({"iat": T + 61}, "issued-in-future"),
        ({"iss": "https://evil.example"}, "wrong-issuer"),
        ({"aud": "https://other.example"}, "wrong-audience"),
        ({"aud": [AUD + "/x"]}, "wrong-audience"),
        ({"jti": None}, "missing-claim"),
        ({"client_id": None}, "missing-claim"),
        ({"iat": None}, "missing-claim"),
        ({"exp": None}, "missing-claim"),
        ({"sub": 5}, "malformed"),
        ({"act": "agent"}, "malformed"),
    ],
)
def test_claim_checks(
    over: dict[str, Any], reason: str, key: SigningKey, jwks: dict[str, Any]
) -> None:
    refused(signed(key, **over), jwks, reason)


def test_leeway_is_small_but_present(key: SigningKey, jwks: dict[str, Any]) -> None:
    token = signed(key, exp=T - 59, nbf=T + 59)
    verify_access_token(token, jwks, issuer=ISS, audience=AUD, now=NOW)
    with pytest.raises(TokenError):
        verify_access_token(token, jwks, issuer=ISS, audience=AUD, now=NOW, leeway=0)


def test_duplicate_json_keys(key: SigningKey, jwks: dict[str, Any]) -> None:
    body = json.dumps(good_claims())[:-1] + ', "aud": "https://other.example"}'
    token = forge({"alg": "EdDSA", "typ": "at+jwt", "kid": key.kid}, body, key.private_key)
    assert "duplicate" in refused(token, jwks, "malformed").message
    header = f'{{"typ": "JWT", "alg": "EdDSA", "kid": "{key.kid}", "typ": "at+jwt"}}'
    token = forge(header, good_claims(), key.private_key)
    assert "duplicate" in refused(token, jwks, "malformed").message


def test_cached_headers_are_still_screened(key: SigningKey, jwks: dict[str, Any]) -> None:
    # Decoded headers are reused by their text: a refused header stays refused however often
    # it is seen, and a caller mutating its copy cannot change what the next token gets.
    injected = signed(key, header={"jku": "https://attacker.example/jwks.json"})
    for _ in range(3):
        refused(injected, jwks, "forbidden-header")
        refused(signed(key, header={"typ": "JWT"}), jwks, "bad-typ")
    token = mint(key).token
    first = parse_unverified(token, TokenError)
    first.header["alg"] = "none"
    first.header["jku"] = "https://attacker.example/jwks.json"
    assert parse_unverified(token, TokenError).header == {
        "alg": "EdDSA",
        "typ": "at+jwt",
        "kid": key.kid,
    }
    verify_access_token(token, jwks, issuer=ISS, audience=AUD, now=NOW)
    # Bounded whatever arrives: many distinct headers, and large ones are not kept at all.
    for i in range(200):
        parse_unverified(signed(key, header={"x-pad": f"{i}" * (1 + i % 300)}), TokenError)
    assert 0 < len(jose.HEADER_CACHE) <= jose.HEADER_CACHE_SIZE
    assert all(len(h) <= jose.HEADER_CACHE_MAX_CHARS for h in jose.HEADER_CACHE)


def test_verified_signatures_are_remembered_but_never_trusted_beyond_their_key(
    key: SigningKey, jwks: dict[str, Any], monkeypatch: pytest.MonkeyPatch
) -> None:
    checks: list[str] = []
    real_check = jose.check_signature

    def counted(parsed: Any, entry: Any, alg: str, err: Any) -> None:
        checks.append(alg)
        real_check(parsed, entry, alg, err)

    monkeypatch.setattr(jose, "check_signature", counted)
    token = mint(key).token
    for _ in range(3):
        verify_access_token(token, jwks, issuer=ISS, audience=AUD, now=NOW)
    assert checks == ["EdDSA"], "a signature verified once is not checked again"
    # Claims and times are still checked on every call: the memo covers the signature only.
    refused(token, jwks, "expired", now=NOW + timedelta(hours=1))
    refused(token, jwks, "wrong-audience", audience="https://other.example")
    # The same signing input with another signature, or a flipped bit, is a new check, refused.
    header, payload, signature = token.split(".")
    raw = bytearray(jose.b64url_decode(signature))
    raw[0] ^= 1
    refused(f"{header}.{payload}.{jose.b64url_encode(bytes(raw))}", jwks, "bad-signature")
    # Another key under the same kid (a replaced JWKS entry) is another key: checked, refused.
    attacker = ed25519.Ed25519PrivateKey.generate()
    x = attacker.public_key().public_bytes(
        serialization.Encoding.Raw, serialization.PublicFormat.Raw
    )
    swapped = {"keys": [{**jwks["keys"][0], "x": jose.b64url_encode(x)}]}
    refused(token, swapped, "bad-signature")
    # A key that has left the set (retired) refuses a token it verified before.
    refused(token, {"keys": []}, "unknown-kid")
    verify_access_token(token, jwks, issuer=ISS, audience=AUD, now=NOW)
    assert checks.count("EdDSA") == 3  # the flipped bit and the swapped key; not the rest


def test_verified_signature_memo_is_bounded(
    key: SigningKey, jwks: dict[str, Any], monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setattr(jose, "VERIFIED_SIGNATURES_SIZE", 8)
    jose.VERIFIED_SIGNATURES.clear()
    tokens = [mint(key, task_id=f"task-{i}").token for i in range(20)]
    for token in tokens:
        verify_access_token(token, jwks, issuer=ISS, audience=AUD, now=NOW)
    assert len(jose.VERIFIED_SIGNATURES) == 8
    # The newest are the ones kept.
    kept = {signing_input for _, _, signing_input, _ in jose.VERIFIED_SIGNATURES}
    assert kept == {t.rsplit(".", 1)[0].encode() for t in tokens[-8:]}


def test_bad_jwks_is_input_error(key: SigningKey) -> None:
    with pytest.raises(InputError):
        verify_access_token(mint(key).token, {"nokeys": []}, issuer=ISS, audience=AUD, now=NOW)


# --------------------------------------------------------------------------- status list


def test_status_list_draft_vector() -> None:
    # draft-ietf-oauth-status-list, 1-bit example: statuses -> bytes b9 a3 -> "eNrbuRgAAhcBXQ"
    values = [1, 0, 0, 1, 1, 1, 0, 1, 1, 1, 0, 0, 0, 1, 0, 1]
    lst = build_status_list(dict(enumerate(values)))
    assert lst == {"bits": 1, "lst": "eNrbuRgAAhcBXQ"}
    decoded = decode_status_list(lst)
    assert [decoded.get(i) for i in range(16)] == values


def test_status_list_two_bits_roundtrip() -> None:
    statuses = {0: 1, 1: 2, 2: 0, 3: 3, 1000: 2}
    decoded = decode_status_list(build_status_list(statuses, bits=2))
    assert all(decoded.get(i) == statuses.get(i, 0) for i in range(1001))
    with pytest.raises(IndexError):
        decoded.get(len(decoded))
    with pytest.raises(InputError):
        build_status_list({0: 2}, bits=1)


def test_status_list_decompression_bomb_refused() -> None:
    bomb = zlib.compress(b"\x00" * (9 * 1024 * 1024), 9)
    lst = base64.urlsafe_b64encode(bomb).rstrip(b"=").decode()
    with pytest.raises(TokenError) as excinfo:
        decode_status_list({"bits": 1, "lst": lst})
    assert excinfo.value.reason == "status-list-invalid"


def publish(key: SigningKey, statuses: dict[int, int], **kw: Any) -> str:
    return sign_status_list(
        key,
        build_status_list(statuses, size=64),
        uri=kw.pop("uri", STATUS_URI),
        issuer=ISS,
        now=kw.pop("now", NOW),
        **kw,
    )


def test_verify_offline(key: SigningKey, jwks: dict[str, Any]) -> None:
    minted = mint(key)  # status index 7
    keyset = load_jwks(jwks)
    ok = publish(key, {3: 1})
    claims = verify_offline(minted.token, keyset, ok, issuer=ISS, audience=AUD, now=NOW)
    assert claims["jti"] == minted.jti
    header = jwt.get_unverified_header(ok)
    assert header["typ"] == "statuslist+jwt"
    body = jwt.decode(ok, options={"verify_signature": False})
    assert body["sub"] == STATUS_URI and body["ttl"] == 300 and body["exp"] == T + 3600

    for value, reason in ((1, "revoked"), (2, "suspended"), (3, "status-unknown")):
        lst = sign_status_list(key, build_status_list({7: value}, bits=2), uri=STATUS_URI, now=NOW)
        with pytest.raises(TokenError) as excinfo:
            verify_offline(minted.token, keyset, lst, issuer=ISS, audience=AUD, now=NOW)
        assert excinfo.value.reason == reason
    assert (
        token_status(
            verify_access_token(minted.token, keyset, issuer=ISS, audience=AUD, now=NOW),
            publish(key, {7: 1}),
            keyset,
            now=NOW,
        )
        == 1
    )


@pytest.mark.parametrize(
    ("case", "reason"),
    [
        ("other-uri", "status-list-mismatch"),
        ("expired", "status-list-invalid"),
        ("foreign-key", "status-list-invalid"),
        ("access-token-as-list", "status-list-invalid"),
        ("index-outside", "status-unknown"),
        ("no-status-claim", "no-status"),
    ],
)
def test_status_list_refusals(
    case: str, reason: str, key: SigningKey, tmp_path: Path, jwks: dict[str, Any]
) -> None:
    token = mint(key).token
    lst = publish(key, {})
    if case == "other-uri":
        lst = publish(key, {}, uri="https://nhictl.example/status/2")
    elif case == "expired":
        lst = publish(key, {}, now=NOW - timedelta(hours=2))
    elif case == "foreign-key":
        other = KeyStore(tmp_path)
        other.create()
        # same kid as ours so that only the signature check can refuse it
        forged = SigningKey(kid=key.kid, alg="EdDSA", private_key=other.current().private_key)
        lst = publish(forged, {})
    elif case == "access-token-as-list":
        lst = mint(key).token
    elif case == "index-outside":
        token = mint(key, status_index=500).token
    elif case == "no-status-claim":
        token = mint(key, status_index=None, status_uri=None).token
    with pytest.raises(TokenError) as excinfo:
        verify_offline(token, jwks, lst, issuer=ISS, audience=AUD, now=NOW)
    assert excinfo.value.reason == reason


def test_status_list_token_is_not_an_access_token(key: SigningKey, jwks: dict[str, Any]) -> None:
    refused(publish(key, {}), jwks, "bad-typ")


def test_check_status_passes_for_valid(key: SigningKey, jwks: dict[str, Any]) -> None:
    claims = verify_access_token(mint(key).token, jwks, issuer=ISS, audience=AUD, now=NOW)
    check_status(claims, publish(key, {6: 1, 8: 1}), jwks, now=NOW)


def test_a_new_jti_never_reads_as_an_option() -> None:
    from nhictl.core.tokens import new_jti

    jtis = {new_jti() for _ in range(5000)}  # ~78 would start with "-" without the guard
    assert len(jtis) == 5000
    assert not any(j.startswith("-") for j in jtis)
    assert all(len(j) == 22 for j in jtis)


def test_a_new_jti_never_looks_like_a_secret(monkeypatch: pytest.MonkeyPatch) -> None:
    """A jti led by "eyJ" reads as a JOSE header to the secret screen, and revoke would refuse
    to name it: such draws are skipped (forced here; at random one in ~260,000)."""
    import secrets

    from nhictl.core import tokens
    from nhictl.core.credentials.checks import check_selector

    draws = iter(["eyJhbGciOiJFZERTQSJ9xy", "-leadingDashJti0123456", "Plain0jti1of22chars_ok"])
    monkeypatch.setattr(secrets, "token_urlsafe", lambda _n: next(draws))
    with pytest.raises(InputError):
        check_selector("jti", "eyJhbGciOiJFZERTQSJ9xy")  # what the guard avoids
    assert tokens.new_jti() == "Plain0jti1of22chars_ok"
    assert check_selector("jti", "Plain0jti1of22chars_ok") == "Plain0jti1of22chars_ok"


@pytest.mark.parametrize("verifier", ["openssl", "libsodium"])
def test_ed25519_checks_agree_on_either_verifier(
    verifier: str, key: SigningKey, jwks: dict[str, Any], monkeypatch: pytest.MonkeyPatch
) -> None:
    used: list[str] = []
    real = jose.sodium_verify

    def counted(*args: Any) -> bool:
        used.append("libsodium")
        return real(*args)

    monkeypatch.setattr(jose, "sodium_verify", counted)
    monkeypatch.setattr(jose, "SODIUM_AFTER", -1 if verifier == "libsodium" else 10**9)
    token = mint(key).token
    verify_access_token(token, jwks, issuer=ISS, audience=AUD, now=NOW)
    header, payload, signature = token.split(".")
    raw = jose.b64url_decode(signature)
    flipped = bytes([raw[0] ^ 1]) + raw[1:]
    for bad in (flipped, raw[:-1], raw + b"\0"):
        refused(f"{header}.{payload}.{jose.b64url_encode(bad)}", jwks, "bad-signature")
    other = ed25519.Ed25519PrivateKey.generate().public_key()
    x = other.public_bytes(serialization.Encoding.Raw, serialization.PublicFormat.Raw)
    refused(mint(key).token, {"keys": [{**jwks["keys"][0], "x": jose.b64url_encode(x)}]},
            "bad-signature")  # fmt: skip
    assert used == ([] if verifier == "openssl" else ["libsodium"] * 5)


def test_a_process_that_verifies_little_never_imports_libsodium(tmp_path: Path) -> None:
    script = """
import sys
from pathlib import Path
from nhictl.core import jose
from tests.test_tokens import AUD, ISS, NOW, mint
from nhictl.core.keys import KeyStore
from nhictl.core.tokens import verify_access_token
store = KeyStore(Path(sys.argv[1])); store.create(); key = store.current()
jwks = store.public_jwks()
def check(n):
    for i in range(n):
        token = mint(key, task_id=f"t{i}").token
        verify_access_token(token, jwks, issuer=ISS, audience=AUD, now=NOW)
check(3)
print("nacl" in sys.modules)
check(jose.SODIUM_AFTER)
print("nacl" in sys.modules)
"""
    done = subprocess.run(
        [sys.executable, "-c", script, str(tmp_path / "keys")],
        capture_output=True, text=True, timeout=60, check=False, cwd=ROOT,
    )  # fmt: skip
    assert done.returncode == 0, done.stderr
    assert done.stdout.split() == ["False", "True"]
