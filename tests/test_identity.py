"""Workload identity verification: every refusal has its own reason code and test."""

from __future__ import annotations

import json
from datetime import UTC, datetime, timedelta
from pathlib import Path
from typing import Any

import pytest
from cryptography.hazmat.primitives import serialization
from cryptography.hazmat.primitives.asymmetric import ec, rsa

from nhictl.core.errors import InputError
from nhictl.core.identity import (
    IdentityError,
    TrustBundle,
    TrustSourceError,
    TrustSources,
    VerifiedIdentity,
    load_trust_bundle,
    parse_spiffe_id,
    verify_identity,
)
from nhictl.core.identity.demo_idp import DemoSpiffeIdp
from nhictl.core.keys import jwk_thumbprint, load_private_key, public_jwk
from tests.jwt_forge import b64, forge, replace_payload

NOW = datetime(2026, 3, 1, 10, 0, tzinfo=UTC)
T = int(NOW.timestamp())
SPIFFE_ID = "spiffe://demo.test/agents/summariser"
SPIFFE_SPEC = {"type": "spiffe", "spiffeId": SPIFFE_ID, "audience": "nhictl"}
ISSUER = "https://token.actions.example.com"
OIDC_SPEC: dict[str, Any] = {
    "type": "oidc",
    "issuer": ISSUER,
    "subject": "repo:acme/agent:ref:refs/heads/main",
    "audience": "nhictl",
    "boundClaims": {"repository_id": "123", "environment": ["prod", "staging"]},
}


@pytest.fixture(scope="module")
def idp(tmp_path_factory: pytest.TempPathFactory) -> DemoSpiffeIdp:
    return DemoSpiffeIdp(tmp_path_factory.mktemp("idp"), "demo.test")


@pytest.fixture(scope="module")
def idp_key(idp: DemoSpiffeIdp) -> Any:
    return load_private_key(idp.key_path)


@pytest.fixture
def spiffe_trust(idp: DemoSpiffeIdp) -> TrustSources:
    return TrustSources.from_files(trust_bundle=idp.bundle_path)


@pytest.fixture(scope="module")
def oidc_key() -> ec.EllipticCurvePrivateKey:
    return ec.generate_private_key(ec.SECP256R1())


def jwks_of(key: Any, alg: str, **extra: Any) -> dict[str, Any]:
    jwk = public_jwk(key)
    return {"keys": [{**jwk, "kid": jwk_thumbprint(jwk), "alg": alg, **extra}]}


@pytest.fixture
def oidc_jwks_file(tmp_path: Path, oidc_key: ec.EllipticCurvePrivateKey) -> Path:
    path = tmp_path / "issuer-jwks.json"
    path.write_text(json.dumps(jwks_of(oidc_key, "ES256")))
    return path


@pytest.fixture
def oidc_trust(oidc_jwks_file: Path) -> TrustSources:
    return TrustSources.from_files(issuers={ISSUER: oidc_jwks_file})


def svid_claims(**over: Any) -> dict[str, Any]:
    claims: dict[str, Any] = {"sub": SPIFFE_ID, "aud": "nhictl", "iat": T, "exp": T + 300}
    claims.update(over)
    return {k: v for k, v in claims.items() if v is not None}


def svid(idp: DemoSpiffeIdp, key: Any, header: dict[str, Any] | None = None, **over: Any) -> str:
    h = {"alg": "ES256", "kid": idp.kid, "typ": "JWT", **(header or {})}
    return forge({k: v for k, v in h.items() if v is not None}, svid_claims(**over), key)


def oidc_token(key: Any, header: dict[str, Any] | None = None, **over: Any) -> str:
    kid = jwk_thumbprint(public_jwk(key))
    claims: dict[str, Any] = {
        "iss": ISSUER,
        "sub": OIDC_SPEC["subject"],
        "aud": "nhictl",
        "iat": T,
        "nbf": T,
        "exp": T + 300,
        "repository_id": "123",
        "environment": "prod",
    }
    claims.update(over)
    h = {"alg": "ES256", "kid": kid, **(header or {})}
    return forge(h, {k: v for k, v in claims.items() if v is not None}, key)


def refused(token: str, spec: dict[str, Any], trust: TrustSources, reason: str) -> IdentityError:
    with pytest.raises(IdentityError) as excinfo:
        verify_identity(token, spec, trust, now=NOW)
    err = excinfo.value
    assert err.reason == reason, err.message
    assert err.exit_code == 1
    for segment in token.split("."):  # the token, or any part of it, never reaches the message
        assert len(segment) < 8 or segment not in err.message
    return err


# --------------------------------------------------------------------------- happy paths


def test_demo_idp_svid_verifies(idp: DemoSpiffeIdp, spiffe_trust: TrustSources) -> None:
    token = idp.mint(SPIFFE_ID, "nhictl", now=NOW)
    ident = verify_identity(token, SPIFFE_SPEC, spiffe_trust, now=NOW)
    assert isinstance(ident, VerifiedIdentity)
    assert ident.kind == "spiffe" and ident.subject == SPIFFE_ID
    assert ident.issuer == "spiffe://demo.test" and ident.audience == "nhictl"
    assert ident.key_id == idp.kid
    assert ident.expires_at == NOW + timedelta(minutes=5)
    import hashlib

    assert ident.token_sha256 == hashlib.sha256(token.encode()).hexdigest()
    assert token not in repr(ident)


def test_demo_idp_files(idp: DemoSpiffeIdp) -> None:
    assert (idp.key_path.stat().st_mode & 0o777) == 0o600
    bundle = json.loads(idp.bundle_path.read_text())
    assert bundle["keys"][0]["use"] == "jwt-svid" and "d" not in bundle["keys"][0]
    assert bundle["spiffe_sequence"] == 1
    with pytest.raises(InputError):
        idp.mint("spiffe://other.test/x", "nhictl")


def test_oidc_token_verifies_with_bound_claims(oidc_key: Any, oidc_trust: TrustSources) -> None:
    ident = verify_identity(oidc_token(oidc_key), OIDC_SPEC, oidc_trust, now=NOW)
    assert (ident.kind, ident.issuer, ident.subject) == ("oidc", ISSUER, OIDC_SPEC["subject"])
    # numeric claim compared by its text; second allowed value in a list
    ident = verify_identity(
        oidc_token(oidc_key, repository_id=123, environment="staging"),
        OIDC_SPEC,
        oidc_trust,
        now=NOW,
    )
    assert ident.subject == OIDC_SPEC["subject"]


def test_rsa_and_pss_tokens_verify(tmp_path: Path) -> None:
    key = rsa.generate_private_key(public_exponent=65537, key_size=2048)
    path = tmp_path / "rsa.json"
    jwk = jwks_of(key, "PS256")["keys"][0]
    path.write_text(json.dumps({"keys": [{k: v for k, v in jwk.items() if k != "alg"}]}))
    trust = TrustSources.from_files(issuers={ISSUER: path})
    for alg in ("RS256", "PS256"):
        token = oidc_token(key, {"alg": alg})
        assert verify_identity(token, OIDC_SPEC, trust, now=NOW).key_id == jwk["kid"]


def test_leeway_and_multi_audience(
    idp: DemoSpiffeIdp, idp_key: Any, spiffe_trust: TrustSources
) -> None:
    token = svid(idp, idp_key, exp=T - 30, aud=["other", "nhictl"])  # expired 30 s ago, leeway 60
    assert verify_identity(token, SPIFFE_SPEC, spiffe_trust, now=NOW).subject == SPIFFE_ID
    token = svid(idp, idp_key, header={"typ": "JOSE"})
    assert verify_identity(token, SPIFFE_SPEC, spiffe_trust, now=NOW).subject == SPIFFE_ID
    token = svid(idp, idp_key, header={"typ": None})
    assert verify_identity(token, SPIFFE_SPEC, spiffe_trust, now=NOW).subject == SPIFFE_ID


# --------------------------------------------------------------------------- malformed


@pytest.mark.parametrize(
    "token",
    [
        "not-a-jwt",
        "a.b",
        "a..c",
        "!!!.e30.AAAA",
        b64(b'{"alg":"ES256"}') + "." + b64(b"\xff\xfe{}") + ".AAAA",  # payload not UTF-8
        b64(b'{"alg":"ES256"}') + "." + b64(b"[1,2]") + ".AAAA",  # payload not an object
        b64(b'{"alg":"ES256"}') + "." + b64(b'{"exp": NaN}') + ".AAAA",
        "x" * 20000,
    ],
)
def test_malformed(token: str, spiffe_trust: TrustSources) -> None:
    refused(token, SPIFFE_SPEC, spiffe_trust, "malformed")


def test_duplicate_json_keys(idp: DemoSpiffeIdp, idp_key: Any, spiffe_trust: TrustSources) -> None:
    good = json.dumps(svid_claims())[:-1]
    dup_payload = good + ', "sub": "spiffe://demo.test/agents/admin"}'
    token = forge({"alg": "ES256", "kid": idp.kid}, dup_payload, idp_key)
    assert "duplicate" in refused(token, SPIFFE_SPEC, spiffe_trust, "malformed").message
    dup_header = f'{{"alg": "none", "kid": "{idp.kid}", "alg": "ES256"}}'
    token = forge(dup_header, svid_claims(), idp_key)
    assert "duplicate" in refused(token, SPIFFE_SPEC, spiffe_trust, "malformed").message


# --------------------------------------------------------------------------- header attacks


def test_alg_none(idp: DemoSpiffeIdp, spiffe_trust: TrustSources) -> None:
    token = forge({"alg": "none", "kid": idp.kid}, svid_claims())
    refused(token.rsplit(".", 1)[0] + ".AA", SPIFFE_SPEC, spiffe_trust, "alg-not-allowed")


def test_hs256_with_public_key_pem_and_jwk(
    idp: DemoSpiffeIdp, idp_key: Any, spiffe_trust: TrustSources
) -> None:
    pem = idp_key.public_key().public_bytes(
        serialization.Encoding.PEM, serialization.PublicFormat.SubjectPublicKeyInfo
    )
    jwk_text = json.dumps(idp.bundle()["keys"][0]).encode()  # type: ignore[index]
    for secret in (pem, jwk_text):
        token = forge({"alg": "HS256", "kid": idp.kid}, svid_claims(), hmac_secret=secret)
        refused(token, SPIFFE_SPEC, spiffe_trust, "alg-not-allowed")


def test_alg_bound_to_key_type(idp: DemoSpiffeIdp, spiffe_trust: TrustSources) -> None:
    # RS256 is on the allow-list but the pinned key for this kid is a P-256 key.
    rsa_key = rsa.generate_private_key(public_exponent=65537, key_size=2048)
    token = forge({"alg": "RS256", "kid": idp.kid}, svid_claims(), rsa_key)
    refused(token, SPIFFE_SPEC, spiffe_trust, "alg-key-mismatch")
    token = forge(
        {"alg": "ES384", "kid": idp.kid}, svid_claims(), ec.generate_private_key(ec.SECP384R1())
    )
    refused(token, SPIFFE_SPEC, spiffe_trust, "alg-key-mismatch")


@pytest.mark.parametrize(
    "extra",
    [
        {"jku": "https://attacker.example/jwks.json"},
        {"x5u": "https://attacker.example/cert.pem"},
        {"x5c": ["MIIB"]},
        {"jwk": {"kty": "EC", "crv": "P-256", "x": "AA", "y": "AA"}},
        {"crit": ["exp"]},
    ],
)
def test_key_injection_headers(
    extra: dict[str, Any], idp: DemoSpiffeIdp, idp_key: Any, spiffe_trust: TrustSources
) -> None:
    refused(svid(idp, idp_key, header=extra), SPIFFE_SPEC, spiffe_trust, "forbidden-header")


@pytest.mark.parametrize("typ", ["at+jwt", "secevent+jwt", 5])
def test_typ(typ: Any, idp: DemoSpiffeIdp, idp_key: Any, spiffe_trust: TrustSources) -> None:
    refused(svid(idp, idp_key, header={"typ": typ}), SPIFFE_SPEC, spiffe_trust, "bad-typ")


def test_unknown_kid_and_ambiguous_missing_kid(
    idp: DemoSpiffeIdp, idp_key: Any, tmp_path: Path, spiffe_trust: TrustSources
) -> None:
    refused(
        svid(idp, idp_key, header={"kid": "../../etc/passwd"}),
        SPIFFE_SPEC,
        spiffe_trust,
        "unknown-kid",
    )
    # no kid with a single-key bundle is unambiguous
    token = svid(idp, idp_key, header={"kid": None})
    assert verify_identity(token, SPIFFE_SPEC, spiffe_trust, now=NOW).key_id == idp.kid
    other = ec.generate_private_key(ec.SECP256R1())
    bundle = idp.bundle()
    bundle["keys"].append(jwks_of(other, "ES256")["keys"][0])  # type: ignore[attr-defined]
    path = tmp_path / "two.json"
    path.write_text(json.dumps(bundle))
    refused(token, SPIFFE_SPEC, TrustSources.from_files(trust_bundle=path), "unknown-kid")


def test_payload_edited_signature_kept(
    idp: DemoSpiffeIdp, idp_key: Any, spiffe_trust: TrustSources
) -> None:
    token = svid(idp, idp_key, sub="spiffe://demo.test/agents/other")
    forged = replace_payload(token, svid_claims())
    refused(forged, SPIFFE_SPEC, spiffe_trust, "bad-signature")


def test_signed_by_other_key_with_same_kid(idp: DemoSpiffeIdp, spiffe_trust: TrustSources) -> None:
    token = svid(idp, ec.generate_private_key(ec.SECP256R1()))
    refused(token, SPIFFE_SPEC, spiffe_trust, "bad-signature")


# --------------------------------------------------------------------------- claims


@pytest.mark.parametrize(
    ("over", "reason"),
    [
        ({"exp": None}, "missing-claim"),
        ({"exp": T - 61}, "expired"),
        ({"exp": "tomorrow"}, "malformed"),
        ({"exp": True}, "malformed"),
        ({"nbf": T + 61}, "not-yet-valid"),
        ({"iat": T + 61}, "issued-in-future"),
        ({"aud": "someone-else"}, "wrong-audience"),
        ({"aud": None}, "wrong-audience"),
        ({"aud": ["a", 1]}, "wrong-audience"),
        ({"sub": "spiffe://demo.test/agents/other"}, "wrong-subject"),
        ({"sub": "https://demo.test/agents/summariser"}, "wrong-subject"),
        ({"sub": None}, "wrong-subject"),
    ],
)
def test_spiffe_claim_checks(
    over: dict[str, Any], reason: str, idp: DemoSpiffeIdp, idp_key: Any, spiffe_trust: TrustSources
) -> None:
    refused(svid(idp, idp_key, **over), SPIFFE_SPEC, spiffe_trust, reason)


def test_trust_domain_must_match_named_bundle(tmp_path: Path) -> None:
    # A signer for trust domain b.test, whose bundle the operator pinned for a.test:
    # it must not vouch for b.test identities.
    rogue = DemoSpiffeIdp(tmp_path / "rogue", "b.test")
    spec = {"type": "spiffe", "spiffeId": "spiffe://b.test/agent", "audience": "nhictl"}
    token = rogue.mint("spiffe://b.test/agent", "nhictl", now=NOW)
    trust = TrustSources.from_files(trust_bundle=rogue.bundle_path, trust_bundle_domain="a.test")
    refused(token, spec, trust, "wrong-trust-domain")
    # pinned for its own trust domain, via settings, it verifies
    trust = TrustSources.from_files(trust_domains={"b.test": rogue.bundle_path})
    assert verify_identity(token, spec, trust, now=NOW).issuer == "spiffe://b.test"
    # no bundle at all for the manifest's trust domain
    refused(token, spec, TrustSources(), "untrusted-trust-domain")


@pytest.mark.parametrize(
    ("over", "reason"),
    [
        ({"iss": "https://evil.example.com"}, "wrong-issuer"),
        ({"iss": None}, "wrong-issuer"),
        ({"sub": "repo:acme/agent:ref:refs/heads/dev"}, "wrong-subject"),
        ({"repository_id": "999"}, "bound-claim-mismatch"),
        ({"repository_id": None}, "bound-claim-mismatch"),
        ({"environment": "dev"}, "bound-claim-mismatch"),
        ({"environment": ["prod"]}, "bound-claim-mismatch"),
        ({"aud": "https://github.com/acme"}, "wrong-audience"),
    ],
)
def test_oidc_claim_checks(
    over: dict[str, Any], reason: str, oidc_key: Any, oidc_trust: TrustSources
) -> None:
    refused(oidc_token(oidc_key, **over), OIDC_SPEC, oidc_trust, reason)


def test_oidc_subject_glob(oidc_key: Any, oidc_trust: TrustSources) -> None:
    spec = {**OIDC_SPEC, "subject": "repo:acme/agent:*", "subjectMatch": "glob"}
    token = oidc_token(oidc_key, sub="repo:acme/agent:environment:prod")
    assert verify_identity(token, spec, oidc_trust, now=NOW).subject.endswith("prod")
    refused(
        oidc_token(oidc_key, sub="repo:acme/agent-evil:ref:x"), spec, oidc_trust, "wrong-subject"
    )
    # without subjectMatch: glob, '*' is literal
    refused(token, {**OIDC_SPEC, "subject": "repo:acme/agent:*"}, oidc_trust, "wrong-subject")
    with pytest.raises(InputError):
        verify_identity(token, {**spec, "subject": "*"}, oidc_trust, now=NOW)


def test_oidc_untrusted_issuer(oidc_key: Any, idp: DemoSpiffeIdp) -> None:
    refused(oidc_token(oidc_key), OIDC_SPEC, TrustSources(), "untrusted-issuer")
    # a bundle pinned for a SPIFFE trust domain never serves as an OIDC issuer's keys
    bundle = load_trust_bundle(idp.bundle_path, trust_domain="demo.test")
    refused(oidc_token(oidc_key), OIDC_SPEC, TrustSources(bundle=bundle), "untrusted-issuer")


def test_oidc_token_cannot_pass_as_spiffe(oidc_key: Any, tmp_path: Path) -> None:
    # Same keys, but the token's subject is not the manifest's SPIFFE ID.
    path = tmp_path / "jwks.json"
    path.write_text(json.dumps(jwks_of(oidc_key, "ES256")))
    trust = TrustSources.from_files(trust_bundle=path)
    refused(oidc_token(oidc_key), SPIFFE_SPEC, trust, "wrong-subject")


# --------------------------------------------------------------------------- trust files


def test_trust_bundle_not_json(tmp_path: Path) -> None:
    path = tmp_path / "bundle.json"
    path.write_text("keys: [")
    with pytest.raises(TrustSourceError, match="not valid JSON") as excinfo:
        TrustSources.from_files(trust_bundle=path)
    assert excinfo.value.exit_code == 2
    with pytest.raises(TrustSourceError, match="cannot read"):
        TrustSources.from_files(trust_bundle=tmp_path / "missing.json")


def test_bundle_key_filtering_and_refusals(idp: DemoSpiffeIdp, tmp_path: Path) -> None:
    bundle = idp.bundle()
    x509 = {**bundle["keys"][0], "use": "x509-svid", "kid": "x509"}  # type: ignore[index]
    bundle["keys"].append(x509)  # type: ignore[attr-defined]
    parsed = load_bundle_doc(tmp_path, bundle)
    assert [e.kid for e in parsed.keys.entries] == [idp.kid]
    assert parsed.sequence == 1 and parsed.refresh_hint == 300

    with pytest.raises(TrustSourceError, match="private") as excinfo:
        load_bundle_doc(tmp_path, {"keys": [{"kty": "oct", "k": "c2VjcmV0LXZhbHVl"}]})
    assert "c2VjcmV0" not in excinfo.value.message
    with pytest.raises(TrustSourceError, match="private"):
        priv = {**bundle["keys"][0], "d": "AAAA"}  # type: ignore[index]
        load_bundle_doc(tmp_path, {"keys": [priv]})
    with pytest.raises(TrustSourceError, match=r"curve|length"):
        load_bundle_doc(tmp_path, {"keys": [{"kty": "EC", "crv": "P-256", "x": "AA", "y": "AA"}]})
    with pytest.raises(TrustSourceError, match="duplicate kid"):
        k = bundle["keys"][0]  # type: ignore[index]
        load_bundle_doc(tmp_path, {"keys": [k, k]})
    with pytest.raises(TrustSourceError, match="JWKS"):
        load_bundle_doc(tmp_path, {"kty": "EC"})
    with pytest.raises(TrustSourceError, match="spiffe_sequence"):
        load_bundle_doc(tmp_path, {"keys": [], "spiffe_sequence": "1"})


def load_bundle_doc(tmp_path: Path, doc: Any) -> TrustBundle:
    path = tmp_path / "b.json"
    path.write_text(json.dumps(doc))
    return load_trust_bundle(path)


def test_small_rsa_key_refused(tmp_path: Path) -> None:
    key = rsa.generate_private_key(public_exponent=65537, key_size=1024)
    n = key.public_key().public_numbers().n
    jwk = {"kty": "RSA", "n": b64(n.to_bytes(128, "big")), "e": "AQAB"}
    with pytest.raises(TrustSourceError, match="2048"):
        load_bundle_doc(tmp_path, {"keys": [jwk]})


@pytest.mark.parametrize(
    "value",
    [
        "spiffe://TD/x",
        "spiffe://td/a//b",
        "spiffe://td/a/../b",
        "spiffe://td/",
        "http://td/a",
        "spiffe://td/a?b",
    ],
)
def test_parse_spiffe_id_rejects(value: str) -> None:
    with pytest.raises(ValueError):
        parse_spiffe_id(value)


def test_parse_spiffe_id() -> None:
    assert parse_spiffe_id("spiffe://demo.test/agents/x") == ("demo.test", "/agents/x")
    assert parse_spiffe_id("spiffe://demo.test") == ("demo.test", "")


def test_bad_manifest_shape_is_input_error(spiffe_trust: TrustSources) -> None:
    for spec in (
        {"type": "kerberos", "audience": "x"},
        {"type": "spiffe", "audience": "x"},
        {"type": "spiffe", "spiffeId": "spiffe://demo.test/a"},
    ):
        with pytest.raises(InputError) as excinfo:
            verify_identity("a.b.c", spec, spiffe_trust, now=NOW)
        assert not isinstance(excinfo.value, IdentityError)


def test_demo_idp_reuses_its_key_and_checks_mode(tmp_path: Path) -> None:
    first = DemoSpiffeIdp(tmp_path, "demo.test")
    again = DemoSpiffeIdp(tmp_path, "demo.test")
    assert again.kid == first.kid
    first.key_path.chmod(0o644)
    with pytest.raises(InputError, match=r"mode"):
        DemoSpiffeIdp(tmp_path, "demo.test")
    with pytest.raises(InputError):
        DemoSpiffeIdp(tmp_path / "x", "Not A Domain")
