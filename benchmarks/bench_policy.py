"""Policy decisions per second with the default policies (pre-parsed Cedar handles).

    python benchmarks/bench_policy.py [--n 2000]

Prints one line per scenario: decisions/s and p50/p95 latency. Not a test: no asserts on time.
"""

from __future__ import annotations

import argparse
import copy
import datetime as dt
import statistics
import time
from collections.abc import Callable
from pathlib import Path
from typing import Any

from nhictl.core.policy import PolicyEngine, agent_from_manifest, authorize_context, issue_context

ROOT = Path(__file__).resolve().parent.parent
POLICY_DIR = ROOT / "sample-configs" / "policies"
NOW = dt.datetime(2026, 12, 2, 12, 0, tzinfo=dt.UTC)

MANIFEST: dict[str, Any] = {
    "metadata": {"name": "invoice-reconciler", "owner": "team-finance", "sponsor": "a@example.com"},
    "spec": {
        "workloadIdentity": {"type": "spiffe"},
        "environments": ["prod"],
        "dataSensitivity": "confidential",
        "tools": ["ledger-api", "s3"],
        "intents": [{"name": "reconcile", "scopes": ["invoices:read", "reports:write"]}],
        "credentials": {"defaultTtl": "10m", "maxTtl": "15m"},
        "entitlements": {"aws": {"actions": ["s3:GetObject"], "resources": ["arn:aws:s3:::b/*"]}},
        "review": {"expires": "2099-01-01"},
    },
}


def measure(label: str, n: int, call: Callable[[int], object]) -> None:
    """Run ``call(i)`` n times (after a short warm-up) and print rate and latency percentiles."""
    for i in range(min(50, n)):
        call(i)
    samples: list[float] = []
    start = time.perf_counter()
    for i in range(n):
        t0 = time.perf_counter()
        call(i)
        samples.append(time.perf_counter() - t0)
    total = time.perf_counter() - start
    samples.sort()
    p50 = statistics.median(samples) * 1e6
    p95 = samples[int(len(samples) * 0.95) - 1] * 1e6
    print(f"{label:<58} {n / total:>9,.0f}/s   p50 {p50:>6.0f} us   p95 {p95:>6.0f} us")


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__)
    parser.add_argument("--n", type=int, default=2000, help="decisions per scenario")
    n = parser.parse_args().n

    t0 = time.perf_counter()
    engine = PolicyEngine.load([POLICY_DIR], ttl_ceiling_seconds=3600)
    load_ms = (time.perf_counter() - t0) * 1000
    print(f"loaded {len(engine.policies)} policies (parse + schema validation) in {load_ms:.1f} ms")

    agent = agent_from_manifest(MANIFEST, status="active")
    reg_ctx: dict[str, Any] = {
        "time": {"epochSeconds": int(NOW.timestamp()), "hour": 12, "weekday": 2}
    }
    issue_ctx = issue_context(
        task="t", intent="reconcile", scopes=["invoices:read"], data_sensitivity="confidential",
        environment="prod", tools=["s3"], ttl_seconds=600, agent_revision=1, now=NOW,
    )  # fmt: skip
    auth_ctx = authorize_context(
        task="t", intent="reconcile", scopes=["invoices:read"], data_sensitivity="confidential",
        environment="prod", tools=["s3"], agent_revision=1, action="invoices:read", now=NOW,
    )  # fmt: skip
    auth_attrs = dict(auth_ctx, attributes={"ticket": "CHG-1", "ip": "10.0.0.1"})
    assert engine.decide("register", agent, reg_ctx).allowed
    assert engine.decide("issue", agent, issue_ctx).allowed
    assert engine.decide("authorize", agent, auth_attrs).allowed

    manifests = []
    for i in range(n + 50):
        doc = copy.deepcopy(MANIFEST)
        doc["metadata"]["name"] = f"agent-{i}"
        manifests.append(doc)

    measure(
        "register decision (cached agent entities)",
        n,
        lambda i: engine.decide("register", agent, reg_ctx),
    )
    measure(
        "issue decision (cached agent entities)",
        n,
        lambda i: engine.decide("issue", agent, issue_ctx),
    )
    measure(
        "authorize decision, no request attributes",
        n,
        lambda i: engine.decide("authorize", agent, auth_ctx),
    )
    measure(
        "authorize decision, 2 request attributes (entity delta)",
        n,
        lambda i: engine.decide("authorize", agent, auth_attrs),
    )
    measure("decide_registration, new manifest each (build+parse+2 dec)", n,
            lambda i: engine.decide_registration(manifests[i], now=NOW))  # fmt: skip

    # The naive way, for contrast: policies and schema re-parsed on every call.
    import cedarpy

    from nhictl.core.policy.files import schema_text

    policy_text = "\n".join(p.read_text() for p in sorted(POLICY_DIR.glob("*.cedar")))
    schema = schema_text()
    request = {
        "principal": agent.uid,
        "action": {"type": "Action", "id": "issue"},
        "resource": agent.intent_uid("reconcile"),
        "context": dict(issue_ctx, ttlCeilingSeconds=3600),
    }

    def naive(_: int) -> object:
        return cedarpy.is_authorized(request, policy_text, agent.entities_json, schema)

    measure("issue via cedarpy with text policies+schema (re-parse)", max(n // 10, 50), naive)


if __name__ == "__main__":
    main()
