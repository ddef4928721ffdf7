"""A fix as one or more policy documents, each within AWS's managed-policy size.

IAM counts a policy's characters without whitespace: the compact JSON is measured (whitespace
inside strings counts too, so the measure never undercounts). Allow statements add up, whether
in one document or several attached to the same principal, and a statement's Action or
Resource list can be cut into several statements with the same rest: splitting never changes
what is granted. Statements are cut only when one alone is over the limit; then the pieces are
packed first-fit, in order.
"""

from __future__ import annotations

from typing import Any

from nhictl.core.jsonout import dumps

POLICY_VERSION = "2012-10-17"
SID_PREFIX = "NhictlLeastPrivilege"
# Room for the Sid each statement gets once the pieces are numbered (up to 9,999 statements).
_SID_RESERVE = len(f'"Sid":"{SID_PREFIX}9999",')


def policy_chars(data: Any) -> int:
    """Characters IAM counts for a policy document (compact JSON)."""
    return len(dumps(data).decode())


def policy(statements: list[dict[str, Any]]) -> dict[str, Any]:
    """A policy document of ``statements``."""
    return {"Version": POLICY_VERSION, "Statement": statements}


def split_policy(statements: list[dict[str, Any]], limit: int) -> list[dict[str, Any]] | None:
    """Policy documents granting exactly ``statements``, each at most ``limit`` characters,
    their statements numbered ``Sid`` across all of them; None when one action on one resource
    alone is over the limit."""
    budget = limit - policy_chars(policy([]))  # for the statements and their commas
    pieces: list[tuple[dict[str, Any], int]] = []
    for st in statements:
        fitted = _fit(st, budget - _SID_RESERVE)
        if fitted is None:
            return None
        pieces += fitted
    parts: list[tuple[int, list[dict[str, Any]]]] = []  # (size, statements), first fit
    for st, size in pieces:
        cost = size + _SID_RESERVE
        for i, (used, sts) in enumerate(parts):
            if used + 1 + cost <= budget:  # +1: the comma between statements
                sts.append(st)
                parts[i] = (used + 1 + cost, sts)
                break
        else:
            parts.append((cost, [st]))
    docs: list[dict[str, Any]] = []
    n = 0
    for _, sts in parts:
        numbered = []
        for st in sts:
            n += 1
            numbered.append({"Sid": f"{SID_PREFIX}{n}", **st})
        docs.append(policy(numbered))
    return docs


def _fit(st: dict[str, Any], budget: int) -> list[tuple[dict[str, Any], int]] | None:
    """``st`` as statements of at most ``budget`` characters each, with their sizes."""
    size = policy_chars(st)
    if size <= budget:
        return [(st, size)]
    for key in ("Action", "Resource", "NotResource"):
        items = st.get(key)
        if isinstance(items, list) and len(items) > 1:
            out: list[tuple[dict[str, Any], int]] = []
            for chunk in _chunks(st, key, items, budget):
                fitted = _fit({**st, key: chunk}, budget)
                if fitted is None:
                    return None
                out += fitted
            return out
    return None  # one action on one resource: cannot be cut


def _chunks(st: dict[str, Any], key: str, items: list[str], budget: int) -> list[list[str]]:
    """``items`` cut greedily so that ``st`` with each chunk as ``key`` fits ``budget``
    (a chunk holds at least one item; ``_fit`` judges one that still does not fit)."""
    base = policy_chars({**st, key: []})
    chunks: list[list[str]] = [[]]
    size = base
    for item in items:
        cost = policy_chars(item) + (1 if chunks[-1] else 0)
        if chunks[-1] and size + cost > budget:
            chunks.append([])
            size, cost = base, policy_chars(item)
        chunks[-1].append(item)
        size += cost
    return chunks
