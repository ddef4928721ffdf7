"""``nhictl collect gcp|azure`` as commands: ``register`` on a ``collect`` group of our own (the
lead wires the real one), parsed by click, run against the loopback endpoints."""

from __future__ import annotations

import json
import subprocess
import sys
from collections.abc import Iterator
from pathlib import Path

import click
import pytest

from nhictl.cli.app import command
from nhictl.cli.output import reset_consoles
from tests.conftest import ROOT, CliRunner
from tests.providers.fake_azure import CLIENT_ID, S1, TENANT, azure_site
from tests.providers.fake_gcp import (
    COLLECTOR_SA,
    PROJECT,
    FakeGoogle,
    ServiceAccountKey,
    google_site,
)
from tests.providers.fake_gcp_roles import PREDEFINED_ROLE_PAGES, serve_predefined_roles
from tests.providers.loopback import LoopbackServer
from tests.providers.support import read_tree
from tests.providers.tlsca import LoopbackCA


@pytest.fixture()
def collect() -> Iterator[click.Command]:
    reset_consoles()
    group = command()
    assert isinstance(group, click.Group)
    yield group.commands["collect"]
    reset_consoles()


def test_registers_gcp_and_azure_with_the_shared_flags(collect: click.Command) -> None:
    assert isinstance(collect, click.Group)
    assert sorted(collect.commands) == ["aws", "azure", "gcp"]
    gcp = {o for p in collect.commands["gcp"].params for o in p.opts}
    assert {"--project", "--organization", "--impersonate-service-account", "-o", "--output"} <= gcp
    azure = {o for p in collect.commands["azure"].params for o in p.opts}
    assert {"--subscription", "--tenant", "-o", "--output", "--force"} <= azure
    assert not any("secret" in o for o in azure)  # never a secret on the command line


def test_collect_gcp_command(
    cli: CliRunner, loopback_ca: LoopbackCA, tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    with google_site(loopback_ca, tmp_path) as site:
        monkeypatch.setenv("NHICTL_GCP_API_BASE", site.base)
        out = tmp_path / "gcp"
        args = ["--project", PROJECT, "--credentials-file", str(site.key_file), "-o", str(out)]
        result = cli("collect", "gcp", *args)
    assert result.code == 0, result.stderr
    assert "wrote" in result.stderr and "3 serviceAccounts" in result.stderr
    assert json.loads(read_tree(out)["project.json"])["projectId"] == PROJECT


def test_collect_azure_command_takes_the_secret_from_the_environment(
    cli: CliRunner, loopback_ca: LoopbackCA, tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    with azure_site(loopback_ca, "s3cr3t-from-env-" + "z" * 20) as site:
        fake = site.fake
        site.endpoints_env(monkeypatch)
        monkeypatch.setenv("AZURE_CLIENT_SECRET", fake.secret)
        out = tmp_path / "azure"
        args = ["azure", "--subscription", S1, "--tenant", TENANT, "--client-id", CLIENT_ID]
        result = cli("collect", *args, "--no-usage", "-o", str(out))
    assert result.code == 0, result.stderr
    assert {g["client_secret"] for g in fake.grants} == {fake.secret}
    assert "role-assignments.json" in read_tree(out)
    assert fake.secret not in result.stdout + result.stderr


def test_no_cloud_sdk_is_imported_by_the_module() -> None:
    heavy = "('google', 'azure', 'requests')"
    code = (
        "import sys; import nhictl.cli.collect_cmd; "
        f"print(sorted(m for m in sys.modules if m.split('.')[0] in {heavy}))"
    )
    out = subprocess.run(
        [sys.executable, "-c", code], capture_output=True, text=True, cwd=ROOT, check=True
    )
    assert out.stdout.strip() == "[]"


def test_collect_gcp_roles_flag_writes_the_predefined_roles(
    cli: CliRunner, loopback_ca: LoopbackCA, tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    key = ServiceAccountKey(COLLECTOR_SA)
    fake = FakeGoogle(key)
    serve_predefined_roles(fake)
    with LoopbackServer(loopback_ca, fake) as server:
        fake.base = server.base
        monkeypatch.setenv("NHICTL_GCP_API_BASE", server.base)
        key_file = key.key_file(tmp_path, f"{server.base}/token")
        out = tmp_path / "gcp"
        args = ["--project", PROJECT, "--credentials-file", str(key_file), "-o", str(out)]
        result = cli("collect", "gcp", *args, "--roles", "--no-usage")
    assert result.code == 0, result.stderr
    assert "3 predefinedRoles" in result.stderr
    roles = json.loads(read_tree(out)["predefined-roles.json"])
    assert [r["name"] for r in roles] == [r["name"] for p in PREDEFINED_ROLE_PAGES for r in p]
