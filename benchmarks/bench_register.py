"""Benchmark registration: 1,000 agents through the core API, and a sample through the CLI.

Prints the per-registration cost and the share spent in identity verification, policy and
the store (everything else: manifest hashing, diffing, the audit event, SQLite commit).

    python benchmarks/bench_register.py [--agents 1000] [--cli-agents 30]
"""

from __future__ import annotations

import argparse
import copy
import os
import statistics
import subprocess
import sys
import tempfile
import time
from collections.abc import Callable
from pathlib import Path
from typing import Any

ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(ROOT))

from nhictl.core import identity as identity_module  # noqa: E402
from nhictl.core.identity import TrustSources  # noqa: E402
from nhictl.core.identity.demo_idp import DemoSpiffeIdp  # noqa: E402
from nhictl.core.runtime import Runtime  # noqa: E402
from nhictl.core.safeyaml import Limits, load_text  # noqa: E402

TEMPLATE = ROOT / "sample-configs" / "agents" / "support-summarizer.yaml"
TRUST_DOMAIN = "prod.example.com"


def manifests(count: int) -> list[dict[str, Any]]:
    base = load_text(str(TEMPLATE), TEMPLATE.read_text(), Limits(), as_json=False)[0].data
    out = []
    for i in range(count):
        item = copy.deepcopy(base)
        item["metadata"]["name"] = f"agent-{i:05d}"
        item["spec"]["workloadIdentity"]["spiffeId"] = f"spiffe://{TRUST_DOMAIN}/ns/bench/sa/a{i}"
        out.append(item)
    return out


class Timer:
    def __init__(self) -> None:
        self.seconds = 0.0

    def wrap(self, fn: Callable[..., Any]) -> Callable[..., Any]:
        def timed(*args: Any, **kwargs: Any) -> Any:
            start = time.perf_counter()
            try:
                return fn(*args, **kwargs)
            finally:
                self.seconds += time.perf_counter() - start

        return timed


def bench_core(count: int, home: Path) -> None:
    os.environ["NHICTL_HOME"] = str(home)
    runtime = Runtime()
    runtime.init()
    idp = DemoSpiffeIdp(home / "idp", TRUST_DOMAIN)
    trust = TrustSources.from_files(trust_bundle=idp.bundle_path)
    items = manifests(count)
    tokens = [idp.mint(m["spec"]["workloadIdentity"]["spiffeId"], "nhictl") for m in items]
    registry = runtime.registry
    engine = runtime.policies  # loaded once, outside the timing (a process loads it once)
    identity_timer, policy_timer = Timer(), Timer()
    identity_module.verify_identity = identity_timer.wrap(identity_module.verify_identity)
    engine.decide_registration = policy_timer.wrap(engine.decide_registration)  # type: ignore[method-assign]
    start = time.perf_counter()
    outcomes = [
        registry.register(m, token=t, trust=trust).outcome
        for m, t in zip(items, tokens, strict=True)
    ]
    total = time.perf_counter() - start
    assert outcomes.count("active") == count, set(outcomes)
    store = total - identity_timer.seconds - policy_timer.seconds
    per = total / count * 1000
    print(
        f"core API: {count} registrations in {total:.2f} s = {per:.2f} ms each "
        f"({count / total:,.0f}/s)"
    )
    for label, seconds in (
        ("identity verification", identity_timer.seconds),
        ("policy (Cedar)", policy_timer.seconds),
        ("store + audit + rest", store),
    ):
        print(f"  {label:<22} {seconds / count * 1000:6.2f} ms  {seconds / total:6.1%}")


def bench_cli(count: int, home: Path) -> None:
    env = {**os.environ, "NHICTL_HOME": str(home)}
    nhictl = [str(Path(sys.executable).parent / "nhictl")]
    subprocess.run([*nhictl, "init"], env=env, check=True, capture_output=True)
    idp = DemoSpiffeIdp(home / "idp", TRUST_DOMAIN)
    samples = []
    for i, manifest in enumerate(manifests(count)):
        path = home / f"m{i}.yaml"
        import yaml

        path.write_text(yaml.safe_dump(manifest))
        token = home / f"t{i}.jwt"
        token.write_text(idp.mint(manifest["spec"]["workloadIdentity"]["spiffeId"], "nhictl"))
        start = time.perf_counter()
        subprocess.run(
            [
                *nhictl,
                "register",
                str(path),
                "--identity-token",
                str(token),
                "--trust-bundle",
                str(idp.bundle_path),
            ],
            env=env,
            check=True,
            capture_output=True,
        )
        samples.append(time.perf_counter() - start)
    median = statistics.median(samples) * 1000
    print(
        f"CLI: {count} registrations, median {median:.0f} ms each (process start, imports, "
        f"policy load ~80 ms, verify, decide, store); 1,000 would take ~{median:.0f} s"
    )


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--agents", type=int, default=1000)
    parser.add_argument("--cli-agents", type=int, default=30)
    args = parser.parse_args()
    with tempfile.TemporaryDirectory(prefix="nhictl-bench-") as folder:
        bench_core(args.agents, Path(folder) / "core")
        if args.cli_agents:
            bench_cli(args.cli_agents, Path(folder) / "cli")


if __name__ == "__main__":
    main()
