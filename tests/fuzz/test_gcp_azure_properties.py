"""``audit-creep`` on GCP and Azure sample folders with one file mutated: exit 0 or 2, never 3.

Each example takes one JSON file of the sample folder and replaces one value with a wrong-typed
one (or deletes a member), or truncates the file; the error, if any, is one line naming a file.
"""

from __future__ import annotations

import shutil
from pathlib import Path

import pytest
from hypothesis import given
from hypothesis import strategies as st

from tests.conftest import SAMPLES, CliRunner
from tests.fuzz.strategies import mutated_json, truncated

FOLDERS = {"gcp": SAMPLES / "gcp" / "acme-agents-prod", "azure": SAMPLES / "azure"}


def _json_files(folder: Path) -> list[Path]:
    return sorted(p for p in folder.rglob("*.json") if "baseline" not in p.parts)


@pytest.mark.parametrize("provider", sorted(FOLDERS))
@given(data=st.data())
def test_mutated_file_exits_0_or_2(
    cli: CliRunner, tmp_path: Path, provider: str, data: st.DataObject
) -> None:
    folder = tmp_path / provider
    if not folder.exists():  # one copy per test; each example restores what it changed
        shutil.copytree(FOLDERS[provider], folder)
    sample = data.draw(st.sampled_from(_json_files(FOLDERS[provider])))
    target = folder / sample.relative_to(FOLDERS[provider])
    raw = data.draw(st.one_of(mutated_json(sample).map(lambda m: m[0]), truncated(sample)))
    target.write_bytes(raw)
    try:
        result = cli("audit-creep", "--provider", provider, "--snapshot", str(folder))
    finally:
        shutil.copyfile(sample, target)
    out = result.stdout + result.stderr
    assert result.code in (0, 2), out
    if result.code == 2:
        first = result.stderr.splitlines()[0]
        assert str(folder) in first or "stdin" in first, out
