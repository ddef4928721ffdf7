"""Per-principal risk: which principals an attacker would use first.

    level  = the worst severity among the principal's ACTIVE (unsuppressed) findings,
             "none" without any
    reach  = min(1, log10(1 + W(granted)) / log10(1 + W(catalog)))   how much the grant can do,
             or, for a principal that can become an admin (active priv.reachable-admin in N
             steps), 1 - 0.1 * (N - 1): what it can reach, not only what it holds
    tie    = (2 * reach + creep_index / 100) / 3                       in [0, 1]
    score  = floor(low + (high - low) * tie), in the level's band:

             critical 80-100, high 60-79, medium 40-59, low 20-39, info 10-19, none 0-9

The bands do not overlap, so any critical outranks any high and so on; within a level the
breadth of the grant counts twice as much as its creep. The creep index stays its own number
(``nhictl.creep.index``). ``drivers`` are the rules whose findings set the level.

Risk depends on every finding of a principal, including ones added after the per-principal
loop (credentials, cross-principal rules): ``apply_risk`` runs once, at the very end.
"""

from __future__ import annotations

import math
from collections.abc import Iterable, Sequence
from typing import Any

from nhictl.creep.index import log_reach
from nhictl.creep.model import SEVERITIES, Finding, PrincipalResult

RISK_LEVELS = ("none", *SEVERITIES)  # lowest first
BANDS: dict[str, tuple[int, int]] = {
    "none": (0, 9),
    "info": (10, 19),
    "low": (20, 39),
    "medium": (40, 59),
    "high": (60, 79),
    "critical": (80, 100),
}
_LEVEL_RANK = {lv: i for i, lv in enumerate(RISK_LEVELS)}
REACHABLE_ADMIN = "priv.reachable-admin"  # its reach is the admin's, less a tenth per extra step
TOP_RISKS = 5  # principals listed in summary.top_risks


def principal_risk(
    findings: Iterable[Finding], granted_weight: int, catalog_weight: int, creep_index: int
) -> dict[str, Any]:
    """``{"score", "level", "drivers", "reach"}`` of one principal from its findings (the
    suppressed ones are skipped here)."""
    level, drivers = "none", set()
    reach = log_reach(granted_weight, catalog_weight)
    for f in findings:
        if f.suppressed is not None:
            continue
        if f.rule_id == REACHABLE_ADMIN:
            steps = f.evidence.get("steps")
            if isinstance(steps, int) and steps >= 1:
                reach = max(reach, max(0.0, 1 - 0.1 * (steps - 1)))
        if _LEVEL_RANK[f.severity] > _LEVEL_RANK[level]:
            level, drivers = f.severity, {f.rule_id}
        elif f.severity == level:
            drivers.add(f.rule_id)
    tie = (2 * reach + min(max(creep_index, 0), 100) / 100) / 3
    low, high = BANDS[level]
    return {
        "score": math.floor(low + (high - low) * tie),
        "level": level,
        "drivers": sorted(drivers),
        "reach": round(reach, 4),
    }


def apply_risk(
    results: Sequence[PrincipalResult], findings: Iterable[Finding], catalog_weight: int
) -> None:
    """Set ``risk`` on every result from all the findings of the run."""
    by_principal: dict[str, list[Finding]] = {}
    for f in findings:
        if f.suppressed is None:
            by_principal.setdefault(f.principal, []).append(f)
    for r in results:
        r.risk = principal_risk(
            by_principal.get(r.id, ()),
            int(r.index_detail.get("granted_weight", 0)),
            catalog_weight,
            r.creep_index,
        )


def risk_key(score: int, creep_index: int, name: str, pid: str) -> tuple[int, int, str, str]:
    """Sort key: risk first, then the creep index, then the name (and id, to be total)."""
    return (-score, -creep_index, name, pid)


def by_risk(results: Iterable[PrincipalResult]) -> list[PrincipalResult]:
    """Principals in risk order (``risk_key``)."""
    return sorted(
        results, key=lambda r: risk_key(r.risk.get("score", 0), r.creep_index, r.name, r.id)
    )


def top_risk_entry(r: PrincipalResult) -> dict[str, Any]:
    """One ``summary.top_risks`` entry."""
    return {
        "id": r.id,
        "name": r.name,
        "provider": r.provider,
        "score": r.risk.get("score", 0),
        "level": r.risk.get("level", "none"),
        "drivers": list(r.risk.get("drivers", [])),
        "creep_index": r.creep_index,
    }


def top_risks(results: Iterable[PrincipalResult], n: int = TOP_RISKS) -> list[dict[str, Any]]:
    """The first ``n`` principals by risk that have an active finding."""
    ranked = [r for r in by_risk(results) if r.risk.get("level", "none") != "none"]
    return [top_risk_entry(r) for r in ranked[:n]]


def merge_top_risks(
    lists: Iterable[Sequence[dict[str, Any]]], n: int = TOP_RISKS
) -> list[dict[str, Any]]:
    """Several reports' ``top_risks`` as one list: each is its report's first ``n``, so the
    first ``n`` of them all are the combined report's."""
    entries = [e for lst in lists for e in lst]
    entries.sort(key=lambda e: risk_key(e["score"], e["creep_index"], e["name"], e["id"]))
    return entries[:n]
