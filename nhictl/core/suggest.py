"""Did-you-mean for names the user typed: the closest known values, never a secret-shaped one."""

from __future__ import annotations

import difflib
from collections.abc import Iterable

from nhictl.core.redact import looks_like_secret

__all__ = ["close_matches", "did_you_mean"]


def close_matches(value: str, candidates: Iterable[str], *, limit: int = 3) -> list[str]:
    """Up to ``limit`` known values closest to ``value``: values it is a prefix of first (a
    name cut short when copied), then difflib's closest. Secret-shaped candidates are dropped."""
    known = [c for c in dict.fromkeys(candidates) if c and c != value]
    prefixed = [c for c in known if len(value) >= 4 and c.startswith(value)]
    close = difflib.get_close_matches(value, known, n=limit + len(prefixed), cutoff=0.6)
    out = list(dict.fromkeys([*prefixed, *close]))
    return [c for c in out if not looks_like_secret(c)][:limit]


def did_you_mean(value: str, candidates: Iterable[str]) -> str | None:
    """``did you mean 'a' or 'b'?``, or None when nothing is close."""
    found = close_matches(value, candidates)
    if not found:
        return None
    quoted = [repr(c) for c in found]
    joined = quoted[0] if len(quoted) == 1 else ", ".join(quoted[:-1]) + " or " + quoted[-1]
    return f"did you mean {joined}?"
