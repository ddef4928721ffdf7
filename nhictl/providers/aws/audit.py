"""``audit_aws``: every offline AWS input + manifests + options -> a creep ``Report``.

The one entry point the CLI (and Python callers) use; it wires the AWS provider to the
cloud-agnostic engine and the manifest loader of ``nhictl.core``.
"""

from __future__ import annotations

import os
from collections.abc import Iterable
from concurrent.futures import Executor, Future
from dataclasses import dataclass, field
from datetime import UTC, datetime
from pathlib import Path

from nhictl.core.errors import InputError
from nhictl.creep.context import AuditOptions
from nhictl.creep.engine import analyse
from nhictl.creep.exclusions import load_exclusions
from nhictl.creep.model import Declaration, Report, Snapshot
from nhictl.providers.aws.knowledge import aws_knowledge
from nhictl.providers.aws.load import load_aws
from nhictl.providers.aws.manifests import ROLE_ARN_PATH, ParsedManifest, declarations
from nhictl.providers.aws.snapshot import load_snapshot_file

_ROLE_ARN = ("spec", "entitlements", "aws", "roleArn")


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


def load_declarations(paths: Iterable[str]) -> list[Declaration]:
    """Read manifests (files, directories, globs) with the safe loader; keep AWS entitlements."""
    from nhictl.core.manifest.inputs import expand_inputs
    from nhictl.core.safeyaml import Limits, load_text, read_text

    limits = Limits()
    parsed: list[ParsedManifest] = []
    for item in expand_inputs(paths):
        if item.problem:
            raise InputError(f"{item.path}: {item.problem}")
        if item.path == "-":
            raise InputError("--manifests does not read stdin; name files or directories")
        text = read_text(item.path, limits)
        as_json = item.path.lower().endswith(".json")
        # Always the strict loader: duplicate keys, alias bombs and deep nesting are refused
        # here exactly as `nhictl validate` refuses them.
        for doc in load_text(item.path, text, limits, as_json=as_json):
            if not isinstance(doc.data, dict):
                continue
            pos = doc.locate(_ROLE_ARN)
            parsed.append(ParsedManifest(doc.data, item.path, {ROLE_ARN_PATH: pos}))
    return declarations(parsed)


# Many manifests (thousands of agents) take ~0.25 ms each to read and parse safely; a second
# process parses them while this one loads the snapshot.
_PARALLEL_MANIFESTS = 200
_POOL: list[Executor] = []


def _start_manifest_worker(paths: list[str]) -> Future[list[Declaration]] | None:
    if not paths:
        return None
    from nhictl.core.manifest.inputs import expand_inputs

    count = 0
    for _ in expand_inputs(paths):
        count += 1
        if count >= _PARALLEL_MANIFESTS:
            break
    if count < _PARALLEL_MANIFESTS or (os.cpu_count() or 1) < 2:
        return None
    import multiprocessing
    from concurrent.futures import ProcessPoolExecutor

    pool = ProcessPoolExecutor(max_workers=1, mp_context=multiprocessing.get_context("fork"))
    _POOL.append(pool)
    return pool.submit(load_declarations, list(paths))


def audit_aws(
    inputs: AwsAuditInputs, snapshot: Snapshot | None = None, keys_known: bool = False
) -> Report:
    """Run the audit; ``snapshot`` (from live collection) replaces ``inputs.snapshot``."""
    if inputs.unused_days < 1 or inputs.key_max_age_days < 1:
        raise InputError("--unused-days and --key-max-age must be at least 1")
    if snapshot is None and inputs.snapshot is None:
        raise InputError("no snapshot: pass --snapshot FILE or --live")
    pending = _start_manifest_worker(inputs.manifests)
    try:
        if snapshot is None:
            assert inputs.snapshot is not None
            snapshot, keys_known = load_aws(
                inputs.snapshot, inputs.last_accessed, inputs.access_keys
            )
        if pending is not None:
            decls = pending.result()
        else:
            decls = load_declarations(inputs.manifests) if inputs.manifests else []
    finally:
        if pending is not None:
            pending.cancel()
            _POOL.pop().shutdown(wait=False, cancel_futures=True)
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
    return analyse(snapshot, aws_knowledge(), opts, exclusions, keys_known)
