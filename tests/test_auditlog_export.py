"""``nhictl log export``: JSON lines that re-verify offline, OCSF 1.3.0 events a SIEM accepts,
time windows, streaming in pages, and the secret screen on the way out."""

from __future__ import annotations

import datetime as dt
import json
from collections.abc import Callable, Sequence
from pathlib import Path
from typing import Any

import pytest

from nhictl.core import auditlog, ocsf
from nhictl.core.credentials import CredentialService
from nhictl.core.store.base import Row, Tx
from tests.auditlog_support import chain_hash, run_sql, verify_offline
from tests.conftest import CliRunner
from tests.credentials.support import INVOICE, register_all
from tests.registry_fixtures import Home
from tests.registry_fixtures import home as home

SCHEMA = json.loads((Path(__file__).parent / "ocsf-1.3.0-subset.json").read_text())
JAN = dt.datetime(2026, 1, 1, tzinfo=dt.UTC)


def export(cli: CliRunner, *args: str) -> list[dict[str, Any]]:
    result = cli("log", "export", *args)
    assert result.code == 0, result.stderr
    return [json.loads(line) for line in result.stdout.splitlines()]


def append_at(home: Home, *moments: dt.datetime, action: str = "test.event") -> None:
    with home.runtime.store.write() as tx:
        for moment in moments:
            auditlog.append(tx, action=action, subject="s", outcome="ok", now=moment)


def test_json_export_is_the_stored_chain_and_reverifies_offline(
    cli: CliRunner, home: Home, tmp_path: Path
) -> None:
    register_all(home.runtime, home.idp)
    target = tmp_path / "audit.jsonl"
    assert cli("log", "export", "-o", str(target)).code == 0
    lines = [json.loads(line) for line in target.read_text().splitlines()]
    with home.runtime.store.read() as tx:
        stored = [e.to_dict() for e in auditlog.list_events(tx)]
    assert lines == stored and len(lines) == 6  # init, four registrations, one approval
    assert set(lines[0]) == {
        "seq",
        "at",
        "actor",
        "action",
        "subject",
        "outcome",
        "details",
        "prev_hash",
        "hash",
    }
    assert lines[0]["prev_hash"] == auditlog.GENESIS
    verify_offline(lines)
    # The same function catches an edit in the exported file.
    lines[2]["outcome"] = "tampered"
    with pytest.raises(AssertionError):
        verify_offline(lines)


def test_since_and_until_select_a_window(cli: CliRunner, home: Home) -> None:
    days = [JAN + dt.timedelta(days=n) for n in range(4)]  # Jan 1..4, midnight UTC
    append_at(home, *days)
    window = export(cli, "--since", "2026-01-02", "--until", "2026-01-04T00:00:00Z")
    assert [e["at"] for e in window] == [auditlog.utc_now_text(d) for d in days[1:3]]
    # A zone other than UTC is converted; no zone means UTC.
    shifted = export(cli, "--since", "2026-01-02T01:00:00+01:00", "--until", "2026-01-02T00:00:01")
    assert [e["at"] for e in shifted] == [auditlog.utc_now_text(days[1])]
    # --since alone is inclusive and open-ended; events stay in seq order (the init event,
    # seq 1, is from now; the test events were back-dated).
    tail = export(cli, "--since", "2026-01-04")
    assert [e["action"] for e in tail] == ["registry.init", "test.event"]


def test_durations_count_back_from_now(cli: CliRunner, home: Home) -> None:
    now = dt.datetime.now(dt.UTC)
    append_at(home, now - dt.timedelta(days=2), now - dt.timedelta(hours=1))
    recent = export(cli, "--since", "24h")
    assert [e["at"] for e in recent][-1] == auditlog.utc_now_text(now - dt.timedelta(hours=1))
    assert all(e["at"] >= auditlog.utc_now_text(now - dt.timedelta(hours=25)) for e in recent)
    old = export(cli, "--until", "P1D")  # ISO 8601 duration: before one day ago
    assert [e["at"] for e in old] == [auditlog.utc_now_text(now - dt.timedelta(days=2))]


@pytest.mark.parametrize(
    ("args", "expected"),
    [
        (["--since", "yesterday"], "--since: 'yesterday' is neither an ISO 8601 time"),
        (["--until", "2026-13-01"], "--until: '2026-13-01' is neither an ISO 8601 time"),
        (["--since", "-5h"], "--since: '-5h' is neither"),
        (
            ["--since", "2026-02-01", "--until", "2026-01-01"],
            "--since (2026-02-01T00:00:00.000000Z) is not before --until",
        ),
        (["-f", "cef"], "'cef' is not one of 'json', 'ocsf'"),
    ],
)
def test_bad_window_or_format_is_one_line_exit_2_and_writes_nothing(
    cli: CliRunner, home: Home, tmp_path: Path, args: list[str], expected: str
) -> None:
    target = tmp_path / "out.jsonl"
    result = cli("log", "export", *args, "-o", str(target))
    assert result.code == 2 and result.stdout == ""
    assert expected in result.stderr and "Traceback" not in result.stderr
    assert not target.exists() and list(tmp_path.glob(".out.jsonl.*")) == []


class CountingTx(Tx):
    """The real transaction, noting how many rows each query returned."""

    def __init__(self, inner: Tx) -> None:
        self.inner = inner
        self.sizes: list[int] = []

    def execute(self, sql: str, params: Sequence[Any] = ()) -> int:
        return self.inner.execute(sql, params)

    def query(self, sql: str, params: Sequence[Any] = ()) -> list[Row]:
        rows = self.inner.query(sql, params)
        self.sizes.append(len(rows))
        return rows

    def after_commit(self, callback: Callable[[], None]) -> None:
        self.inner.after_commit(callback)


def test_events_stream_a_page_at_a_time(
    cli: CliRunner, home: Home, monkeypatch: pytest.MonkeyPatch
) -> None:
    append_at(home, *[JAN + dt.timedelta(seconds=n) for n in range(24)])
    monkeypatch.setattr(auditlog, "PAGE_SIZE", 10)
    with home.runtime.store.read() as tx:
        counting = CountingTx(tx)
        events = auditlog.iter_events(counting)
        first = next(events)
        assert first.seq == 1 and counting.sizes == [10]  # one page read, not the log
        rest = list(events)
        assert [e.seq for e in rest] == list(range(2, 26)) and counting.sizes == [10, 10, 5]
        counting.sizes.clear()
        report = auditlog.verify(counting)
        assert report.ok and report.events == 25 and counting.sizes == [10, 10, 5]
    # The CLI export pages the same way and loses nothing at the page edges.
    assert [e["seq"] for e in export(cli)] == list(range(1, 26))


# Known answers: which OCSF class and activity each action becomes.
EXPECTED = {
    "registry.init": (3004, 1),
    "agent.register": (3001, 1),
    "agent.approve": (3001, 2),
    "credential.issue": (3003, 1),
    "credential.verify": (3002, 99),
    "credential.authorize": (6003, 99),
    "credential.revoke": (3004, 11),
    "task.complete": (3004, 11),
    "task.fail": (3004, 11),
    "agent.disable": (3001, 5),
    "agent.enable": (3001, 2),
    "key.rotate": (3004, 1),
    "log.checkpoint": (3004, 1),
    "future.action": (0, 99),
}


def busy_log(cli: CliRunner, home: Home) -> CredentialService:
    """A log with every kind of event nhictl writes, each made through the real services."""
    register_all(home.runtime, home.idp)
    service = home.runtime.credentials
    issued = service.issue(INVOICE, task="INV-1", intent="reconcile-invoices")
    assert not service.verify(issued.token + "x").valid  # refused: audited
    scopes = issued.record.scopes
    assert not service.authorize(issued.token, action="payments:send", resource="acct-1").allowed
    assert service.authorize(issued.token, action=scopes[0]).allowed  # allowed: not audited
    service.revoke(jti=issued.record.jti, reason="done early")
    service.issue(INVOICE, task="INV-2", intent="reconcile-invoices")
    service.complete_task("INV-2")
    service.issue(INVOICE, task="INV-3", intent="reconcile-invoices")
    service.fail_task("INV-3", "upstream down")
    home.runtime.registry.disable(INVOICE, reason="incident 7")
    home.runtime.registry.enable(INVOICE)
    assert cli("keys", "rotate").code == 0
    assert cli("log", "checkpoint", "-o", "/dev/null").code == 0
    append_at(home, dt.datetime.now(dt.UTC), action="future.action")
    return service


def check_object(value: Any, name: str, where: str) -> None:
    spec = SCHEMA["objects"][name]
    assert isinstance(value, dict), where
    for attr in spec["required"]:
        assert attr in value, f"{where}: {name}.{attr} is required"
    if spec["at_least_one"]:
        assert set(spec["at_least_one"]) & set(value), f"{where}: {name} needs one of them"


def check_against_schema(event: dict[str, Any]) -> None:
    cls = SCHEMA["classes"][str(event["class_uid"])]
    where = f"{event['metadata']['event_code']} (seq {event['metadata']['sequence']})"
    for attr in cls["required"]:
        assert attr in event, f"{where}: {attr} is required by {cls['caption']}"
    if cls["at_least_one"]:
        assert set(cls["at_least_one"]) & set(event), where
    assert event["category_uid"] == cls["category_uid"], where
    assert str(event["activity_id"]) in cls["activities"], where
    assert event["activity_name"] == cls["activities"][str(event["activity_id"])] or (
        event["activity_id"] == 99  # Other: the name says which other
    ), where
    assert event["type_uid"] == event["class_uid"] * 100 + event["activity_id"], where
    assert SCHEMA["severity_id"][str(event["severity_id"])] == event["severity"], where
    assert SCHEMA["status_id"][str(event["status_id"])] == event["status"], where
    assert isinstance(event["time"], int), where
    check_object(event["metadata"], "metadata", where)
    check_object(event["metadata"]["product"], "product", where)
    assert event["metadata"]["version"] == SCHEMA["version"] == ocsf.OCSF_VERSION
    for attr, name in (("actor", "actor"), ("user", "user"), ("entity", "managed_entity")):
        if attr in event:
            check_object(event[attr], name, where)
    if "api" in event:
        check_object(event["api"], "api", where)
    if "user" in event.get("actor", {}):
        check_object(event["actor"]["user"], "user", where)
    assert isinstance(event["unmapped"], dict), where


def test_ocsf_export_maps_every_action_to_a_valid_event(cli: CliRunner, home: Home) -> None:
    busy_log(cli, home)
    stored = export(cli)
    events = export(cli, "-f", "ocsf")
    assert len(events) == len(stored)
    assert {e["metadata"]["event_code"] for e in events} == set(EXPECTED)
    for event, raw in zip(events, stored, strict=True):
        check_against_schema(event)
        action = raw["action"]
        assert (event["class_uid"], event["activity_id"]) == EXPECTED[action], action
        meta = event["metadata"]
        assert (meta["uid"], meta["sequence"]) == (raw["hash"], raw["seq"])
        moment = dt.datetime.fromisoformat(raw["at"])
        assert event["time"] == int(moment.timestamp() * 1000)
        assert event["unmapped"]["prev_hash"] == raw["prev_hash"]
        denied = raw["outcome"] == "denied"
        assert (event["status_id"] == 2) is denied, action
        refused_token = action in ("credential.verify", "credential.authorize")
        assert event["severity_id"] == ((3 if refused_token else 2) if denied else 1), action
    # Known answers for the richest mappings.
    by_code: dict[str, list[dict[str, Any]]] = {}
    for event in events:
        by_code.setdefault(event["metadata"]["event_code"], []).append(event)
    issue = by_code["credential.issue"][0]
    raw_issue = next(e for e in stored if e["action"] == "credential.issue")
    assert issue["privileges"] == raw_issue["details"]["scopes"]
    assert issue["session"]["uid"] == raw_issue["details"]["jti"]
    assert issue["user"]["name"] == INVOICE and issue["user"]["type_id"] == 99
    assert issue["metadata"]["correlation_uid"] == "INV-1"
    assert "scopes" not in issue["unmapped"]["details"]
    assert issue["unmapped"]["details"]["intent"] == "reconcile-invoices"
    authorize = by_code["credential.authorize"][0]
    assert authorize["api"]["operation"] == "payments:send"
    assert authorize["resources"] == [{"name": "acct-1"}]
    assert authorize["actor"]["user"]["name"] == INVOICE
    assert authorize["unmapped"]["details"]["actor"] == raw_issue["actor"]
    revoke = by_code["credential.revoke"][0]
    assert revoke["entity"]["uid"] == raw_issue["details"]["jti"]
    assert revoke["comment"] == "done early"
    register = by_code["agent.register"][0]
    assert register["user"]["uid"].startswith("spiffe://prod.example.com/")
    assert register["status_detail"] == stored[1]["outcome"] == "pending-approval"
    verify = by_code["credential.verify"][0]
    assert verify["status_detail"] == verify["unmapped"]["details"]["reason"]


def test_a_revision_is_account_change_other(home: Home) -> None:
    event = auditlog.AuditEvent(
        7, "2026-01-01T00:00:00.000000Z", "user:a", "agent.register", "bot", "active",
        {"revision": 2, "previous_revision": 1}, "0" * 64, "1" * 64,
    )  # fmt: skip
    mapped = ocsf.to_ocsf(event)
    assert (mapped["class_uid"], mapped["activity_id"], mapped["activity_name"]) == (
        3001,
        99,
        "Revise",
    )
    check_against_schema(mapped)


JWS = "eyJhbGciOiJFZERTQSJ9.eyJzdWIiOiJhZ2VudCJ9.c2lnbmF0dXJlLWJ5dGVz"


@pytest.mark.parametrize("fmt", ["json", "ocsf"])
def test_a_secret_written_around_append_is_never_exported(
    cli: CliRunner, home: Home, fmt: str
) -> None:
    append_at(home, JAN)
    details = json.dumps({"note": f"token {JWS}", "safe": "kept"})
    sql = "UPDATE audit_events SET details_json = ?, subject = ? WHERE seq = 2"
    run_sql(sql, (details, JWS))
    result = cli("log", "export", "-f", fmt)
    assert result.code == 0
    assert JWS not in result.stdout and "eyJhbGci" not in result.stdout
    assert "event 2: a value shaped like a token or key was redacted" in result.stderr
    second = json.loads(result.stdout.splitlines()[1])
    details_out = second["details"] if fmt == "json" else second["unmapped"]["details"]
    assert details_out == {"note": "[redacted]", "safe": "kept"}
    # The chain now fails offline for that event, as it should: it was tampered with.
    if fmt == "json":
        assert chain_hash(second) != second["hash"]
