"""Properties of the AWS input loaders (snapshot, last-accessed, access keys) and exclusions.

Arbitrary bytes, truncated files, and the sample-configs/aws files mutated field by field (a
wrong-typed value or a deleted member at every level): the loader returns, or raises one
``InputError`` line naming the file; when a parsed document is wrong, the line also names the
field (a ``$`` JSON path). Never another exception.
"""

from __future__ import annotations

from pathlib import Path

import pytest
from hypothesis import given
from hypothesis import strategies as st

from nhictl.creep.exclusions import load_exclusions
from nhictl.providers.aws.snapshot import load_snapshot_file
from nhictl.providers.aws.usage import load_access_keys, load_last_accessed
from tests.conftest import SAMPLES
from tests.fuzz.strategies import byte_mutated, mutated_json, truncated
from tests.fuzz.targets import (
    Checker,
    check_aws_access_keys,
    check_aws_audit,
    check_aws_last_accessed,
    check_aws_snapshot,
    check_exclusions,
    expect_input_error,
)

AWS = SAMPLES / "aws"
JSON_LOADERS: list[tuple[str, Checker]] = [
    ("authorization-details.json", check_aws_snapshot),
    ("last-accessed.json", check_aws_last_accessed),
    ("access-keys.json", check_aws_access_keys),
]
IDS = [name for name, _ in JSON_LOADERS]


def _load(name: str, path: Path) -> object:
    if name == "authorization-details.json":
        return load_snapshot_file(path)
    if name == "last-accessed.json":
        return load_last_accessed(path)
    return load_access_keys(path, {})


@pytest.mark.parametrize(("name", "check"), JSON_LOADERS, ids=IDS)
@given(data=st.binary(max_size=2048))
def test_arbitrary_bytes(tmp_path: Path, name: str, check: Checker, data: bytes) -> None:
    check(data, tmp_path)


@pytest.mark.parametrize(("name", "check"), JSON_LOADERS, ids=IDS)
@given(data=st.data())
def test_truncated_samples(tmp_path: Path, name: str, check: Checker, data: st.DataObject) -> None:
    check(data.draw(truncated(AWS / name)), tmp_path)


@pytest.mark.parametrize(("name", "check"), JSON_LOADERS, ids=IDS)
@given(data=st.data())
def test_byte_mutated_samples(
    tmp_path: Path, name: str, check: Checker, data: st.DataObject
) -> None:
    check(data.draw(byte_mutated(AWS / name)), tmp_path)


@pytest.mark.parametrize("name", IDS)
@given(data=st.data())
def test_wrong_types_at_every_level(tmp_path: Path, name: str, data: st.DataObject) -> None:
    raw, where = data.draw(mutated_json(AWS / name))
    path = tmp_path / name
    path.write_bytes(raw)
    error = expect_input_error(lambda: _load(name, path), str(path))
    if error is not None:  # valid JSON: the error names the field, not just the file
        assert ": $" in error.message or "document" in error.message, (where, error.message)


EXCLUSIONS = sorted(SAMPLES.glob("*/exclusions.yaml"))


@given(st.binary(max_size=2048))
def test_exclusions_arbitrary_bytes(tmp_path: Path, data: bytes) -> None:
    check_exclusions(data, tmp_path)


@given(st.sampled_from(EXCLUSIONS).flatmap(lambda p: st.one_of(truncated(p), byte_mutated(p))))
def test_exclusions_truncated_and_mutated(tmp_path: Path, data: bytes) -> None:
    check_exclusions(data, tmp_path)


@given(st.sampled_from(EXCLUSIONS).flatmap(lambda p: st.just(p)), st.data())
def test_exclusions_wrong_types_at_every_level(
    tmp_path: Path, sample: Path, data: st.DataObject
) -> None:
    import json

    import yaml

    # The same mutations, on the YAML sample converted to JSON (which the loader also reads).
    as_json = tmp_path / "sample.json"
    as_json.write_text(json.dumps(yaml.safe_load(sample.read_text()), default=str))
    raw, where = data.draw(mutated_json(as_json))
    path = tmp_path / "exclusions.yaml"
    path.write_bytes(raw)
    error = expect_input_error(lambda: load_exclusions(path), str(path))
    if error is not None:
        assert ": $" in error.message, (where, error.message)


@given(mutated_json(AWS / "authorization-details.json").map(lambda m: m[0]))
def test_audit_creep_on_mutated_snapshots_exits_0_or_2(tmp_path: Path, data: bytes) -> None:
    # Past the loader: a value of the right JSON type but an unexpected shape (a trust
    # policy's Condition as an array) crashed the engine, not the loader.
    check_aws_audit(data, tmp_path)
