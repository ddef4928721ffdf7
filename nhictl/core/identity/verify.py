"""Workload identity verification for ``register``: SPIFFE JWT-SVIDs and OIDC tokens.

Trust model: keys come only from what the operator pinned, never from the token.

* ``TrustSources.bundle``: the ``--trust-bundle`` file (a JWKS or a SPIFFE bundle).
* ``TrustSources.trust_domains``: SPIFFE trust domain -> bundle, from settings.
* ``TrustSources.issuers``: OIDC issuer URL -> JWKS, from settings.
* ``TrustSources.discovery``: optional OIDC discovery fetch, only for issuers the operator named.

Keys are selected by the *manifest's* issuer / trust domain (not the token's claims), then by
``kid``. ``jku``, ``x5u``, ``x5c`` and embedded ``jwk`` headers are refused outright. Every
failure is an ``IdentityError`` with a stable ``reason`` code; no message contains the token.
The only facts about the token that leave this module are in ``VerifiedIdentity``.
"""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass, field
from datetime import datetime
from pathlib import Path
from typing import Any

from nhictl.core.errors import InputError
from nhictl.core.identity.discovery import OidcDiscovery
from nhictl.core.identity.trust import (
    DEFAULT_LEEWAY_SECONDS,
    IdentityError,
    TrustBundle,
    VerifiedIdentity,
    load_jwks_file,
    load_trust_bundle,
    parse_spiffe_id,
)
from nhictl.core.jose import (
    KeySet,
    check_audience,
    check_times,
    from_epoch,
    sha256_hex,
    to_epoch,
    verify_signature,
)

#: JWT-SVID: ``typ`` is optional and must be JWT or JOSE when present. The same rule for OIDC
#: tokens keeps our own ``at+jwt`` access tokens (and other typed JWTs) out (RFC 8725 §3.11).
_IDENTITY_TYP: frozenset[str | None] = frozenset({None, "JWT", "JOSE"})


# --------------------------------------------------------------------------- trust sources


@dataclass(frozen=True)
class TrustSources:
    """Everything the operator pinned. Build with ``from_files`` or directly."""

    bundle: TrustBundle | None = None
    trust_domains: Mapping[str, TrustBundle] = field(default_factory=dict)
    issuers: Mapping[str, KeySet] = field(default_factory=dict)
    discovery: OidcDiscovery | None = None

    @classmethod
    def from_files(
        cls,
        *,
        trust_bundle: Path | None = None,
        trust_bundle_domain: str | None = None,
        trust_domains: Mapping[str, Path] | None = None,
        issuers: Mapping[str, Path] | None = None,
        discovery: OidcDiscovery | None = None,
    ) -> TrustSources:
        return cls(
            bundle=(
                None
                if trust_bundle is None
                else load_trust_bundle(trust_bundle, trust_domain=trust_bundle_domain)
            ),
            trust_domains={
                td: load_trust_bundle(p, trust_domain=td) for td, p in (trust_domains or {}).items()
            },
            issuers={iss: load_jwks_file(p) for iss, p in (issuers or {}).items()},
            discovery=discovery,
        )


# --------------------------------------------------------------------------- verification


def _spec_str(spec: Mapping[str, Any], name: str) -> str:
    value = spec.get(name)
    if not isinstance(value, str) or not value:
        raise InputError(f"spec.workloadIdentity.{name} must be a non-empty string")
    return value


def _subject_matches(actual: str, expected: str, mode: str) -> bool:
    if mode == "exact":
        return actual == expected
    # glob: a single trailing '*' only, so a pattern is always an anchored prefix.
    return actual.startswith(expected[:-1])


def _check_bound_claims(claims: Mapping[str, Any], bound: Any) -> None:
    if bound is None:
        return
    if not isinstance(bound, Mapping):
        raise InputError("spec.workloadIdentity.boundClaims must be a mapping")
    for name, allowed in bound.items():
        values = [allowed] if isinstance(allowed, str) else allowed
        if not isinstance(values, list) or not all(isinstance(v, str) for v in values):
            raise InputError(
                f"spec.workloadIdentity.boundClaims.{name} must be a string or a list of strings"
            )
        actual = claims.get(name)
        if isinstance(actual, int) and not isinstance(actual, bool):
            actual = str(actual)  # numeric ids (e.g. repository_id) compare by their text
        if not isinstance(actual, str):
            raise IdentityError("bound-claim-mismatch", f"token has no string claim {name!r}")
        if actual not in values:
            raise IdentityError(
                "bound-claim-mismatch", f"token claim {name!r} is not an allowed value"
            )


def _oidc_keys(issuer: str, trust: TrustSources) -> KeySet:
    if issuer in trust.issuers:
        return trust.issuers[issuer]
    if trust.discovery is not None and trust.discovery.allows(issuer):
        return trust.discovery.jwks_for(issuer)
    if trust.bundle is not None and trust.bundle.trust_domain is None:
        return trust.bundle.keys
    raise IdentityError("untrusted-issuer", f"no trusted keys are configured for issuer {issuer!r}")


def verify_identity(
    token: str,
    workload_identity: Mapping[str, Any],
    trust: TrustSources,
    *,
    now: datetime | None = None,
    leeway: float = DEFAULT_LEEWAY_SECONDS,
) -> VerifiedIdentity:
    """Verify ``token`` against the manifest's ``spec.workloadIdentity`` and the pinned keys."""
    kind = workload_identity.get("type")
    audience = _spec_str(workload_identity, "audience")
    now_ts = to_epoch(now)

    if kind == "spiffe":
        spiffe_id = _spec_str(workload_identity, "spiffeId")
        try:
            td, _ = parse_spiffe_id(spiffe_id)
        except ValueError as exc:
            raise InputError(f"spec.workloadIdentity.spiffeId is invalid: {exc}") from None
        bundle = trust.trust_domains.get(td) or trust.bundle
        if bundle is None:
            raise IdentityError(
                "untrusted-trust-domain", f"no trust bundle is configured for trust domain {td!r}"
            )
        parsed, entry = verify_signature(
            token, bundle.keys, IdentityError, allowed_typ=_IDENTITY_TYP
        )
        claims = parsed.claims
        exp = check_times(claims, now_ts, leeway, IdentityError)
        check_audience(claims, audience, IdentityError)
        sub = claims.get("sub")
        try:
            token_td, _ = parse_spiffe_id(sub)
        except ValueError:
            raise IdentityError("wrong-subject", "token 'sub' is not a valid SPIFFE ID") from None
        if bundle.trust_domain is not None and token_td != bundle.trust_domain:
            raise IdentityError(
                "wrong-trust-domain",
                f"token trust domain {token_td!r} is not the bundle's {bundle.trust_domain!r}",
            )
        if sub != spiffe_id:
            raise IdentityError("wrong-subject", f"token SPIFFE ID is not {spiffe_id!r}")
        issuer = f"spiffe://{token_td}"
        subject = spiffe_id
    elif kind == "oidc":
        issuer = _spec_str(workload_identity, "issuer")
        expected_sub = _spec_str(workload_identity, "subject")
        mode = workload_identity.get("subjectMatch", "exact")
        if mode not in ("exact", "glob"):
            raise InputError("spec.workloadIdentity.subjectMatch must be 'exact' or 'glob'")
        if mode == "glob" and (
            not expected_sub.endswith("*") or "*" in expected_sub[:-1] or len(expected_sub) < 2
        ):
            raise InputError(
                "spec.workloadIdentity.subject: a glob needs a non-empty prefix and one "
                "trailing '*'"
            )
        keys = _oidc_keys(issuer, trust)
        try:
            parsed, entry = verify_signature(token, keys, IdentityError, allowed_typ=_IDENTITY_TYP)
        except IdentityError as exc:
            # The issuer may have rotated: refresh discovered keys once, then decide.
            if (
                exc.reason != "unknown-kid"
                or trust.discovery is None
                or issuer in trust.issuers
                or not trust.discovery.allows(issuer)
            ):
                raise
            keys = trust.discovery.jwks_for(issuer, refresh=True)
            parsed, entry = verify_signature(token, keys, IdentityError, allowed_typ=_IDENTITY_TYP)
        claims = parsed.claims
        exp = check_times(claims, now_ts, leeway, IdentityError)
        check_audience(claims, audience, IdentityError)
        if claims.get("iss") != issuer:
            raise IdentityError("wrong-issuer", f"token issuer is not {issuer!r}")
        sub_claim = claims.get("sub")
        if not isinstance(sub_claim, str) or not _subject_matches(sub_claim, expected_sub, mode):
            raise IdentityError("wrong-subject", f"token subject does not match {expected_sub!r}")
        subject = sub_claim
        _check_bound_claims(claims, workload_identity.get("boundClaims"))
    else:
        raise InputError("spec.workloadIdentity.type must be 'spiffe' or 'oidc'")

    return VerifiedIdentity(
        kind=kind,
        issuer=issuer,
        subject=subject,
        audience=audience,
        token_sha256=sha256_hex(token.strip()),
        key_id=entry.kid,
        expires_at=from_epoch(exp),
    )
