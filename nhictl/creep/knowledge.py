"""What a provider tells the cloud-agnostic engine beyond its raw data."""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass
from typing import TYPE_CHECKING

from nhictl.creep.catalog import ActionCatalog

if TYPE_CHECKING:
    from nhictl.creep.context import Context
    from nhictl.creep.effective import Effective
    from nhictl.creep.model import Finding

# A provider's own rule: judges one principal's effective grant on the common model only.
PrincipalRule = Callable[["Context", "Effective"], "list[Finding]"]


@dataclass(frozen=True, slots=True)
class EscalationMethod:
    """A known privilege-escalation technique.

    ``requires`` is a conjunction of alternatives: every inner tuple must be satisfied by at
    least one of its actions.

    ``needs_target`` says what must already exist for the technique to pay off (a role more
    privileged than the caller to pass or assume, a function running as one...) and
    ``target_permission`` the permission that reaches it; empty, the principal's own grants are
    enough. ``self_for`` names principal kinds for which no target is needed (the technique acts
    on the caller itself), while a permissions boundary limits it if ``self_needs_boundary``.
    """

    id: str
    name: str
    requires: tuple[tuple[str, ...], ...]
    reference: str = ""
    note: str = ""
    target_permission: str = ""
    needs_target: str = ""
    self_for: tuple[str, ...] = ()
    self_needs_boundary: bool = False

    def confirmed_for(self, kind: str, bounded: bool) -> bool:
        """True when a principal of ``kind`` (``bounded``: under a permissions boundary)
        escalates by holding the actions alone, with no existing target."""
        if not self.needs_target:
            return True
        return kind in self.self_for and (bounded or not self.self_needs_boundary)


@dataclass(frozen=True, slots=True)
class ProviderKnowledge:
    """Catalog and risk knowledge of one provider."""

    provider: str
    catalog: ActionCatalog
    escalation: tuple[EscalationMethod, ...]
    # Patterns whose unconditional grant on every resource makes a principal an administrator
    # of the provider's IAM (e.g. "iam:*" on AWS).
    iam_admin: tuple[str, ...]
    # Principal ids / account ids of the provider itself, trusted implicitly (none for AWS).
    policy_size_limit: int = 6144
    # Rules only this provider has (e.g. GCP's default compute service account with Editor);
    # they run after the shared rules, for every non-human principal.
    extra_rules: tuple[PrincipalRule, ...] = ()
