"""Manifests -> declarations, through the strict loader (the one `nhictl validate` uses)."""

from __future__ import annotations

from pathlib import Path

import pytest

from nhictl.core.errors import InputError
from nhictl.creep.model import Declaration
from nhictl.providers.aws.audit import load_declarations
from nhictl.providers.aws.manifest_load import ManifestJobs
from nhictl.providers.aws.manifests import ParsedManifest, declarations

SAMPLE = Path(__file__).resolve().parents[2] / "sample-configs/aws/manifests"

PLAIN = """apiVersion: nhictl.dev/v1
kind: AgentRegistration
metadata:
  name: plain
spec:
  entitlements:
    aws:
      roleArn: arn:aws:iam::111122223333:role/plain
      actions: [s3:GetObject]
      resources: ["arn:aws:s3:::b/*"]
"""

ANCHORED = """apiVersion: nhictl.dev/v1
kind: AgentRegistration
metadata:
  name: anchored
spec:
  entitlements:
    aws:
      roleArn: arn:aws:iam::111122223333:role/anchored
      actions: &acts [s3:GetObject, s3:PutObject]
      resources: ["*"]
  extra: *acts
"""


def test_plain_and_anchored_manifests_give_the_same_shape(tmp_path: Path) -> None:
    (tmp_path / "a.yaml").write_text(PLAIN)
    (tmp_path / "b.yaml").write_text(ANCHORED)
    decls = {d.manifest: d for d in load_declarations([str(tmp_path)])}
    assert decls["plain"].actions == ("s3:GetObject",)
    assert decls["anchored"].actions == ("s3:GetObject", "s3:PutObject")
    for d in decls.values():
        assert (d.line, d.column) == (8, 16)  # where the roleArn value starts, 1-based
        assert d.source is not None and d.source.endswith(".yaml")


def test_sample_manifests_and_hostile_yaml(tmp_path: Path) -> None:
    assert len(load_declarations([str(SAMPLE)])) == 8
    bomb = 'a: &a ["x","x"]\nb: &b [*a,*a]\nc: &c [*b,*b]\nd: &d [*c,*c]\n' * 1
    (tmp_path / "bomb.yaml").write_text(bomb + "e: &e [*d,*d]\nf: [*e,*e,*e,*e]\n")
    assert load_declarations([str(tmp_path / "bomb.yaml")]) == []  # no entitlements, no crash
    (tmp_path / "bad.yaml").write_text("kind: [unclosed\n")
    with pytest.raises(InputError, match=r"bad\.yaml"):
        load_declarations([str(tmp_path / "bad.yaml")])
    with pytest.raises(InputError, match="no such file"):
        load_declarations([str(tmp_path / "missing")])


def test_duplicate_keys_are_refused(tmp_path: Path) -> None:
    # A reviewer reads the first `actions`; a loader keeping the last would audit against "*".
    (tmp_path / "dup.yaml").write_text(PLAIN + '      actions: ["*"]\n')
    with pytest.raises(InputError, match=r"dup\.yaml:11:7: invalid YAML: duplicate key 'actions'"):
        load_declarations([str(tmp_path)])


def test_declarations_from_dicts_and_bad_entitlements() -> None:
    data = {"kind": "AgentRegistration", "metadata": {"name": "x"},
            "spec": {"entitlements": {"aws": {"roleArn": "arn:aws:iam::1:role/x",
                                              "actions": ["s3:*"]}}}}  # fmt: skip
    (d,) = declarations([ParsedManifest(data, "x.yaml", lambda path: (3, 4))])
    assert (d.manifest, d.line, d.column, d.resources) == ("x", 3, 4, ())
    bad = {**data, "spec": {"entitlements": {"aws": {"roleArn": "not-an-arn"}}}}
    with pytest.raises(InputError, match=r"x\.yaml: \$\.spec\.entitlements\.aws\.roleArn"):
        declarations([ParsedManifest(bad, "x.yaml")])
    other = {"kind": "SomethingElse"}
    assert declarations([ParsedManifest(other, "o.yaml")]) == []


def _many(tmp_path: Path, n: int = 250) -> list[str]:
    for i in range(n):
        text = PLAIN.replace("name: plain", f"name: m{i:03d}").replace("role/plain", f"role/r{i}")
        (tmp_path / f"m{i:03d}.yaml").write_text(text)
    return [str(tmp_path)]


def _jobs_result(paths: list[str]) -> list[Declaration]:
    jobs = ManifestJobs.start(paths)
    assert jobs is not None  # 250 files: a worker
    try:
        return jobs.result()
    finally:
        jobs.close()


def test_worker_chunks_give_the_files_in_order(tmp_path: Path) -> None:
    paths = _many(tmp_path)
    decls = _jobs_result(paths)
    assert decls == load_declarations(paths)
    assert [d.manifest for d in decls] == [f"m{i:03d}" for i in range(250)]


def test_worker_chunks_raise_the_first_error_in_file_order(tmp_path: Path) -> None:
    paths = _many(tmp_path)
    (tmp_path / "m249.yaml").write_text("kind: [unclosed\n")  # last chunk
    with pytest.raises(InputError, match=r"m249\.yaml"):
        _jobs_result(paths)
    (tmp_path / "m010.yaml").write_text("a: 1\na: 2\n")  # first chunk
    with pytest.raises(InputError, match=r"m010\.yaml:2:1: invalid YAML: duplicate key 'a'"):
        _jobs_result(paths)
    # A bad entitlement is only judged once every file parsed, as when reading one by one.
    (tmp_path / "m010.yaml").write_text(PLAIN.replace("arn:aws:iam::111122223333:role/plain", "x"))
    with pytest.raises(InputError, match=r"m249\.yaml"):
        _jobs_result(paths)
    with pytest.raises(InputError, match=r"m249\.yaml"):
        load_declarations(paths)


def test_few_manifests_need_no_worker(tmp_path: Path) -> None:
    assert ManifestJobs.start(_many(tmp_path, 20)) is None
    assert ManifestJobs.start([]) is None
