"""Authorize, revoke, task lifecycle, rebind, disable, status list (offline) and key rotation."""

from __future__ import annotations

import datetime as dt
import json
import os
import subprocess
import sys
from pathlib import Path

import pytest

from nhictl.core.credentials import CredentialService, IssueDenied
from nhictl.core.errors import InputError
from nhictl.core.keys import KeyStore
from nhictl.core.runtime import Runtime
from nhictl.core.tokens import TokenError, verify_offline
from tests.conftest import ROOT
from tests.credentials.support import (
    DEPLOYER,
    INVOICE,
    SUPPORT,
    Clock,
    audit_rows,
    invoice,
)

ISS = "urn:nhictl:registry"
AUD = "urn:nhictl:api"

# --------------------------------------------------------------------------- authorize


def test_authorize_allows_an_action_in_scope(service: CredentialService) -> None:
    issued = invoice(service)
    result = service.authorize(issued.token, action="invoices:read", resource="s3://invoices/1")
    assert result.allowed and result.policy_ids == ["authorize.baseline"]
    assert result.to_json()["decision"] == "allow"


def test_authorize_denies_outside_scope_and_audits(
    service: CredentialService, runtime: Runtime
) -> None:
    issued = invoice(service, scopes=["invoices:read"])
    result = service.authorize(issued.token, action="reports:write", attributes={"ticket": "T-1"})
    assert not result.allowed
    assert result.reason == "policy-denied"
    assert result.policy_ids == ["authorize.action-in-scopes"]
    [(subject, outcome, details)] = audit_rows(runtime, "credential.authorize")
    assert (subject, outcome) == (INVOICE, "denied")
    event = json.loads(details)
    assert event["action"] == "reports:write" and event["attributes"] == {"ticket": "T-1"}
    assert event["policy_ids"] == ["authorize.action-in-scopes"]


def test_authorize_scope_backstop_whatever_the_policy(lax_service: CredentialService) -> None:
    issued = invoice(lax_service, scopes=["invoices:read"])
    result = lax_service.authorize(issued.token, action="reports:write")
    assert not result.allowed and result.policy_ids == ["builtin.action-in-scopes"]
    assert lax_service.authorize(issued.token, action="invoices:read").allowed


def test_authorize_uses_request_context_in_policy(
    service: CredentialService, runtime: Runtime, home: Path
) -> None:
    (runtime.policy_dir / "tickets.cedar").write_text(
        '@id("org.ticket-for-writes")\n'
        '@reason("writes need a change ticket")\n'
        'forbid (principal, action == Action::"authorize", resource)\n'
        'when { context.actionIsWrite && !(context.attributes.hasTag("ticket") && '
        'context.attributes.getTag("ticket") like "CHG-*") };\n'
    )
    issued = invoice(service)
    denied = service.authorize(issued.token, action="reports:write")
    assert not denied.allowed and denied.policy_ids == ["org.ticket-for-writes"]
    allowed = service.authorize(
        issued.token, action="reports:write", attributes={"ticket": "CHG-7"}
    )
    assert allowed.allowed


def test_authorize_refuses_an_invalid_token_and_audits(
    service: CredentialService, runtime: Runtime
) -> None:
    issued = invoice(service)
    service.complete_task("INV-1")
    result = service.authorize(issued.token, action="invoices:read")
    assert not result.allowed and result.reason == "revoked"
    [(_, outcome, details)] = audit_rows(runtime, "credential.authorize")
    assert outcome == "denied" and json.loads(details)["reason"] == "revoked"


def test_authorize_after_manifest_revision_changed(
    service: CredentialService, runtime: Runtime
) -> None:
    issued = invoice(service)
    with runtime.store.write() as tx:  # as if the agent re-registered a new revision
        tx.execute(
            "INSERT INTO agent_revisions SELECT name, 2, manifest_json, manifest_sha256, "
            "identity_json, decision_json, outcome, created_by, created_at, workload_subject "
            "FROM agent_revisions WHERE name = ?",
            (INVOICE,),
        )
        tx.execute("UPDATE agents SET current_revision = 2 WHERE name = ?", (INVOICE,))
    result = service.authorize(issued.token, action="invoices:read")
    assert not result.allowed and result.policy_ids == ["authorize.revision-current"]


# --------------------------------------------------------------------------- revoke / tasks


def test_revoke_by_jti_agent_and_task_counts_and_is_idempotent(
    service: CredentialService, runtime: Runtime
) -> None:
    a = invoice(service, task="INV-1")
    b = invoice(service, task="INV-2")
    c = invoice(service, task="INV-2")
    d = service.issue(DEPLOYER, task="INV-2", intent="deploy-staging")
    assert service.revoke(jti=a.jti, reason="leaked").jtis == [a.jti]
    again = service.revoke(jti=a.jti, reason="leaked")
    assert (again.revoked, again.known, again.state) == (0, True, "revoked")
    by_task = service.revoke(task="INV-2", reason="task cancelled")
    assert sorted(by_task.jtis) == sorted([b.jti, c.jti, d.jti])
    assert service.revoke(task="INV-2", reason="again").revoked == 0
    e = invoice(service, task="INV-3")
    assert service.revoke(agent=INVOICE, reason="rotation").jtis == [e.jti]
    unknown = service.revoke(jti="no-such-jti", reason="typo", allow_none=True)
    assert (unknown.revoked, unknown.known) == (0, False)
    for cred in (a, b, c, d, e):
        assert service.verify(cred.token).reason == "revoked"
    record = service.get(b.jti)
    assert record is not None and record.revoked_reason == "task cancelled"
    assert record.state() == "revoked" and record.revoked_by
    events = audit_rows(runtime, "credential.revoke")
    # One event per affected agent per call, and one for each call that found nothing.
    assert [(s, json.loads(d)["revoked"]) for s, _, d in events] == [
        (INVOICE, 1),
        ("jti:" + a.jti, 0),
        (INVOICE, 2),
        (DEPLOYER, 1),
        ("task:INV-2", 0),
        (INVOICE, 1),
        ("jti:no-such-jti", 0),
    ]


def test_revoke_needs_one_selector_and_a_reason(service: CredentialService) -> None:
    with pytest.raises(InputError):
        service.revoke(reason="x")
    with pytest.raises(InputError):
        service.revoke(jti="a", agent="b", reason="x")
    with pytest.raises(InputError):
        service.revoke(jti="a", reason="   ")


def test_task_complete_and_fail(service: CredentialService, runtime: Runtime) -> None:
    done = invoice(service, task="INV-1")
    broken = invoice(service, task="INV-2")
    other = invoice(service, task="INV-3")
    assert service.complete_task("INV-1").jtis == [done.jti]
    assert service.fail_task("INV-2", reason="ledger timeout").jtis == [broken.jti]
    assert service.verify(done.token).reason == "revoked"
    assert service.verify(broken.token).reason == "revoked"
    assert service.verify(other.token).valid
    record = service.get(broken.jti)
    assert record is not None and record.revoked_reason == "task failed: ledger timeout"
    assert [o for _, o, _ in audit_rows(runtime, "task.complete")] == ["revoked"]
    assert [o for _, o, _ in audit_rows(runtime, "task.fail")] == ["revoked"]


def test_disable_revokes_every_live_credential_in_the_same_transaction(
    service: CredentialService, runtime: Runtime
) -> None:
    creds = [invoice(service, task=f"INV-{i}") for i in range(3)]
    keep = service.issue(SUPPORT, task="S-1", intent="summarize-ticket", environment="dev")
    runtime.registry.disable(INVOICE, reason="owner left")
    assert [service.verify(c.token).reason for c in creds] == ["revoked"] * 3
    assert service.verify(keep.token).valid
    [(subject, _, details)] = audit_rows(runtime, "agent.disable")
    event = json.loads(details)
    assert subject == INVOICE and event["revoked_credentials"] == 3
    assert sorted(event["revoked_jtis"]) == sorted(c.jti for c in creds)
    runtime.registry.enable(INVOICE)  # enabling does not bring credentials back
    assert [service.verify(c.token).reason for c in creds] == ["revoked"] * 3


def test_disable_revokes_even_if_the_caller_never_imported_credentials(
    service: CredentialService, home: Path
) -> None:
    issued = invoice(service)
    code = (
        "import sys\n"
        "from nhictl.core.runtime import Runtime\n"
        "assert 'nhictl.core.credentials' not in sys.modules\n"
        f"Runtime().registry.disable({INVOICE!r}, reason='from another process')\n"
    )
    env = {**os.environ, "NHICTL_HOME": str(home)}
    subprocess.run([sys.executable, "-c", code], check=True, cwd=ROOT, env=env, timeout=60)
    assert service.verify(issued.token).reason == "revoked"


# --------------------------------------------------------------------------- rebind


def test_rebind_revokes_old_and_issues_new_atomically(
    service: CredentialService, runtime: Runtime
) -> None:
    old = invoice(service, task="INV-1", scopes=["invoices:read"])
    new = service.rebind(old.jti, task="INV-1b")
    assert service.verify(old.token).reason == "revoked"
    assert service.verify(new.token, task="INV-1b").valid
    assert new.record.parent_jti == old.jti
    assert service.get(new.jti) == new.record
    assert new.record.scopes == ["invoices:read"] and new.record.ttl_seconds == 600
    old_rec = service.get(old.jti)
    assert old_rec is not None and old_rec.revoked_reason == f"rebound to task INV-1b as {new.jti}"
    [(_, outcome, details)] = audit_rows(runtime, "credential.rebind")
    assert outcome == "issued" and json.loads(details)["parent_jti"] == old.jti
    wider = service.rebind(new.jti, task="INV-1c", scopes=["invoices:read", "reports:write"])
    assert wider.record.scopes == ["invoices:read", "reports:write"]


def test_rebind_denied_changes_nothing(service: CredentialService, runtime: Runtime) -> None:
    old = invoice(service, task="INV-1", scopes=["invoices:read"])
    with pytest.raises(IssueDenied) as excinfo:
        service.rebind(old.jti, task="INV-2", scopes=["invoices:delete"])
    assert "issue.scopes-within-intent" in excinfo.value.policy_ids
    assert service.verify(old.token).valid
    assert [c.jti for c in service.list()] == [old.jti]
    assert [o for _, o, _ in audit_rows(runtime, "credential.rebind")] == ["denied"]


def test_rebind_cannot_resurrect_a_revoked_or_expired_credential(
    service: CredentialService, clock: Clock
) -> None:
    old = invoice(service, task="INV-1")
    service.revoke(jti=old.jti, reason="leaked")
    with pytest.raises(IssueDenied) as excinfo:
        service.rebind(old.jti, task="INV-2")
    assert excinfo.value.policy_ids == ["builtin.rebind-live-only"]
    stale = invoice(service, task="INV-3")
    clock.advance(minutes=11)
    with pytest.raises(IssueDenied):
        service.rebind(stale.jti, task="INV-4")
    with pytest.raises(InputError, match="no credential has jti 'nope'; nothing rebound"):
        service.rebind("nope", task="INV-5")
    assert len(service.list(active=True)) == 0


def test_rebind_respects_the_concurrency_cap(service: CredentialService) -> None:
    first = service.issue(DEPLOYER, task="D-1", intent="deploy-staging")
    service.issue(DEPLOYER, task="D-2", intent="deploy-staging")  # cap 2 reached
    moved = service.rebind(first.jti, task="D-1b")  # replaces, so the count stays 2
    assert moved.record.task == "D-1b"


# --------------------------------------------------------------------------- list


def test_list_filters_and_states(service: CredentialService, clock: Clock) -> None:
    a = invoice(service, task="INV-1")
    b = invoice(service, task="INV-2", ttl_seconds=60)
    c = service.issue(DEPLOYER, task="D-1", intent="deploy-staging")
    service.revoke(jti=a.jti, reason="x")
    clock.advance(minutes=2)
    assert [r.jti for r in service.list()] == [a.jti, b.jti, c.jti]
    assert [r.state(clock.now) for r in service.list()] == ["revoked", "expired", "active"]
    assert [r.jti for r in service.list(active=True)] == [c.jti]
    assert [r.jti for r in service.list(agent=INVOICE)] == [a.jti, b.jti]
    doc = service.list(task="D-1")[0].to_dict(clock.now)
    assert doc["status"] == "active" and "token_sha256" not in doc and "token" not in doc


# --------------------------------------------------------------------------- offline


def test_offline_verification_with_only_jwks_and_status_list(
    service: CredentialService, runtime: Runtime, clock: Clock
) -> None:
    a = invoice(service, task="INV-1")
    b = invoice(service, task="INV-2")
    jwks = service.jwks()
    status = service.status_list_token()
    for cred in (a, b):
        assert verify_offline(cred.token, jwks, status, issuer=ISS, audience=AUD, now=clock.now)
    # A token issued after the publication is inside the headroom and reads valid.
    c = invoice(service, task="INV-3")
    assert verify_offline(c.token, jwks, status, issuer=ISS, audience=AUD, now=clock.now)
    service.complete_task("INV-1")
    status = service.status_list_token()
    with pytest.raises(TokenError) as excinfo:
        verify_offline(a.token, jwks, status, issuer=ISS, audience=AUD, now=clock.now)
    assert excinfo.value.reason == "revoked"
    assert verify_offline(b.token, jwks, status, issuer=ISS, audience=AUD, now=clock.now)


def test_status_list_marks_credentials_of_inactive_agents(
    service: CredentialService, runtime: Runtime, clock: Clock
) -> None:
    a = invoice(service)
    with runtime.store.write() as tx:  # disabled without the revoking hook
        tx.execute("UPDATE agents SET status = 'disabled' WHERE name = ?", (INVOICE,))
    status = service.status_list_token()
    with pytest.raises(TokenError) as excinfo:
        verify_offline(a.token, service.jwks(), status, issuer=ISS, audience=AUD, now=clock.now)
    assert excinfo.value.reason == "revoked"


def test_status_list_expires(service: CredentialService, clock: Clock) -> None:
    a = invoice(service)
    status = service.status_list_token(lifetime=dt.timedelta(minutes=2))
    later = clock.now + dt.timedelta(minutes=4)
    with pytest.raises(TokenError) as excinfo:
        verify_offline(a.token, service.jwks(), status, issuer=ISS, audience=AUD, now=later)
    assert excinfo.value.reason == "status-list-invalid"


# --------------------------------------------------------------------------- key rotation


def test_key_rotation_keeps_old_tokens_valid_until_expiry(
    service: CredentialService, runtime: Runtime, clock: Clock
) -> None:
    old = invoice(service, task="INV-1")
    old_kid = runtime.keys.current().kid
    runtime.keys.rotate()
    service.key_cache.recheck()  # the cache re-stats at most once a second
    new = invoice(service, task="INV-2")
    new_kid = runtime.keys.current().kid
    assert new.record.kid == new_kid != old_kid
    jwks = service.jwks()
    assert [k["kid"] for k in jwks["keys"]] == [new_kid, old_kid]
    assert service.verify(old.token).valid and service.verify(new.token).valid
    status = service.status_list_token()  # signed by the new key
    for cred in (old, new):
        assert verify_offline(cred.token, jwks, status, issuer=ISS, audience=AUD, now=clock.now)


def test_retired_key_stays_published_for_the_longest_token_lifetime(home: Path) -> None:
    """The runtime ties the JWKS window to the TTL ceiling plus leeway (1h + 60s by default)."""
    rt = Runtime()
    assert rt.keys.max_token_lifetime == dt.timedelta(hours=1, seconds=60)
    retired_at = dt.datetime.now(dt.UTC)
    rt.keys.rotate()
    inside = KeyStore(
        rt.keys.keys_dir,
        max_token_lifetime=rt.keys.max_token_lifetime,
        clock=lambda: retired_at + dt.timedelta(minutes=59),
    )
    after = KeyStore(
        rt.keys.keys_dir,
        max_token_lifetime=rt.keys.max_token_lifetime,
        clock=lambda: retired_at + dt.timedelta(hours=1, minutes=2),
    )
    assert len(inside.public_jwks()["keys"]) == 2
    assert len(after.public_jwks()["keys"]) == 1
