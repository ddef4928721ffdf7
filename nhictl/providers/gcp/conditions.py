"""IAM conditions: which grants are time-bound.

A binding whose condition is ``request.time < timestamp("...")`` (alone, or and-ed with other
tests) lapses at that instant: GCP's own way to make a grant temporary. Such a grant is still
conditional (never reported as unconditional); the GCP rules also lower their severity one step
and name the expiry, and findings on it carry ``time_bound`` in their evidence.
"""

from __future__ import annotations

import re
from collections.abc import Mapping
from datetime import UTC, datetime
from typing import Any

_BEFORE = re.compile(r"request\.time\s*<=?\s*timestamp\(\s*(['\"])([^'\"]+)\1\s*\)", re.IGNORECASE)


def time_bound_until(condition: Mapping[str, Any] | None) -> datetime | None:
    """The instant a time-bound condition lapses, or None when it is not time-bound."""
    if not condition:
        return None
    expr = condition.get("expression")
    if not isinstance(expr, str) or "||" in expr:
        return None  # an alternative could grant without the time limit
    found = [m.group(2) for m in _BEFORE.finditer(expr)]
    if not found:
        return None
    times = []
    for text in found:
        try:
            dt = datetime.fromisoformat(text.replace("z", "Z"))
        except ValueError:
            continue
        times.append(dt if dt.tzinfo else dt.replace(tzinfo=UTC))
    return min(times) if times else None
