"""JIT credential throughput through the core API with SQLite, next to raw PyJWT; concurrency.

    python benchmarks/bench_credentials.py [--n 2000] [--rounds 3] [--processes 8] [--ops 200]

* issue/s: ``CredentialService.issue`` end to end (write transaction, live-credential count,
  Cedar ``issue`` decision, guards, status-list index, signing, insert, audit event, commit).
* verify/s: ``CredentialService.verify`` of distinct tokens (signature and claims per RFC 8725,
  then the store: jti, token hash, revocation, agent state).
* The raw floor is PyJWT alone with the same key and claims (``jwt.encode`` / ``jwt.decode``).
* Concurrency: N processes issue and revoke at once against one SQLite store; afterwards every
  credential, revocation and audit event is accounted for and the audit chain verifies.

Not a test: no assertions on timing. ``concurrency_check`` is also run (smaller) by the tests.
"""

from __future__ import annotations

import argparse
import multiprocessing
import os
import tempfile
import time
from dataclasses import dataclass, field
from datetime import UTC, datetime
from pathlib import Path
from typing import Any

import jwt

# Many agents with a few hundred live credentials each, as in a real registry (the live-credential
# count for the concurrency cap walks one agent's index range).
BENCH_AGENTS = 16
TRUST_DOMAIN = "bench.example.com"


def manifest(name: str, *, cap: int = 1000) -> dict[str, Any]:
    """A dev, read-only agent that registers as active without approval."""
    return {
        "apiVersion": "nhictl.dev/v1",
        "kind": "AgentRegistration",
        "metadata": {"name": name, "owner": "team-bench", "sponsor": "bench@example.com"},
        "spec": {
            "workloadIdentity": {
                "type": "spiffe",
                "spiffeId": f"spiffe://{TRUST_DOMAIN}/agents/{name}",
                "audience": "nhictl",
            },
            "environments": ["dev"],
            "dataSensitivity": "internal",
            "tools": ["ticket-api"],
            "intents": [{"name": "read-tickets", "scopes": ["tickets:read", "tickets:list"]}],
            "credentials": {"defaultTtl": "10m", "maxTtl": "15m", "maxConcurrentCredentials": cap},
            "review": {"expires": "2099-12-31"},
        },
    }


def setup_home(home: Path, agents: int = BENCH_AGENTS, *, cap: int = 1000) -> list[str]:
    """Initialise ``home`` (store, key, policies) and register ``agents`` bench agents."""
    os.environ["NHICTL_HOME"] = str(home)
    from nhictl.core.identity import TrustSources
    from nhictl.core.identity.demo_idp import DemoSpiffeIdp
    from nhictl.core.runtime import Runtime

    runtime = Runtime()
    runtime.init()
    idp = DemoSpiffeIdp(home / "demo-idp", TRUST_DOMAIN)
    trust = TrustSources.from_files(trust_bundle=idp.bundle_path)
    names = [f"bench-{i}" for i in range(agents)]
    for name in names:
        doc = manifest(name, cap=cap)
        token = idp.mint(doc["spec"]["workloadIdentity"]["spiffeId"], "nhictl")
        result = runtime.registry.register(doc, token=token, trust=trust)
        if result.outcome != "active":
            raise SystemExit(f"bench agent {name} registered as {result.outcome}")
    runtime.store.close()
    return names


# --------------------------------------------------------------------------- throughput


def _rate(count: int, seconds: float) -> float:
    return count / seconds if seconds > 0 else float("inf")


def throughput(n: int, rounds: int) -> None:
    from nhictl.core.runtime import Runtime

    with tempfile.TemporaryDirectory() as tmp:
        names = setup_home(Path(tmp))
        runtime = Runtime()
        service = runtime.credentials
        service.issue(names[0], task="warm-up", intent="read-tickets")  # loads policies, key
        best_issue = best_verify = 0.0
        tokens: list[str] = []
        for r in range(rounds):
            start = time.perf_counter()
            tokens = [
                service.issue(names[i % len(names)], task=f"r{r}-t{i}", intent="read-tickets").token
                for i in range(n)
            ]
            best_issue = max(best_issue, _rate(n, time.perf_counter() - start))
            start = time.perf_counter()
            for token in tokens:
                if not service.verify(token).valid:
                    raise SystemExit("a fresh token did not verify")
            best_verify = max(best_verify, _rate(n, time.perf_counter() - start))
            for name in names:  # not timed: free the concurrency cap for the next round
                service.revoke(agent=name, reason="benchmark round done")

        key = runtime.keys.current()
        public = key.private_key.public_key()
        claims = jwt.decode(tokens[0], options={"verify_signature": False})
        header = {"typ": "at+jwt", "kid": key.kid}
        raw_issue = raw_verify = 0.0
        for _ in range(rounds):
            start = time.perf_counter()
            raw_tokens = [
                jwt.encode({**claims, "jti": f"j{i}"}, key.private_key, key.alg, header)
                for i in range(n)
            ]
            raw_issue = max(raw_issue, _rate(n, time.perf_counter() - start))
            start = time.perf_counter()
            for token in raw_tokens:
                jwt.decode(
                    token,
                    public,
                    algorithms=[key.alg],
                    audience=service.default_audience,
                    issuer=service.issuer,
                )
            raw_verify = max(raw_verify, _rate(n, time.perf_counter() - start))
        runtime.store.close()
    print(f"key {key.alg}, n={n}, best of {rounds} rounds, SQLite store (WAL)")
    print(
        f"issue   nhictl {best_issue:8.0f}/s   raw PyJWT sign   {raw_issue:8.0f}/s   "
        f"ratio {best_issue / raw_issue:.2f}   (target >= 1000/s)"
    )
    print(
        f"verify  nhictl {best_verify:8.0f}/s   raw PyJWT verify {raw_verify:8.0f}/s   "
        f"ratio {best_verify / raw_verify:.2f}   (target >= 3000/s)"
    )


# --------------------------------------------------------------------------- concurrency


@dataclass
class WorkerResult:
    issued: list[str] = field(default_factory=list)
    revoked: list[str] = field(default_factory=list)
    errors: list[str] = field(default_factory=list)


def _worker(home: str, worker: int, ops: int, agents: list[str], start: Any) -> WorkerResult:
    """Issue ``ops`` credentials; revoke every other one by jti and every fifth task."""
    os.environ["NHICTL_HOME"] = home
    from nhictl.core.runtime import Runtime

    service = Runtime().credentials
    service.policies  # noqa: B018 - load the policies before the start line
    out = WorkerResult()
    start.wait()
    for i in range(ops):
        try:
            task = f"w{worker}-t{i}"
            issued = service.issue(
                agents[(worker + i) % len(agents)], task=task, intent="read-tickets"
            )
            out.issued.append(issued.jti)
            if i % 2 == 0:
                out.revoked += service.revoke(jti=issued.jti, reason="concurrency check").jtis
            elif i % 5 == 0:
                out.revoked += service.complete_task(task).jtis
        except Exception as exc:  # every failure is a finding, not a crash
            out.errors.append(f"{type(exc).__name__}: {exc}")
    return out


def _run_worker(args: tuple[str, int, int, list[str], Any]) -> WorkerResult:
    return _worker(*args)


@dataclass
class ConcurrencyReport:
    processes: int
    ops: int
    seconds: float
    issued: int
    revoked: int
    errors: list[str]
    problems: list[str]

    @property
    def ok(self) -> bool:
        return not self.errors and not self.problems


def concurrency_check(home: Path, processes: int = 8, ops: int = 50) -> ConcurrencyReport:
    """``processes`` workers issue and revoke at once; then check nothing was lost."""
    agents = setup_home(home)
    ctx = multiprocessing.get_context("spawn")
    with ctx.Manager() as manager:
        start = manager.Barrier(processes)
        began = time.perf_counter()
        with ctx.Pool(processes) as pool:
            results = pool.map(
                _run_worker, [(str(home), w, ops, agents, start) for w in range(processes)]
            )
        seconds = time.perf_counter() - began
    return _check_store(home, processes, ops, seconds, results)


def _check_store(
    home: Path, processes: int, ops: int, seconds: float, results: list[WorkerResult]
) -> ConcurrencyReport:
    from nhictl.core import auditlog
    from nhictl.core.runtime import Runtime

    os.environ["NHICTL_HOME"] = str(home)
    issued = [j for r in results for j in r.issued]
    revoked = {j for r in results for j in r.revoked}
    errors = [e for r in results for e in r.errors]
    problems: list[str] = []
    store = Runtime().store
    with store.read() as tx:
        rows = tx.query("SELECT jti, status, status_idx FROM credentials")
        chain = auditlog.verify(tx)
        issue_events = tx.one(
            "SELECT COUNT(*) FROM audit_events WHERE action = ? AND outcome = ?",
            ("credential.issue", "issued"),
        )
    store.close()
    stored = {r[0]: r[1] for r in rows}
    if len(issued) != len(set(issued)):
        problems.append("a jti was handed out twice")
    missing = [j for j in issued if j not in stored]
    if missing:
        problems.append(f"{len(missing)} issued credential(s) are not in the store")
    if len(stored) != len(issued):
        problems.append(f"store holds {len(stored)} credentials, workers issued {len(issued)}")
    wrong = [j for j in issued if (stored.get(j) == "revoked") != (j in revoked)]
    if wrong:
        problems.append(f"{len(wrong)} credential(s) have the wrong revocation state")
    # Unique, not contiguous: each issuing process reserves indexes ahead (gaps when it exits).
    indexes = [int(r[2]) for r in rows]
    if len(set(indexes)) != len(indexes):
        problems.append("a status list index was handed out twice")
    if not chain.ok:
        problems.append(f"audit chain broken: {chain.problems[0].message}")
    if issue_events is None or int(issue_events[0]) != len(issued):
        problems.append("issue audit events do not match the credentials issued")
    return ConcurrencyReport(processes, ops, seconds, len(issued), len(revoked), errors, problems)


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0] if __doc__ else None)
    parser.add_argument("--n", type=int, default=2000, help="credentials per round")
    parser.add_argument("--rounds", type=int, default=3)
    parser.add_argument("--processes", type=int, default=8)
    parser.add_argument("--ops", type=int, default=200, help="issues per process")
    parser.add_argument("--skip-throughput", action="store_true")
    args = parser.parse_args()
    if not args.skip_throughput:
        throughput(args.n, args.rounds)
    with tempfile.TemporaryDirectory() as tmp:
        report = concurrency_check(Path(tmp), args.processes, args.ops)
    print(
        f"concurrency: {report.processes} processes x {report.ops} issues (+ revokes) in "
        f"{report.seconds:.1f}s: {report.issued} issued, {report.revoked} revoked, "
        f"{len(report.errors)} errors, {'OK' if not report.problems else report.problems}"
    )
    for error in report.errors[:5]:
        print("  error:", error)
    if not report.ok:
        raise SystemExit(1)
    print(f"(run at {datetime.now(UTC).isoformat(timespec='seconds')})")


if __name__ == "__main__":
    main()
