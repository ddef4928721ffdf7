"""Issuing JIT credentials: token shape, what is stored, defaults, and every widening attempt.

Each widening check is tested twice: under the default Cedar policies (the denial names the
policy id) and under a permit-everything policy (``lax_service``), where only the built-in guard
stands, so removing either layer's check fails a test.
"""

from __future__ import annotations

import json
from pathlib import Path
from typing import Any

import jwt
import pytest

from nhictl.core.credentials import CredentialService, IssueDenied
from nhictl.core.errors import InputError
from nhictl.core.runtime import Runtime
from tests.credentials.support import (
    DEPLOYER,
    DEPLOYER_ID,
    INVOICE,
    INVOICE_ID,
    PENDING,
    SUPPORT,
    SUPPORT_ID,
    Clock,
    audit_rows,
    invoice,
)


def denied(fn: Any, *args: Any, **kwargs: Any) -> IssueDenied:
    with pytest.raises(IssueDenied) as excinfo:
        fn(*args, **kwargs)
    return excinfo.value


# --------------------------------------------------------------------------- the token


def test_issued_token_is_rfc9068_with_task_context(
    service: CredentialService, runtime: Runtime, clock: Clock
) -> None:
    issued = invoice(service, scopes=["invoices:read"], ttl_seconds=300)
    header = jwt.get_unverified_header(issued.token)
    assert header == {"alg": "EdDSA", "typ": "at+jwt", "kid": runtime.keys.current().kid}
    claims = jwt.decode(issued.token, options={"verify_signature": False})
    iat = int(clock.now.timestamp())
    assert claims == {
        "iss": "urn:nhictl:registry",
        "sub": INVOICE_ID,
        "aud": "urn:nhictl:api",
        "iat": iat,
        "nbf": iat,
        "exp": iat + 300,
        "jti": issued.jti,
        "client_id": INVOICE,
        "scope": "invoices:read",
        "txn": "INV-1",
        "tctx": {
            "intent": "reconcile-invoices",
            "data_sensitivity": "confidential",
            "environment": "prod",
            "tools": [],
        },
        "status": {"status_list": {"idx": 0, "uri": "urn:nhictl:status-list:1"}},
    }
    assert issued.to_json() == {
        "token": issued.token,
        "jti": issued.jti,
        "agent": INVOICE,
        "task": "INV-1",
        "scopes": ["invoices:read"],
        "expires_at": issued.record.expires_at,
    }


def test_settings_choose_issuer_audience_and_status_uri(
    home: Path, monkeypatch: pytest.MonkeyPatch, clock: Clock
) -> None:
    monkeypatch.setenv("NHICTL_ISSUER", "https://nhictl.example/registry")
    monkeypatch.setenv("NHICTL_TOKEN_AUDIENCE", "https://ledger.example")
    monkeypatch.setenv("NHICTL_STATUS_LIST_URI", "https://nhictl.example/status/1")
    rt = Runtime()
    issued = invoice(rt.credentials)
    claims = jwt.decode(issued.token, options={"verify_signature": False})
    assert claims["iss"] == "https://nhictl.example/registry"
    assert claims["aud"] == "https://ledger.example"
    assert claims["status"]["status_list"]["uri"] == "https://nhictl.example/status/1"
    assert rt.credentials.verify(issued.token).valid
    rt.store.close()


def test_store_and_audit_keep_the_hash_never_the_token(
    service: CredentialService, runtime: Runtime, home: Path
) -> None:
    issued = invoice(service)
    record = service.get(issued.jti)
    assert record is not None
    assert record.token_sha256 == issued.record.token_sha256
    assert record.agent == INVOICE and record.task == "INV-1" and record.agent_revision == 1
    assert record.decision["policy_ids"] == ["issue.baseline"]
    # The record handed back is built in memory: it must be exactly what the store holds.
    assert record == issued.record
    assert "token" not in repr(issued) and issued.token not in repr(issued)
    runtime.store.close()
    signature = issued.token.split(".")[2].encode()
    for path in home.rglob("*"):
        if path.is_file():
            assert signature not in path.read_bytes(), f"token signature found in {path}"
    [(subject, outcome, details)] = audit_rows(runtime, "credential.issue")
    assert (subject, outcome) == (INVOICE, "issued")
    assert json.loads(details)["jti"] == issued.jti


def test_defaults_come_from_manifest_and_intent(service: CredentialService) -> None:
    issued = invoice(service)
    rec = issued.record
    assert rec.scopes == ["invoices:read", "reports:write"]  # the intent's scopes
    assert rec.ttl_seconds == 600  # defaultTtl 10m
    assert (rec.environment, rec.data_sensitivity, rec.tools) == ("prod", "confidential", [])
    deploy = service.issue(DEPLOYER, task="D-1", intent="deploy-staging")
    assert deploy.record.tools == ["deploy-api", "artifact-store"]  # intent-level tools
    assert deploy.record.subject == DEPLOYER_ID


def test_environment_must_be_named_when_several_are_declared(service: CredentialService) -> None:
    with pytest.raises(InputError, match="--env"):
        service.issue(SUPPORT, task="S-1", intent="summarize-ticket")
    issued = service.issue(SUPPORT, task="S-1", intent="summarize-ticket", environment="dev")
    assert issued.record.environment == "dev"


@pytest.mark.parametrize(
    "bad",
    [
        {"task": ""},
        {"task": "has space"},
        {"task": "x" * 300},
        {"task": "eyJhbGciOiJFZERTQSJ9.eyJzdWIiOiJ4In0.sig"},
        {"scopes": ["two words"]},
        {"ttl_seconds": 0},
        {"data_sensitivity": "top-secret"},
        {"on_behalf_of": "user:a b"},
    ],
)
def test_malformed_requests_are_input_errors(service: CredentialService, bad: Any) -> None:
    args: dict[str, Any] = {"task": "T-1", "intent": "reconcile-invoices", **bad}
    with pytest.raises(InputError):
        service.issue(INVOICE, **args)
    assert service.list() == []


# --------------------------------------------------------------------------- agent state


def test_unregistered_pending_disabled_and_expired_agents_get_nothing(
    service: CredentialService, runtime: Runtime, clock: Clock
) -> None:
    exc = denied(service.issue, "nobody", task="T", intent="x")
    assert exc.policy_ids == ["builtin.agent-registered"]
    exc = denied(service.issue, PENDING, task="T", intent="reconcile-invoices")
    assert exc.policy_ids == ["builtin.agent-active"] and "pending-approval" in exc.message
    runtime.registry.disable(SUPPORT, reason="incident 12")
    exc = denied(service.issue, SUPPORT, task="T", intent="summarize-ticket", environment="dev")
    assert exc.policy_ids == ["builtin.agent-active"] and "disabled" in exc.message
    clock.now = clock.now.replace(year=2027, month=7, day=1)  # review.expires 2027-06-30
    exc = denied(invoice, service)
    assert exc.policy_ids == ["builtin.agent-active"] and "expired" in exc.message
    assert service.list() == []
    outcomes = [(s, o) for s, o, _ in audit_rows(runtime, "credential.issue")]
    assert outcomes == [
        ("nobody", "denied"),
        (PENDING, "denied"),
        (SUPPORT, "denied"),
        (INVOICE, "denied"),
    ]


def test_agent_state_is_checked_even_when_policy_permits_all(
    lax_service: CredentialService,
) -> None:
    exc = denied(lax_service.issue, PENDING, task="T", intent="reconcile-invoices")
    assert exc.policy_ids == ["builtin.agent-active"]


# --------------------------------------------------------------------------- widening


WIDENING: list[tuple[str, dict[str, Any], str, str]] = [
    (
        "scope outside intent",
        {"scopes": ["invoices:read", "invoices:delete"]},
        "issue.scopes-within-intent",
        "builtin.scopes-within-intent",
    ),
    (
        "TTL above maxTtl",
        {"ttl_seconds": 16 * 60},
        "issue.ttl-within-agent-max",
        "builtin.ttl-within-agent-max",
    ),
    (
        "sensitivity above ceiling",
        {"data_sensitivity": "restricted"},
        "issue.sensitivity-within-ceiling",
        "builtin.sensitivity-within-ceiling",
    ),
    (
        "tool outside reach",
        {"tools": ["s3", "github"]},
        "issue.tools-declared",
        "builtin.tools-declared",
    ),
    (
        "environment not declared",
        {"environment": "staging"},
        "issue.environment-declared",
        "builtin.environment-declared",
    ),
    (
        "undeclared intent",
        {"intent": "pay-invoices"},
        "issue.intent-declared",
        "builtin.intent-declared",
    ),
    ("no scope", {"scopes": []}, "issue.scopes-required", "builtin.scopes-required"),
]


@pytest.mark.parametrize(("what", "ask", "policy_id", "builtin_id"), WIDENING)
def test_widening_is_denied_by_default_policy(
    service: CredentialService,
    runtime: Runtime,
    what: str,
    ask: dict[str, Any],
    policy_id: str,
    builtin_id: str,
) -> None:
    exc = denied(invoice, service, **ask)
    assert policy_id in exc.policy_ids, (what, exc.policy_ids)
    assert exc.reason == "policy-denied" and exc.exit_code == 1
    assert policy_id in str(exc)
    assert service.list() == []
    [(_, outcome, details)] = audit_rows(runtime, "credential.issue")
    assert outcome == "denied" and policy_id in json.loads(details)["policy_ids"]


@pytest.mark.parametrize(("what", "ask", "policy_id", "builtin_id"), WIDENING)
def test_widening_is_denied_by_builtin_guard_whatever_the_policy(
    lax_service: CredentialService, what: str, ask: dict[str, Any], policy_id: str, builtin_id: str
) -> None:
    exc = denied(invoice, lax_service, **ask)
    assert builtin_id in exc.policy_ids, (what, exc.policy_ids)
    assert exc.reason == "guard-denied"
    assert lax_service.list() == []


def test_ttl_above_registry_ceiling(
    home: Path, monkeypatch: pytest.MonkeyPatch, clock: Clock, tmp_path: Path
) -> None:
    # A ceiling below the manifest's maxTtl (15m): the ceiling wins, in policy and in the guard.
    monkeypatch.setenv("NHICTL_TTL_CEILING", "5m")
    rt = Runtime()
    strict = CredentialService.from_settings(
        rt.store, rt.keys, lambda: rt.policies, rt.settings, clock=clock
    )
    exc = denied(invoice, strict, ttl_seconds=6 * 60)
    assert "issue.ttl-within-ceiling" in exc.policy_ids
    (tmp_path / "lax").mkdir()
    (tmp_path / "lax" / "all.cedar").write_text('@id("all") permit (principal, action, resource);')
    from nhictl.core.policy import PolicyEngine

    lax = CredentialService.from_settings(
        rt.store,
        rt.keys,
        PolicyEngine.load([tmp_path / "lax"], ttl_ceiling_seconds=3600),
        rt.settings,
        clock=clock,
    )
    exc = denied(invoice, lax, ttl_seconds=6 * 60)
    assert exc.policy_ids == ["builtin.ttl-within-ceiling"]
    assert invoice(strict, ttl_seconds=5 * 60).record.ttl_seconds == 300
    rt.store.close()


def test_audience_must_be_declared(
    service: CredentialService, lax_service: CredentialService
) -> None:
    for svc in (service, lax_service):
        exc = denied(invoice, svc, audience="https://elsewhere.example")
        assert exc.policy_ids == ["builtin.audience-declared"]


def test_intent_sensitivity_ceiling_is_narrower(
    lax_service: CredentialService, runtime: Runtime, home: Path
) -> None:
    # An intent may lower the agent's ceiling; requests are held to the lower one.
    with runtime.store.write() as tx:
        row = tx.one("SELECT manifest_json FROM agent_revisions WHERE name = ?", (INVOICE,))
        assert row is not None
        doc = json.loads(row[0])
        doc["spec"]["intents"][0]["dataSensitivity"] = "internal"
        tx.execute(
            "UPDATE agent_revisions SET manifest_json = ? WHERE name = ?",
            (json.dumps(doc), INVOICE),
        )
    assert invoice(lax_service).record.data_sensitivity == "internal"
    exc = denied(invoice, lax_service, task="INV-2", data_sensitivity="confidential")
    assert exc.policy_ids == ["builtin.sensitivity-within-ceiling"]


# --------------------------------------------------------------------------- delegation


def test_on_behalf_of_sets_act_and_needs_declared_subject_and_consent(
    service: CredentialService,
) -> None:
    ok = service.issue(
        SUPPORT,
        task="S-1",
        intent="summarize-ticket",
        environment="dev",
        on_behalf_of="user:ann@example.com",
        consent="CONSENT-1",
    )
    claims = jwt.decode(ok.token, options={"verify_signature": False})
    assert claims["sub"] == "user:ann@example.com"
    assert claims["act"] == {"sub": SUPPORT_ID}
    assert service.verify(ok.token).valid
    base = {"task": "S-2", "intent": "summarize-ticket", "environment": "dev"}
    exc = denied(service.issue, SUPPORT, on_behalf_of="user:ann@example.com", **base)
    assert exc.policy_ids == ["builtin.consent-required"]
    for subject in (
        "user:mallory@evil.test",
        "user:x@evil.test@example.com",
        "svc:ann@example.com",
    ):
        exc = denied(service.issue, SUPPORT, on_behalf_of=subject, consent="C-1", **base)
        assert exc.policy_ids == ["builtin.on-behalf-of-declared"], subject
    # An agent without spec.onBehalfOf may not act for anyone.
    exc = denied(invoice, service, on_behalf_of="user:ann@example.com", consent="C-1")
    assert "builtin.on-behalf-of-declared" in exc.policy_ids


# --------------------------------------------------------------------------- concurrency cap


def test_max_concurrent_credentials_from_manifest(service: CredentialService, clock: Clock) -> None:
    first = service.issue(DEPLOYER, task="D-1", intent="deploy-staging")
    service.issue(DEPLOYER, task="D-2", intent="deploy-staging")
    exc = denied(service.issue, DEPLOYER, task="D-3", intent="deploy-staging")
    assert exc.policy_ids == ["builtin.max-concurrent-credentials"]
    service.revoke(jti=first.jti, reason="done")
    service.issue(DEPLOYER, task="D-3", intent="deploy-staging")  # a slot is free again
    clock.advance(minutes=6)  # defaultTtl 5m: both live ones have expired
    service.issue(DEPLOYER, task="D-4", intent="deploy-staging")
    service.issue(DEPLOYER, task="D-5", intent="deploy-staging")


def test_default_cap_comes_from_settings(
    home: Path, monkeypatch: pytest.MonkeyPatch, clock: Clock
) -> None:
    monkeypatch.setenv("NHICTL_MAX_CONCURRENT_CREDENTIALS", "1")
    rt = Runtime()
    svc = CredentialService.from_settings(
        rt.store, rt.keys, lambda: rt.policies, rt.settings, clock=clock
    )
    invoice(svc)
    exc = denied(invoice, svc, task="INV-2")
    assert exc.policy_ids == ["builtin.max-concurrent-credentials"]
    rt.store.close()


def test_cap_holds_under_racing_issuers(home: Path, clock: Clock) -> None:
    """Eight threads, each with its own store connection, race for a cap of 2."""
    import threading

    results: list[str] = []
    barrier = threading.Barrier(8)

    def worker(n: int) -> None:
        rt = Runtime()
        svc = rt.credentials
        svc.policies  # noqa: B018 - load before the race
        barrier.wait()
        try:
            svc.issue(DEPLOYER, task=f"race-{n}", intent="deploy-staging")
            results.append("issued")
        except IssueDenied as exc:
            results.append(exc.policy_ids[0])
        finally:
            rt.store.close()

    threads = [threading.Thread(target=worker, args=(n,)) for n in range(8)]
    for t in threads:
        t.start()
    for t in threads:
        t.join()
    assert sorted(results) == ["builtin.max-concurrent-credentials"] * 6 + ["issued"] * 2


def test_status_indexes_are_unique_and_sequential(service: CredentialService) -> None:
    indexes = [invoice(service, task=f"INV-{i}").record.status_idx for i in range(3)]
    indexes.append(service.issue(DEPLOYER, task="D-1", intent="deploy-staging").record.status_idx)
    assert indexes == [0, 1, 2, 3]
