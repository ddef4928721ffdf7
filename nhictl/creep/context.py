"""Shared state for one audit run, handed to every rule."""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass, field
from datetime import datetime, timedelta
from typing import Any

from nhictl.creep.catalog import LEVEL_WEIGHT, ActionCatalog
from nhictl.creep.effective import Expander
from nhictl.creep.knowledge import ProviderKnowledge
from nhictl.creep.model import Declaration, Severity, Snapshot

MAX_SAMPLE = 10
MAX_SERVICES = 25  # services listed per evidence dict
_LEVELS_BY_RISK = sorted(
    LEVEL_WEIGHT, key=lambda lv: -LEVEL_WEIGHT[lv]
)  # action names listed in one finding's evidence; counts carry the rest


def _run_of(mask: int) -> tuple[int, int] | None:
    """(lowest bit, length) when the set bits of ``mask`` are one run, else None."""
    if not mask:
        return None
    lo = (mask & -mask).bit_length() - 1
    n = (mask >> lo).bit_length()
    return (lo, n) if mask >> lo == (1 << n) - 1 else None


@dataclass(slots=True)
class AuditOptions:
    """Knobs of one audit run."""

    now: datetime
    unused_days: int = 90
    key_max_age_days: int = 90
    declarations: list[Declaration] = field(default_factory=list)
    baseline: Snapshot | None = None
    manifests_given: bool = False
    remediate: bool = False  # compute least-privilege policies (--remediate-out)

    @property
    def window_start(self) -> datetime:
        return self.now - timedelta(days=self.unused_days)


@dataclass(slots=True)
class Context:
    """Everything a rule may read."""

    snapshot: Snapshot
    knowledge: ProviderKnowledge
    options: AuditOptions
    expander: Expander
    declared: dict[str, Declaration]
    cache: dict[str, Any] = field(default_factory=dict)  # per-run precomputations of rules
    catalog: ActionCatalog = field(init=False)  # the knowledge's; read ~50 times per principal

    def __post_init__(self) -> None:
        self.catalog = self.knowledge.catalog

    def sample(self, mask: int, count: int | None = None) -> list[str]:
        """At most ``MAX_SAMPLE`` action names, highest-risk levels first (``count``: the
        mask's number of actions, when the caller has it already)."""
        if (mask.bit_count() if count is None else count) <= MAX_SAMPLE:  # every name
            names = self.catalog.names(mask)
            return sorted(names, key=lambda n: -LEVEL_WEIGHT[self.catalog.level(n)])
        out: list[str] = []
        for level in _LEVELS_BY_RISK:
            part = mask & self.catalog.level_mask(level)  # type: ignore[arg-type]
            if part:
                out.extend(self.catalog.names(part, MAX_SAMPLE - len(out)))
            if len(out) >= MAX_SAMPLE:
                break
        return out

    def by_service(self, mask: int, per_service: Mapping[str, int] | None = None) -> dict[str, int]:
        """Action counts per service of a bitset, at most ``MAX_SERVICES`` services, by name,
        so evidence stays small. ``per_service``: a principal's granted slices in name order
        (``Effective.per_service``), when ``mask`` lies within its grant."""
        if per_service is None:
            cat = self.catalog
            per_service = {s: cat.service_mask(s) for s in sorted(cat.services())}
        # Counting a service's slice of a 20,000-bit mask costs a popcount of every digit
        # below it; cut the service's bytes out of the mask instead (services are one run
        # of bits unless unknown actions joined them).
        ranges = self._service_ranges()
        raw = mask.to_bytes((mask.bit_length() + 7) // 8, "little")
        out: dict[str, int] = {}
        for s, smask in per_service.items():
            span = ranges.get(s)
            if span is None:
                span = ranges[s] = _run_of(self.catalog.service_mask(s)) or ()
            if span:
                lo, n = span
                part = int.from_bytes(raw[lo >> 3 : (lo + n + 7) >> 3], "little") >> (lo & 7)
                count = (part & (smask >> lo) & ((1 << n) - 1)).bit_count()
            else:
                count = (mask & smask).bit_count()
            if count:
                out[s] = count
                if len(out) >= MAX_SERVICES:
                    break
        return out

    def _service_ranges(self) -> dict[str, tuple[int, ...]]:
        """Service -> (first bit, number of bits) of its run, () when not one run; for the
        catalog as it is now."""
        cached = self.cache.get("service_ranges")
        if cached is None or cached[0] is not self.catalog.all_mask:
            cached = self.cache["service_ranges"] = (self.catalog.all_mask, {})
        ranges: dict[str, tuple[int, ...]] = cached[1]
        return ranges

    def level_severity(self, mask: int) -> Severity:
        """Severity from the riskiest access level present in a bitset."""
        if mask & self.catalog.level_mask("Permissions management"):
            return "high"
        if mask & self.catalog.level_mask("Write"):
            return "medium"
        return "low"
