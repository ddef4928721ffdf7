"""The Azure benchmark's generator writes inputs ``audit_azure`` accepts, with a full-size
``provider-operations.json`` or without."""

from __future__ import annotations

from pathlib import Path

import pytest

from benchmarks.gen_azure_estate import AzureEstate
from nhictl.providers.azure.audit import AzureAuditInputs, audit_azure

from .conftest import NOW


@pytest.mark.parametrize("pad", [0, 2000])
def test_generated_tenant_is_audited(tmp_path: Path, pad: int) -> None:
    AzureEstate(60, seed=3, pad_operations=pad).build(tmp_path)
    report = audit_azure(
        AzureAuditInputs(snapshot=tmp_path, manifests=[str(tmp_path / "manifests")], now=NOW)
    )
    assert len(report.principals) == 60
    rules = set(report.summary["by_rule"])
    assert {"priv.admin", "creep.unused-permission", "cred.stale-key"} <= rules
    assert {"creep.beyond-declared", "azure.standing-privileged-assignment"} <= rules
    owner = max(report.principals, key=lambda p: p.granted["actions"])
    assert owner.granted["actions"] > (3000 + pad // 2 if pad else 3000)
    # padded: the list comes as provider-operations.json, learned before roles expand
    listed = report.summary["inputs"]["operation_list"]
    assert listed["complete"] is bool(pad)
    assert listed["operations"] >= 4000 + pad
