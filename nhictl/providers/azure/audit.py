"""``audit_azure``: an Azure raw-output directory + manifests + options -> a creep ``Report``.

The one entry point the CLI (and Python callers) use; it wires the Azure provider to the
cloud-agnostic engine, as ``nhictl.providers.aws.audit.audit_aws`` does for AWS.
"""

from __future__ import annotations

from nhictl.creep.engine import analyse
from nhictl.creep.model import Report
from nhictl.providers.audit_inputs import AuditInputs
from nhictl.providers.azure.catalog import load_catalog
from nhictl.providers.azure.knowledge import azure_knowledge, prepare_catalog
from nhictl.providers.azure.load import load_azure
from nhictl.providers.azure.manifests import AZURE_MANIFESTS, check_roles, load_declarations
from nhictl.providers.azure.operations import operation_list_status
from nhictl.providers.azure.snapshot import RawInputs, build_snapshot
from nhictl.providers.manifests import declarations_ahead

__all__ = ["AzureAuditInputs", "audit_azure", "load_declarations"]

AzureAuditInputs = AuditInputs  # the name callers know: Azure needs no input beyond the common ones


def audit_azure(inputs: AuditInputs, raw: RawInputs | None = None) -> Report:
    """Run the audit; ``raw`` (parsed inputs, e.g. from live collection) replaces
    ``inputs.snapshot``."""
    inputs.check(raw is not None, "--snapshot DIR (an Azure raw-output directory)")
    with declarations_ahead(inputs.manifests, AZURE_MANIFESTS) as declarations:
        catalog = prepare_catalog(load_catalog())
        # The baseline first: custom roles of the current export then replace its versions of
        # them in the catalog (declarations expand the roles as they are now).
        baseline = load_azure(inputs.baseline, catalog)[0] if inputs.baseline else None
        if raw is not None:
            snapshot, inventory = build_snapshot(raw, catalog, "live")
        else:
            assert inputs.snapshot is not None
            snapshot, inventory = load_azure(inputs.snapshot, catalog)
        decls = declarations()
    check_roles(decls, catalog)
    opts, exclusions = inputs.engine_options(decls, baseline)
    operation_list, partial = operation_list_status(catalog)
    if partial:
        snapshot.warnings.append(partial)
    report = analyse(snapshot, azure_knowledge(inventory), opts, exclusions)
    report.summary["inputs"]["operation_list"] = operation_list
    return report
