"""Azure knowledge for the creep engine: catalog, escalation methods, Azure's readings of the
AWS-shaped rules, and the rules only Azure has."""

from __future__ import annotations

from nhictl.creep.knowledge import ProviderKnowledge
from nhictl.providers.azure.catalog import DATA, AzureCatalog
from nhictl.providers.azure.escalation import KNOWN_OPERATIONS, METHODS
from nhictl.providers.azure.remediation import AzureRemediator
from nhictl.providers.azure.rules import AzureRules
from nhictl.providers.azure.snapshot import AzureInventory

# The Activity Log records writes, deletes and actions of the control plane: neither reads
# (GET) nor data-plane operations. Those are "unknown", never "unused".
UNOBSERVED = ("*/read", DATA + "*")


def prepare_catalog(catalog: AzureCatalog) -> AzureCatalog:
    """Teach the catalog the operations nhictl's rules name (they exist in Azure even where
    the shipped operation list lacks them), so wildcards reach them."""
    for op in KNOWN_OPERATIONS:
        catalog.ensure(op)
    return catalog


def azure_knowledge(inventory: AzureInventory) -> ProviderKnowledge:
    """Knowledge bound to one tenant's inventory (its catalog holds the custom roles)."""
    catalog = inventory.catalog
    rules = AzureRules(inventory)

    def wildcard_service(pattern: str) -> str | None:
        """ "*" -> "" (everything); "Microsoft.X/*" (actions or dataActions) -> the namespace."""
        pat = pattern.strip()
        data = pat.lower().startswith(DATA)
        if data:
            pat = pat[len(DATA) :]
        if pat == "*":
            return None if data else ""
        ns, sep, rest = pat.partition("/")
        if sep and rest == "*" and "*" not in ns and "?" not in ns:
            return catalog.canonical_service(ns)
        return None

    return ProviderKnowledge(
        provider="azure",
        catalog=catalog,
        escalation=METHODS,
        iam_admin=("Microsoft.Authorization/*",),
        policy_limits=None,  # Azure writes role definitions (its own remediation)
        extra_rules=(rules.standing, rules.custom_role_locks),
        admin_rule=rules.admin,
        credential_rule=rules.credential,
        remediate=AzureRemediator(inventory, UNOBSERVED),
        wildcard_service=wildcard_service,
        unobserved=UNOBSERVED,
        principal_ref="spec.entitlements.azure.principalId",
        usage_source="activity-log",
        escalation_fix="Remove one operation of each method from the roles (a custom role "
        "without it), or assign the role at the resource it is needed on.",
        scope_fix="Assign the roles at the declared scope (or below it), not above it.",
    )
