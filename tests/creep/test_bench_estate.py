"""The benchmark's estate generator writes inputs that ``audit-creep`` accepts, in both profiles.

The performance figures in docs/audit-creep.md are only as good as these inputs: a small estate
of each profile must load cleanly (AWS CLI shapes, manifests valid) and show the findings its
profile is built to provoke.
"""

from __future__ import annotations

import json
from pathlib import Path

import pytest

from benchmarks.gen_aws_estate import Estate
from tests.conftest import CliRunner


def _audit(cli: CliRunner, d: Path) -> dict[str, object]:
    result = cli(
        "audit-creep",
        "--snapshot", str(d / "authorization-details.json"),
        "--last-accessed", str(d / "last-accessed.json"),
        "--access-keys", str(d / "access-keys.json"),
        "--manifests", str(d / "manifests"),
        "--as-of", "2026-11-28", "--format", "json",
    )  # fmt: skip
    assert result.code == 0, result.stderr
    report: dict[str, object] = json.loads(result.stdout)
    return report


@pytest.mark.parametrize("profile", ["typical", "broad"])
def test_generated_estate_is_audited(cli: CliRunner, tmp_path: Path, profile: str) -> None:
    Estate(40, seed=3, profile=profile).build(tmp_path)
    export = json.loads((tmp_path / "authorization-details.json").read_text())
    assert len(export["RoleDetailList"]) == 40
    report = _audit(cli, tmp_path)
    summary = report["summary"]
    assert isinstance(summary, dict)
    assert summary["principals"] >= 40
    assert "creep.unused-permission" in summary["by_rule"]
    assert "inv.unregistered" in summary["by_rule"]  # the service roles have no manifest


def test_broad_profile_grants_whole_services_on_any_resource(tmp_path: Path) -> None:
    Estate(20, seed=5, profile="broad").build(tmp_path)
    export = json.loads((tmp_path / "authorization-details.json").read_text())
    for role in export["RoleDetailList"]:
        for pol in role["RolePolicyList"]:
            allows = [s for s in pol["PolicyDocument"]["Statement"] if s["Effect"] == "Allow"]
            assert allows
            for st in allows:
                assert st["Resource"] == "*"
                assert 3 <= len(st["Action"]) <= 4
                assert all(a.endswith(":*") for a in st["Action"])


def test_unknown_profile_is_refused() -> None:
    with pytest.raises(ValueError, match="unknown profile"):
        Estate(10, seed=1, profile="heavy")
