"""Fixtures for the credential tests: an initialised NHICTL_HOME with registered sample agents.

Building a home (store, signing key, policies, four registrations through the real identity
check and Cedar) takes a while, so it is built once per session and copied into each test's own
NHICTL_HOME. Everything stays real: SQLite, keys, Cedar, JWT-SVIDs from the demo IdP.
"""

from __future__ import annotations

import datetime as dt
import os
import shutil
from collections.abc import Iterator
from pathlib import Path

import pytest

from nhictl.core.credentials import CredentialService
from nhictl.core.demo_idp import DemoSpiffeIdp
from nhictl.core.policy import PolicyEngine
from nhictl.core.runtime import Runtime
from tests.credentials.support import PERMIT_ALL, TRUST_DOMAIN, Clock, register_all


@pytest.fixture(scope="session")
def template_home(tmp_path_factory: pytest.TempPathFactory) -> Path:
    home = tmp_path_factory.mktemp("jit-template")
    saved = os.environ.get("NHICTL_HOME")
    os.environ["NHICTL_HOME"] = str(home)
    try:
        runtime = Runtime()
        runtime.init()
        register_all(runtime, DemoSpiffeIdp(home / "demo-idp", TRUST_DOMAIN))
        runtime.store.close()  # checkpoints the WAL, so copying the folder copies everything
    finally:
        if saved is None:
            del os.environ["NHICTL_HOME"]
        else:
            os.environ["NHICTL_HOME"] = saved
    return home


@pytest.fixture
def home(template_home: Path, isolated_env: Path) -> Path:
    """This test's NHICTL_HOME, a copy of the template (file modes preserved)."""
    shutil.copytree(template_home, isolated_env, dirs_exist_ok=True)
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
