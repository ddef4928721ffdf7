"""What a least-privilege fix may grant: never an escalation method or admin equivalence.

``secure_target`` takes the set of actions a proposal would keep and returns what it may keep as
plain grants, the actions it may keep only with a narrower Resource/Condition, and the actions
left out for a human to decide, each with the method it would have completed.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from typing import TYPE_CHECKING, Any

if TYPE_CHECKING:
    from nhictl.creep.context import Context
    from nhictl.creep.effective import Effective


@dataclass(slots=True)
class SafeTarget:
    """The safe part of a proposal.

    ``keep``: actions (bitset) the fix may grant as the current grant scopes them;
    ``scoped``: action name -> the statement body (``Resource``, ``Condition``) it may be granted
    with instead (e.g. iam:PassRole on the roles it may pass, with iam:PassedToService);
    ``review``: actions left out, each ``{"action", "methods", "reason"}``;
    ``removed``: ids of the escalation methods (or "admin") the fix no longer grants.
    """

    keep: int
    scoped: dict[str, dict[str, Any]] = field(default_factory=dict)
    review: list[dict[str, Any]] = field(default_factory=list)
    removed: list[str] = field(default_factory=list)


def secure_target(ctx: Context, eff: Effective, target: int, used: int | None) -> SafeTarget:
    """``target``: what the proposal would keep; ``used``: the actions seen used (None when
    unknown). Interface only for now: keeps everything (the principal-graph work fills it in)."""
    return SafeTarget(target)
