"""One call that reads an Azure raw-output directory (one tenant) into a ``Snapshot``.

Layout (each file exactly as the named command writes it; see docs/audit-creep.md):

    role-assignments.json    az role assignment list --all --include-inherited -o json
    role-definitions.json    az role definition list --custom-role-only true -o json  (optional)
    service-principals.json  az ad sp list --all -o json
    applications.json        az ad app list --all -o json                             (optional)
    sign-ins.json            Graph beta reports/servicePrincipalSignInActivities      (optional)
    activity-log.json        az monitor activity-log list --offset 90d -o json        (optional)
    pim-instances.json       ARM roleAssignmentScheduleInstances                       (optional)
    provider-operations.json az provider operation list -o json                       (optional)

With ``provider-operations.json`` the catalog learns Azure's full operation list first, so
``*``, ``Microsoft.Compute/*`` and ``*/read`` expand over every operation, not only those the
shipped catalog names.
"""

from __future__ import annotations

from pathlib import Path

from nhictl.core.errors import InputError
from nhictl.creep.model import Snapshot
from nhictl.providers.azure.catalog import AzureCatalog
from nhictl.providers.azure.directory import load_applications, load_service_principals
from nhictl.providers.azure.operations import FILE as OPERATIONS_FILE
from nhictl.providers.azure.operations import learn_provider_operations
from nhictl.providers.azure.rbac import load_assignments, load_role_definitions
from nhictl.providers.azure.snapshot import AzureInventory, RawInputs, build_snapshot
from nhictl.providers.azure.usage import load_activity_log, load_pim_instances, load_sign_ins

REQUIRED = ("role-assignments.json", "service-principals.json")
OPTIONAL = (
    "role-definitions.json",
    "applications.json",
    "sign-ins.json",
    "activity-log.json",
    "pim-instances.json",
    "provider-operations.json",
)


def load_azure(directory: Path, catalog: AzureCatalog) -> tuple[Snapshot, AzureInventory]:
    """Read every file of the layout; the catalog learns the tenant's custom roles and the
    operations its Activity Log names."""
    if not directory.is_dir():
        raise InputError(f"{directory}: not a directory of Azure exports (see docs/audit-creep.md)")
    for name in REQUIRED:
        if not (directory / name).is_file():
            raise InputError(f"{directory / name}: missing (required for an Azure audit)")

    def opt(name: str) -> Path | None:
        path = directory / name
        return path if path.is_file() else None

    if p := opt(OPERATIONS_FILE):
        learn_provider_operations(p, catalog)  # before any role is expanded over the catalog

    identities, sp_secrets = load_service_principals(directory / "service-principals.json")
    raw = RawInputs(
        assignments=load_assignments(directory / "role-assignments.json"),
        roles=load_role_definitions(p) if (p := opt("role-definitions.json")) else [],
        identities=identities,
        sp_secrets=sp_secrets,
    )
    if p := opt("applications.json"):
        raw.apps, raw.app_secrets = load_applications(p)
    if p := opt("sign-ins.json"):
        raw.sign_ins = load_sign_ins(p)
    if p := opt("activity-log.json"):
        raw.events = load_activity_log(p)
    if p := opt("pim-instances.json"):
        raw.pim = load_pim_instances(p)
    return build_snapshot(raw, catalog, str(directory))
