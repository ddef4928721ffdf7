"""Several providers' reports as one (``audit-creep --provider all``).

Each provider is analysed on its own (its own catalog, its own creep-index scale); this only
lines the results up. The combined summary keeps the single-provider keys, with counts summed,
and adds ``providers``: each provider's own summary, so the clouds can be read side by side.
"""

from __future__ import annotations

from collections import Counter
from typing import Any

from nhictl.creep.index import bucket
from nhictl.creep.model import PROVIDER_SEPARATOR, SEVERITY_RANK, Report
from nhictl.creep.risk import merge_top_risks


def combined_index(reports: list[Report]) -> int:
    """The mean of the providers' indices weighted by their principals: every provider's
    index is on the same 0-100 scale, but their grant weights are not comparable."""
    num = den = 0
    for r in reports:
        n = int(r.summary["principals"])
        num += int(r.summary["creep_index"]) * n
        den += n
    return round(num / den) if den else 0


def combine_reports(reports: list[Report]) -> Report:
    """One report for several providers; a single report is returned unchanged."""
    if not reports:
        raise ValueError("no reports to combine")
    if len(reports) == 1:
        return reports[0]
    providers = [r.provider for r in reports]
    if len(set(providers)) != len(providers):
        raise ValueError(f"a provider appears twice: {providers}")
    findings = [f for r in reports for f in r.findings]
    findings.sort(key=lambda f: (-SEVERITY_RANK[f.severity], f.rule_id, f.principal, f.message))
    severities: Counter[str] = Counter()
    rules: Counter[str] = Counter()
    for r in reports:
        severities.update(r.summary["by_severity"])
        rules.update(r.summary["by_rule"])
    index = combined_index(reports)
    summary: dict[str, Any] = {
        "principals": sum(r.summary["principals"] for r in reports),
        "principals_in_snapshot": sum(r.summary["principals_in_snapshot"] for r in reports),
        "findings": sum(r.summary["findings"] for r in reports),
        "suppressed": sum(r.summary["suppressed"] for r in reports),
        "by_severity": dict(sorted(severities.items(), key=lambda kv: -SEVERITY_RANK[kv[0]])),
        "by_rule": dict(sorted(rules.items())),
        "creep_index": index,
        "bucket": bucket(index),
        "top_risks": merge_top_risks(r.summary["top_risks"] for r in reports),
        "accounts": {
            account: {"provider": r.provider, **value}
            for r in reports
            for account, value in r.summary["accounts"].items()
        },
        "window_days": reports[0].summary["window_days"],
        "key_max_age_days": reports[0].summary["key_max_age_days"],
        "treat_untracked": reports[0].summary["treat_untracked"],
        "providers": {r.provider: r.summary for r in reports},
        "warnings": [f"{r.provider}: {w}" for r in reports for w in r.summary["warnings"]],
    }
    remediations = {pid: rem for r in reports for pid, rem in r.remediations.items()}
    return Report(
        PROVIDER_SEPARATOR.join(providers),
        max(r.generated_at for r in reports),
        summary,
        [p for r in reports for p in r.principals],
        findings,
        remediations,
    )
