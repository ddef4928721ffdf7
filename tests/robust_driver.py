"""The processes the robustness tests start (concurrency, crash, disk full), and their checks.

Run as ``python -m tests.robust_driver crash SEED`` the module is the child the crash test kills:
it registers, issues and revokes in a loop until killed. The store is the one ``NHICTL_HOME`` /
``NHICTL_STORE`` select, as for any nhictl process. Everything goes through the public API
(``Runtime``, ``CredentialService``, ``Registry``), the same calls the CLI makes.
"""

from __future__ import annotations

import json
import os
import random
import sys
from collections.abc import Sequence
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from benchmarks.bench_credentials import TRUST_DOMAIN, manifest

INTENT = "read-tickets"
#: Revoke-type audit actions and the agent actions that revoke an agent's credentials.
REVOKE_ACTIONS = ("credential.revoke", "task.complete", "task.fail", "credential.rebind")
#: Registration outcomes that stored no revision.
NO_REVISION = ("denied", "unchanged")


def prepare(home: Path, agents: int = 4) -> list[str]:
    """Initialise the store ``NHICTL_HOME``/``NHICTL_STORE`` select; register dev agents that
    need no approval and may hold thousands of live credentials."""
    from nhictl.core.runtime import Runtime

    runtime = Runtime()
    runtime.init()
    names = [f"robust-{i}" for i in range(agents)]
    for name in names:
        result = register(runtime, home, name)
        if result.outcome != "active":
            raise RuntimeError(f"agent {name} registered as {result.outcome}")
    runtime.store.close()
    return names


def register(runtime: Any, home: Path, name: str, tools: Sequence[str] = ("ticket-api",)) -> Any:
    """Register (or revise, when ``tools`` differ) agent ``name`` with a fresh JWT-SVID."""
    from nhictl.core.identity import TrustSources
    from nhictl.core.identity.demo_idp import DemoSpiffeIdp

    idp = DemoSpiffeIdp(home / "demo-idp", TRUST_DOMAIN)
    trust = TrustSources.from_files(trust_bundle=idp.bundle_path)
    doc = manifest(name, cap=100_000)
    doc["spec"]["tools"] = list(tools)
    token = idp.mint(doc["spec"]["workloadIdentity"]["spiffeId"], "nhictl")
    return runtime.registry.register(doc, token=token, trust=trust)


# --------------------------------------------------------------------------- concurrency


def probe_task(k: int) -> str:
    """The task of revocation probe ``k``."""
    return f"probe-{k}"


@dataclass(frozen=True)
class WorkerPlan:
    home: str
    store: str
    worker: int
    ops: int
    agents: list[str]
    #: The credentials the revoker revokes one by one, signalling after each.
    probes: list[str]
    revoker: bool


@dataclass
class WorkerReport:
    worker: int
    issued: list[str] = field(default_factory=list)
    revoked: list[str] = field(default_factory=list)
    #: A verdict that was not what the state says (a fresh token refused, a revoked one accepted).
    wrong: list[str] = field(default_factory=list)
    #: Exceptions that reached this caller (a lock error would be one).
    errors: list[str] = field(default_factory=list)
    #: How many revocation signals this process checked after seeing them.
    signals_checked: int = 0


def concurrency_worker(plan: WorkerPlan, start: Any, signals: Sequence[Any]) -> WorkerReport:
    """Issue, verify and revoke ``plan.ops`` times; the revoker also revokes the probes, setting
    ``signals[k]`` after probe ``k`` is revoked; every process verifies each probe as soon as it
    sees its signal, and that verify must see the revocation."""
    os.environ["NHICTL_HOME"] = plan.home
    if plan.store:
        os.environ["NHICTL_STORE"] = plan.store
    from nhictl.core.runtime import Runtime

    service = Runtime().credentials
    service.policies  # noqa: B018 - load the policies before the start line
    out = WorkerReport(plan.worker)
    seen = [False] * len(signals)
    step = max(1, plan.ops // (len(plan.probes) + 1))
    start.wait()
    for i in range(plan.ops):
        try:
            if plan.revoker and i % step == step - 1 and i // step < len(plan.probes):
                k = i // step
                out.revoked += service.complete_task(probe_task(k)).jtis
                signals[k].set()
            for k, signal in enumerate(signals):
                if not seen[k] and signal.is_set():
                    seen[k] = True
                    out.signals_checked += 1
                    result = service.verify(plan.probes[k])
                    if result.valid or result.reason != "revoked":
                        out.wrong.append(f"probe {k} after its signal: {result.reason}")
            task = f"w{plan.worker}-t{i}"
            agent = plan.agents[(plan.worker + i) % len(plan.agents)]
            issued = service.issue(agent, task=task, intent=INTENT)
            out.issued.append(issued.jti)
            first = service.verify(issued.token)
            if not first.valid:
                out.wrong.append(f"{issued.jti} fresh: {first.reason}")
            if i % 3 == 0:
                out.revoked += service.revoke(jti=issued.jti, reason="concurrency").jtis
            elif i % 7 == 0:
                out.revoked += service.complete_task(task).jtis
            else:
                continue
            after = service.verify(issued.token)
            if after.valid or after.reason != "revoked":
                out.wrong.append(f"{issued.jti} after revoke: {after.reason}")
        except Exception as exc:  # every failure is a finding, not a crash of the worker
            out.errors.append(f"{type(exc).__name__}: {exc}")
    # Signals set after this process's last operation: check them too (they are all set by the
    # time the revoker is done; wait for that rather than miss one).
    for k, signal in enumerate(signals):
        if not seen[k]:
            signal.wait(timeout=120)
            out.signals_checked += 1
            result = service.verify(plan.probes[k])
            if result.valid or result.reason != "revoked":
                out.wrong.append(f"probe {k} after its signal: {result.reason}")
    service.store.close()
    return out


# --------------------------------------------------------------------------- crash child


def crash_child(seed: int) -> None:
    """Register, revise, issue and revoke in a loop until killed. Prints ``ready`` once the
    first change is committed, so the parent's kill lands in the stream, not in start-up."""
    from nhictl.core.runtime import Runtime

    home = Path(os.environ["NHICTL_HOME"])
    rng = random.Random(seed)
    runtime = Runtime()
    service = runtime.credentials
    agents = ["robust-0", "robust-1"]
    live: list[str] = []
    n = 0
    while True:
        n += 1
        roll = rng.random()
        if roll < 0.15:
            name = f"crash-{seed}-{n}"
            register(runtime, home, name)
            agents.append(name)
        elif roll < 0.25:
            register(runtime, home, rng.choice(agents), tools=("ticket-api", f"tool-{seed}-{n}"))
        elif roll < 0.7 or not live:
            issued = service.issue(rng.choice(agents), task=f"c{seed}-{n}", intent=INTENT)
            live.append(issued.jti)
        elif roll < 0.85:
            service.revoke(jti=live.pop(rng.randrange(len(live))), reason="crash test")
        else:
            task = f"c{seed}-{rng.randint(1, n)}"
            service.revoke(task=task, reason="crash test", allow_none=True)
        if n == 1:
            print("ready", flush=True)


# --------------------------------------------------------------------------- store checks


def consistency_problems(store: Any) -> list[str]:
    """What is wrong with a store after crashes or concurrent writers, as sentences.

    The schema's constraints (keys, foreign keys, one status index per list) re-checked by
    query, so PostgreSQL and SQLite are held to the same rules; the audit chain; and every
    stored change paired with its audit event and back: a credential row with its
    ``credential.issue`` event, a revocation with a revoke event naming the jti, an agent
    revision with its ``agent.register`` event.
    """
    from nhictl.core import auditlog

    problems: list[str] = []
    with store.read() as tx:
        checks = {
            "credential of an unknown agent": (
                "SELECT COUNT(*) FROM credentials c LEFT JOIN agents a ON a.name = c.agent "
                "WHERE a.name IS NULL"
            ),
            "revision of an unknown agent": (
                "SELECT COUNT(*) FROM agent_revisions r LEFT JOIN agents a ON a.name = r.name "
                "WHERE a.name IS NULL"
            ),
            "agent without its current revision": (
                "SELECT COUNT(*) FROM agents a LEFT JOIN agent_revisions r "
                "ON r.name = a.name AND r.revision = a.current_revision WHERE r.name IS NULL"
            ),
            "status index used twice": (
                "SELECT COUNT(*) FROM (SELECT status_list, status_idx FROM credentials "
                "GROUP BY status_list, status_idx HAVING COUNT(*) > 1) d"
            ),
            "status index at or past the list's next free one": (
                "SELECT COUNT(*) FROM credentials c JOIN status_lists s ON s.uri = c.status_list "
                "WHERE c.status_idx >= s.next_idx"
            ),
            "audit seq with a gap": (
                "SELECT COUNT(*) FROM audit_events e WHERE e.seq > 1 AND NOT EXISTS "
                "(SELECT 1 FROM audit_events p WHERE p.seq = e.seq - 1)"
            ),
            "revoked credential without revoked_at": (
                "SELECT COUNT(*) FROM credentials WHERE status = 'revoked' AND revoked_at IS NULL"
            ),
        }
        for what, sql in checks.items():
            row = tx.one(sql)
            if row and int(row[0]):
                problems.append(f"{row[0]} x {what}")
        chain = auditlog.verify(tx)
        if not chain.ok:
            problems.append(f"audit chain: {chain.problems[0].message}")
        credentials = tx.query("SELECT jti, status, revoked_reason FROM credentials")
        revisions = {
            (r[0], int(r[1])) for r in tx.query("SELECT name, revision FROM agent_revisions")
        }
        events = tx.query("SELECT action, subject, outcome, details_json FROM audit_events")
    issue_events: list[str] = []
    revoke_events: list[str] = []
    register_events: list[tuple[str, int]] = []
    for action, subject, outcome, details_json in events:
        details = json.loads(details_json)
        if action in ("credential.issue", "credential.rebind") and outcome == "issued":
            issue_events.append(details["jti"])
        if action in REVOKE_ACTIONS and outcome == "revoked":
            revoke_events += details["jtis"]
        if action == "credential.rebind" and outcome == "issued":
            revoke_events.append(details["parent_jti"])
        if action == "agent.register" and outcome not in NO_REVISION:
            register_events.append((subject, int(details["revision"])))
    stored = {jti for jti, _, _ in credentials}
    revoked = {jti for jti, status, _ in credentials if status == "revoked"}
    _pair(problems, "credential", stored, issue_events, "credential.issue")
    _pair(problems, "revocation", revoked, revoke_events, "revoke")
    _pair(problems, "agent revision", revisions, register_events, "agent.register")
    return problems


def _pair(problems: list[str], what: str, rows: set[Any], events: list[Any], action: str) -> None:
    if len(events) != len(set(events)):
        problems.append(f"a {what} has more than one {action} event")
    if missing := rows - set(events):
        problems.append(f"{len(missing)} {what}(s) without a {action} event, e.g. {min(missing)}")
    if orphans := set(events) - rows:
        problems.append(f"{len(orphans)} {action} event(s) without the {what}, e.g. {min(orphans)}")


def cli(*args: str, env: dict[str, str] | None = None) -> tuple[int, str, str]:
    """Run the real ``nhictl`` in a new process: exit code, stdout, stderr."""
    import subprocess

    result = subprocess.run(
        [sys.executable, "-m", "nhictl", *args],
        capture_output=True,
        text=True,
        timeout=120,
        env={**os.environ, **(env or {})},
    )
    return result.returncode, result.stdout, result.stderr


def log_verify(env: dict[str, str] | None = None) -> dict[str, Any]:
    """``nhictl log verify -f json`` run as a user would: its report (exit 0 required)."""
    code, out, err = cli("log", "verify", "-f", "json", env=env)
    if code != 0:
        raise AssertionError(f"log verify exited {code}: {err.strip()}")
    report: dict[str, Any] = json.loads(out)
    return report


if __name__ == "__main__":
    if len(sys.argv) == 3 and sys.argv[1] == "crash":
        crash_child(int(sys.argv[2]))
    raise SystemExit("usage: python -m tests.robust_driver crash SEED")
