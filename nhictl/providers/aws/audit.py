"""``audit_aws``: every offline AWS input + manifests + options -> a creep ``Report``.

The one entry point the CLI (and Python callers) use; it wires the AWS provider to the
cloud-agnostic engine and the manifest loader of ``nhictl.core``.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from datetime import UTC, datetime
from pathlib import Path

from nhictl.core.errors import InputError
from nhictl.creep.context import AuditOptions
from nhictl.creep.engine import analyse
from nhictl.creep.exclusions import load_exclusions
from nhictl.creep.model import Report, Snapshot
from nhictl.providers.aws.knowledge import aws_knowledge
from nhictl.providers.aws.load import load_aws
from nhictl.providers.aws.manifest_load import ManifestJobs, load_declarations
from nhictl.providers.aws.snapshot import load_snapshot_file

__all__ = ["AwsAuditInputs", "audit_aws", "load_declarations"]


@dataclass(slots=True)
class AwsAuditInputs:
    """Paths and knobs of one AWS audit."""

    snapshot: Path | None = None
    last_accessed: Path | None = None
    access_keys: Path | None = None
    manifests: list[str] = field(default_factory=list)
    baseline: Path | None = None
    exclusions: Path | None = None
    now: datetime | None = None
    unused_days: int = 90
    key_max_age_days: int = 90
    remediate: bool = False


def audit_aws(
    inputs: AwsAuditInputs, snapshot: Snapshot | None = None, keys_known: bool = False
) -> Report:
    """Run the audit; ``snapshot`` (from live collection) replaces ``inputs.snapshot``."""
    if inputs.unused_days < 1 or inputs.key_max_age_days < 1:
        raise InputError("--unused-days and --key-max-age must be at least 1")
    if snapshot is None and inputs.snapshot is None:
        raise InputError("no snapshot: pass --snapshot FILE or --live")
    jobs = ManifestJobs.start(inputs.manifests)
    try:
        if snapshot is None:
            assert inputs.snapshot is not None
            snapshot, keys_known = load_aws(
                inputs.snapshot, inputs.last_accessed, inputs.access_keys
            )
        knowledge = aws_knowledge()  # built while the worker still parses manifests
        if jobs is not None:
            decls = jobs.result()
        else:
            decls = load_declarations(inputs.manifests) if inputs.manifests else []
    finally:
        if jobs is not None:
            jobs.close()
    baseline = load_snapshot_file(inputs.baseline)[0] if inputs.baseline else None
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
    return analyse(snapshot, knowledge, opts, exclusions, keys_known)
