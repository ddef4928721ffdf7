"""Durations and the manifest -> Cedar entity mapping (no policies involved)."""

from __future__ import annotations

import datetime as dt
import json
import subprocess
import sys
from typing import Any

import pytest
import yaml

from nhictl.core.durations import parse_duration
from nhictl.core.errors import InputError
from nhictl.core.policy import agent_from_manifest, authorize_context, is_write, issue_context

SAMPLE = """
apiVersion: nhictl.dev/v1
kind: AgentRegistration
metadata:
  name: invoice-reconciler
  owner: team-finance-platform
  sponsor: alice@example.com
  labels: {cost-center: "4411", tier: 1}
spec:
  description: Reconciles supplier invoices against the ledger every night.
  workloadIdentity:
    type: spiffe
    spiffeId: spiffe://prod.example.com/ns/finance/sa/invoice-reconciler
    audience: nhictl
  environments: [prod]
  dataSensitivity: confidential
  tools: [ledger-api, s3]
  intents:
    - name: reconcile-invoices
      description: Read invoices and write the reconciliation report.
      scopes: [invoices:read, reports:write]
    - name: read-ledger
      scopes: [ledger:read]
  credentials: {defaultTtl: 10m, maxTtl: 15m}
  entitlements:
    aws:
      roleArn: arn:aws:iam::123456789012:role/agents/invoice-reconciler
      actions: [s3:GetObject, s3:ListBucket, s3:PutObject]
      resources: ["arn:aws:s3:::invoices-prod", "arn:aws:s3:::invoices-prod/*"]
    gcp:
      serviceAccount: invoice-reconciler@finance-prod.iam.gserviceaccount.com
      roles: [roles/storage.objectViewer]
  review: {expires: 2027-06-30}
"""


def sample() -> dict[str, Any]:
    doc = yaml.safe_load(SAMPLE)
    assert isinstance(doc, dict)
    return doc


@pytest.mark.parametrize(
    ("text", "seconds"),
    [
        ("90s", 90),
        ("10m", 600),
        ("1h", 3600),
        ("1h30m", 5400),
        ("2d", 172800),
        ("1d2h3m4s", 93784),
        ("0s", 0),
        ("PT15M", 900),
        ("PT1H30M", 5400),
        ("P1D", 86400),
        ("P1DT1S", 86401),
        ("P2W", 1209600),
        (" 10m ", 600),
    ],
)
def test_parse_duration_accepts(text: str, seconds: int) -> None:
    assert parse_duration(text) == seconds


@pytest.mark.parametrize(
    "text",
    ["", "10", "m", "10x", "1.5h", "30m1h", "-5m", "1h 30m", "P", "PT", "P1Y", "P1M", "PT1H2",
     "1e3s", "10M", "\uff190s", "9" * 40 + "s", "99999999d"],
)  # fmt: skip
def test_parse_duration_rejects(text: str) -> None:
    with pytest.raises(InputError):
        parse_duration(text)


def test_parse_duration_rejects_non_strings() -> None:
    with pytest.raises(InputError):
        parse_duration(600)  # type: ignore[arg-type]


def test_sample_manifest_maps_to_typed_attributes() -> None:
    agent = agent_from_manifest(sample(), status="active", revision=3)
    attrs = agent.attrs
    assert attrs["owner"] == "team-finance-platform"
    assert attrs["sponsor"] == "alice@example.com"
    assert attrs["identityType"] == "spiffe"
    assert attrs["environments"] == ["prod"]
    assert (attrs["sensitivity"], attrs["sensitivityRank"]) == ("confidential", 2)
    assert attrs["tools"] == ["ledger-api", "s3"]
    assert attrs["intents"] == ["read-ledger", "reconcile-invoices"]
    assert attrs["scopes"] == ["invoices:read", "ledger:read", "reports:write"]
    assert (attrs["defaultTtlSeconds"], attrs["maxTtlSeconds"]) == (600, 900)
    assert attrs["hasWriteScopes"] is True
    # `invoices-prod/*` is object-level scoping, not a wildcard entitlement.
    assert attrs["hasWildcardEntitlements"] is False
    assert attrs["hasPrimitiveRoles"] is False
    assert attrs["entitlementProviders"] == ["aws", "gcp"]
    assert attrs["reviewExpiresAt"] == int(dt.datetime(2027, 7, 1, tzinfo=dt.UTC).timestamp())
    assert (attrs["status"], attrs["revision"]) == ("active", 3)
    assert agent.labels == {"cost-center": "4411", "tier": "1"}
    entities = {e["uid"]["type"] + ":" + e["uid"]["id"]: e for e in json.loads(agent.entities_json)}
    assert entities["Agent:invoice-reconciler"]["parents"] == [
        {"type": "Team", "id": "team-finance-platform"}
    ]
    intent = entities["Intent:invoice-reconciler/read-ledger"]
    assert intent["attrs"]["readOnly"] is True
    assert intent["parents"] == [{"type": "Agent", "id": "invoice-reconciler"}]
    assert entities["Intent:invoice-reconciler/reconcile-invoices"]["attrs"]["readOnly"] is False


def test_optional_fields_are_omitted_not_empty() -> None:
    doc = sample()
    del doc["metadata"]["owner"], doc["metadata"]["sponsor"], doc["spec"]["review"]
    attrs = agent_from_manifest(doc).attrs
    assert "owner" not in attrs
    assert "sponsor" not in attrs
    assert "reviewExpiresAt" not in attrs


def test_wildcard_and_primitive_roles_are_detected() -> None:
    doc = sample()
    doc["spec"]["entitlements"]["aws"]["actions"] = ["s3:*"]
    doc["spec"]["entitlements"]["azure"] = {"roles": ["Contributor"]}
    attrs = agent_from_manifest(doc).attrs
    assert attrs["hasWildcardEntitlements"] is True
    assert attrs["hasPrimitiveRoles"] is True


@pytest.mark.parametrize(
    ("mutate", "message"),
    [
        (lambda d: d["metadata"].pop("name"), "metadata.name"),
        (lambda d: d["spec"]["credentials"].update(maxTtl="forever"), "maxTtl"),
        (lambda d: d["spec"].update(dataSensitivity="secret"), "unknown data sensitivity"),
        (lambda d: d["spec"].update(environments="prod"), "spec.environments"),
        (lambda d: d["spec"]["intents"].append({"name": "read-ledger"}), "twice"),
        (lambda d: d["spec"]["review"].update(expires="someday"), "not a date"),
    ],
)
def test_malformed_manifest_is_input_error(mutate: Any, message: str) -> None:
    doc = sample()
    mutate(doc)
    with pytest.raises(InputError, match=message):
        agent_from_manifest(doc)


def test_unknown_status_or_revision_is_input_error() -> None:
    with pytest.raises(InputError):
        agent_from_manifest(sample(), status="approved")
    with pytest.raises(InputError):
        agent_from_manifest(sample(), revision=0)


@pytest.mark.parametrize(
    ("scope", "write"),
    [
        ("reports:write", True),
        ("s3:PutObject", True),
        ("invoices:*", True),
        ("repo.delete", True),
        ("invoices:read", False),
        ("s3:GetObject", False),
        ("ledger:list", False),
    ],
)
def test_is_write(scope: str, write: bool) -> None:
    assert is_write(scope) is write


def test_context_builders_compute_ranks_time_and_write_flag() -> None:
    now = dt.datetime(2026, 12, 5, 21, 30, tzinfo=dt.UTC)  # a Saturday
    ctx = issue_context(
        task="t", intent="i", scopes=["b", "a", "a"], data_sensitivity="restricted",
        environment="prod", tools=[], ttl_seconds=60, agent_revision=1, now=now,
    )  # fmt: skip
    assert ctx["scopes"] == ["a", "b"]
    assert ctx["sensitivityRank"] == 3
    assert ctx["time"] == {"epochSeconds": int(now.timestamp()), "hour": 21, "weekday": 5}
    assert "onBehalfOf" not in ctx
    auth = authorize_context(
        task="t", intent="i", scopes=["x:write"], data_sensitivity="public", environment="dev",
        tools=[], agent_revision=1, action="x:write", on_behalf_of="bob@example.com",
    )  # fmt: skip
    assert auth["actionIsWrite"] is True
    assert auth["onBehalfOf"] == "bob@example.com"
    with pytest.raises(InputError):
        issue_context(
            task="t", intent="i", scopes=[], data_sensitivity="top-secret", environment="dev",
            tools=[], ttl_seconds=1, agent_revision=1,
        )  # fmt: skip


def test_importing_the_package_does_not_import_cedarpy() -> None:
    code = "import sys, nhictl, nhictl.core, nhictl.core.policy; print('cedarpy' in sys.modules)"
    out = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, check=True)
    assert out.stdout.strip() == "False"
