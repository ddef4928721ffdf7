"""AWS knowledge for the creep engine: catalog, escalation methods, IAM-admin patterns."""

from __future__ import annotations

from nhictl.creep.knowledge import ProviderKnowledge
from nhictl.providers.aws.catalog import load_catalog
from nhictl.providers.aws.escalation import methods


def aws_knowledge() -> ProviderKnowledge:
    """A fresh knowledge object (the catalog grows with unknown actions during a run)."""
    return ProviderKnowledge(
        provider="aws",
        catalog=load_catalog(),
        escalation=methods(),
        iam_admin=("iam:*",),
    )
