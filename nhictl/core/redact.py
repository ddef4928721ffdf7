"""Secrets never echoed: recognise token- and key-shaped text, and scrub it out of messages.

``looks_like_secret(value)`` says whether a user-supplied value holds something shaped like a
credential; core input checks use it to refuse such a value where a name, jti or task id is
expected (without showing it). ``redact(text)`` replaces every such shape in a message with
``[redacted]``; the CLI runs it over every error it prints, as a last net.

Shapes recognised:

- a JWS/JWT or JWE in compact form (``eyJ...`` segments joined by dots, however short), or a
  base64url run that starts like a JOSE header (``eyJ`` + 16 or more characters: a cut-off
  token);
- a PEM block (``-----BEGIN ...``), up to its ``-----END ...-----`` line or the end of text;
- an AWS access key id (``AKIA``/``ASIA`` + 16) and a 40-character AWS secret access key;
- well-known API token prefixes (GitHub ``ghp_``, GitLab ``glpat-``, Slack ``xoxb-``, ...);
- a long random-looking base64url run: 32 or more characters mixing upper case, lower case and
  digits, with high character entropy and frequent changes of character class (random text
  changes class about every other character; ``InvoiceReconcilerProduction2024`` does not).

Identifiers nhictl shows (agent names, 22-character jtis, task ids such as ``INV-42``, hex
digests) do not match. A JWK thumbprint (43 random-looking characters, used as ``kid``) does:
error messages show it as ``[redacted]``; ``nhictl keys list`` shows it whole.
"""

from __future__ import annotations

import itertools
import math
import re
from collections import Counter

from nhictl.core.errors import InputError

__all__ = [
    "REDACTED",
    "holds_token_or_private_key",
    "looks_like_secret",
    "quote",
    "redact",
    "reject_secret",
]

REDACTED = "[redacted]"

_PEM = re.compile(r"-----BEGIN[ A-Z0-9]*-----.*?(?:-----END[ A-Z0-9]*-----|\Z)|-----BEGIN", re.S)
# Compact JWS (3 parts) / JWE (5 parts), or a cut-off one: a base64url run starting with the
# encoding of '{"'. Segments may be empty (unsecured JWS, JWE with direct key agreement).
# A dotted one is matched even inside a word, as the audit log's screen matches it.
_JOSE = re.compile(
    r"(?<![A-Za-z0-9_-])eyJ[A-Za-z0-9_-]{16,}(?:\.[A-Za-z0-9_-]*){0,4}"
    r"|eyJ[A-Za-z0-9_-]{8,}(?:\.[A-Za-z0-9_-]*){2,4}"
)
# What the audit log refuses outright (``holds_token_or_private_key``): a compact JWS and a PEM
# private key. ``redact`` removes everything _JOSE and _PEM match, a superset of these, so a
# redacted text always passes the audit log's screen.
_TOKEN_OR_PRIVATE_KEY = re.compile(
    r"eyJ[A-Za-z0-9_-]{8,}\.[A-Za-z0-9_-]*\.[A-Za-z0-9_-]*|-----BEGIN [A-Z ]*PRIVATE KEY-----"
)
_AWS_KEY_ID = re.compile(r"(?<![A-Z0-9])(?:AKIA|ASIA)[A-Z0-9]{16}(?![A-Z0-9])")
_PREFIXED = re.compile(
    r"(?<![A-Za-z0-9_-])(?:"
    r"gh[pousr]_[A-Za-z0-9]{30,}|github_pat_[A-Za-z0-9_]{30,}|glpat-[A-Za-z0-9_-]{20,}"
    r"|xox[abposr]-[A-Za-z0-9-]{10,}|sk-[A-Za-z0-9_-]{20,}|AIza[A-Za-z0-9_-]{35}"
    r")"
)
# Candidates; each is kept only if it also looks random (see _random_looking).
_AWS_SECRET = re.compile(r"(?<![A-Za-z0-9/+=])[A-Za-z0-9/+]{40}(?![A-Za-z0-9/+=])")
_LONG_RUN = re.compile(r"(?<![A-Za-z0-9_+-])[A-Za-z0-9_+-]{32,}={0,2}")

_QUICK = re.compile(r"eyJ|-----BEGIN|[A-Za-z0-9_+/-]{20,}")


def _entropy(text: str) -> float:
    n = len(text)
    return -sum(c / n * math.log2(c / n) for c in Counter(text).values())


def _char_class(ch: str) -> int:
    if ch.isupper():
        return 0
    if ch.islower():
        return 1
    if ch.isdigit():
        return 2
    return 3


def _random_looking(run: str, *, min_entropy: float, min_changes: float) -> bool:
    """Mixed case and digits, high entropy, and a change of character class in at least
    ``min_changes`` of adjacent pairs (about 0.65 for random base64, 0.2 to 0.4 for names)."""
    body = run.rstrip("=")
    if not (
        any(c.isupper() for c in body)
        and any(c.islower() for c in body)
        and any(c.isdigit() for c in body)
    ):
        return False
    if _entropy(body) < min_entropy:
        return False
    classes = [_char_class(c) for c in body]
    changes = sum(1 for a, b in itertools.pairwise(classes) if a != b)
    return changes >= min_changes * (len(body) - 1)


def _aws_secret(match: re.Match[str]) -> bool:
    return _random_looking(match.group(0), min_entropy=4.2, min_changes=0.3)


def _long_run(match: re.Match[str]) -> bool:
    return _random_looking(match.group(0), min_entropy=4.0, min_changes=0.45)


def looks_like_secret(value: str) -> bool:
    """Does ``value`` hold a token, key or other credential-shaped string anywhere in it?"""
    if not _QUICK.search(value):
        return False
    if _PEM.search(value) or _JOSE.search(value) or _AWS_KEY_ID.search(value):
        return True
    if _PREFIXED.search(value):
        return True
    if any(_aws_secret(m) for m in _AWS_SECRET.finditer(value)):
        return True
    return any(_long_run(m) for m in _LONG_RUN.finditer(value))


def redact(text: str) -> str:
    """``text`` with every token-, key- or secret-shaped part replaced by ``[redacted]``."""
    if not text or not _QUICK.search(text):
        return text
    text = _PEM.sub(REDACTED, text)
    text = _JOSE.sub(REDACTED, text)
    text = _AWS_KEY_ID.sub(REDACTED, text)
    text = _PREFIXED.sub(REDACTED, text)
    text = _AWS_SECRET.sub(lambda m: REDACTED if _aws_secret(m) else m.group(0), text)
    return _LONG_RUN.sub(lambda m: REDACTED if _long_run(m) else m.group(0), text)


def holds_token_or_private_key(text: str) -> bool:
    """The audit log's screen: a compact JWS or a PEM private key anywhere in ``text``.

    Narrower than ``looks_like_secret`` (a kid is a random-looking thumbprint and belongs in
    events); ``redact(text)`` never holds either shape.
    """
    # Every match starts with "eyJ" or "-----BEGIN ": a substring test rules most text out far
    # faster than the regex scan (this runs on every audit event).
    return ("eyJ" in text or "-----BEGIN " in text) and bool(_TOKEN_OR_PRIVATE_KEY.search(text))


def quote(value: object, limit: int = 64) -> str:
    """A value someone else chose (a token header member, a JSON member name, a flag value), fit
    for a message or an audit event: cut to ``limit`` characters, token- and key-shaped parts
    ``[redacted]``, then quoted and escaped as ``repr`` does (control characters, lone
    surrogates from undecodable bytes)."""
    if not isinstance(value, str):
        if value is None or isinstance(value, bool | int | float):
            return repr(value)[:limit]
        return f"<{type(value).__name__}>"  # a JSON array or object: its type says enough
    text = repr(redact(value[:limit]))
    return text + "..." if len(value) > limit else text


def reject_secret(value: str, what: str, *, expected: str, hint: str | None = None) -> None:
    """Raise ``InputError`` (value not shown) when ``value``, given as ``what``, looks like a
    token or key: a pasted credential where a name was expected must not be echoed or stored."""
    if looks_like_secret(value):
        raise InputError(
            f"the {what} given looks like a token or key (not shown); {expected}", hint=hint
        )
