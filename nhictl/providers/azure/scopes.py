"""ARM scopes: canonical form, level (root / management group / subscription / resource
group / resource) and the subscription they belong to."""

from __future__ import annotations

from typing import Literal

ScopeLevel = Literal["root", "management-group", "subscription", "resource-group", "resource"]
# Broadest first; "account-wide" (reaches every resource of a subscription) is the first three.
LEVELS: tuple[ScopeLevel, ...] = (
    "root",
    "management-group",
    "subscription",
    "resource-group",
    "resource",
)
_MG = "/providers/microsoft.management/managementgroups/"


def canonical(scope: str) -> str:
    """Lowercase, no trailing slash: ARM compares scopes case-insensitively."""
    s = scope.strip().lower().rstrip("/")
    return s or "/"


def level(scope: str) -> ScopeLevel:
    s = canonical(scope)
    if s == "/":
        return "root"
    if s.startswith(_MG):
        return "management-group"
    parts = s.strip("/").split("/")
    if parts[0] != "subscriptions" or len(parts) < 2:
        return "resource"
    if len(parts) == 2:
        return "subscription"
    if len(parts) == 4 and parts[2] == "resourcegroups":
        return "resource-group"
    return "resource"


def subscription(scope: str) -> str | None:
    parts = canonical(scope).strip("/").split("/")
    return parts[1] if len(parts) >= 2 and parts[0] == "subscriptions" else None


def account_wide(scope: str) -> bool:
    """True at subscription scope or above: every resource of the subscription is reached."""
    return level(scope) in ("root", "management-group", "subscription")


def within(scope: str, parent: str) -> bool:
    """True when ``scope`` is ``parent`` or below it."""
    s, p = canonical(scope), canonical(parent)
    return p == "/" or s == p or s.startswith(p + "/")
