"""The GCP benchmark's estate generator writes inputs ``audit_gcp`` accepts: the performance
figures in docs/audit-creep.md are only as good as these inputs."""

from __future__ import annotations

from pathlib import Path

from benchmarks.gen_gcp_estate import Estate
from tests.creep.gcp.conftest import audit


def test_generated_estate_is_audited(tmp_path: Path) -> None:
    counts = Estate(60, seed=3, per_project=25).build(tmp_path)
    assert counts["accounts"] == 60 and counts["projects"] == 3
    assert len(list((tmp_path / "snapshot").iterdir())) == 3
    report = audit(tmp_path / "snapshot", manifests=[str(tmp_path / "manifests")])
    assert len(report.principals) == 60
    assert set(report.summary["accounts"]) == {f"bench-proj-{i:04d}" for i in range(3)}
    rules = set(report.summary["by_rule"])
    assert {"creep.unused-permission", "inv.unregistered", "gcp.user-managed-key"} <= rules
    assert sum(1 for p in report.principals if p.used["known"]) > 20
    assert report.summary["inputs"]["manifests"] == counts["manifests"]
