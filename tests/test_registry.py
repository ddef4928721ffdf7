"""Registry core: identity-bound, policy-decided registration; lifecycle; audit; faults."""

from __future__ import annotations

import copy
import datetime as dt
import json
import sqlite3
from pathlib import Path
from typing import Any

import jwt
import pytest
from cryptography.hazmat.primitives import serialization
from cryptography.hazmat.primitives.asymmetric import ec

from nhictl.core import auditlog
from nhictl.core.errors import InputError, NotInitializedError, StoreError
from nhictl.core.identity.demo_idp import DemoSpiffeIdp
from nhictl.core.registry import RegistryError
from nhictl.core.runtime import Runtime
from nhictl.core.settings import load_settings
from tests.jwt_forge import forge, replace_payload
from tests.registry_fixtures import INVOICE, SUMMARIZER, TRUST_DOMAIN, Home, load_manifest
from tests.registry_fixtures import home as home


def events(home: Home, subject: str | None = None) -> list[auditlog.AuditEvent]:
    """Audit events after ``init``'s own ``registry.init`` event."""
    with home.runtime.store.read() as tx:
        found = auditlog.list_events(tx, subject=subject)
    return [e for e in found if e.action != "registry.init"]


def agent_count(home: Home) -> int:
    return len(home.runtime.registry.agents())


def test_register_pending_then_approve(home: Home) -> None:
    manifest = load_manifest(INVOICE)
    result = home.register(manifest)
    assert (result.outcome, result.status, result.revision) == (
        "pending-approval",
        "pending-approval",
        1,
    )
    assert "activate.prod-write-needs-approval" in result.policy_ids
    assert result.identity is not None
    assert result.identity["subject"] == manifest["spec"]["workloadIdentity"]["spiffeId"]
    registry = home.runtime.registry
    with pytest.raises(RegistryError, match="own sponsor cannot approve"):
        registry.approve("invoice-reconciler", by="alice@example.com")
    record = registry.approve("invoice-reconciler", by="sec@example.com")
    assert record.effective_status() == "active"
    assert record.approved_by == "sec@example.com" and record.approved_at
    actions = [(e.action, e.outcome) for e in events(home, "invoice-reconciler")]
    assert actions == [
        ("agent.register", "pending-approval"),
        ("agent.approve", "denied"),
        ("agent.approve", "active"),
    ]


def test_read_only_agent_is_active_at_once(home: Home) -> None:
    result = home.register(load_manifest(SUMMARIZER))
    assert result.outcome == "active"
    assert home.runtime.registry.get("support-summarizer").effective_status() == "active"


def test_unchanged_is_a_no_op_and_changes_make_revisions(home: Home) -> None:
    manifest = load_manifest(SUMMARIZER)
    home.register(manifest)
    before = len(events(home))
    again = home.register(copy.deepcopy(manifest))
    assert again.outcome == "unchanged" and again.revision == 1
    assert len(events(home)) == before
    changed = copy.deepcopy(manifest)
    changed["spec"]["credentials"]["maxTtl"] = "8m"
    changed["spec"]["tools"].append("kb-search")
    result = home.register(changed)
    assert (result.revision, result.previous_revision) == (2, 1)
    assert sorted(str(c) for c in result.changes) == [
        "~ $.spec.credentials.maxTtl: '10m' -> '8m'",
        "~ $.spec.tools: ['ticket-api'] -> ['ticket-api', 'kb-search']",
    ]
    registry = home.runtime.registry
    assert registry.revision("support-summarizer", 1).manifest == manifest
    assert registry.revision("support-summarizer").manifest == changed
    assert [r.revision for r in registry.revisions("support-summarizer")] == [1, 2]


def test_policy_denial_stores_only_the_audit_event(
    home: Home, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setenv("NHICTL_TTL_CEILING", "10m")
    home.runtime = Runtime(load_settings())  # a registry whose ceiling is 10m
    result = home.register(load_manifest(INVOICE))  # maxTtl 15m
    assert result.denied and "register.max-ttl-within-ceiling" in result.policy_ids
    assert agent_count(home) == 0
    [event] = events(home)
    assert (event.action, event.outcome, event.subject) == (
        "agent.register",
        "denied",
        "invoice-reconciler",
    )
    assert event.details["policy_ids"] == ["register.max-ttl-within-ceiling"]


def test_dry_run_stores_nothing(home: Home) -> None:
    result = home.register(load_manifest(SUMMARIZER), dry_run=True)
    assert result.outcome == "active" and result.dry_run
    assert agent_count(home) == 0 and events(home) == []


def _claims(home: Home, manifest: dict[str, Any], **changes: Any) -> dict[str, Any]:
    now = int(dt.datetime.now(dt.UTC).timestamp())
    identity = manifest["spec"]["workloadIdentity"]
    claims = {
        "sub": identity["spiffeId"],
        "aud": [identity["audience"]],
        "iat": now,
        "exp": now + 300,
    }
    claims.update(changes)
    return {k: v for k, v in claims.items() if v is not None}


def _idp_key(home: Home) -> Any:
    pem = home.idp.key_path.read_bytes()
    return serialization.load_pem_private_key(pem, password=None)


def _bad_tokens(home: Home, manifest: dict[str, Any]) -> dict[str, str]:
    key = _idp_key(home)
    kid = home.idp.kid
    header = {"alg": "ES256", "kid": kid, "typ": "JWT"}
    now = int(dt.datetime.now(dt.UTC).timestamp())
    other = ec.generate_private_key(ec.SECP256R1())
    public_pem = key.public_key().public_bytes(
        serialization.Encoding.PEM, serialization.PublicFormat.SubjectPublicKeyInfo
    )
    good = home.svid(manifest)
    return {
        "forged": forge(header, _claims(home, manifest), other),
        "expired": forge(header, _claims(home, manifest, iat=now - 900, exp=now - 600), key),
        "not-yet-valid": forge(header, _claims(home, manifest, nbf=now + 600), key),
        "wrong-audience": forge(header, _claims(home, manifest, aud=["someone-else"]), key),
        "wrong-subject": forge(
            header, _claims(home, manifest, sub=f"spiffe://{TRUST_DOMAIN}/ns/other/sa/x"), key
        ),
        "alg-none": forge({"alg": "none", "kid": kid}, _claims(home, manifest)),
        "hs256-public-key": forge(
            {"alg": "HS256", "kid": kid}, _claims(home, manifest), hmac_secret=public_pem
        ),
        "edited-payload": replace_payload(
            good, _claims(home, manifest, sub=f"spiffe://{TRUST_DOMAIN}/ns/admin/sa/root")
        ),
        "garbage": "not-a-token",
    }


@pytest.mark.parametrize(
    ("case", "reason"),
    [
        ("forged", "signature"),
        ("expired", "expired"),
        ("not-yet-valid", "not valid before"),
        ("wrong-audience", "audience"),
        ("wrong-subject", "SPIFFE ID is not"),
        ("alg-none", "alg"),
        ("hs256-public-key", "alg"),
        ("edited-payload", "signature"),
        ("garbage", "malformed|compact"),
    ],
)
def test_identity_failures_are_denials(home: Home, case: str, reason: str) -> None:
    manifest = load_manifest(SUMMARIZER)
    token = _bad_tokens(home, manifest)[case]
    result = home.runtime.registry.register(manifest, token=token, trust=home.trust)
    assert result.denied
    assert result.reasons[0].startswith("workload identity not verified:")
    import re

    assert re.search(reason, result.reasons[0], re.IGNORECASE), result.reasons[0]
    assert agent_count(home) == 0
    [event] = events(home)
    assert event.outcome == "denied" and "identity_error" in event.details
    assert token not in json.dumps(event.to_dict())


def test_token_from_another_trust_domain_is_denied(home: Home, tmp_path: Path) -> None:
    other = DemoSpiffeIdp(tmp_path / "other-idp", "evil.example.com")
    manifest = load_manifest(SUMMARIZER)
    token = other.mint("spiffe://evil.example.com/ns/support/sa/summarizer", "nhictl")
    assert home.runtime.registry.register(manifest, token=token, trust=home.trust).denied


def test_disable_enable_and_expiry(home: Home) -> None:
    registry = home.runtime.registry
    manifest = load_manifest(SUMMARIZER)
    home.register(manifest)
    registry.disable("support-summarizer", reason="incident 42")
    assert registry.get("support-summarizer").effective_status() == "disabled"
    # Re-registering a changed manifest must not undo the operator's stop.
    changed = copy.deepcopy(manifest)
    changed["spec"]["description"] = "changed"
    assert home.register(changed).status == "disabled"
    assert registry.enable("support-summarizer").effective_status() == "active"
    with pytest.raises(RegistryError, match="not disabled"):
        registry.enable("support-summarizer")
    with pytest.raises(InputError, match="--reason"):
        registry.disable("support-summarizer", reason=" ")
    record = registry.get("support-summarizer")
    past = dt.date.fromisoformat(record.review_expires) + dt.timedelta(days=1)
    assert record.effective_status(past) == "expired"


def test_expired_agent_reregisters_with_a_new_date(home: Home) -> None:
    registry = home.runtime.registry
    manifest = load_manifest(SUMMARIZER)
    home.register(manifest)
    with home.runtime.store.write() as tx:  # the review date passes
        tx.execute("UPDATE agents SET review_expires = '2020-01-01'")
    assert registry.get("support-summarizer").effective_status() == "expired"
    with pytest.raises(RegistryError, match="expired, not pending"):
        registry.approve("support-summarizer", by="x@example.com")


def test_unknown_agent(home: Home) -> None:
    with pytest.raises(InputError, match=r"no agent named 'ghost' is registered$"):
        home.runtime.registry.get("ghost")
    with pytest.raises(RegistryError, match="no revision 7"):
        home.register(load_manifest(SUMMARIZER))
        home.runtime.registry.revision("support-summarizer", 7)


def tamper(sql: str) -> None:
    """Someone with write access to the database, going around nhictl (and its audit log)."""
    runtime = Runtime()
    with runtime.store.write() as tx:
        tx.execute(sql)
    runtime.store.close()


def test_audit_chain_detects_edit_delete_and_reorder(home: Home) -> None:
    home.register(load_manifest(SUMMARIZER))
    home.register(load_manifest(INVOICE))
    home.runtime.registry.disable("support-summarizer", reason="test")
    with home.runtime.store.read() as tx:
        assert auditlog.verify(tx).ok
    home.runtime.store.close()

    def verify_after(sql: str) -> list[tuple[int, str]]:
        tamper(sql)
        fresh = Runtime()
        with fresh.store.read() as tx:
            report = auditlog.verify(tx)
        fresh.store.close()
        return [(p.seq, p.message) for p in report.problems]

    # seq 1 is init, 2 and 3 the registrations (3: invoice-reconciler, pending approval).
    edited = verify_after("UPDATE audit_events SET outcome = 'active' WHERE seq = 3")
    assert edited == [(3, "content does not match its hash (edited)")]
    verify_after("UPDATE audit_events SET outcome = 'pending-approval' WHERE seq = 3")
    deleted = verify_after("DELETE FROM audit_events WHERE seq = 3")
    assert (4, "events 3..3 are missing") in deleted
    assert (4, "does not link to the event before it (deleted or moved)") in deleted


def test_audit_log_refuses_tokens(home: Home) -> None:
    token = home.svid(load_manifest(SUMMARIZER))
    pem = "-----BEGIN PRIVATE KEY-----\nMC4CAQAwBQYDK2VwBCIEI\n-----END PRIVATE KEY-----"
    cases: list[tuple[str, dict[str, Any]]] = [
        ("y", {"t": token}),
        ("y", {"nested": {"note": f"see {token} here"}}),
        ("y", {"key": pem}),
        (token, {}),
    ]
    for subject, details in cases:
        with pytest.raises(ValueError, match="refusing"), home.runtime.store.write() as tx:
            auditlog.append(tx, action="x", subject=subject, outcome="z", details=details)
    assert events(home) == []


def test_the_store_links_events_as_verify_recomputes_them(home: Home) -> None:
    """The link hash is computed by the store (SQL on PostgreSQL, a registered function on
    SQLite); ``verify`` recomputes it in Python: the same bytes for any text."""
    awkward = ['quote " and \\ backslash', "é ü 漢字 🔑", "tab\tnew\nline\u0007", "", "x" * 3000]
    for n, text in enumerate(awkward):
        with home.runtime.store.write() as tx:
            auditlog.append(
                tx, action=f"t.{n}", subject=text or "s", outcome=text, details={"v": text}
            )
    with home.runtime.store.read() as tx:
        report = auditlog.verify(tx)
        newest = auditlog.head(tx)
    assert report.ok, report.problems
    assert newest is not None and newest.seq == report.head_seq and newest.hash == report.head
    assert [e.details for e in events(home)][-len(awkward) :] == [{"v": t} for t in awkward]


@pytest.mark.backends("sqlite")  # inspects or breaks the SQLite file itself
def test_no_token_or_key_in_the_store(home: Home) -> None:
    manifest = load_manifest(SUMMARIZER)
    token = home.svid(manifest)
    home.runtime.registry.register(manifest, token=token, trust=home.trust)
    home.runtime.store.close()
    raw = b"".join(p.read_bytes() for p in home.runtime.data_dir.glob("nhictl.db*"))
    for part in token.split("."):
        assert part.encode() not in raw
    assert b"PRIVATE KEY" not in raw


def test_not_initialised(isolated_env: Path) -> None:
    with pytest.raises(NotInitializedError) as info:
        Runtime().registry.agents()
    assert info.value.hint and "nhictl init" in info.value.hint


def test_init_is_idempotent(home: Home) -> None:
    again = Runtime().init()
    assert not again.store_created and not again.key_created and again.policies_copied == []
    key_file = next(home.runtime.settings.paths.keys_dir.glob("*.pem"))
    assert key_file.stat().st_mode & 0o777 == 0o600


def _make_read_only(paths: list[Path], *, read_only: bool) -> None:
    """chmod for normal users; root ignores modes, so as root use the immutable attribute."""
    import os
    import subprocess

    if os.geteuid() == 0:
        flag = "+i" if read_only else "-i"
        subprocess.run(["chattr", flag, *map(str, paths)], check=True)
    else:
        for path in paths:
            mode = (0o555 if path.is_dir() else 0o444) if read_only else 0o700
            path.chmod(mode)


@pytest.mark.backends("sqlite")  # inspects or breaks the SQLite file itself
def test_read_only_store_writes_nothing(home: Home, cli: Any) -> None:
    home.runtime.store.close()
    data = home.runtime.data_dir
    token = data.parent / "token"
    token.write_text(home.svid(load_manifest(SUMMARIZER)))
    targets = [*data.glob("nhictl.db*"), data]
    _make_read_only(targets, read_only=True)
    try:
        result = cli(
            "register",
            str(SUMMARIZER),
            "--identity-token",
            str(token),
            "--trust-bundle",
            str(home.bundle),
        )
    finally:
        _make_read_only(targets, read_only=False)
    assert result.code == 2, result.stderr
    assert "read-only" in result.stderr or "cannot open the store" in result.stderr
    assert "Traceback" not in result.stderr
    connection = sqlite3.connect(data / "nhictl.db")
    assert connection.execute("SELECT COUNT(*) FROM agents").fetchone() == (0,)
    # Only init's own event: the refused registration wrote nothing.
    assert connection.execute("SELECT action FROM audit_events").fetchall() == [("registry.init",)]
    connection.close()


@pytest.mark.backends("sqlite")  # inspects or breaks the SQLite file itself
def test_corrupt_store(home: Home) -> None:
    home.runtime.store.close()
    for path in home.runtime.data_dir.glob("nhictl.db*"):
        path.unlink()
    (home.runtime.data_dir / "nhictl.db").write_bytes(b"this is not a database" * 100)
    with pytest.raises(StoreError, match="corrupt"):
        Runtime().registry.agents()


def test_jwt_library_sanity() -> None:
    # The forge helper and PyJWT agree on what a valid ES256 token is.
    key = ec.generate_private_key(ec.SECP256R1())
    token = forge({"alg": "ES256", "kid": "k"}, {"a": 1}, key)
    assert jwt.decode(token, key.public_key(), algorithms=["ES256"]) == {"a": 1}


def test_crash_before_the_audit_event_leaves_nothing(
    home: Home, monkeypatch: pytest.MonkeyPatch
) -> None:
    """State change and audit event share one transaction: a failed event undoes the change."""

    def explode(*args: Any, **kwargs: Any) -> None:
        raise RuntimeError("simulated crash while writing the audit event")

    monkeypatch.setattr(auditlog, "append", explode)
    with pytest.raises(RuntimeError, match="simulated crash"):
        home.register(load_manifest(SUMMARIZER))
    monkeypatch.undo()
    assert agent_count(home) == 0
    with home.runtime.store.read() as tx:
        assert tx.query("SELECT COUNT(*) FROM agent_revisions") == [(0,)]
    assert events(home) == []
    # And the registry still works afterwards.
    assert home.register(load_manifest(SUMMARIZER)).outcome == "active"
