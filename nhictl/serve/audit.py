"""Audit events for decisions the service makes before (or instead of) the core."""

from __future__ import annotations

from typing import Any

from nhictl.core import auditlog
from nhictl.core.store.base import Store


def caller_actor(caller: str | None, address: str) -> str:
    """The audit ``actor`` for a request: who called (once authenticated) and from where."""
    return f"nhictl-serve:{caller or 'unauthenticated'}@{address}"


def record(
    store: Store,
    *,
    endpoint: str,
    caller: str | None,
    address: str,
    outcome: str,
    details: dict[str, Any],
) -> None:
    with store.write() as tx:
        auditlog.append(
            tx,
            action=f"serve.{endpoint}",
            subject=caller or "unauthenticated",
            outcome=outcome,
            details={"address": address, **details},
            actor=caller_actor(caller, address),
        )
