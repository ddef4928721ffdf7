"""Store URLs: which backend a URL names, and the URL with its password taken out.

Pure text handling (no database driver is imported), so settings can check a URL and every
message can show one without paying for psycopg or leaking a password.
"""

from __future__ import annotations

import re
from urllib.parse import parse_qsl, urlencode, urlsplit, urlunsplit

from nhictl.core.errors import InputError

SQLITE_PREFIX = "sqlite:///"
POSTGRES_SCHEMES = ("postgresql", "postgres")
HIDDEN = "***"
_PASSWORD_IN_TEXT = re.compile(r"(?i)(password\s*=\s*)('[^']*'|\S+)")


def backend_of(url: str) -> str:
    """``sqlite`` (also for the empty default) or ``postgresql``; InputError otherwise."""
    if not url or url.startswith(SQLITE_PREFIX):
        return "sqlite"
    scheme = url.split("://", 1)[0].lower() if "://" in url else ""
    if scheme in POSTGRES_SCHEMES:
        return "postgresql"
    # Only the scheme is quoted: the rest of a URL may hold a password.
    what = f"scheme {scheme!r}" if scheme else "value (no scheme:// in it)"
    raise InputError(
        f"unsupported store URL {what}: use sqlite:///PATH or postgresql://USER@HOST:PORT/DATABASE"
    )


def parse_store_url(text: str) -> str:
    """The ``store`` setting's parser: the URL unchanged if a backend serves it."""
    url = text.strip()
    if backend_of(url) == "sqlite" and url == SQLITE_PREFIX:
        raise InputError("sqlite:/// needs a file path after it (sqlite:////abs/path/nhictl.db)")
    return url


def redact_url(url: str) -> str:
    """``url`` with any password (in the user part or a ``password=`` parameter) as ``***``."""
    try:
        parts = urlsplit(url)
    except ValueError:
        return _PASSWORD_IN_TEXT.sub(rf"\g<1>{HIDDEN}", url.split("@", 1)[-1])
    netloc = parts.netloc
    if "@" in netloc:
        userinfo, _, hostport = netloc.rpartition("@")
        user, colon, _password = userinfo.partition(":")
        netloc = f"{user}:{HIDDEN}@{hostport}" if colon else f"{user}@{hostport}"
    query = parts.query
    if query:
        pairs = parse_qsl(query, keep_blank_values=True)
        if any(key.lower() == "password" for key, _ in pairs):
            query = urlencode(
                [(k, HIDDEN if k.lower() == "password" else v) for k, v in pairs], safe="*/:"
            )
    return urlunsplit((parts.scheme, netloc, parts.path, query, parts.fragment))


def redact_text(text: str, url: str) -> str:
    """``text`` (a driver's error message, say) with the URL's password nowhere in it."""
    try:
        parts = urlsplit(url)
        password = parts.password
    except ValueError:
        password = None
    if password:
        text = text.replace(password, HIDDEN)
    if url:
        text = text.replace(url, redact_url(url))
    return _PASSWORD_IN_TEXT.sub(rf"\g<1>{HIDDEN}", text)
