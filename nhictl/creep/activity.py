"""Granted vs used: split a principal's grant into three disjoint sets, per service.

- ``used``: seen used in the window: an action row dated inside it (action-level data), or
  the service's last use for a service whose data is only service-level;
- ``unused``: known unused: a tracked action not used in the window, every action of a
  service not used in the window, and (exhaustive sources such as Azure's Activity Log) an
  action of a used service that the source did not list;
- ``unknown``: neither: actions without a row in a used action-level service (AWS tracks
  only some actions of a service), and actions the usage data cannot see at all
  (``unobserved``, such as Azure's reads).

``used | unused | unknown`` is the whole grant. A principal with no usage data, or created
inside the window, has no verdict at all (``known`` false).
"""

from __future__ import annotations

from dataclasses import dataclass, field
from datetime import datetime

from nhictl.creep.catalog import ActionCatalog
from nhictl.creep.effective import Effective
from nhictl.creep.model import Usage


@dataclass(slots=True)
class ServiceActivity:
    """Verdict for one granted service (bitsets over the catalog)."""

    service: str
    granularity: str  # "action" | "service"
    granted: int
    used: int
    unused: int
    last_used: datetime | None
    unknown: int = 0  # untracked actions of a used action-level service
    in_window: bool = False  # the service itself was used inside the window


@dataclass(slots=True)
class Activity:
    """Per-principal usage verdict: ``used``, ``unused`` and ``unknown`` are disjoint bitsets
    and together the whole grant (when ``known``)."""

    known: bool
    reason: str = ""  # why there is no verdict
    used: int = 0  # seen used in the window
    unused: int = 0  # known unused
    services: list[ServiceActivity] = field(default_factory=list)  # services in usage data
    last_activity: datetime | None = None
    never_used: int = 0  # granted in services the usage data does not list at all
    never_services: list[str] = field(default_factory=list)
    unobserved: int = 0  # granted, but the usage data cannot see these actions: unknown
    # Granted, neither seen used nor known unused (untracked actions of a used action-level
    # service, and ``unobserved``); ``--treat-untracked-as`` decides what a fix keeps of them.
    unknown: int = 0
    used_by_service: int = 0  # the part of ``used`` evidenced only at service level

    @property
    def untracked(self) -> int:
        """``unknown`` without ``unobserved``: actions of used services without an action row."""
        return self.unknown & ~self.unobserved


def activity_for(
    eff: Effective,
    usage: Usage | None,
    catalog: ActionCatalog,
    window_start: datetime,
    unobserved: int = 0,
    source: str = "last-accessed",
) -> Activity:
    """Classify every granted action as used, unused or unknown within the window.

    ``unobserved``: actions the usage data cannot see (unknown, never unused);
    ``source``: the usage data's name, for the reason of a missing verdict.
    """
    p = eff.principal
    last = p.last_used
    if usage is not None:
        for ts in usage.services.values():
            if ts is not None and (last is None or ts > last):
                last = ts
    if usage is None:
        return Activity(False, f"no {source} data for this principal", last_activity=last)
    if p.created is not None and p.created > window_start:
        return Activity(False, "created inside the window: too new to judge", last_activity=last)
    act = Activity(True, last_activity=last)
    tracked_by_svc: dict[str, list[tuple[str, datetime | None]]] = {}
    for name, ts in usage.actions.items():
        tracked_by_svc.setdefault(name.partition(":")[0], []).append((name, ts))
    # Granted services absent from the usage data were never used: one bulk subtraction
    # instead of a loop over (for "*" or NotAction grants) hundreds of services.
    per_service, used_services = eff.per_service, usage.services  # per_service: name order
    hidden = eff.allowed & unobserved
    act.unobserved = hidden
    act.unknown = hidden
    reported = [s for s in per_service if s in used_services]
    seen = hidden
    for svc in reported:
        seen |= per_service[svc]
    act.never_used = eff.allowed & ~seen
    if hidden:
        visible = eff.allowed & ~hidden
        act.never_services = [
            s for s in per_service if s not in used_services and per_service[s] & visible
        ]
    else:
        visible = eff.allowed
        act.never_services = [s for s in per_service if s not in used_services]
    act.unused |= act.never_used
    for svc in reported:
        granted = eff.per_service[svc] & visible if hidden else eff.per_service[svc]
        if not granted:
            continue
        svc_last = usage.services.get(svc)
        svc_used = svc_last is not None and svc_last >= window_start
        unknown_mask = 0
        if svc in usage.action_services:
            tracked = used = 0
            for name, ts in tracked_by_svc.get(svc, ()):
                bit = catalog.index(name)
                if bit is None:
                    continue
                tracked |= 1 << bit
                if ts is not None and ts >= window_start:
                    used |= 1 << bit
            used_mask = granted & used
            untracked = granted & ~tracked
            # An untracked action of a used service may or may not be what was used: unknown.
            # Of an unused service it was not used; an exhaustive source saw every observable
            # action, so one it did not list is unused as well.
            if svc_used and not usage.exhaustive:
                unknown_mask = untracked
            unused_mask = granted & ~used_mask & ~unknown_mask
            gran = "action"
        else:  # all or nothing: no need for big-int arithmetic
            used_mask, unused_mask = (granted, 0) if svc_used else (0, granted)
            act.used_by_service |= used_mask
            gran = "service"
        act.used |= used_mask
        act.unused |= unused_mask
        act.unknown |= unknown_mask
        act.services.append(
            ServiceActivity(
                svc, gran, granted, used_mask, unused_mask, svc_last, unknown_mask, svc_used
            )
        )
    return act
