"""Signing keys: file modes, kid thumbprints, rotation windows, JWKS contents."""

from __future__ import annotations

import json
import os
import stat
from datetime import UTC, datetime, timedelta
from pathlib import Path

import jwt
import pytest

from nhictl.core.errors import InputError, NotInitializedError
from nhictl.core.keys import KeyStore, jwk_thumbprint


class Clock:
    def __init__(self) -> None:
        self.now = datetime(2026, 1, 1, 12, 0, tzinfo=UTC)

    def __call__(self) -> datetime:
        return self.now


def test_rfc8037_thumbprint_vector() -> None:
    # RFC 8037 appendix A.3: thumbprint of the Ed25519 example key.
    jwk = {"kty": "OKP", "crv": "Ed25519", "x": "11qYAYKxCrfVS_7TyWQHOg7hcvPapiMlrwIaaPcHURo"}
    assert jwk_thumbprint(jwk) == "kPrK_qmxVWaYVA9wwBF6Iuo3vVzz7TxHCTwXBygrS4k"


@pytest.mark.parametrize("alg", ["EdDSA", "ES256"])
def test_create_writes_0600_key_with_thumbprint_kid(tmp_path: Path, alg: str) -> None:
    store = KeyStore(tmp_path / "keys")
    info = store.create(alg)  # type: ignore[arg-type]
    pem = tmp_path / "keys" / f"{info.kid}.pem"
    assert stat.S_IMODE(pem.stat().st_mode) == 0o600
    assert stat.S_IMODE((tmp_path / "keys").stat().st_mode) == 0o700
    assert info.kid == jwk_thumbprint(info.jwk)
    assert info.alg == alg
    key = store.current()
    assert key.kid == info.kid and key.alg == alg
    # no temp files left behind by the atomic write
    assert not [p for p in (tmp_path / "keys").iterdir() if p.name.endswith(".tmp")]
    # the metadata never holds private material
    meta = (tmp_path / "keys" / "keys.json").read_text()
    assert "PRIVATE" not in meta and '"d"' not in meta


def test_create_refuses_second_key_but_ensure_is_idempotent(tmp_path: Path) -> None:
    store = KeyStore(tmp_path)
    first = store.ensure()
    assert store.ensure().kid == first.kid
    assert KeyStore(tmp_path).ensure().kid == first.kid  # a fresh instance reads the same state
    with pytest.raises(InputError, match="already exists"):
        store.create()
    assert len(store.list()) == 1


def test_current_without_init_says_so(tmp_path: Path) -> None:
    with pytest.raises(NotInitializedError):
        KeyStore(tmp_path).current()


def test_unsupported_alg_rejected(tmp_path: Path) -> None:
    with pytest.raises(InputError, match="unsupported"):
        KeyStore(tmp_path).create("HS256")  # type: ignore[arg-type]


def test_refuses_group_readable_private_key(tmp_path: Path) -> None:
    info = KeyStore(tmp_path).create()
    pem = tmp_path / f"{info.kid}.pem"
    os.chmod(pem, 0o640)
    with pytest.raises(InputError) as excinfo:
        KeyStore(tmp_path).current()  # fresh instance: nothing cached
    err = excinfo.value
    assert str(pem) in err.message and "0640" in err.message
    assert err.hint == f"chmod 600 {pem}"
    assert "PRIVATE" not in err.message


def test_refuses_key_file_that_does_not_match_kid(tmp_path: Path) -> None:
    a = KeyStore(tmp_path / "a")
    b = KeyStore(tmp_path / "b")
    ia, ib = a.create(), b.create()
    os.replace(tmp_path / "b" / f"{ib.kid}.pem", tmp_path / "a" / f"{ia.kid}.pem")
    with pytest.raises(InputError, match="does not match its kid"):
        KeyStore(tmp_path / "a").current()


def test_rotation_keeps_old_key_in_jwks_until_window_passes(tmp_path: Path) -> None:
    clock = Clock()
    store = KeyStore(tmp_path, clock=clock, max_token_lifetime=timedelta(minutes=30))
    old = store.create()
    old_key = store.current()
    token = jwt.encode(
        {"sub": "x"}, old_key.private_key, algorithm="EdDSA", headers={"kid": old.kid}
    )
    new = store.rotate("ES256")
    assert new.kid != old.kid and store.current().kid == new.kid and new.alg == "ES256"
    # the retired private key is gone from disk; its public half stays published
    assert not (tmp_path / f"{old.kid}.pem").exists()
    kids = [k["kid"] for k in store.public_jwks()["keys"]]
    assert kids == [new.kid, old.kid]
    # a token signed before rotation still verifies against the published JWKS
    jwks = jwt.PyJWKSet.from_dict(store.public_jwks())
    assert jwt.decode(token, jwks[old.kid].key, algorithms=["EdDSA"])["sub"] == "x"

    clock.now += timedelta(minutes=29)
    assert len(store.public_jwks()["keys"]) == 2
    clock.now += timedelta(minutes=2)
    assert [k["kid"] for k in store.public_jwks()["keys"]] == [new.kid]
    statuses = {i.kid: i.status(clock.now, store.max_token_lifetime) for i in store.list()}
    assert statuses == {old.kid: "expired", new.kid: "current"}


def test_public_jwks_has_only_public_members(tmp_path: Path) -> None:
    store = KeyStore(tmp_path)
    store.create("ES256")
    (jwk,) = store.public_jwks()["keys"]
    assert set(jwk) == {"kty", "crv", "x", "y", "kid", "alg", "use"}
    assert jwk["alg"] == "ES256" and jwk["use"] == "sig"


def test_corrupt_metadata_is_an_input_error(tmp_path: Path) -> None:
    store = KeyStore(tmp_path)
    store.create()
    meta = tmp_path / "keys.json"
    doc = json.loads(meta.read_text())
    doc["keys"][0]["kid"] = "tampered"
    meta.write_text(json.dumps(doc))
    with pytest.raises(InputError, match="inconsistent"):
        KeyStore(tmp_path).current()
    meta.write_text("{not json")
    with pytest.raises(InputError, match="corrupt"):
        KeyStore(tmp_path).list()


def test_signing_key_repr_hides_private_key(tmp_path: Path) -> None:
    store = KeyStore(tmp_path)
    store.create()
    assert "private" not in repr(store.current()).lower()


def _ensure_in_child(keys_dir: str) -> None:
    KeyStore(Path(keys_dir)).ensure()


def test_concurrent_ensure_creates_one_key(tmp_path: Path) -> None:
    import multiprocessing

    ctx = multiprocessing.get_context("fork")
    procs = [ctx.Process(target=_ensure_in_child, args=(str(tmp_path),)) for _ in range(4)]
    for p in procs:
        p.start()
    for p in procs:
        p.join(timeout=30)
        assert p.exitcode == 0
    assert len(KeyStore(tmp_path).list()) == 1
    assert len(list(tmp_path.glob("*.pem"))) == 1
