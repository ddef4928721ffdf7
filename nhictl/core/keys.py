"""The registry's signing keys: creation, rotation and the public JWKS.

Layout of ``keys_dir`` (created 0700):

* ``<kid>.pem``  the private key (PKCS#8 PEM), written 0600 atomically. Only the current key keeps
  its private file: ``rotate()`` deletes the old one, because a retired key must never sign again
  and its public half (kept in the metadata) is all a verifier needs.
* ``keys.json``  metadata: kid, alg, created_at, retired_at and the public JWK of every key.
* ``.lock``      an flock so two processes never rotate or create at the same time.

``kid`` is the RFC 7638 JWK thumbprint. A retired key stays in ``public_jwks()`` until
``retired_at + max_token_lifetime`` so that tokens signed just before a rotation verify until they
expire. Private key material never reaches a log line, an exception or ``repr``.
"""

from __future__ import annotations

import contextlib
import fcntl
import hashlib
import json
import os
import stat
from collections.abc import Callable, Iterator
from dataclasses import dataclass, field
from datetime import UTC, datetime, timedelta
from pathlib import Path
from typing import Any, Literal

from cryptography.hazmat.primitives import serialization
from cryptography.hazmat.primitives.asymmetric import ec, ed25519, rsa

from nhictl.core.errors import InputError, NotInitializedError
from nhictl.core.jose import b64url_encode, strict_json_loads
from nhictl.core.outfile import write_file

KeyAlg = Literal["EdDSA", "ES256"]
PrivateKey = ed25519.Ed25519PrivateKey | ec.EllipticCurvePrivateKey
SUPPORTED_ALGS: tuple[KeyAlg, ...] = ("EdDSA", "ES256")
METADATA_FILE = "keys.json"
DEFAULT_MAX_TOKEN_LIFETIME = timedelta(hours=1)


def _utcnow() -> datetime:
    return datetime.now(UTC)


# --------------------------------------------------------------------------- JWK helpers


def public_jwk(key: object) -> dict[str, str]:
    """The RFC 7517 public JWK (required members only) of an Ed25519, P-256 or RSA key."""
    pub = key.public_key() if isinstance(key, PrivateKey | rsa.RSAPrivateKey) else key
    if isinstance(pub, ed25519.Ed25519PublicKey):
        raw = pub.public_bytes(serialization.Encoding.Raw, serialization.PublicFormat.Raw)
        return {"crv": "Ed25519", "kty": "OKP", "x": b64url_encode(raw)}
    if isinstance(pub, ec.EllipticCurvePublicKey) and isinstance(pub.curve, ec.SECP256R1):
        numbers = pub.public_numbers()
        return {
            "crv": "P-256",
            "kty": "EC",
            "x": b64url_encode(numbers.x.to_bytes(32, "big")),
            "y": b64url_encode(numbers.y.to_bytes(32, "big")),
        }
    if isinstance(pub, rsa.RSAPublicKey):
        e, n = pub.public_numbers().e, pub.public_numbers().n
        return {
            "e": b64url_encode(e.to_bytes((e.bit_length() + 7) // 8, "big")),
            "kty": "RSA",
            "n": b64url_encode(n.to_bytes((n.bit_length() + 7) // 8, "big")),
        }
    raise InputError("unsupported key type (Ed25519, P-256 or RSA only)")


_THUMBPRINT_MEMBERS = {
    "EC": ("crv", "kty", "x", "y"),
    "OKP": ("crv", "kty", "x"),
    "RSA": ("e", "kty", "n"),
}


def jwk_thumbprint(jwk: dict[str, Any]) -> str:
    """RFC 7638: base64url(SHA-256(JSON of the required members, sorted, no whitespace))."""
    members = _THUMBPRINT_MEMBERS.get(jwk.get("kty", ""))
    if members is None:
        raise InputError(f"cannot compute a thumbprint for key type {jwk.get('kty')!r}")
    canonical = json.dumps({m: jwk[m] for m in members}, separators=(",", ":"), sort_keys=True)
    return b64url_encode(hashlib.sha256(canonical.encode("utf-8")).digest())


# --------------------------------------------------------------------------- file helpers


def write_private_file(path: Path, data: bytes) -> None:
    """Create or replace ``path`` 0600 atomically: O_EXCL temp file, fsync, rename, fsync the
    folder (see ``nhictl.core.outfile``). Raises ``OutputError`` naming the path."""
    write_file(path, data, mode=0o600, replace=True, sync=True)


def write_public_file(path: Path, data: bytes) -> None:
    """Replace ``path`` atomically (0644); used for metadata and bundles, never for secrets."""
    write_file(path, data, mode=0o644, replace=True, sync=True)


def read_private_file(path: Path) -> bytes:
    """Read a private key file, refusing one that group or others could read."""
    try:
        fd = os.open(path, os.O_RDONLY | os.O_NOFOLLOW)
    except FileNotFoundError:
        raise NotInitializedError(f"private key file {path} does not exist") from None
    except OSError as exc:
        raise InputError(f"cannot open private key file {path}: {exc.strerror}") from None
    try:
        st = os.fstat(fd)
        if not stat.S_ISREG(st.st_mode):
            raise InputError(f"private key file {path} is not a regular file")
        mode = stat.S_IMODE(st.st_mode)
        if mode & 0o077:
            raise InputError(
                f"private key file {path} has mode {mode:04o}: it must not be readable or "
                "writable by group or others",
                hint=f"chmod 600 {path}",
            )
        chunks = []
        while chunk := os.read(fd, 65536):
            chunks.append(chunk)
        return b"".join(chunks)
    finally:
        os.close(fd)


def generate_private_key(alg: KeyAlg) -> PrivateKey:
    if alg == "EdDSA":
        return ed25519.Ed25519PrivateKey.generate()
    if alg == "ES256":
        return ec.generate_private_key(ec.SECP256R1())
    raise InputError(f"unsupported key algorithm {alg!r}", hint="use EdDSA or ES256")


def private_key_pem(key: PrivateKey) -> bytes:
    return key.private_bytes(
        serialization.Encoding.PEM,
        serialization.PrivateFormat.PKCS8,
        serialization.NoEncryption(),  # the 0600 file mode is the protection, as for SSH host keys
    )


def load_private_key(path: Path) -> PrivateKey:
    data = read_private_file(path)
    try:
        key = serialization.load_pem_private_key(data, password=None)
    except (ValueError, TypeError):
        # The cryptography message could quote the input; keep ours generic.
        raise InputError(f"private key file {path} is not an unencrypted PEM private key") from None
    if not isinstance(key, ed25519.Ed25519PrivateKey | ec.EllipticCurvePrivateKey):
        raise InputError(f"private key file {path} holds an unsupported key type")
    return key


# --------------------------------------------------------------------------- key store


@dataclass(frozen=True)
class KeyInfo:
    """Public facts about one key (safe to print and to log)."""

    kid: str
    alg: KeyAlg
    created_at: datetime
    retired_at: datetime | None
    jwk: dict[str, str] = field(repr=False, compare=False)

    def published_until(self, max_token_lifetime: timedelta) -> datetime | None:
        """When the key leaves the JWKS (None while it is current)."""
        return None if self.retired_at is None else self.retired_at + max_token_lifetime

    def status(self, now: datetime, max_token_lifetime: timedelta) -> str:
        until = self.published_until(max_token_lifetime)
        if until is None:
            return "current"
        return "retired" if now < until else "expired"

    def to_json(self) -> dict[str, Any]:
        return {
            "kid": self.kid,
            "alg": self.alg,
            "created_at": self.created_at.isoformat(),
            "retired_at": None if self.retired_at is None else self.retired_at.isoformat(),
            "jwk": self.jwk,
        }


@dataclass(frozen=True)
class SigningKey:
    """The current private key with its ``kid`` and ``alg``; ``repr`` never shows the key."""

    kid: str
    alg: KeyAlg
    private_key: PrivateKey = field(repr=False, compare=False)

    def public_jwk(self) -> dict[str, str]:
        return {**public_jwk(self.private_key), "kid": self.kid, "alg": self.alg, "use": "sig"}


class KeyStore:
    """Signing keys in one folder. All paths and the clock are explicit so callers can wire them."""

    def __init__(
        self,
        keys_dir: Path,
        *,
        max_token_lifetime: timedelta = DEFAULT_MAX_TOKEN_LIFETIME,
        clock: Callable[[], datetime] = _utcnow,
    ) -> None:
        self.keys_dir = Path(keys_dir)
        self.max_token_lifetime = max_token_lifetime
        self._clock = clock
        self._cache: dict[str, SigningKey] = {}

    # ----- metadata

    @property
    def _meta_path(self) -> Path:
        return self.keys_dir / METADATA_FILE

    def _read_meta(self) -> list[KeyInfo]:
        try:
            raw = self._meta_path.read_bytes()
        except FileNotFoundError:
            return []
        except OSError as exc:
            raise InputError(
                f"cannot read key metadata {self._meta_path}: {exc.strerror}"
            ) from None
        try:
            doc = strict_json_loads(raw)
            infos = [
                KeyInfo(
                    kid=item["kid"],
                    alg=item["alg"],
                    created_at=datetime.fromisoformat(item["created_at"]),
                    retired_at=(
                        None
                        if item["retired_at"] is None
                        else datetime.fromisoformat(item["retired_at"])
                    ),
                    jwk=dict(item["jwk"]),
                )
                for item in doc["keys"]
            ]
        except (ValueError, KeyError, TypeError) as exc:
            raise InputError(f"key metadata {self._meta_path} is corrupt ({exc})") from None
        for info in infos:
            if info.alg not in SUPPORTED_ALGS or jwk_thumbprint(info.jwk) != info.kid:
                raise InputError(
                    f"key metadata {self._meta_path}: entry {info.kid!r} is inconsistent"
                )
        return infos

    def _write_meta(self, infos: list[KeyInfo]) -> None:
        from nhictl.core.jsonout import document

        doc = {"version": 1, "keys": [i.to_json() for i in infos]}
        write_public_file(self._meta_path, document(doc))

    @contextlib.contextmanager
    def _locked(self) -> Iterator[None]:
        self.keys_dir.mkdir(mode=0o700, parents=True, exist_ok=True)
        fd = os.open(self.keys_dir / ".lock", os.O_RDWR | os.O_CREAT, 0o600)
        try:
            fcntl.flock(fd, fcntl.LOCK_EX)
            yield
        finally:
            os.close(fd)  # closing releases the flock

    def _new_key(self, alg: KeyAlg) -> KeyInfo:
        key = generate_private_key(alg)
        jwk = public_jwk(key)
        kid = jwk_thumbprint(jwk)
        write_private_file(self.keys_dir / f"{kid}.pem", private_key_pem(key))
        self._cache[kid] = SigningKey(kid=kid, alg=alg, private_key=key)
        return KeyInfo(kid=kid, alg=alg, created_at=self._clock(), retired_at=None, jwk=jwk)

    # ----- public API

    def list(self) -> list[KeyInfo]:
        """Every key ever created here, oldest first."""
        return self._read_meta()

    def exists(self) -> bool:
        return any(i.retired_at is None for i in self._read_meta())

    def create(self, alg: KeyAlg = "EdDSA") -> KeyInfo:
        """Create the first signing key. Refuses when one exists (use ``rotate``)."""
        if alg not in SUPPORTED_ALGS:
            raise InputError(f"unsupported key algorithm {alg!r}", hint="use EdDSA or ES256")
        with self._locked():
            infos = self._read_meta()
            if any(i.retired_at is None for i in infos):
                raise InputError(
                    f"a signing key already exists in {self.keys_dir}",
                    hint="use `nhictl keys rotate`",
                )
            info = self._new_key(alg)
            self._write_meta([*infos, info])
            return info

    def ensure(self, alg: KeyAlg = "EdDSA") -> KeyInfo:
        """Return the current key's info, creating one if there is none (idempotent for init)."""
        with self._locked():
            infos = self._read_meta()
            for info in infos:
                if info.retired_at is None:
                    return info
            info = self._new_key(alg)
            self._write_meta([*infos, info])
            return info

    def current_info(self) -> KeyInfo:
        for info in self._read_meta():
            if info.retired_at is None:
                return info
        raise NotInitializedError(f"no signing key in {self.keys_dir}")

    def current(self) -> SigningKey:
        """The key to sign with. Checks file mode and that the file matches its kid."""
        info = self.current_info()
        cached = self._cache.get(info.kid)
        if cached is not None:
            return cached
        path = self.keys_dir / f"{info.kid}.pem"
        key = load_private_key(path)
        if jwk_thumbprint(public_jwk(key)) != info.kid:
            raise InputError(f"private key file {path} does not match its kid")
        signing = SigningKey(kid=info.kid, alg=info.alg, private_key=key)
        self._cache[info.kid] = signing
        return signing

    def rotate(self, alg: KeyAlg | None = None) -> KeyInfo:
        """New current key (same alg unless given); the old one is retired and its file removed."""
        with self._locked():
            infos = self._read_meta()
            current = next((i for i in infos if i.retired_at is None), None)
            if current is None:
                raise NotInitializedError(f"no signing key in {self.keys_dir}")
            new = self._new_key(alg or current.alg)
            now = self._clock()
            infos = [
                KeyInfo(i.kid, i.alg, i.created_at, now, i.jwk) if i.kid == current.kid else i
                for i in infos
            ]
            # Metadata first: if we crash before the unlink, a stray retired .pem is harmless.
            self._write_meta([*infos, new])
            with contextlib.suppress(FileNotFoundError):
                (self.keys_dir / f"{current.kid}.pem").unlink()
            self._cache.pop(current.kid, None)
            return new

    def public_jwks(self) -> dict[str, Any]:
        """The JWKS verifiers use: the current key plus retired keys still inside their window."""
        now = self._clock()
        keys = [
            {**i.jwk, "kid": i.kid, "alg": i.alg, "use": "sig"}
            for i in reversed(self._read_meta())  # newest first
            if i.status(now, self.max_token_lifetime) != "expired"
        ]
        return {"keys": keys}
