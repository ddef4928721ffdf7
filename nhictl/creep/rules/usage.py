"""creep.unused-permission and creep.unused-principal."""

from __future__ import annotations

from typing import Any

from nhictl.creep.activity import Activity
from nhictl.creep.context import Context
from nhictl.creep.effective import Effective, policies_granting
from nhictl.creep.model import Finding, Severity

MAX_SERVICES = 25  # services listed in one finding's evidence; "services_total" has the count


def _iso(ts: object) -> str | None:
    return ts.isoformat() if hasattr(ts, "isoformat") else None


def unused_permission(ctx: Context, eff: Effective, act: Activity) -> list[Finding]:
    """One finding for never/long-unused services (service-level), one per used service with
    unused actions (action-level)."""
    if not act.known or not act.unused or _whole_principal_unused(ctx, act):
        return []
    days = ctx.options.unused_days
    pid = eff.principal.id
    out: list[Finding] = []
    # Idle: the service itself was not used in the window (every granted action unused).
    idle = [s for s in act.services if s.unused and not (s.used or s.in_window)]
    if idle or act.never_used:
        mask = act.never_used
        for s in idle:
            mask |= s.unused
        services: dict[str, Any] = {
            s.service: {
                "actions": s.unused.bit_count(),
                "granularity": s.granularity,
                "last_used": _iso(s.last_used),
            }
            for s in idle
        }
        # Evidence stays small for "*" grants: the first services by name, and the total.
        for svc in act.never_services[: max(0, MAX_SERVICES - len(services))]:
            services[svc] = {
                "actions": (eff.per_service[svc] & ~act.unobserved).bit_count(),
                "granularity": "service",
                "last_used": None,
            }
        n_services = len(idle) + len(act.never_services)
        names = ", ".join(sorted(services)[:8]) + (" ..." if n_services > 8 else "")
        n_actions = mask.bit_count()
        out.append(
            Finding(
                "creep.unused-permission",
                ctx.level_severity(mask),
                pid,
                f"{n_services} granted service(s) not used in {days} days "
                f"({n_actions} actions; service-level data): {names}",
                {
                    "granularity": "service",
                    "window_days": days,
                    "services_total": n_services,
                    "services": dict(sorted(services.items())),
                    "unused_actions": n_actions,
                    "sample": ctx.sample(mask, n_actions),
                    "policies": policies_granting(eff, mask),
                },
                "Remove these services from the principal's policies; the least-privilege policy "
                "(--remediate-out) keeps only what was used.",
                mask=mask,
            )
        )
    for s in act.services:
        if not s.unused or s in idle:
            continue
        if s.granularity != "action":
            continue  # service used: service-level data cannot say which actions were idle
        unused, used, unknown = s.unused.bit_count(), s.used.bit_count(), s.unknown.bit_count()
        sample = ctx.sample(s.unused, unused)
        # Untracked actions are neither used nor unused: say how many, so "2 of 78" does not
        # read as "76 used".
        untracked = f"; {unknown} untracked (use unknown)" if unknown else ""
        keep = f"keep the {used} used ones"
        if unknown:
            keep += f"; the {unknown} untracked ones are kept unless --treat-untracked-as unused"
        out.append(
            Finding(
                "creep.unused-permission",
                ctx.level_severity(s.unused),
                pid,
                f"{s.service}: {unused} of {s.granted.bit_count()} granted "
                f"actions not used in {days} days (action-level data{untracked}), "
                f"e.g. {', '.join(sample[:3])}",
                {
                    "granularity": "action",
                    "window_days": days,
                    "service": s.service,
                    "granted": s.granted.bit_count(),
                    "used": used,
                    "unknown_actions": unknown,
                    "unused_actions": unused,
                    "sample": sample,
                    "policies": policies_granting(eff, s.unused),
                },
                f"Drop the unused {s.service} actions; {keep}.",
                mask=s.unused,
            )
        )
    return out


def _whole_principal_unused(ctx: Context, act: Activity) -> bool:
    """The principal is idle altogether: creep.unused-principal reports it, once."""
    start = ctx.options.window_start
    if act.unobserved and act.last_activity is None:
        return False  # it may use what the usage data cannot see: no verdict on the whole
    return not act.used and (act.last_activity is None or act.last_activity < start)


def unused_principal(ctx: Context, eff: Effective, act: Activity) -> list[Finding]:
    """No activity at all inside the window, by last-accessed data or last-used timestamps."""
    p = eff.principal
    start = ctx.options.window_start
    if p.created is not None and p.created > start:
        return []
    covered = p.last_used_source is not None  # None last_used then means "never"
    if act.known:
        if act.unobserved and act.last_activity is None and not covered:
            return []  # granted actions the usage data cannot see, and no sign-in data
        idle = not act.used and (act.last_activity is None or act.last_activity < start)
    else:
        # Without last-accessed data only last-used stamps can tell: RoleLastUsed for roles,
        # access-key last use for users (None for a user means no key data, so no verdict),
        # a provider's sign-in data where it covers the principal.
        if p.kind != "role" and p.last_used is None and not covered:
            return []
        idle = p.last_used is None or p.last_used < start
        if p.last_used is None and p.created is None:
            return []
    if not idle:
        return []
    last = act.last_activity or p.last_used
    days = ctx.options.unused_days
    when = f"last used {last.date().isoformat()}" if last else "never used"
    sev: Severity = (
        "high"
        if eff.unconditional_star & ctx.catalog.level_mask("Permissions management")
        else "medium"
    )
    return [
        Finding(
            "creep.unused-principal",
            sev,
            p.id,
            f"{p.kind} {p.name} has no activity in {days} days ({when}); "
            f"it holds {eff.allowed_count} actions",
            {
                "last_activity": last.isoformat() if last else None,
                "window_days": days,
                "granted_actions": eff.allowed_count,
                "source": ctx.knowledge.usage_source
                if act.known
                else (p.last_used_source or "RoleLastUsed"),
            },
            "Confirm with the owner, then delete the identity (or detach all its policies).",
            mask=eff.allowed,
        )
    ]
