"""The PostgreSQL store against real servers: placeholders, DDL dialect, the write lock, and every
way a connection fails (refused, bad password, TLS either way, statement timeout, a backend
killed mid-transaction, a server stopped): one StoreError line, nothing half-written."""

from __future__ import annotations

import threading
from collections.abc import Iterator
from pathlib import Path

import psycopg
import pytest

from nhictl.core.errors import StoreError
from nhictl.core.store import open_store
from nhictl.core.store.postgres import PostgresStore, postgres_sql
from tests.conftest import CliRunner
from tests.pg_server import PASSWORD, PASSWORD_ROLE, TLS_ROLE, PgServer, free_port, start_server


def test_placeholders_become_psycopg_ones_outside_quotes() -> None:
    assert postgres_sql("SELECT ? WHERE a LIKE 'x%?' AND b = ?") == (
        "SELECT %s WHERE a LIKE 'x%%?' AND b = %s"
    )
    assert postgres_sql("SELECT 'it''s ?', ?") == "SELECT 'it''s ?', %s"


@pytest.fixture
def url(pg_server: PgServer) -> Iterator[str]:
    created = pg_server.create_database()
    yield created
    pg_server.drop_database(created)


@pytest.fixture
def store(url: str) -> Iterator[PostgresStore]:
    opened = open_store(url, Path("/nonexistent"))
    assert isinstance(opened, PostgresStore)
    opened.migrate()
    yield opened
    opened.close()


def test_the_ddl_is_postgres_typed_and_bytewise_collated(store: PostgresStore) -> None:
    with store.read() as tx:
        columns: dict[str, str] = dict(
            tx.query(
                "SELECT column_name, data_type || ':' || COALESCE(collation_name, '') "
                "FROM information_schema.columns WHERE table_name = 'credentials'"
            )
        )
    assert columns["ttl_seconds"] == "bigint:"
    assert columns["status_idx"] == "bigint:"
    assert columns["jti"] == "text:C"


def test_location_never_shows_the_password(pg_server: PgServer) -> None:
    secret = pg_server.url("db", user=PASSWORD_ROLE, password="s3cr3t?pw", sslmode="disable")
    store = open_store(secret, Path("/nonexistent"))
    assert "s3cr3t" not in store.location and ":***@" in store.location


def test_writers_queue_on_the_advisory_lock(url: str, store: PostgresStore) -> None:
    second = open_store(url, Path("/nonexistent"))
    entered = threading.Event()
    with store.write() as tx:
        tx.execute("INSERT INTO status_lists VALUES ('first', 0, 'now')")

        def other_writer() -> None:
            with second.write() as other:
                other.execute("UPDATE status_lists SET next_idx = next_idx + 1")
                entered.set()

        thread = threading.Thread(target=other_writer)
        thread.start()
        # The other writer is blocked on the lock itself, not on a row: BEGIN and the lock ride
        # ahead of its first statement, so nothing it reads predates this transaction's commit.
        with psycopg.connect(url, autocommit=True) as watcher:
            for _ in range(1000):
                row = watcher.execute(
                    "SELECT wait_event FROM pg_stat_activity WHERE wait_event_type = 'Lock' "
                    "AND query LIKE '%pg_advisory_xact_lock%'"
                ).fetchone()
                if row:
                    break
                threading.Event().wait(0.01)
        assert row == ("advisory",)
        assert not entered.is_set()
    thread.join(timeout=30)
    assert entered.is_set()
    assert store.read_one("SELECT next_idx FROM status_lists WHERE uri = 'first'") == (1,)
    second.close()


def test_a_write_commits_durably_in_one_round_trip(url: str, store: PostgresStore) -> None:
    """BEGIN, the lock, the deferred inserts and COMMIT in one round trip. The commit is
    synchronous: the write transaction keeps the server's synchronous_commit."""
    before = store.round_trips
    with store.write() as tx:
        first = tx.defer("INSERT INTO status_lists VALUES ('a', 0, 'now')")
        tx.defer("INSERT INTO status_lists VALUES ('b', 0, 'now')")
        assert first.rowcount == -1  # not sent yet
    assert store.round_trips - before == 1
    assert first.rowcount == 1
    with psycopg.connect(url, autocommit=True) as other:
        assert other.execute("SELECT COUNT(*) FROM status_lists").fetchone() == (2,)
        name = url.rsplit("/", 1)[1].split("?", 1)[0]
        other.execute(f'ALTER DATABASE "{name}" SET synchronous_commit = on')
    durable = open_store(url, Path("/nonexistent"))
    with durable.write() as tx:
        assert tx.query("SHOW synchronous_commit") == [("on",)]
    durable.close()


def test_a_write_sent_whole_is_one_implicit_read_committed_transaction(
    url: str, store: PostgresStore, tmp_path: Path
) -> None:
    """Opening, lock, statements and COMMIT in one trip need no BEGIN or COMMIT: the pipeline's
    Sync ends the implicit transaction. It is READ COMMITTED whatever the URL's default, and
    the write lock is held in it."""
    # (the fixture's store migrated the database)
    tuned = open_store(url + "&options=-c%20default_transaction_isolation%3Dserializable", tmp_path)
    assert isinstance(tuned, PostgresStore)
    trace = tmp_path / "libpq.trace"
    with trace.open("w") as sink:
        tuned.connection().pgconn.trace(sink.fileno())
        with tuned.write() as tx:
            tx.defer(
                "INSERT INTO status_lists SELECT current_setting('transaction_isolation'), "
                "(SELECT COUNT(*) FROM pg_locks WHERE locktype = 'advisory' "
                "AND pid = pg_backend_pid()), 'now'"
            )
        tuned.connection().pgconn.untrace()
    sent = [line for line in trace.read_text().splitlines() if "\tF\t" in line]  # to the server
    assert any("pg_advisory_xact_lock" in line for line in sent)
    assert not any("BEGIN" in line or "COMMIT" in line for line in sent)
    assert tuned.read_one("SELECT uri, next_idx FROM status_lists") == ("read committed", 1)
    with tuned.write() as tx:  # a transaction that reads first still opens with BEGIN
        assert tx.query("SHOW transaction_isolation") == [("read committed",)]
    tuned.close()


def test_backend_killed_before_the_deferred_commit(
    url: str, store: PostgresStore, pg_server: PgServer
) -> None:
    victim = open_store(url, Path("/nonexistent"))
    assert isinstance(victim, PostgresStore)
    pid = _backend_pid(victim)
    with pytest.raises(StoreError, match="may or may not have been saved"), victim.write() as tx:
        tx.query("SELECT 1")  # the transaction is open on the server
        tx.defer("INSERT INTO status_lists VALUES ('lost', 0, 'now')")
        with pg_server.admin() as admin:
            admin.execute("SELECT pg_terminate_backend(%s)", (pid,))
    # The server ended the session before the pipeline arrived: nothing was applied.
    assert store.read_one("SELECT COUNT(*) FROM status_lists") == (0,)
    victim.close()


def test_a_write_whose_kept_connection_died_runs_once_on_a_new_one(
    url: str, store: PostgresStore, pg_server: PgServer
) -> None:
    """Nothing of the transaction had reached the server (its BEGIN rides with the commit), so
    it is sent again on a fresh connection: applied exactly once."""
    victim = open_store(url, Path("/nonexistent"))
    assert isinstance(victim, PostgresStore)
    pid = _backend_pid(victim)
    with victim.write() as tx:
        tx.defer("INSERT INTO status_lists VALUES ('kept', 0, 'now')")
        with pg_server.admin() as admin:
            admin.execute("SELECT pg_terminate_backend(%s, 5000)", (pid,))  # waits
    assert store.read_one("SELECT COUNT(*) FROM status_lists") == (1,)
    assert _backend_pid(victim) != pid
    victim.close()


def test_refused_connection_is_one_line(tmp_path: Path) -> None:
    store = open_store(f"postgresql://u:pw@127.0.0.1:{free_port()}/db", tmp_path)
    with pytest.raises(StoreError, match="connection refused") as info:
        store.schema_version()
    assert "pw" not in str(info.value).replace("postgresql", "")
    assert "\n" not in str(info.value)


def test_wrong_password(pg_server: PgServer) -> None:
    bad = pg_server.url("postgres", user=PASSWORD_ROLE, password="wrong-pass", sslmode="disable")
    with pytest.raises(StoreError, match="refused the credentials") as info:
        open_store(bad, Path("/nonexistent")).schema_version()
    assert "wrong-pass" not in str(info.value) and "wrong-pass" not in (info.value.hint or "")
    good = pg_server.url("postgres", user=PASSWORD_ROLE, password=PASSWORD, sslmode="disable")
    assert open_store(good, Path("/nonexistent")).schema_version() == 0


def test_tls_requested_from_a_server_without_it(pg_server: PgServer) -> None:
    wants_tls = pg_server.url("postgres", sslmode="require")
    with pytest.raises(StoreError, match="requires TLS, but the server does not offer it"):
        open_store(wants_tls, Path("/nonexistent")).schema_version()


def test_statement_timeout_rolls_back(url: str, store: PostgresStore) -> None:
    impatient = open_store(url + "&options=-c%20statement_timeout%3D100", Path("/nonexistent"))
    with pytest.raises(StoreError, match="statement_timeout") as info, impatient.write() as tx:
        tx.execute("INSERT INTO status_lists VALUES ('half', 0, 'now')")
        tx.execute("SELECT pg_sleep(5)")
    assert "rolled back" in str(info.value)
    assert store.read_one("SELECT COUNT(*) FROM status_lists") == (0,)
    with impatient.write() as tx:  # the same store goes on working
        tx.execute("INSERT INTO status_lists VALUES ('whole', 0, 'now')")
    assert store.read_one("SELECT uri FROM status_lists") == ("whole",)
    impatient.close()


def _backend_pid(store: PostgresStore) -> int:
    row = store.read_one("SELECT pg_backend_pid()")
    assert row is not None
    return int(row[0])


def test_backend_killed_mid_transaction(
    url: str, store: PostgresStore, pg_server: PgServer
) -> None:
    victim = open_store(url, Path("/nonexistent"))
    assert isinstance(victim, PostgresStore)
    pid = _backend_pid(victim)
    # The server's 57P01 ("ended the connection"), or the socket closed before it was read
    # ("lost the connection"): which one depends on timing; both are one clear line.
    lost = "ended the connection|lost the connection"
    with pytest.raises(StoreError, match=lost), victim.write() as tx:
        tx.execute("INSERT INTO status_lists VALUES ('half', 0, 'now')")
        with pg_server.admin() as admin:
            admin.execute("SELECT pg_terminate_backend(%s)", (pid,))
        tx.execute("INSERT INTO status_lists VALUES ('other half', 0, 'now')")
    assert store.read_one("SELECT COUNT(*) FROM status_lists") == (0,)
    with victim.write() as tx:  # a new connection for the next transaction
        tx.execute("INSERT INTO status_lists VALUES ('after', 0, 'now')")
    assert store.read_one("SELECT uri FROM status_lists") == ("after",)
    victim.close()


def test_a_kept_connection_that_died_idle_is_replaced_once(
    url: str, store: PostgresStore, pg_server: PgServer
) -> None:
    pid = _backend_pid(store)
    with pg_server.admin() as admin:
        admin.execute("SELECT pg_terminate_backend(%s)", (pid,))
    with store.write() as tx:  # nothing had run: reopening is safe, so it is done once
        tx.execute("INSERT INTO status_lists VALUES ('x', 0, 'now')")
    assert _backend_pid(store) != pid
    pid = _backend_pid(store)
    with pg_server.admin() as admin:
        admin.execute("SELECT pg_terminate_backend(%s)", (pid,))
    assert store.read_one("SELECT uri FROM status_lists") == ("x",)


def test_cli_errors_exit_2_without_the_password(
    cli: CliRunner, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setenv("NHICTL_STORE", f"postgresql://u:hunter2@127.0.0.1:{free_port()}/db")
    result = cli("agents", "list")
    assert result.code == 2, result.stderr
    assert "connection refused" in result.stderr and "hunter2" not in result.stderr
    assert "Traceback" not in result.stderr
    init = cli("init")
    assert init.code == 2 and "hunter2" not in init.stderr + init.stdout


def test_config_show_hides_the_password(cli: CliRunner, monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv("NHICTL_STORE", "postgresql://u:hunter2@db.example.com/nhictl")
    for fmt in ("table", "json", "yaml"):
        result = cli("config", "show", "-f", fmt, "--wide")
        assert result.code == 0 and "hunter2" not in result.stdout + result.stderr
        assert "postgresql://u:***@db.example.com/nhictl" in result.stdout


# A server of its own: TLS on, one role let in only over TLS; stopped by the last test.
@pytest.fixture(scope="module")
def tls_server() -> Iterator[PgServer]:
    server = start_server(tls=True)
    yield server
    server.stop()


def test_server_that_requires_tls(tls_server: PgServer) -> None:
    plain = tls_server.url("postgres", user=TLS_ROLE, sslmode="disable")
    with pytest.raises(StoreError, match="requires TLS") as info:
        open_store(plain, Path("/nonexistent")).schema_version()
    assert info.value.hint and "sslmode=require" in info.value.hint
    encrypted = tls_server.url("postgres", user=TLS_ROLE, sslmode="require")
    store = open_store(encrypted, Path("/nonexistent"))
    assert store.schema_version() == 0
    store.close()


def test_server_stopped_under_a_kept_connection(tls_server: PgServer) -> None:
    store = open_store(tls_server.url("postgres", sslmode="require"), Path("/nonexistent"))
    store.migrate()
    tls_server.stop()
    # The kept connection is found dead before anything ran; the one retry is refused.
    with pytest.raises(StoreError, match="connection refused"), store.write() as tx:
        tx.execute("INSERT INTO status_lists VALUES ('x', 0, 'now')")
    store.close()


def test_the_lock_wait_is_bounded_for_the_session_and_the_url_can_change_it(url: str) -> None:
    """Set once at connect (no statement per transaction); ``options`` in the URL wins."""
    default = open_store(url, Path("/nonexistent"))
    tuned = open_store(url + "&options=-c%20lock_timeout%3D5s", Path("/nonexistent"))
    try:
        with default.write() as tx:
            assert tx.query("SHOW lock_timeout") == [("30s",)]
        with tuned.write() as tx:
            assert tx.query("SHOW lock_timeout") == [("5s",)]
    finally:
        default.close()
        tuned.close()


@pytest.mark.parametrize(
    "driver_text",
    ["connection socket closed", "server closed the connection unexpectedly"],
)
def test_a_connection_lost_without_a_server_message_is_one_clear_line(driver_text: str) -> None:
    import psycopg

    from nhictl.core.store.postgres import describe_error

    url = "postgresql://u:secret@127.0.0.1:5432/db"
    error = describe_error(psycopg.OperationalError(driver_text), "127.0.0.1:5432/db", url)
    assert str(error).startswith("lost the connection to PostgreSQL at 127.0.0.1:5432/db")
    assert "secret" not in str(error)
