"""The creep index: 0-100 per principal, rolled up per account.

    excess   = actions granted AND (unused in the window OR beyond the declared set OR grown),
               taken from the principal's active (unsuppressed) creep.* findings
    W(set)   = sum of access-level weights (Permissions management 10, Write 3, Read 2,
               List 1, Tagging 1, unknown 2)
    ratio    = W(excess) / W(granted)                      -- how much of the grant is creep
    reach    = min(1, log10(1 + W(excess)) / log10(1 + W(catalog)))
                                                           -- how much damage the creep can do
    index    = round(100 * ratio * reach)

Buckets (as the retired Entra Permission Creep Index): low 0-33, medium 34-66, high 67-100.
An unused AdministratorAccess scores 100; three unused read actions score ~18. Account index:
the grant-weighted mean of its principals' indices, so large grants dominate.
"""

from __future__ import annotations

import math
from collections.abc import Iterable
from dataclasses import dataclass

from nhictl.creep.catalog import ActionCatalog, weight
from nhictl.creep.model import Finding

CREEP_RULES = (
    "creep.unused-permission",
    "creep.unused-principal",
    "creep.beyond-declared",
    "creep.growth",
)


def log_reach(weight: int, catalog_weight: int) -> float:
    """min(1, log10(1 + weight) / log10(1 + W(catalog))): a weight on a log scale against the
    whole catalog's (the index's reach of the excess; the risk view's reach of the grant)."""
    if catalog_weight <= 0:
        return 0.0
    return min(1.0, math.log10(1 + weight) / math.log10(1 + catalog_weight))


def bucket(index: int) -> str:
    return "low" if index <= 33 else "medium" if index <= 66 else "high"


@dataclass(frozen=True, slots=True)
class IndexResult:
    index: int
    granted_weight: int
    excess_weight: int
    ratio: float
    reach: float
    excess_actions: int
    findings: tuple[str, ...]


def creep_index(
    catalog: ActionCatalog,
    granted: int,
    findings: Iterable[Finding],
    catalog_weight: int,
    granted_count: int | None = None,
) -> IndexResult:
    excess = 0
    used_rules: list[str] = []
    for f in findings:
        if f.rule_id in CREEP_RULES and f.suppressed is None and f.mask:
            excess |= f.mask
            used_rules.append(f.rule_id)
    excess &= granted
    wg = weight(catalog, granted, granted_count)
    if excess == granted and granted_count is not None:  # e.g. an unused principal
        we, n_excess = wg, granted_count
    else:
        n_excess = excess.bit_count()
        we = weight(catalog, excess, n_excess)
    ratio = we / wg if wg else 0.0
    reach = log_reach(we, catalog_weight)
    return IndexResult(
        round(100 * ratio * reach),
        wg,
        we,
        round(ratio, 4),
        round(reach, 4),
        n_excess,
        tuple(sorted(set(used_rules))),
    )


def rollup(items: Iterable[tuple[int, int]]) -> int:
    """Grant-weighted mean of (index, granted_weight) pairs."""
    num = den = 0
    for idx, w in items:
        num += idx * w
        den += w
    return round(num / den) if den else 0
