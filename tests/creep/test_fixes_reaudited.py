"""Every fix applied and audited again, on a generated estate: a least-privilege fix never
leaves its principal an escalation it does not list as ``remaining``.

The estate is the benchmark's broad profile (whole services on ``"*"``, AdministratorAccess
and PowerUserAccess attached here and there, roles trusting the account, Lambda functions
running as roles): the admins there are the hard case, since a fix that takes away admin
must also take away the paths the admin's other actions open toward the other admins.
"""

from __future__ import annotations

import json
from pathlib import Path

import pytest
import yaml

from benchmarks.gen_aws_estate import Estate
from nhictl.creep.context import AuditOptions
from nhictl.creep.engine import analyse
from nhictl.creep.model import Report
from nhictl.providers.aws.knowledge import aws_knowledge
from nhictl.providers.aws.load import load_aws
from nhictl.providers.aws.manifests import ParsedManifest, declarations

from .conftest import NOW, escalations_left, with_fix


def _audit(d: Path, export: Path, remediate: bool = False) -> Report:
    snap, keys = load_aws(export, d / "last-accessed.json", d / "access-keys.json", d)
    manifests = [
        ParsedManifest(yaml.safe_load(p.read_text()), str(p), {})
        for p in sorted((d / "manifests").glob("*.yaml"))
    ]
    opts = AuditOptions(
        now=NOW, declarations=declarations(manifests), manifests_given=True, remediate=remediate
    )
    return analyse(snap, aws_knowledge(), opts, [], keys)


@pytest.fixture(scope="module")
def estate(tmp_path_factory: pytest.TempPathFactory) -> Path:
    d = tmp_path_factory.mktemp("broad-estate")
    Estate(20, seed=2, profile="broad").build(d)
    return d


def test_every_admins_fix_applied_leaves_no_escalation(estate: Path, tmp_path: Path) -> None:
    before = _audit(estate, estate / "authorization-details.json", remediate=True)
    export = json.loads((estate / "authorization-details.json").read_text())
    admins = {
        f.principal
        for f in before.findings
        if f.rule_id == "priv.admin" and f.suppressed is None and not f.evidence.get("conditional")
    }
    checked = 0
    for pid in sorted(admins):
        rem = before.remediations.get(pid)
        if rem is None or not rem.get("documents"):
            continue
        path = tmp_path / f"{checked}.json"
        path.write_text(json.dumps(with_fix(export, pid, rem["documents"])))
        remaining = [r["path"] for r in rem["remaining"]]
        expected = [("priv.reachable-admin", remaining)] if remaining else []
        assert escalations_left(_audit(estate, path), pid) == expected, pid
        assert "admin" in rem["escalations_removed"], pid
        checked += 1
    assert checked >= 5  # the estate has admins with fixes to check
