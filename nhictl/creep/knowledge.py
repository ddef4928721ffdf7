"""What a provider tells the cloud-agnostic engine beyond its raw data."""

from __future__ import annotations

from dataclasses import dataclass

from nhictl.creep.catalog import ActionCatalog


@dataclass(frozen=True, slots=True)
class EscalationMethod:
    """A known privilege-escalation technique.

    ``requires`` is a conjunction of alternatives: every inner tuple must be satisfied by at
    least one of its actions.
    """

    id: str
    name: str
    requires: tuple[tuple[str, ...], ...]
    reference: str = ""
    note: str = ""


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
