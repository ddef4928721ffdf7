"""Shared fixtures: every test gets its own NHICTL_HOME and a clean NHICTL_* environment.

A test (or a fixture it uses) that asks for ``store_url`` runs once per store backend: on SQLite
in its NHICTL_HOME, and on a fresh database of a real PostgreSQL server (tests/pg_server.py),
selected through NHICTL_STORE as a user would. ``@pytest.mark.backends("sqlite")`` keeps a test
that inspects the SQLite file itself to that backend.
"""

from __future__ import annotations

import io
import os
import shutil
import sys
from collections.abc import Callable, Iterator
from dataclasses import dataclass
from pathlib import Path
from typing import TYPE_CHECKING

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
BACKENDS = ("sqlite", "postgresql")

if TYPE_CHECKING:
    from tests.pg_server import PgServer


def pytest_configure(config: pytest.Config) -> None:
    config.addinivalue_line(
        "markers", "backends(*names): run a store-backed test on these backends only"
    )


def pytest_generate_tests(metafunc: pytest.Metafunc) -> None:
    if "backend" in metafunc.fixturenames:
        marker = metafunc.definition.get_closest_marker("backends")
        names = marker.args if marker else BACKENDS
        # Session scope: pytest groups the tests by backend, so templates are built once each.
        metafunc.parametrize("backend", names, indirect=True, scope="session")


@pytest.fixture(scope="session")
def backend(request: pytest.FixtureRequest) -> str:
    """``sqlite`` or ``postgresql``: which store the test runs on."""
    return str(request.param)


@pytest.fixture(scope="session")
def pg_server() -> Iterator[PgServer]:
    """One PostgreSQL server for the session (NHICTL_TEST_PG_URL's, or a throwaway cluster)."""
    from tests.pg_server import PgUnavailable, server_from_env_or_start

    try:
        server = server_from_env_or_start()
    except PgUnavailable as exc:
        pytest.fail(str(exc), pytrace=False)
    yield server
    server.stop()


def fresh_store(
    backend: str,
    request: pytest.FixtureRequest,
    monkeypatch: pytest.MonkeyPatch,
    template: str | None = None,
) -> str:
    """Point NHICTL_STORE at a new database (copied from ``template``) on PostgreSQL; return
    its URL, dropped when the test ends. On SQLite: "" (the file in NHICTL_HOME)."""
    if backend == "sqlite":
        return ""
    server: PgServer = request.getfixturevalue("pg_server")
    url = server.create_database(template)
    request.addfinalizer(lambda: server.drop_database(url))
    monkeypatch.setenv("NHICTL_STORE", url)
    return url


@pytest.fixture
def store_url(
    backend: str,
    isolated_env: Path,
    request: pytest.FixtureRequest,
    monkeypatch: pytest.MonkeyPatch,
) -> str:
    """This test's own empty store, selected through NHICTL_STORE (see ``fresh_store``)."""
    return fresh_store(backend, request, monkeypatch)


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
