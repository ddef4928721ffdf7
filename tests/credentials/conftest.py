"""Fixtures for the credential tests: an initialised NHICTL_HOME with registered sample agents.

Building a home (store, signing key, policies, four registrations through the real identity
check and Cedar) takes a while, so it is built once per session and copied into each test's own
NHICTL_HOME (on PostgreSQL the template is a database, and each test gets a copy of it made with
CREATE DATABASE ... TEMPLATE). Everything stays real: SQLite or PostgreSQL, keys, Cedar, JWT-SVIDs
from the demo IdP.
"""

from __future__ import annotations

import datetime as dt
import shutil
from collections.abc import Iterator
from dataclasses import dataclass
from pathlib import Path

import pytest

from nhictl.core.credentials import CredentialService
from nhictl.core.identity.demo_idp import DemoSpiffeIdp
from nhictl.core.policy import PolicyEngine
from nhictl.core.runtime import Runtime
from tests.conftest import fresh_store
from tests.credentials.support import PERMIT_ALL, TRUST_DOMAIN, Clock, register_all


@dataclass(frozen=True)
class Template:
    home: Path
    database: str | None  # the PostgreSQL template database; None on SQLite


@pytest.fixture(scope="session")
def template_home(
    tmp_path_factory: pytest.TempPathFactory, backend: str, request: pytest.FixtureRequest
) -> Template:
    home = tmp_path_factory.mktemp(f"jit-template-{backend}")
    env = {"NHICTL_HOME": str(home)}
    database = None
    if backend == "postgresql":
        env["NHICTL_STORE"] = request.getfixturevalue("pg_server").create_database()
        database = env["NHICTL_STORE"].rsplit("/", 1)[1].split("?", 1)[0]
    with pytest.MonkeyPatch.context() as patch:
        for key, value in env.items():
            patch.setenv(key, value)
        runtime = Runtime()
        runtime.init()
        register_all(runtime, DemoSpiffeIdp(home / "demo-idp", TRUST_DOMAIN))
        # SQLite: checkpoints the WAL, so copying the folder copies everything. PostgreSQL: a
        # database can only serve as a template while nobody is connected to it.
        runtime.store.close()
    return Template(home, database)


@pytest.fixture
def home(
    template_home: Template,
    isolated_env: Path,
    backend: str,
    request: pytest.FixtureRequest,
    monkeypatch: pytest.MonkeyPatch,
) -> Path:
    """This test's NHICTL_HOME, a copy of the template (file modes preserved), and its store."""
    shutil.copytree(template_home.home, isolated_env, dirs_exist_ok=True)
    fresh_store(backend, request, monkeypatch, template_home.database)
    return isolated_env


@pytest.fixture
def clock() -> Clock:
    return Clock(dt.datetime.now(dt.UTC).replace(microsecond=0))


@pytest.fixture
def runtime(home: Path) -> Iterator[Runtime]:
    rt = Runtime()
    yield rt
    if "store" in rt.__dict__:
        rt.store.close()


@pytest.fixture
def service(runtime: Runtime, clock: Clock) -> CredentialService:
    return CredentialService.from_settings(
        runtime.store, runtime.keys, lambda: runtime.policies, runtime.settings, clock=clock
    )


@pytest.fixture
def lax_service(runtime: Runtime, clock: Clock, tmp_path: Path) -> CredentialService:
    """A service whose only policy permits everything: what is left are the built-in guards."""
    folder = tmp_path / "lax-policies"
    folder.mkdir()
    (folder / "permit-all.cedar").write_text(PERMIT_ALL)
    engine = PolicyEngine.load([folder], ttl_ceiling_seconds=runtime.settings.ttl_ceiling_seconds)
    return CredentialService.from_settings(
        runtime.store, runtime.keys, engine, runtime.settings, clock=clock
    )
