"""What the operator pinned for workload identity: trust bundles, JWKS files, SPIFFE IDs.

Every failure to read a trust source is a ``TrustSourceError`` (an input problem, exit 2).
"""

from __future__ import annotations

import re
from dataclasses import dataclass
from datetime import datetime
from pathlib import Path
from typing import Any, Literal

from nhictl.core.errors import InputError
from nhictl.core.identity import spiffe
from nhictl.core.inputfile import read_input
from nhictl.core.jose import JoseError, KeySet, strict_json_loads

IdentityKind = Literal["spiffe", "oidc"]

DEFAULT_LEEWAY_SECONDS = 60.0
_BUNDLE_USES: frozenset[str | None] = frozenset({None, "sig", "jwt-svid"})
_TRUST_DOMAIN_RE = re.compile(r"[a-z0-9._-]+")
MAX_TRUST_FILE_BYTES = 1024 * 1024


class IdentityError(JoseError):
    """The workload identity token was refused (a denial: exit 1). See ``reason``."""


class TrustSourceError(InputError):
    """A trust source could not be read or fetched (an input/environment problem: exit 2)."""


@dataclass(frozen=True)
class VerifiedIdentity:
    """What may be recorded about a verified identity token. Never the token itself."""

    kind: IdentityKind
    issuer: str  # OIDC ``iss``; for SPIFFE the trust domain as ``spiffe://<td>``
    subject: str  # OIDC ``sub`` or the SPIFFE ID
    audience: str  # the manifest audience that matched
    token_sha256: str
    key_id: str | None
    expires_at: datetime


# --------------------------------------------------------------------------- SPIFFE IDs


def parse_spiffe_id(value: object) -> tuple[str, str]:
    """Split ``spiffe://td/path`` into (trust domain, path); ValueError if not a valid ID."""
    if not isinstance(value, str):
        raise ValueError("not a spiffe:// ID")
    parsed = spiffe.parse_spiffe_id(value)
    return parsed.trust_domain, parsed.path


# --------------------------------------------------------------------------- trust bundles


@dataclass(frozen=True)
class TrustBundle:
    """A JWKS or SPIFFE bundle. ``trust_domain`` is set when the operator named one."""

    keys: KeySet
    trust_domain: str | None = None
    sequence: int | None = None
    refresh_hint: int | None = None


def _read_trust_file(path: Path) -> Any:
    try:
        raw = read_input(path, max_bytes=MAX_TRUST_FILE_BYTES, what="trust file")
    except InputError as exc:
        raise TrustSourceError(f"cannot read trust file {exc.message}") from None
    try:
        return strict_json_loads(raw)
    except (UnicodeDecodeError, ValueError) as exc:
        raise TrustSourceError(f"trust file {path} is not valid JSON ({exc})") from None


def parse_trust_bundle(doc: Any, *, source: str, trust_domain: str | None = None) -> TrustBundle:
    """A JWKS or SPIFFE bundle object. Only ``jwt-svid``/``sig``/unset-use keys are kept."""
    if trust_domain is not None and not _TRUST_DOMAIN_RE.fullmatch(trust_domain):
        raise TrustSourceError(f"{source}: invalid trust domain name {trust_domain!r}")
    try:
        keys = KeySet.from_jwks(doc, source=source, accepted_uses=_BUNDLE_USES)
    except InputError as exc:
        raise TrustSourceError(exc.message) from None
    sequence = doc.get("spiffe_sequence")
    hint = doc.get("spiffe_refresh_hint")
    for name, value in (("spiffe_sequence", sequence), ("spiffe_refresh_hint", hint)):
        if value is not None and (isinstance(value, bool) or not isinstance(value, int)):
            raise TrustSourceError(f"{source}: {name} must be an integer")
    return TrustBundle(keys=keys, trust_domain=trust_domain, sequence=sequence, refresh_hint=hint)


def load_trust_bundle(path: Path, *, trust_domain: str | None = None) -> TrustBundle:
    """Load a JWKS / SPIFFE bundle file (size-capped, strict JSON)."""
    return parse_trust_bundle(_read_trust_file(path), source=str(path), trust_domain=trust_domain)


def load_jwks_file(path: Path) -> KeySet:
    """Load an issuer's JWKS file (keys with ``use`` unset or ``sig``)."""
    try:
        return KeySet.from_jwks(_read_trust_file(path), source=str(path))
    except TrustSourceError:
        raise
    except InputError as exc:
        raise TrustSourceError(exc.message) from None
