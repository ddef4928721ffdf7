"""GCP knowledge for the creep engine: catalog, escalation methods, IAM-admin permission and
GCP's own rules."""

from __future__ import annotations

from nhictl.creep.knowledge import ProviderKnowledge
from nhictl.providers.gcp.catalog import GcpCatalog, load_catalog
from nhictl.providers.gcp.escalation import METHODS
from nhictl.providers.gcp.rules import RULES

# Whoever may set the project's allow policy can grant itself any role: the GCP counterpart
# of AWS's iam:* (the shared priv.admin reports it as "all of IAM").
IAM_ADMIN = ("resourcemanager.projects.setIamPolicy",)
# A custom role holds at most 3,000 permissions (GCP's limit); remediation checks against it.
CUSTOM_ROLE_LIMIT = 3000


def gcp_knowledge(catalog: GcpCatalog | None = None) -> ProviderKnowledge:
    """A fresh knowledge object (custom roles and unknown permissions join its catalog)."""
    return ProviderKnowledge(
        provider="gcp",
        catalog=catalog if catalog is not None else load_catalog(),
        escalation=METHODS,
        iam_admin=IAM_ADMIN,
        policy_limits=None,  # the document becomes binding operations (gcp.remediation)
        extra_rules=RULES,
    )
