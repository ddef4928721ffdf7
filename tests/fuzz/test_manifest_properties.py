"""Properties of the manifest loader and validator on hostile input (profiles: tests/conftest.py).

Arbitrary bytes and text, hostile YAML (alias bombs, deep nesting, huge scalars, tags, duplicate
keys, BOMs, other encodings) and valid sample manifests mutated field by field: the loader never
raises anything but a one-line ``InputError`` naming the file, every issue is one line, and
``nhictl validate`` exits 0, 1 or 2 (never 3, never a traceback).
"""

from __future__ import annotations

from pathlib import Path
from typing import Any

import yaml
from hypothesis import given
from hypothesis import strategies as st

from tests.conftest import SAMPLES, CliRunner
from tests.fuzz.strategies import (
    HOSTILE_YAML,
    WRONG_VALUES,
    byte_mutated,
    encoded,
    json_paths,
    replaced,
)
from tests.fuzz.targets import check_manifest

MANIFESTS = sorted([*SAMPLES.glob("agents/*.yaml"), *SAMPLES.glob("aws/manifests/*.yaml")])


@st.composite
def mutated_manifest(draw: st.DrawFn) -> bytes:
    """A valid sample manifest with one field replaced by a wrong-typed value or deleted."""
    doc = yaml.safe_load(draw(st.sampled_from(MANIFESTS)).read_text())
    path = draw(st.sampled_from(list(json_paths(doc))))
    value: Any = draw(st.one_of(WRONG_VALUES, st.just(...), st.text(max_size=40)))
    return yaml.safe_dump(replaced(doc, path, value), allow_unicode=True).encode()


@given(st.binary(max_size=4096))
def test_arbitrary_bytes(tmp_path: Path, data: bytes) -> None:
    check_manifest(data, tmp_path)


@given(encoded(st.text(max_size=2048)))
def test_arbitrary_text_in_any_encoding(tmp_path: Path, data: bytes) -> None:
    check_manifest(data, tmp_path)


@given(encoded(HOSTILE_YAML))
def test_hostile_yaml(tmp_path: Path, data: bytes) -> None:
    check_manifest(data, tmp_path)


@given(mutated_manifest())
def test_mutated_sample_manifests(tmp_path: Path, data: bytes) -> None:
    check_manifest(data, tmp_path)


@given(st.sampled_from(MANIFESTS).flatmap(byte_mutated))
def test_byte_mutated_sample_manifests(tmp_path: Path, data: bytes) -> None:
    check_manifest(data, tmp_path)


@given(st.one_of(mutated_manifest(), encoded(HOSTILE_YAML), st.binary(max_size=512)))
def test_validate_exits_0_1_or_2(cli: CliRunner, tmp_path: Path, data: bytes) -> None:
    path = tmp_path / "agent.yaml"
    path.write_bytes(data)
    result = cli("validate", str(path))
    assert result.code in (0, 1, 2), result.stdout + result.stderr
    assert "Traceback" not in result.stderr and "internal error" not in result.stderr
