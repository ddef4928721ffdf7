"""``nhictl db status|migrate|copy`` on both backends, and an embedded registry moved to PostgreSQL
with nothing lost."""

from __future__ import annotations

import json
from collections.abc import Iterator
from pathlib import Path

import pytest
import yaml

from nhictl.core.identity.demo_idp import DemoSpiffeIdp
from nhictl.core.runtime import Runtime
from nhictl.core.store.schema import LATEST_VERSION, TABLES
from tests.conftest import CliRunner
from tests.credentials.support import TRUST_DOMAIN, invoice, register_all
from tests.pg_server import PgServer, free_port


def test_status_before_and_after_init(cli: CliRunner, store_url: str, backend: str) -> None:
    before = json.loads(cli("db", "status", "-f", "json").stdout)
    assert before["backend"] == backend and before["schema_version"] == 0
    assert before["tables"] == {} and "not initialised" in before["state"]
    assert cli("init").code == 0
    after = yaml.safe_load(cli("db", "status", "-f", "yaml").stdout)
    assert after["schema_version"] == after["latest_version"] == LATEST_VERSION
    assert after["state"] == "current"
    assert after["tables"] == {t: (1 if t == "audit_events" else 0) for t in TABLES}
    table = cli("db", "status")
    assert table.code == 0 and "rows in audit_events" in table.stdout


def test_migrate_applies_once_and_records_it(cli: CliRunner, store_url: str) -> None:
    first = cli("db", "migrate")
    assert first.code == 0 and "applied schema version(s) 1, 2" in first.stderr
    again = cli("db", "migrate")
    assert again.code == 0 and f"already at version {LATEST_VERSION}" in again.stderr
    events = json.loads(cli("log", "list", "-f", "json").stdout)
    assert [e["action"] for e in events] == ["store.migrate"]
    assert cli("log", "verify").code == 0


@pytest.fixture
def embedded(isolated_env: Path) -> Iterator[Runtime]:
    """A SQLite registry with agents, revisions, a credential, a status list and their events."""
    runtime = Runtime()
    runtime.init()
    register_all(runtime, DemoSpiffeIdp(isolated_env / "idp", TRUST_DOMAIN))
    issued = invoice(runtime.credentials)
    runtime.credentials.revoke(jti=issued.jti, reason="test")
    runtime.registry.disable("support-summarizer", reason="moving house")
    yield runtime
    runtime.store.close()


@pytest.fixture
def empty_pg(pg_server: PgServer) -> Iterator[str]:
    url = pg_server.create_database()
    yield url
    pg_server.drop_database(url)


def test_copy_to_postgres_loses_nothing(
    cli: CliRunner, embedded: Runtime, empty_pg: str, monkeypatch: pytest.MonkeyPatch
) -> None:
    listed = cli("agents", "list", "-f", "json").stdout
    exported = cli("log", "export").stdout
    result = cli("db", "copy", "--to", empty_pg, "-f", "json")
    assert result.code == 0, result.stderr
    report = json.loads(result.stdout)
    assert report["ok"] and report["audit_log"]["ok"]
    assert report["audit_log"]["head"] == report["audit_log"]["source_head"]
    counts = {t["table"]: (t["source"], t["target"]) for t in report["tables"]}
    assert set(counts) == set(TABLES) and all(s == t and s > 0 for s, t in counts.values())
    assert "audit log on the target: intact" in result.stderr
    # The target is the same registry, seen through nhictl.
    monkeypatch.setenv("NHICTL_STORE", empty_pg)
    assert cli("agents", "list", "-f", "json").stdout == listed
    assert cli("log", "export").stdout == exported
    verified = cli("log", "verify")
    assert verified.code == 0 and "intact" in verified.stderr
    # ... and it keeps working: a new event chains onto the copied head.
    assert cli("agents", "enable", "support-summarizer").code == 0
    assert cli("log", "verify").code == 0


def test_copy_to_postgres_refuses_a_non_empty_target_unless_forced(
    cli: CliRunner, embedded: Runtime, empty_pg: str, monkeypatch: pytest.MonkeyPatch
) -> None:
    assert cli("db", "copy", "--to", empty_pg).code == 0
    embedded.registry.enable("support-summarizer")  # the source moves on
    refused = cli("db", "copy", "--to", empty_pg)
    assert refused.code == 2 and "already holds a registry" in refused.stderr
    assert "--force" in refused.stderr and "Traceback" not in refused.stderr
    forced = cli("db", "copy", "--to", empty_pg, "--force", "-f", "json")
    assert forced.code == 0, forced.stderr
    monkeypatch.setenv("NHICTL_STORE", empty_pg)
    events = json.loads(cli("log", "list", "-f", "json").stdout)
    assert events[-1]["action"] == "agent.enable"


def test_copy_to_postgres_errors_exit_2_without_the_password(
    cli: CliRunner, embedded: Runtime
) -> None:
    refused = cli("db", "copy", "--to", f"postgresql://u:hunter2@127.0.0.1:{free_port()}/x")
    assert refused.code == 2 and "connection refused" in refused.stderr
    assert "hunter2" not in refused.stderr + refused.stdout
    wrong = cli("db", "copy", "--to", "mysql://u:hunter2@host/db")
    assert wrong.code == 2 and "unsupported store URL scheme 'mysql'" in wrong.stderr
    assert "hunter2" not in wrong.stderr
    same = cli("db", "copy", "--to", f"sqlite:///{embedded.data_dir / 'nhictl.db'}")
    assert same.code == 2 and "names the store being copied" in same.stderr


def test_copy_to_postgres_of_an_uninitialised_store(cli: CliRunner, empty_pg: str) -> None:
    result = cli("db", "copy", "--to", empty_pg)
    assert result.code == 2 and "nhictl init" in result.stderr
