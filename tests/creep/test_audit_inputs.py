"""The inputs every provider's audit takes, and the one place they become the engine's options."""

from __future__ import annotations

from datetime import UTC, datetime
from pathlib import Path

import pytest

from nhictl.core.errors import InputError
from nhictl.providers.audit import AuditRequest
from nhictl.providers.audit_inputs import AuditInputs, AwsAuditInputs
from nhictl.providers.aws.audit import AwsAuditInputs as AwsFromProvider
from nhictl.providers.azure.audit import AzureAuditInputs
from nhictl.providers.gcp.audit import GcpAuditInputs

NOW = datetime(2026, 11, 28, tzinfo=UTC)


def test_one_type_for_every_provider() -> None:
    assert GcpAuditInputs is AzureAuditInputs is AuditInputs
    assert AuditRequest is AwsFromProvider is AwsAuditInputs
    assert issubclass(AwsAuditInputs, AuditInputs)  # any provider takes the CLI's request
    with pytest.raises(TypeError):
        GcpAuditInputs(last_accessed=Path("la.json"))  # type: ignore[call-arg]  # AWS only
    with pytest.raises(TypeError):
        AwsAuditInputs(Path("a.json"))  # type: ignore[call-arg]  # by keyword only


def test_check_refuses_bad_knobs_and_no_snapshot() -> None:
    with pytest.raises(InputError, match="at least 1"):
        AuditInputs(snapshot=Path("s"), unused_days=0).check(False, "--snapshot DIR")
    with pytest.raises(InputError, match="no snapshot: pass --snapshot DIR"):
        AuditInputs().check(False, "--snapshot DIR")
    AuditInputs().check(True, "--snapshot DIR")  # a snapshot handed in


def test_engine_options(tmp_path: Path) -> None:
    inputs = AuditInputs(manifests=["m/"], now=NOW, unused_days=30, remediate=True)
    opts, exclusions = inputs.engine_options([], None)
    assert (opts.now, opts.unused_days, opts.key_max_age_days) == (NOW, 30, 90)
    assert opts.manifests_given and opts.remediate and opts.baseline is None
    assert exclusions == []
    later = datetime(2027, 1, 1, tzinfo=UTC)
    assert inputs.engine_options([], None, later)[0].now == later
    assert AuditInputs().engine_options([], None)[0].now.tzinfo is UTC
