"""``audit_azure``: an Azure raw-output directory + manifests + options -> a creep ``Report``.

The one entry point the CLI (and Python callers) use; it wires the Azure provider to the
cloud-agnostic engine, as ``nhictl.providers.aws.audit.audit_aws`` does for AWS.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from datetime import UTC, datetime
from pathlib import Path

from nhictl.core.errors import InputError
from nhictl.creep.context import AuditOptions
from nhictl.creep.engine import analyse
from nhictl.creep.exclusions import load_exclusions
from nhictl.creep.model import Report
from nhictl.providers.azure.catalog import load_catalog
from nhictl.providers.azure.knowledge import azure_knowledge, prepare_catalog
from nhictl.providers.azure.load import load_azure
from nhictl.providers.azure.manifests import check_roles, load_declarations
from nhictl.providers.azure.operations import operation_list_status
from nhictl.providers.azure.snapshot import RawInputs, build_snapshot

__all__ = ["AzureAuditInputs", "audit_azure", "load_declarations"]


@dataclass(slots=True)
class AzureAuditInputs:
    """Paths and knobs of one Azure audit."""

    snapshot: Path | None = None  # the raw-output directory of one tenant
    manifests: list[str] = field(default_factory=list)
    baseline: Path | None = None  # an earlier raw-output directory
    exclusions: Path | None = None
    now: datetime | None = None
    unused_days: int = 90
    key_max_age_days: int = 90
    remediate: bool = False


def audit_azure(inputs: AzureAuditInputs, raw: RawInputs | None = None) -> Report:
    """Run the audit; ``raw`` (parsed inputs, e.g. from live collection) replaces
    ``inputs.snapshot``."""
    if inputs.unused_days < 1 or inputs.key_max_age_days < 1:
        raise InputError("--unused-days and --key-max-age must be at least 1")
    if raw is None and inputs.snapshot is None:
        raise InputError("no snapshot: pass --snapshot DIR (an Azure raw-output directory)")
    catalog = prepare_catalog(load_catalog())
    # The baseline first: custom roles of the current export then replace its versions of them
    # in the catalog (declarations expand the roles as they are now).
    baseline = load_azure(inputs.baseline, catalog)[0] if inputs.baseline else None
    if raw is not None:
        snapshot, inventory = build_snapshot(raw, catalog, "live")
    else:
        assert inputs.snapshot is not None
        snapshot, inventory = load_azure(inputs.snapshot, catalog)
    decls = load_declarations(inputs.manifests) if inputs.manifests else []
    check_roles(decls, catalog)
    exclusions = load_exclusions(inputs.exclusions) if inputs.exclusions else []
    opts = AuditOptions(
        now=inputs.now or datetime.now(UTC),
        unused_days=inputs.unused_days,
        key_max_age_days=inputs.key_max_age_days,
        declarations=decls,
        baseline=baseline,
        manifests_given=bool(inputs.manifests),
        remediate=inputs.remediate,
    )
    operation_list, partial = operation_list_status(catalog)
    if partial:
        snapshot.warnings.append(partial)
    report = analyse(snapshot, azure_knowledge(inventory), opts, exclusions)
    report.summary["inputs"]["operation_list"] = operation_list
    return report
