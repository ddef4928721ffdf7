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

import ipaddress
import re
import threading
import time
import urllib.error
import urllib.parse
import urllib.request
from collections.abc import Callable, Iterable, Mapping
from dataclasses import dataclass, field
from datetime import datetime
from pathlib import Path
from typing import Any, Literal

from nhictl.core import spiffe
from nhictl.core._jose import (
    JoseError,
    KeySet,
    check_audience,
    check_times,
    from_epoch,
    sha256_hex,
    strict_json_loads,
    to_epoch,
    verify_signature,
)
from nhictl.core.errors import InputError
from nhictl.core.inputfile import read_input

IdentityKind = Literal["spiffe", "oidc"]

DEFAULT_LEEWAY_SECONDS = 60.0
#: JWT-SVID: ``typ`` is optional and must be JWT or JOSE when present. The same rule for OIDC
#: tokens keeps our own ``at+jwt`` access tokens (and other typed JWTs) out (RFC 8725 §3.11).
_IDENTITY_TYP: frozenset[str | None] = frozenset({None, "JWT", "JOSE"})
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


# --------------------------------------------------------------------------- OIDC discovery


def _is_loopback(host: str | None) -> bool:
    if host is None:
        return False
    if host == "localhost":
        return True
    try:
        return ipaddress.ip_address(host).is_loopback
    except ValueError:
        return False


class _NoRedirect(urllib.request.HTTPRedirectHandler):
    """A redirect could point the fetch anywhere; the operator pinned an issuer, not a hop."""

    def redirect_request(self, *args: Any, **kwargs: Any) -> None:
        return None


class OidcDiscovery:
    """Fetch JWKS through OIDC discovery for operator-configured issuers only.

    ``issuers`` maps each allowed issuer to an explicit discovery URL, or None for
    ``<issuer>/.well-known/openid-configuration``. Fetches use HTTPS (plain HTTP only to a
    loopback host), a timeout for the whole fetch, a response size cap, no redirects, and an
    in-process cache. An unknown ``kid`` triggers at most one refresh per ``min_refresh``.
    """

    def __init__(
        self,
        issuers: Mapping[str, str | None] | Iterable[str],
        *,
        timeout: float = 5.0,
        max_bytes: int = 512 * 1024,
        cache_ttl: float = 300.0,
        min_refresh: float = 30.0,
        monotonic: Callable[[], float] = time.monotonic,
    ) -> None:
        if isinstance(issuers, Mapping):
            self.issuers: dict[str, str | None] = dict(issuers)
        else:
            self.issuers = dict.fromkeys(issuers)
        self.timeout = timeout
        self.max_bytes = max_bytes
        self.cache_ttl = cache_ttl
        self.min_refresh = min_refresh
        self._monotonic = monotonic
        self._cache: dict[str, tuple[float, KeySet]] = {}
        self._lock = threading.Lock()
        self._opener = urllib.request.build_opener(_NoRedirect)

    def allows(self, issuer: str) -> bool:
        return issuer in self.issuers

    def jwks_for(self, issuer: str, *, refresh: bool = False) -> KeySet:
        """The issuer's keys, from the cache when fresh. Refuses issuers not configured."""
        if issuer not in self.issuers:
            raise IdentityError(
                "untrusted-issuer", f"issuer {issuer!r} is not configured for discovery"
            )
        now = self._monotonic()
        with self._lock:
            cached = self._cache.get(issuer)
            if cached is not None:
                age = now - cached[0]
                if age < self.cache_ttl and not (refresh and age >= self.min_refresh):
                    return cached[1]
        keys = self._fetch_keys(issuer)
        with self._lock:
            self._cache[issuer] = (self._monotonic(), keys)
        return keys

    def _fetch_keys(self, issuer: str) -> KeySet:
        url = self.issuers[issuer] or issuer.rstrip("/") + "/.well-known/openid-configuration"
        config = self._fetch_json(url, what=f"discovery document for {issuer}")
        if not isinstance(config, dict) or config.get("issuer") != issuer:
            # OIDC Discovery §4.3: the document must name exactly the issuer we asked for.
            raise TrustSourceError(f"discovery document at {url} does not name issuer {issuer!r}")
        jwks_uri = config.get("jwks_uri")
        if not isinstance(jwks_uri, str):
            raise TrustSourceError(f"discovery document at {url} has no jwks_uri")
        doc = self._fetch_json(jwks_uri, what=f"JWKS for {issuer}")
        try:
            return KeySet.from_jwks(doc, source=f"JWKS of {issuer}")
        except InputError as exc:
            raise TrustSourceError(exc.message) from None

    def _fetch_json(self, url: str, *, what: str) -> Any:
        parts = urllib.parse.urlsplit(url)
        loopback_http = parts.scheme == "http" and _is_loopback(parts.hostname)
        if parts.scheme != "https" and not loopback_http:
            raise TrustSourceError(f"refusing to fetch {what} over {parts.scheme or 'no'} scheme")
        deadline = time.monotonic() + self.timeout
        request = urllib.request.Request(
            url, headers={"Accept": "application/json", "User-Agent": "nhictl"}
        )
        try:
            with self._opener.open(request, timeout=self.timeout) as resp:
                if resp.status != 200:
                    raise TrustSourceError(f"fetching {what} from {url}: HTTP {resp.status}")
                chunks: list[bytes] = []
                size = 0
                while chunk := resp.read(16384):
                    size += len(chunk)
                    if size > self.max_bytes:
                        raise TrustSourceError(
                            f"{what} from {url} is larger than {self.max_bytes} bytes"
                        )
                    if time.monotonic() > deadline:
                        raise TimeoutError
                    chunks.append(chunk)
        except TrustSourceError:
            raise
        except urllib.error.HTTPError as exc:
            raise TrustSourceError(f"fetching {what} from {url}: HTTP {exc.code}") from None
        except (TimeoutError, urllib.error.URLError, OSError) as exc:
            detail = "timed out" if isinstance(exc, TimeoutError) else type(exc).__name__
            if isinstance(exc, urllib.error.URLError) and isinstance(exc.reason, TimeoutError):
                detail = "timed out"
            raise TrustSourceError(f"fetching {what} from {url}: {detail}") from None
        try:
            return strict_json_loads(b"".join(chunks))
        except (UnicodeDecodeError, ValueError):
            raise TrustSourceError(f"{what} from {url} is not valid JSON") from None


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
