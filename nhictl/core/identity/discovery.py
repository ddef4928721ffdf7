"""OIDC discovery: fetch an issuer's JWKS, only for issuers the operator configured."""

from __future__ import annotations

import ipaddress
import threading
import time
import urllib.error
import urllib.parse
import urllib.request
from collections.abc import Callable, Iterable, Mapping
from typing import Any

from nhictl.core.errors import InputError
from nhictl.core.identity.trust import IdentityError, TrustSourceError
from nhictl.core.jose import KeySet, strict_json_loads


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
