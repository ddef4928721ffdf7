"""Shared state for one audit run, handed to every rule."""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass, field
from datetime import datetime, timedelta
from typing import Any, Literal

from nhictl.creep.catalog import LEVEL_WEIGHT, ActionCatalog
from nhictl.creep.effective import Expander
from nhictl.creep.graph import PrincipalGraph
from nhictl.creep.graph_facts import PrincipalFacts
from nhictl.creep.knowledge import ProviderKnowledge
from nhictl.creep.model import Declaration, Severity, Snapshot

MAX_SAMPLE = 10
MAX_SERVICES = 25  # services listed per evidence dict
_LEVELS_BY_RISK = sorted(
    LEVEL_WEIGHT, key=lambda lv: -LEVEL_WEIGHT[lv]
)  # action names listed in one finding's evidence; counts carry the rest


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
    # What a fix keeps of the actions whose use is unknown (--treat-untracked-as).
    treat_untracked: Literal["used", "unused"] = "used"

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
    # The principal graph (solved) and the small facts it was built from, when the provider
    # supports it (ProviderKnowledge.assume_permission); None: target-dependent escalation
    # methods stay "needs-target".
    graph: PrincipalGraph | None = None
    facts: dict[str, PrincipalFacts] = field(default_factory=dict)

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
        out: dict[str, int] = {}
        for s, smask in per_service.items():
            part = mask & smask
            if part:
                out[s] = part.bit_count()
                if len(out) >= MAX_SERVICES:
                    break
        return out

    def level_severity(self, mask: int) -> Severity:
        """Severity from the riskiest access level present in a bitset."""
        if mask & self.catalog.level_mask("Permissions management"):
            return "high"
        if mask & self.catalog.level_mask("Write"):
            return "medium"
        return "low"
