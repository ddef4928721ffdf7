"""What one audit reads, whatever the cloud, and the one place it becomes the engine's options.

Kept apart from the providers so the CLI can build a request without importing any of them.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from datetime import UTC, datetime
from pathlib import Path
from typing import Literal

from nhictl.core.errors import InputError
from nhictl.creep.context import AuditOptions
from nhictl.creep.exclusions import Exclusion, load_exclusions
from nhictl.creep.model import Declaration, Snapshot


@dataclass(slots=True, kw_only=True)
class AuditInputs:
    """Paths and knobs of one audit. ``snapshot`` and ``baseline`` are what the provider reads:
    an AWS export, bundle or folder; a GCP or Azure raw-output folder."""

    snapshot: Path | None = None
    manifests: list[str] = field(default_factory=list)
    baseline: Path | None = None
    exclusions: Path | None = None
    now: datetime | None = None
    unused_days: int = 90
    key_max_age_days: int = 90
    remediate: bool = False
    # What a least-privilege fix keeps of actions whose use is unknown (--treat-untracked-as).
    treat_untracked: Literal["used", "unused"] = "used"

    def check(self, have_snapshot: bool, expected: str) -> None:
        """Refuse knobs out of range, and an audit with nothing to audit (``expected``: what
        ``--snapshot`` takes, for the message)."""
        if self.unused_days < 1 or self.key_max_age_days < 1:
            raise InputError("--unused-days and --key-max-age must be at least 1")
        if not have_snapshot and self.snapshot is None:
            raise InputError(f"no snapshot: pass {expected}")

    def engine_options(
        self,
        declarations: list[Declaration],
        baseline: Snapshot | None,
        now: datetime | None = None,
    ) -> tuple[AuditOptions, list[Exclusion]]:
        """The engine's options and the exclusions file read; ``now`` defaults to ``self.now``,
        else the clock."""
        exclusions = load_exclusions(self.exclusions) if self.exclusions else []
        opts = AuditOptions(
            now=now or self.now or datetime.now(UTC),
            unused_days=self.unused_days,
            key_max_age_days=self.key_max_age_days,
            declarations=declarations,
            baseline=baseline,
            manifests_given=bool(self.manifests),
            remediate=self.remediate,
            treat_untracked=self.treat_untracked,
        )
        return opts, exclusions


@dataclass(slots=True, kw_only=True)
class AwsAuditInputs(AuditInputs):
    """An AWS audit's inputs: AWS keeps usage in files of its own, which GCP and Azure keep in
    their snapshot folder."""

    last_accessed: Path | None = None
    access_keys: Path | None = None
    resources: Path | None = None  # resource listings: a folder or one object keyed by stem
