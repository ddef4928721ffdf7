"""Real Cedar decisions with the default policies in sample-configs/policies/."""

from __future__ import annotations

import copy
import datetime as dt
from collections.abc import Callable
from pathlib import Path
from typing import Any

import pytest

from nhictl.core.policy import (
    AgentEntity,
    PolicyEngine,
    agent_from_manifest,
    authorize_context,
    issue_context,
)

POLICY_DIR = Path(__file__).resolve().parent.parent / "sample-configs" / "policies"
WEEKDAY_NOON = dt.datetime(2026, 12, 2, 12, 0, tzinfo=dt.UTC)  # Wednesday
SATURDAY_NIGHT = dt.datetime(2026, 12, 5, 23, 0, tzinfo=dt.UTC)

BASE: dict[str, Any] = {
    "apiVersion": "nhictl.dev/v1",
    "kind": "AgentRegistration",
    "metadata": {
        "name": "invoice-reconciler",
        "owner": "team-finance-platform",
        "sponsor": "alice@example.com",
        "labels": {"cost-center": "4411"},
    },
    "spec": {
        "workloadIdentity": {
            "type": "spiffe",
            "spiffeId": "spiffe://prod.example.com/ns/finance/sa/invoice-reconciler",
            "audience": "nhictl",
        },
        "environments": ["prod"],
        "dataSensitivity": "confidential",
        "tools": ["ledger-api", "s3"],
        "intents": [
            {"name": "reconcile-invoices", "scopes": ["invoices:read", "reports:write"]},
            {"name": "read-ledger", "scopes": ["ledger:read"]},
        ],
        "credentials": {"defaultTtl": "10m", "maxTtl": "15m"},
        "entitlements": {
            "aws": {
                "actions": ["s3:GetObject", "s3:PutObject"],
                "resources": ["arn:aws:s3:::invoices-prod/*"],
            }
        },
        "review": {"expires": "2099-06-30"},
    },
}


def manifest(**spec: Any) -> dict[str, Any]:
    doc = copy.deepcopy(BASE)
    doc["spec"].update(spec)
    return doc


@pytest.fixture(scope="module")
def engine() -> PolicyEngine:
    return PolicyEngine.load([POLICY_DIR], ttl_ceiling_seconds=3600)


@pytest.fixture
def agent() -> AgentEntity:
    return agent_from_manifest(BASE, status="active", revision=2)


def issue(**over: Any) -> dict[str, Any]:
    args: dict[str, Any] = {
        "task": "task-1",
        "intent": "reconcile-invoices",
        "scopes": ["invoices:read"],
        "data_sensitivity": "confidential",
        "environment": "prod",
        "tools": ["s3"],
        "ttl_seconds": 600,
        "agent_revision": 2,
        "now": WEEKDAY_NOON,
    }
    args.update(over)
    return issue_context(**args)


def authz(**over: Any) -> dict[str, Any]:
    args: dict[str, Any] = {
        "task": "task-1",
        "intent": "reconcile-invoices",
        "scopes": ["invoices:read", "reports:write"],
        "data_sensitivity": "confidential",
        "environment": "prod",
        "tools": ["s3"],
        "agent_revision": 2,
        "action": "invoices:read",
        "resource": "s3://invoices-prod/2026/11.csv",
        "now": WEEKDAY_NOON,
    }
    args.update(over)
    return authorize_context(**args)


# -- registration ------------------------------------------------------------------------------


def test_prod_with_write_scopes_is_pending_approval(engine: PolicyEngine) -> None:
    result = engine.decide_registration(BASE, now=WEEKDAY_NOON)
    assert result.outcome == "pending-approval"
    assert result.register.allowed
    assert result.policy_ids == ["activate.prod-write-needs-approval"]
    assert result.reasons == ["agents with write scopes in prod need a human approval"]


def test_read_only_dev_agent_is_active(engine: PolicyEngine) -> None:
    doc = manifest(environments=["dev"], intents=[{"name": "read", "scopes": ["ledger:read"]}])
    result = engine.decide_registration(doc, now=WEEKDAY_NOON)
    assert result.outcome == "active"
    assert result.activate is not None
    assert result.activate.policy_ids == ["activate.baseline"]


@pytest.mark.parametrize(
    ("spec", "policy_id"),
    [
        ({"dataSensitivity": "restricted", "environments": ["dev"]},
         "activate.restricted-data-needs-approval"),
        ({"intents": [{"name": "r", "scopes": ["a:read"]}],
          "entitlements": {"aws": {"actions": ["s3:*"], "resources": ["*"]}}},
         "activate.prod-wildcard-needs-approval"),
        ({"intents": [{"name": "r", "scopes": ["a:read"]}],
          "entitlements": {"gcp": {"roles": ["roles/editor"]}}},
         "activate.prod-primitive-role-needs-approval"),
    ],
)  # fmt: skip
def test_rules_that_need_a_human(
    engine: PolicyEngine, spec: dict[str, Any], policy_id: str
) -> None:
    result = engine.decide_registration(manifest(**spec), now=WEEKDAY_NOON)
    assert result.outcome == "pending-approval"
    assert result.policy_ids == [policy_id]


def test_wildcards_outside_prod_need_no_approval(engine: PolicyEngine) -> None:
    doc = manifest(
        environments=["staging"],
        intents=[{"name": "r", "scopes": ["a:read"]}],
        entitlements={"aws": {"actions": ["s3:*"]}},
    )
    assert engine.decide_registration(doc, now=WEEKDAY_NOON).outcome == "active"


@pytest.mark.parametrize(
    ("mutate", "policy_id"),
    [
        (lambda d: d["metadata"].pop("owner"), "register.owner-required"),
        (lambda d: d["metadata"].pop("sponsor"), "register.sponsor-required"),
        (lambda d: d["spec"]["credentials"].update(maxTtl="2h", defaultTtl="1h"),
         "register.max-ttl-within-ceiling"),
        (lambda d: d["spec"]["credentials"].update(defaultTtl="20m"),
         "register.default-ttl-within-max"),
        (lambda d: d["spec"]["review"].update(expires="2026-01-31"), "register.review-not-expired"),
    ],
)  # fmt: skip
def test_registration_denied(engine: PolicyEngine, mutate: Any, policy_id: str) -> None:
    doc = copy.deepcopy(BASE)
    mutate(doc)
    result = engine.decide_registration(doc, now=WEEKDAY_NOON)
    assert result.outcome == "denied"
    assert result.activate is None
    assert result.policy_ids == [policy_id]
    assert result.reasons and result.reasons[0] == engine.policies[policy_id].reason


def test_ceiling_comes_from_the_engine(agent: AgentEntity) -> None:
    tight = PolicyEngine.load([POLICY_DIR], ttl_ceiling_seconds=600)  # below maxTtl 15m
    result = tight.decide_registration(BASE, now=WEEKDAY_NOON)
    assert result.outcome == "denied"
    assert result.policy_ids == ["register.max-ttl-within-ceiling"]
    # A caller cannot widen the ceiling through the context.
    ctx = issue(ttl_seconds=900)
    ctx["ttlCeilingSeconds"] = 10**6
    decision = tight.decide("issue", agent, ctx)
    assert not decision.allowed
    assert decision.policy_ids == ["issue.ttl-within-ceiling"]


# -- issuance ----------------------------------------------------------------------------------


def test_issue_within_registration_is_allowed(engine: PolicyEngine, agent: AgentEntity) -> None:
    decision = engine.decide("issue", agent, issue())
    assert decision.allowed
    assert decision.decision == "allow"
    assert decision.policy_ids == ["issue.baseline"]
    assert decision.errors == []


@pytest.mark.parametrize(
    ("over", "policy_id"),
    [
        ({"scopes": ["invoices:read", "ledger:read"]}, "issue.scopes-within-intent"),
        ({"scopes": []}, "issue.scopes-required"),
        ({"ttl_seconds": 0}, "issue.ttl-positive"),
        ({"ttl_seconds": 901}, "issue.ttl-within-agent-max"),
        ({"data_sensitivity": "restricted"}, "issue.sensitivity-within-ceiling"),
        ({"environment": "staging"}, "issue.environment-declared"),
        ({"tools": ["s3", "github"]}, "issue.tools-declared"),
        ({"agent_revision": 1}, "issue.revision-current"),
    ],
)
def test_issue_denied_by_one_rule(
    engine: PolicyEngine, agent: AgentEntity, over: dict[str, Any], policy_id: str
) -> None:
    decision = engine.decide("issue", agent, issue(**over))
    assert not decision.allowed
    assert decision.decision == "deny"
    assert decision.policy_ids == [policy_id]
    assert decision.reasons == [engine.policies[policy_id].reason]


def test_issue_for_undeclared_intent_is_denied(engine: PolicyEngine, agent: AgentEntity) -> None:
    decision = engine.decide("issue", agent, issue(intent="drop-tables"))
    assert not decision.allowed
    assert decision.policy_ids == ["issue.intent-declared"]


@pytest.mark.parametrize("status", ["new", "pending-approval", "disabled", "expired"])
def test_issue_requires_an_active_agent(engine: PolicyEngine, status: str) -> None:
    pending = agent_from_manifest(BASE, status=status, revision=2)
    decision = engine.decide("issue", pending, issue())
    assert not decision.allowed
    assert decision.policy_ids == ["issue.agent-active"]


def test_prod_restricted_needs_oncall_window_or_delegation(engine: PolicyEngine) -> None:
    restricted = agent_from_manifest(manifest(dataSensitivity="restricted"), status="active")
    base = {"data_sensitivity": "restricted", "agent_revision": 1}
    assert engine.decide("issue", restricted, issue(**base)).allowed
    night = engine.decide("issue", restricted, issue(**base, now=SATURDAY_NIGHT))
    assert not night.allowed
    assert night.policy_ids == ["issue.prod-restricted-oncall-or-delegated"]
    delegated = issue(**base, now=SATURDAY_NIGHT, on_behalf_of="alice@example.com")
    assert engine.decide("issue", restricted, delegated).allowed
    # Confidential data is not affected by the window.
    assert engine.decide("issue", restricted, issue(agent_revision=1, now=SATURDAY_NIGHT)).allowed


# -- context that does not match the schema is a deny ---------------------------------------------


@pytest.mark.parametrize(
    "change",
    [
        lambda c: c.pop("environment"),
        lambda c: c.pop("ttlSeconds"),
        lambda c: c.update(ttlSeconds="600"),
        lambda c: c.update(scopes="invoices:read"),
        lambda c: c.update(unexpected=True),
        lambda c: c.update(ttlSeconds=2**70),
    ],
)
def test_bad_issue_context_is_deny(engine: PolicyEngine, agent: AgentEntity, change: Any) -> None:
    ctx = issue()
    change(ctx)
    decision = engine.decide("issue", agent, ctx)
    assert not decision.allowed
    assert decision.errors
    assert decision.reasons[0].startswith("denied:")


def test_missing_intent_is_deny(engine: PolicyEngine, agent: AgentEntity) -> None:
    ctx = issue()
    del ctx["intent"]
    decision = engine.decide("issue", agent, ctx)
    assert not decision.allowed
    assert "intent" in decision.reasons[0]


# -- per-action authorization ---------------------------------------------------------------------


def test_authorize_action_in_scope(engine: PolicyEngine, agent: AgentEntity) -> None:
    decision = engine.decide("authorize", agent, authz(attributes={"ticket": "CHG-1"}))
    assert decision.allowed
    assert decision.policy_ids == ["authorize.baseline"]


@pytest.mark.parametrize(
    ("over", "policy_ids"),
    [
        ({"action": "invoices:delete"}, ["authorize.action-in-scopes"]),
        ({"agent_revision": 1}, ["authorize.revision-current"]),
        ({"environment": "dev"}, ["authorize.environment-declared"]),
        ({"scopes": ["invoices:read", "ledger:read"]}, ["authorize.scopes-within-intent"]),
        ({"intent": "read-ledger", "scopes": ["ledger:read", "ledger:write"],
          "action": "ledger:write"},
         ["authorize.read-only-intent", "authorize.scopes-within-intent"]),
        ({"intent": "exfiltrate"}, ["authorize.intent-declared"]),
    ],
)  # fmt: skip
def test_authorize_denied(
    engine: PolicyEngine, agent: AgentEntity, over: dict[str, Any], policy_ids: list[str]
) -> None:
    decision = engine.decide("authorize", agent, authz(**over))
    assert not decision.allowed
    assert decision.policy_ids == policy_ids


def test_authorize_restricted_prod_write_needs_delegation(engine: PolicyEngine) -> None:
    restricted = agent_from_manifest(manifest(dataSensitivity="restricted"), status="active")
    ctx = {"data_sensitivity": "restricted", "agent_revision": 1, "action": "reports:write"}
    denied = engine.decide("authorize", restricted, authz(**ctx))
    assert denied.policy_ids == ["authorize.prod-restricted-write-delegated"]
    delegated = authz(**ctx, on_behalf_of="alice@example.com")
    assert engine.decide("authorize", restricted, delegated).allowed
    assert engine.decide(
        "authorize", restricted, authz(**{**ctx, "action": "invoices:read"})
    ).allowed


def test_authorize_for_disabled_agent_is_denied(engine: PolicyEngine) -> None:
    disabled = agent_from_manifest(BASE, status="disabled", revision=2)
    decision = engine.decide("authorize", disabled, authz())
    assert decision.policy_ids == ["authorize.agent-active"]


def test_authorize_attributes_must_be_strings(engine: PolicyEngine, agent: AgentEntity) -> None:
    ctx = authz()
    ctx["attributes"] = {"ticket": 42}
    decision = engine.decide("authorize", agent, ctx)
    assert not decision.allowed
    assert decision.errors


def test_engine_accepts_the_same_agent_many_times(engine: PolicyEngine, agent: AgentEntity) -> None:
    # The parsed-entities cache must not leak request attributes from one call into the next.
    with_ticket = engine.decide("authorize", agent, authz(attributes={"ticket": "CHG-1"}))
    without = engine.decide("authorize", agent, authz())
    assert with_ticket.allowed and without.allowed


def test_decisions_serialise_to_stable_json(engine: PolicyEngine, agent: AgentEntity) -> None:
    decision = engine.decide("issue", agent, issue(ttl_seconds=901))
    assert decision.to_dict() == {
        "action": "issue",
        "decision": "deny",
        "allowed": False,
        "policy_ids": ["issue.ttl-within-agent-max"],
        "reasons": ["the requested TTL exceeds the agent's maxTtl"],
        "errors": [],
    }
    registration = engine.decide_registration(BASE, now=WEEKDAY_NOON).to_dict()
    assert registration["outcome"] == "pending-approval"
    assert registration["agent"] == "invoice-reconciler"
    assert registration["register"]["decision"] == "allow"
    assert registration["activate"]["policy_ids"] == ["activate.prod-write-needs-approval"]


# -- the schema shortcut: a validated request shape skips re-validation, nothing else -------------


def test_schema_shortcut_never_admits_a_bad_shape(agent: AgentEntity) -> None:
    warm = PolicyEngine.load([POLICY_DIR], ttl_ceiling_seconds=3600)
    assert warm.decide("issue", agent, issue()).allowed  # this shape is now known valid
    changes: list[Callable[[dict[str, Any]], Any]] = [
        lambda c: c.pop("environment"),
        lambda c: c.update(ttlSeconds="600"),
        lambda c: c.update(tools=[1]),
        lambda c: c.update(unexpected=True),
        lambda c: c.update(ttlSeconds=2**70),
    ]
    for change in changes:
        ctx = issue()
        change(ctx)
        decision = warm.decide("issue", agent, ctx)
        assert not decision.allowed and decision.errors, ctx


def test_schema_shortcut_decides_like_full_validation(agent: AgentEntity) -> None:
    warm = PolicyEngine.load([POLICY_DIR], ttl_ceiling_seconds=3600)
    warm.decide("issue", agent, issue())
    warm.decide("authorize", agent, authz())
    cases = [
        ("issue", issue()),
        ("issue", issue(ttl_seconds=99_999)),
        ("issue", issue(scopes=["reports:delete"])),
        ("issue", issue(environment="dev")),
        ("issue", issue(data_sensitivity="restricted")),
        ("authorize", authz(action="reports:delete")),
        ("authorize", authz(attributes={"ticket": "CHG-9"})),
    ]
    for action, ctx in cases:
        cold = PolicyEngine.load([POLICY_DIR], ttl_ceiling_seconds=3600)  # validates in full
        assert warm.decide(action, agent, dict(ctx)) == cold.decide(action, agent, dict(ctx))


def test_request_shape() -> None:
    from nhictl.core.policy.engine import request_shape

    assert request_shape(True) == "bool" and request_shape(1) == "long"
    assert request_shape(2**64) is None and request_shape(1.5) is None
    assert request_shape({"a": ["x", "y"]}) == ("record", (("a", ("set", frozenset({"string"}))),))
    assert request_shape({"a": [1, "x"]}) != request_shape({"a": ["x"]})
    assert request_shape({"__entity": {"type": "Attributes", "id": "x"}}) == (
        "entity",
        "Attributes",
    )
    # Exact types take a fast path; subclasses and other containers must get the same shapes.
    from collections import OrderedDict

    class Text(str):
        pass

    assert request_shape(Text("x")) == request_shape("x") == "string"
    assert request_shape(-(2**63)) == "long" and request_shape(-(2**63) - 1) is None
    assert request_shape(("x", "y")) == request_shape(["y", "x"])
    assert request_shape(OrderedDict(b=[1], a=True)) == request_shape({"a": False, "b": [2]})
    assert request_shape({"a": [2**64]}) is None and request_shape([1.5]) is None


def test_per_action_policy_sets_decide_as_the_whole_set(
    engine: PolicyEngine, agent: AgentEntity, monkeypatch: pytest.MonkeyPatch
) -> None:
    # An engine whose every action sees every policy: what one whole policy set decides.
    from nhictl.core.policy import engine as engine_module

    monkeypatch.setattr(engine_module, "actions_in_scope", lambda est: set(engine_module.ACTIONS))
    whole = PolicyEngine.load([POLICY_DIR], ttl_ceiling_seconds=3600)
    monkeypatch.undo()
    requests: list[tuple[str, dict[str, Any]]] = [
        ("issue", issue()),
        ("issue", issue(ttl_seconds=901)),
        ("issue", issue(intent="undeclared")),
        ("issue", issue(data_sensitivity="restricted", now=SATURDAY_NIGHT)),
        ("issue", issue(environment="dev", scopes=["ledger:read"], intent="read-ledger")),
        ("authorize", authz()),
        ("authorize", authz(action="invoices:delete")),
        ("authorize", authz(resource="s3://elsewhere/x", attributes={"ticket": "CHG-1"})),
    ]
    for action, context in requests:
        assert engine.decide(action, agent, context) == whole.decide(action, agent, context)
    for doc in (
        BASE,
        manifest(environments=["dev"]),
        manifest(entitlements={"aws": {"actions": ["*"], "resources": ["*"]}}),
        manifest(review={"expires": "2020-01-01"}),
    ):
        got = engine.decide_registration(doc, now=WEEKDAY_NOON)
        assert got == whole.decide_registration(doc, now=WEEKDAY_NOON)
