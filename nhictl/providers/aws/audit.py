"""``audit_aws``: every offline AWS input + manifests + options -> a creep ``Report``.

The one entry point the CLI (and Python callers) use; it wires the AWS provider to the
cloud-agnostic engine and the shared manifest loader (``nhictl.providers.manifests``).
"""

from __future__ import annotations

from nhictl.creep.engine import analyse
from nhictl.creep.model import Report, Snapshot
from nhictl.providers.audit_inputs import AwsAuditInputs
from nhictl.providers.aws.knowledge import aws_knowledge
from nhictl.providers.aws.load import load_aws
from nhictl.providers.aws.manifest_load import load_declarations
from nhictl.providers.aws.manifests import AWS_MANIFESTS
from nhictl.providers.aws.snapshot import load_snapshot_file
from nhictl.providers.manifests import declarations_ahead

__all__ = ["AwsAuditInputs", "audit_aws", "load_declarations"]


def audit_aws(
    inputs: AwsAuditInputs, snapshot: Snapshot | None = None, keys_known: bool = False
) -> Report:
    """Run the audit; ``snapshot`` (from live collection) replaces ``inputs.snapshot``."""
    inputs.check(snapshot is not None, "--snapshot FILE or --live")
    with declarations_ahead(inputs.manifests, AWS_MANIFESTS) as declarations:
        if snapshot is None:
            assert inputs.snapshot is not None
            snapshot, keys_known = load_aws(
                inputs.snapshot, inputs.last_accessed, inputs.access_keys, inputs.resources
            )
        knowledge = aws_knowledge()  # built while the worker still parses manifests
        decls = declarations()
    baseline = load_snapshot_file(inputs.baseline)[0] if inputs.baseline else None
    opts, exclusions = inputs.engine_options(decls, baseline)
    return analyse(snapshot, knowledge, opts, exclusions, keys_known)
