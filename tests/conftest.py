"""Shared fixtures: every test gets its own NHICTL_HOME and a clean NHICTL_* environment."""

from __future__ import annotations

import io
import os
import shutil
import sys
from collections.abc import Callable, Iterator
from dataclasses import dataclass
from pathlib import Path

import pytest
from hypothesis import HealthCheck, settings

from nhictl.cli.app import main

# Property-based tests (hypothesis). "ci", the default, keeps the suite's run time sane; a long
# run for fuzzing is `HYPOTHESIS_PROFILE=long pytest -q -k properties` (tens of thousands of
# examples per test, tens of minutes). No deadline in either: tests never assert on timing.
# No example database: nothing is written into the work tree; a failure prints a reproduction
# blob (@reproduce_failure) to paste instead.
_PROPERTY_DEFAULTS = settings(
    deadline=None,
    database=None,
    print_blob=True,
    # Fixtures (a home, a service) are shared by the examples of one test on purpose.
    suppress_health_check=[HealthCheck.function_scoped_fixture, HealthCheck.too_slow],
)
settings.register_profile("ci", _PROPERTY_DEFAULTS, max_examples=40)
settings.register_profile("long", _PROPERTY_DEFAULTS, max_examples=20_000)
settings.load_profile(os.environ.get("HYPOTHESIS_PROFILE", "ci"))

ROOT = Path(__file__).resolve().parent.parent
SAMPLES = ROOT / "sample-configs"
EXAMPLE = SAMPLES / "agents" / "invoice-reconciler.yaml"


@pytest.fixture(autouse=True)
def isolated_env(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> Iterator[Path]:
    for key in list(os.environ):
        if key.startswith("NHICTL_") or key in ("NO_COLOR", "FORCE_COLOR"):
            monkeypatch.delenv(key)
    home = tmp_path / "nhictl-home"
    home.mkdir()
    monkeypatch.setenv("NHICTL_HOME", str(home))
    monkeypatch.setenv("COLUMNS", "200")
    yield home


@dataclass
class CliResult:
    code: int
    stdout: str
    stderr: str


CliRunner = Callable[..., CliResult]


@pytest.fixture
def cli(capsys: pytest.CaptureFixture[str], monkeypatch: pytest.MonkeyPatch) -> CliRunner:
    """Run nhictl in-process: ``cli("validate", path, stdin=b"...")``."""

    def run(*args: str, stdin: bytes | None = None) -> CliResult:
        if stdin is not None:
            monkeypatch.setattr(sys, "stdin", io.TextIOWrapper(io.BytesIO(stdin)))
        capsys.readouterr()
        code = main(list(args))
        out, err = capsys.readouterr()
        return CliResult(code, out, err)

    return run


@pytest.fixture
def example_text() -> str:
    return EXAMPLE.read_text()


@pytest.fixture
def write(tmp_path: Path) -> Callable[[str, str | bytes], Path]:
    """Write a file under tmp_path and return its path."""

    def _write(name: str, content: str | bytes) -> Path:
        path = tmp_path / name
        path.parent.mkdir(parents=True, exist_ok=True)
        if isinstance(content, bytes):
            path.write_bytes(content)
        else:
            path.write_text(content)
        return path

    return _write


def copy_samples(dest: Path) -> Path:
    shutil.copytree(SAMPLES, dest)
    return dest
