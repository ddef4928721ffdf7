"""Workload identity: who an agent is, proven by a token the operator's trust sources vouch for.

* ``trust``: what the operator pinned (trust bundles, JWKS files) and SPIFFE ID splitting.
* ``discovery``: OIDC discovery, only for issuers the operator configured.
* ``verify``: ``TrustSources`` and ``verify_identity`` (SPIFFE JWT-SVIDs and OIDC tokens).
* ``spiffe``: SPIFFE ID syntax (light: the manifest checks use it without the JOSE stack).
* ``demo_idp``: a local SPIFFE issuer for demos and tests.

Names load on first use, so ``nhictl validate`` (which needs only ``spiffe``) never imports
the JOSE and cryptography stack.
"""

from __future__ import annotations

import importlib
from typing import TYPE_CHECKING, Any

if TYPE_CHECKING:
    from nhictl.core.identity.discovery import OidcDiscovery
    from nhictl.core.identity.trust import (
        DEFAULT_LEEWAY_SECONDS,
        MAX_TRUST_FILE_BYTES,
        IdentityError,
        IdentityKind,
        TrustBundle,
        TrustSourceError,
        VerifiedIdentity,
        load_jwks_file,
        load_trust_bundle,
        parse_spiffe_id,
        parse_trust_bundle,
    )
    from nhictl.core.identity.verify import TrustSources, verify_identity

__all__ = [
    "DEFAULT_LEEWAY_SECONDS",
    "MAX_TRUST_FILE_BYTES",
    "IdentityError",
    "IdentityKind",
    "OidcDiscovery",
    "TrustBundle",
    "TrustSourceError",
    "TrustSources",
    "VerifiedIdentity",
    "load_jwks_file",
    "load_trust_bundle",
    "parse_spiffe_id",
    "parse_trust_bundle",
    "verify_identity",
]

_HOME = {
    "DEFAULT_LEEWAY_SECONDS": "trust",
    "MAX_TRUST_FILE_BYTES": "trust",
    "IdentityError": "trust",
    "IdentityKind": "trust",
    "TrustBundle": "trust",
    "TrustSourceError": "trust",
    "VerifiedIdentity": "trust",
    "load_jwks_file": "trust",
    "load_trust_bundle": "trust",
    "parse_spiffe_id": "trust",
    "parse_trust_bundle": "trust",
    "OidcDiscovery": "discovery",
    "TrustSources": "verify",
    "verify_identity": "verify",
}


def __getattr__(name: str) -> Any:
    module = _HOME.get(name)
    if module is None:
        raise AttributeError(f"module {__name__!r} has no attribute {name!r}")
    return getattr(importlib.import_module(f"{__name__}.{module}"), name)
