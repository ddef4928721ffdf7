"""Finding the agent for a workload identity token by the revisions' subject index
(``agent_revisions.workload_subject``, migration 6), on both backends: what the index holds,
that rows stored before the migration are filled in, and that the lookup returns the
candidates and only those."""

from __future__ import annotations

import json
from pathlib import Path
from typing import Any

import pytest

from nhictl.core.registry import agents_for_subject
from nhictl.core.registry.records import WORKLOAD_SUBJECT_PATTERN, workload_subject
from nhictl.core.store import Store, open_store, schema

SPIFFE = {"type": "spiffe", "spiffeId": "spiffe://demo.test/agents/a", "audience": "nhictl"}
OIDC = {"type": "oidc", "issuer": "https://ci.example", "subject": "repo:org/app:main"}
GLOB = {**OIDC, "subject": "repo:org/*", "subjectMatch": "glob"}


def test_what_the_index_holds() -> None:
    assert workload_subject(SPIFFE) == "spiffe://demo.test/agents/a"
    assert workload_subject(OIDC) == "repo:org/app:main"
    assert workload_subject(GLOB) == WORKLOAD_SUBJECT_PATTERN
    assert workload_subject({"type": "x509"}) is None
    assert workload_subject({"type": "spiffe", "spiffeId": 7}) is None


def _insert_agent(store: Store, name: str, revisions: list[dict[str, Any]]) -> None:
    """Rows as a version-5 store holds them: no ``workload_subject`` column yet."""
    at = "2026-01-01T00:00:00Z"
    with store.write() as tx:
        tx.execute(
            "INSERT INTO agents (name, status, current_revision, owner, sponsor, "
            "review_expires, created_at, updated_at) VALUES (?, 'active', ?, 'o', 's', "
            "'2099-01-01', ?, ?)",
            (name, len(revisions), at, at),
        )
        for number, spec in enumerate(revisions, start=1):
            tx.execute(
                "INSERT INTO agent_revisions (name, revision, manifest_json, manifest_sha256, "
                "identity_json, decision_json, outcome, created_by, created_at) "
                "VALUES (?, ?, ?, ?, '{}', '{}', 'active', 'test', ?)",
                (name, number, json.dumps({"spec": {"workloadIdentity": spec}}), f"h{number}", at),
            )


def test_rows_from_before_the_migration_are_filled_in(
    store_url: str, tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    store = open_store(store_url, tmp_path)
    monkeypatch.setattr(schema, "LATEST_VERSION", 5)
    assert store.migrate() == [1, 2, 3, 4, 5]
    # spiffe-a moved from an OIDC identity to SPIFFE in its second revision.
    _insert_agent(store, "spiffe-a", [OIDC, SPIFFE])
    _insert_agent(store, "oidc-b", [{**OIDC, "subject": "repo:org/other:main"}])
    _insert_agent(store, "glob-c", [GLOB])
    monkeypatch.undo()
    assert store.migrate() == [6]
    with store.read() as tx:
        rows = tx.query(
            "SELECT name, revision, manifest_json, workload_subject FROM agent_revisions "
            "ORDER BY name, revision"
        )
        held = [(name, revision, subject) for name, revision, _, subject in rows]
        assert held == [
            ("glob-c", 1, "*"),
            ("oidc-b", 1, "repo:org/other:main"),
            ("spiffe-a", 1, "repo:org/app:main"),
            ("spiffe-a", 2, "spiffe://demo.test/agents/a"),
        ]
        for _, _, manifest, subject in rows:  # the migration's SQL and the Python rule agree
            assert subject == workload_subject(json.loads(manifest)["spec"]["workloadIdentity"])
        # Only current revisions count, and patterns are candidates for every subject.
        found = agents_for_subject(tx, "spiffe://demo.test/agents/a")
        assert [name for name, _, _ in found] == ["glob-c", "spiffe-a"]
        assert [name for name, _, _ in agents_for_subject(tx, "repo:org/app:main")] == ["glob-c"]
        assert [name for name, _, _ in agents_for_subject(tx, 42)] == ["glob-c"]
    store.close()


def test_a_lookup_reads_the_candidates_not_every_manifest(store_url: str, tmp_path: Path) -> None:
    store = open_store(store_url, tmp_path)
    store.migrate()
    for i in range(50):
        _insert_agent(store, f"agent-{i:02d}", [])
    with store.write() as tx:
        for i in range(50):
            spec = {**SPIFFE, "spiffeId": f"spiffe://demo.test/agents/{i}"}
            tx.execute(
                "INSERT INTO agent_revisions (name, revision, manifest_json, manifest_sha256, "
                "identity_json, decision_json, outcome, created_by, created_at, "
                "workload_subject) VALUES (?, 1, ?, 'h', '{}', '{}', 'active', 't', 'x', ?)",
                (f"agent-{i:02d}", json.dumps({"spec": {"workloadIdentity": spec}}),
                 workload_subject(spec)),
            )  # fmt: skip
            tx.execute("UPDATE agents SET current_revision = 1 WHERE name = ?", (f"agent-{i:02d}",))
    with store.read() as tx:
        found = agents_for_subject(tx, "spiffe://demo.test/agents/7")
        assert [name for name, _, _ in found] == ["agent-07"]
        assert agents_for_subject(tx, "spiffe://demo.test/agents/none") == []
    store.close()
