"""SPIFFE ID syntax, per the SPIFFE-ID standard (spiffe/spiffe standards/SPIFFE-ID.md)."""

from __future__ import annotations

import re
from dataclasses import dataclass

_TRUST_DOMAIN = re.compile(r"[a-z0-9._-]+")
_SEGMENT = re.compile(r"[A-Za-z0-9._-]+")
MAX_ID_BYTES = 2048
MAX_TRUST_DOMAIN = 255


@dataclass(frozen=True)
class SpiffeId:
    """A parsed SPIFFE ID: ``spiffe://<trust_domain><path>``."""

    trust_domain: str
    path: str

    def __str__(self) -> str:
        return f"spiffe://{self.trust_domain}{self.path}"


def spiffe_id_problem(value: str) -> str | None:
    """Return why ``value`` is not a valid SPIFFE ID, or ``None`` when it is valid."""
    if len(value.encode()) > MAX_ID_BYTES:
        return f"is longer than {MAX_ID_BYTES} bytes"
    scheme, sep, rest = value.partition("://")
    if not sep or scheme.lower() != "spiffe":
        return "must start with spiffe://"
    if scheme != "spiffe":
        return "scheme must be lowercase 'spiffe'"
    if "?" in rest or "#" in rest:
        return "must not contain a query or fragment"
    trust_domain, slash, path = rest.partition("/")
    if not trust_domain:
        return "has an empty trust domain"
    if len(trust_domain) > MAX_TRUST_DOMAIN:
        return f"trust domain is longer than {MAX_TRUST_DOMAIN} characters"
    if "@" in trust_domain or ":" in trust_domain:
        return "trust domain must not contain a user, password or port"
    if not _TRUST_DOMAIN.fullmatch(trust_domain):
        return "trust domain may only contain lowercase letters, digits, '.', '-' and '_'"
    if not slash:
        return None
    if not path:
        return "must not end with '/'"
    for segment in path.split("/"):
        if not segment:
            return "path must not contain empty segments ('//') or end with '/'"
        if segment in (".", ".."):
            return "path must not contain '.' or '..' segments"
        if not _SEGMENT.fullmatch(segment):
            return "path segments may only contain letters, digits, '.', '-' and '_'"
    return None


def parse_spiffe_id(value: str) -> SpiffeId:
    """Parse a SPIFFE ID; raise ``ValueError`` naming the rule it breaks."""
    problem = spiffe_id_problem(value)
    if problem:
        raise ValueError(f"{value!r} is not a valid SPIFFE ID: {problem}")
    rest = value[len("spiffe://") :]
    trust_domain, _, path = rest.partition("/")
    return SpiffeId(trust_domain, "/" + path if path else "")
