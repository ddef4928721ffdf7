"""DEMO ONLY: a local SPIFFE JWT-SVID signer for ``make demo`` and the tests.

NEVER use this in production. It has no attestation at all: anyone who can run it mints an
identity for any SPIFFE ID in its trust domain. Real deployments get JWT-SVIDs from SPIRE (or
another SPIFFE implementation) through the Workload API, and nhictl only *verifies* them.

It keeps one ES256 key (JWT-SVIDs do not allow EdDSA) as a 0600 PEM file in ``folder`` and writes
the matching SPIFFE trust bundle (``bundle.json``) next to it.
"""

from __future__ import annotations

import json
import secrets
from datetime import datetime, timedelta
from pathlib import Path

import jwt

from nhictl.core.errors import InputError
from nhictl.core.identity.trust import parse_spiffe_id
from nhictl.core.jose import to_epoch
from nhictl.core.jsonout import document
from nhictl.core.keys import (
    generate_private_key,
    jwk_thumbprint,
    load_private_key,
    private_key_pem,
    public_jwk,
    write_private_file,
    write_public_file,
)

KEY_FILE = "demo-jwt-svid-signer.pem"
BUNDLE_FILE = "bundle.json"


class DemoSpiffeIdp:
    """DEMO ONLY local JWT-SVID signer for one trust domain. Never for production."""

    def __init__(self, folder: Path, trust_domain: str) -> None:
        try:
            parse_spiffe_id(f"spiffe://{trust_domain}")
        except ValueError:
            raise InputError(f"invalid trust domain {trust_domain!r}") from None
        self.folder = Path(folder)
        self.trust_domain = trust_domain
        key_path = self.folder / KEY_FILE
        if not key_path.exists():
            self.folder.mkdir(mode=0o700, parents=True, exist_ok=True)
            write_private_file(key_path, private_key_pem(generate_private_key("ES256")))
        self._key = load_private_key(key_path)  # refuses a group/other-readable file
        jwk = public_jwk(self._key)
        self.kid = jwk_thumbprint(jwk)
        self._bundle = {
            "keys": [{**jwk, "kid": self.kid, "use": "jwt-svid", "alg": "ES256"}],
            "spiffe_sequence": 1,
            "spiffe_refresh_hint": 300,
        }
        write_public_file(self.bundle_path, document(self._bundle))

    @property
    def key_path(self) -> Path:
        return self.folder / KEY_FILE

    @property
    def bundle_path(self) -> Path:
        return self.folder / BUNDLE_FILE

    def bundle(self) -> dict[str, object]:
        return json.loads(json.dumps(self._bundle))  # type: ignore[no-any-return]

    def mint(
        self,
        spiffe_id: str,
        audience: str | list[str],
        *,
        ttl: timedelta = timedelta(minutes=5),
        now: datetime | None = None,
    ) -> str:
        """A JWT-SVID for ``spiffe_id`` (which must be in this trust domain)."""
        try:
            td, _ = parse_spiffe_id(spiffe_id)
        except ValueError as exc:
            raise InputError(f"invalid SPIFFE ID {spiffe_id!r}: {exc}") from None
        if td != self.trust_domain:
            raise InputError(f"{spiffe_id!r} is not in trust domain {self.trust_domain!r}")
        iat = int(to_epoch(now))
        claims = {
            "sub": spiffe_id,
            "aud": audience,
            "iat": iat,
            "exp": iat + int(ttl.total_seconds()),
            "jti": secrets.token_urlsafe(12),
        }
        return jwt.encode(
            claims, self._key, algorithm="ES256", headers={"kid": self.kid, "typ": "JWT"}
        )
