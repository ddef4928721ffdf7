"""Credential issue/verify throughput on PostgreSQL next to SQLite, one and 8 processes, one run.

    python benchmarks/bench_store.py [--n 600] [--processes 8] [--ops 150] [--repeats 3]
                                     [--budget 30] [--profile]

Everything goes through the core API as the CLI uses it: ``Runtime().credentials.issue`` and
``.verify`` (write transaction with the concurrency cap, Cedar decision, status-list index,
signing, insert and audit event; verify = signature and claims, then the store lookup).

* PostgreSQL: a throwaway cluster started here (initdb + pg_ctl from tests/pg_server.py, on
  127.0.0.1 over TCP), with ``fsync``, ``synchronous_commit`` and ``full_page_writes`` ON:
  every commit is on disk before issue returns, as in production. SQLite runs in its shipped
  configuration (WAL, ``synchronous = NORMAL``: see nhictl/core/store/sqlite.py).
* Single process: ``--n`` issues (each one timed: p50/p95/p99), then ``--n`` verifies.
* Concurrent: ``--processes`` processes start together and each issues ``--ops`` credentials,
  then verifies its own tokens; rates are the total over the wall-clock of the whole phase
  (first start to last finish). The server shares the same cores.
* Every process (the single one too) first warms up outside the clock: one issue and verify
  for each agent and at least ``SODIUM_AFTER + 1`` in all (nhictl/core/jose.py), so the
  figures are a warm process's: no first-sight caches, no one-time imports.
* Each cell runs ``--repeats`` times, each on a fresh database; the table shows the median and
  the range. ``--budget`` seconds bound each phase: a worker stops early rather than run on,
  and the counts actually done are what the rates use.
* CPU ms/issue, /verify: the whole machine's busy CPU time over the phase (clients, server
  and anything else running: run it on a quiet machine) per operation; 2 cores give at most
  2,000 / (CPU ms) operations a second.
* Floor: the same processes doing nothing but ``SELECT 1`` through psycopg for 3 s each
  repetition: the most round trips per second this machine gives (a verify is one).
* ``--profile``: CPU per issue and per verify of one process and of its server backend
  (``/proc``, no profiler running), then cProfile of one single-process PostgreSQL issue run
  (top functions by own time), the server's view from pg_stat_statements (calls and mean
  time of the hot statements) and the client's round trips per issue and per verify.

Not a test: nothing here asserts on timing.
"""

from __future__ import annotations

import argparse
import cProfile
import io
import multiprocessing
import os
import pstats
import statistics
import sys
import tempfile
import threading
import time
from collections.abc import Iterator, Sequence
from contextlib import contextmanager
from dataclasses import dataclass, field
from datetime import UTC, datetime
from pathlib import Path
from typing import Any

sys.path.insert(0, str(Path(__file__).resolve().parent.parent))

from benchmarks.bench_credentials import setup_home
from benchmarks.proccpu import process_cpu
from tests.pg_server import PgServer, start_server

#: Durable settings for the benchmark cluster (tests/pg_server.py's defaults are for speed).
DURABLE = {
    "fsync": "on",
    "synchronous_commit": "on",
    "full_page_writes": "on",
    "shared_preload_libraries": "'pg_stat_statements'",
    "pg_stat_statements.track": "all",
}
INTENT = "read-tickets"


@dataclass
class PhaseResult:
    """One process's share of a phase: counts, wall-clock bounds and per-issue latencies."""

    issued: int = 0
    verified: int = 0
    issue_start: float = 0.0
    issue_end: float = 0.0
    verify_start: float = 0.0
    verify_end: float = 0.0
    latencies: list[float] = field(default_factory=list)
    errors: list[str] = field(default_factory=list)


@dataclass
class Cell:
    """One repetition of one (backend, mode): aggregate rates and issue latency percentiles."""

    issues_per_s: float
    verifies_per_s: float
    p50_ms: float
    p95_ms: float
    p99_ms: float
    cpu_per_issue_ms: float = 0.0
    cpu_per_verify_ms: float = 0.0


class MachineCpu:
    """Busy CPU time of the whole machine (``/proc/stat``), sampled every 20 ms in a thread,
    so a phase's CPU (clients and server together) can be read off its wall-clock bounds."""

    def __init__(self) -> None:
        self.samples: list[tuple[float, float]] = []
        self._stop = threading.Event()
        self._thread = threading.Thread(target=self._run, daemon=True)

    def __enter__(self) -> MachineCpu:
        self._thread.start()
        return self

    def __exit__(self, *_: object) -> None:
        self._stop.set()
        self._thread.join()

    def _run(self) -> None:
        tick = os.sysconf("SC_CLK_TCK")
        while not self._stop.is_set():
            with open("/proc/stat") as stat:
                fields = [int(x) for x in stat.readline().split()[1:]]
            busy = sum(fields) - fields[3] - fields[4]  # all but idle and iowait
            self.samples.append((time.time(), busy / tick))
            time.sleep(0.02)

    def between(self, start: float, end: float) -> float:
        """CPU seconds the machine was busy between two ``time.time()`` instants."""
        if not self.samples:
            return 0.0
        first = min(self.samples, key=lambda s: abs(s[0] - start))
        last = min(self.samples, key=lambda s: abs(s[0] - end))
        return last[1] - first[1]


def percentile(values: Sequence[float], q: float) -> float:
    """The ``q`` quantile (0..1) by nearest rank; 0 for no values."""
    if not values:
        return 0.0
    ordered = sorted(values)
    rank = min(len(ordered) - 1, max(0, round(q * len(ordered)) - 1))
    return ordered[rank]


# --------------------------------------------------------------------------- one process


def run_phase(
    home: str, worker: int, ops: int, agents: list[str], budget: float, start: Any = None
) -> PhaseResult:
    """Issue ``ops`` credentials (each timed), then verify them all, within ``budget`` s each."""
    os.environ["NHICTL_HOME"] = home
    from nhictl.core import jose
    from nhictl.core.runtime import Runtime

    service = Runtime().credentials
    # Warm up outside the clock, so the rates are a warm process's: policies, key, connection,
    # prepared statements, each agent's cached row and entities, and the Ed25519 verifier a
    # process switches to after SODIUM_AFTER checks (its ~21 ms import is a one-time cost).
    for i in range(max(len(agents), jose.SODIUM_AFTER + 1)):
        agent = agents[(worker + i) % len(agents)]
        service.verify(service.issue(agent, task=f"w{worker}-warm-{i}", intent=INTENT).token)
    out = PhaseResult()
    if start is not None:
        start.wait()
    tokens: list[str] = []
    out.issue_start = time.time()
    deadline = time.perf_counter() + budget
    for i in range(ops):
        began = time.perf_counter()
        try:
            tokens.append(
                service.issue(
                    agents[(worker + i) % len(agents)], task=f"w{worker}-t{i}", intent=INTENT
                ).token
            )
        except Exception as exc:  # every failure is a finding, reported with the table
            out.errors.append(f"issue: {type(exc).__name__}: {exc}")
            continue
        ended = time.perf_counter()
        out.latencies.append(ended - began)
        if ended > deadline:
            break
    out.issue_end = time.time()
    out.issued = len(tokens)
    if start is not None:
        start.wait()  # verifies start together too: no issue traffic under the verify numbers
    out.verify_start = time.time()
    deadline = time.perf_counter() + budget
    for token in tokens:
        if not service.verify(token).valid:
            out.errors.append("verify: a fresh token did not verify")
        out.verified += 1
        if time.perf_counter() > deadline:
            break
    out.verify_end = time.time()
    service.store.close()
    return out


def _run_phase(args: tuple[str, int, int, list[str], float, Any]) -> PhaseResult:
    return run_phase(*args)


def concurrent(
    home: str, processes: int, ops: int, agents: list[str], budget: float
) -> list[PhaseResult]:
    ctx = multiprocessing.get_context("spawn")
    with ctx.Manager() as manager:
        start = manager.Barrier(processes)
        with ctx.Pool(processes) as pool:
            return pool.map(
                _run_phase, [(home, w, ops, agents, budget, start) for w in range(processes)]
            )


def _round_trips_for(args: tuple[str, float, Any]) -> tuple[int, float]:
    """Bare psycopg ``SELECT 1`` round trips for ``seconds``: (count, seconds taken)."""
    import psycopg

    url, seconds, start = args
    with psycopg.connect(url, autocommit=True) as connection:
        for _ in range(50):
            connection.execute("SELECT 1").fetchall()
        start.wait()
        began = time.perf_counter()
        done = 0
        while time.perf_counter() - began < seconds:
            connection.execute("SELECT 1").fetchall()
            done += 1
        return done, time.perf_counter() - began


def round_trip_floor(url: str, processes: int, seconds: float = 3.0) -> float:
    """Aggregate round trips/s of ``processes`` processes doing nothing but ``SELECT 1``: the
    ceiling any one-round-trip operation (a verify) can reach here, the server included."""
    ctx = multiprocessing.get_context("spawn")
    with ctx.Manager() as manager:
        start = manager.Barrier(processes)
        with ctx.Pool(processes) as pool:
            results = pool.map(_round_trips_for, [(url, seconds, start)] * processes)
    return sum(done for done, _ in results) / max(took for _, took in results)


def summarise(results: list[PhaseResult], cpu: MachineCpu | None = None) -> Cell:
    issued = sum(r.issued for r in results)
    verified = sum(r.verified for r in results)
    issue_from, issue_to = min(r.issue_start for r in results), max(r.issue_end for r in results)
    verify_from = min(r.verify_start for r in results)
    verify_to = max(r.verify_end for r in results)
    latencies = [x for r in results for x in r.latencies]
    issue_cpu = cpu.between(issue_from, issue_to) if cpu else 0.0
    verify_cpu = cpu.between(verify_from, verify_to) if cpu else 0.0
    return Cell(
        issued / (issue_to - issue_from) if issue_to > issue_from else 0.0,
        verified / (verify_to - verify_from) if verify_to > verify_from else 0.0,
        percentile(latencies, 0.50) * 1000,
        percentile(latencies, 0.95) * 1000,
        percentile(latencies, 0.99) * 1000,
        1000 * issue_cpu / issued if issued else 0.0,
        1000 * verify_cpu / verified if verified else 0.0,
    )


# --------------------------------------------------------------------------- backends


@contextmanager
def fresh_home(backend: str, server: PgServer | None) -> Iterator[tuple[str, list[str]]]:
    """A new NHICTL_HOME (and for PostgreSQL a new database) with the bench agents registered."""
    with tempfile.TemporaryDirectory(prefix="nhictl-bench-store-") as folder:
        url = ""
        if backend == "postgresql":
            assert server is not None
            url = server.create_database()
        os.environ["NHICTL_STORE"] = url
        try:
            agents = setup_home(Path(folder))
            yield folder, agents
        finally:
            os.environ.pop("NHICTL_STORE", None)
            if url and server is not None:
                server.drop_database(url)


def measure(
    backend: str, server: PgServer | None, args: argparse.Namespace
) -> dict[str, list[Cell]]:
    cells: dict[str, list[Cell]] = {"1 process": [], f"{args.processes} processes": []}
    errors: list[str] = []
    for _ in range(args.repeats):
        with fresh_home(backend, server) as (home, agents):
            with MachineCpu() as cpu:
                single = run_phase(home, 0, args.n, agents, args.budget)
            cells["1 process"].append(summarise([single], cpu))
            with MachineCpu() as cpu:
                many = concurrent(home, args.processes, args.ops, agents, args.budget)
            cells[f"{args.processes} processes"].append(summarise(many, cpu))
            errors += single.errors + [e for r in many for e in r.errors]
    for error in errors[:5]:
        print(f"  {backend} error: {error}")
    if errors:
        raise SystemExit(f"{len(errors)} operation(s) failed on {backend}")
    return cells


def _span(values: list[float], fmt: str) -> str:
    mid = statistics.median(values)
    return f"{mid:{fmt}} ({min(values):{fmt}}-{max(values):{fmt}})"


def print_table(rows: dict[tuple[str, str], list[Cell]]) -> None:
    head = f"{'backend':<11}{'mode':<13}{'issues/s':>22}{'verifies/s':>22}"
    head += f"{'p50 ms':>22}{'p95 ms':>22}{'p99 ms':>22}"
    head += f"{'CPU ms/issue':>20}{'CPU ms/verify':>20}"
    print(head)
    print("-" * len(head))
    for (backend, mode), cells in rows.items():
        print(
            f"{backend:<11}{mode:<13}"
            f"{_span([c.issues_per_s for c in cells], '.0f'):>22}"
            f"{_span([c.verifies_per_s for c in cells], '.0f'):>22}"
            f"{_span([c.p50_ms for c in cells], '.2f'):>22}"
            f"{_span([c.p95_ms for c in cells], '.2f'):>22}"
            f"{_span([c.p99_ms for c in cells], '.2f'):>22}"
            f"{_span([c.cpu_per_issue_ms for c in cells], '.2f'):>20}"
            f"{_span([c.cpu_per_verify_ms for c in cells], '.2f'):>20}"
        )


# --------------------------------------------------------------------------- profile


def cpu_split(service: Any, store: Any, agents: list[str], n: int) -> None:
    """CPU per issue and per verify (no profiler running), split between this client process
    and its server backend (read from /proc: the bench's server runs on this machine)."""
    row = store.read_one("SELECT pg_backend_pid()")
    backend = int(row[0]) if row else 0
    marks = [(time.process_time(), process_cpu(backend))]
    tokens = [
        service.issue(agents[i % len(agents)], task=f"c{i}", intent=INTENT).token for i in range(n)
    ]
    marks.append((time.process_time(), process_cpu(backend)))
    for token in tokens:
        service.verify(token)
    marks.append((time.process_time(), process_cpu(backend)))
    print("\nCPU per operation, 1 process, no profiler (ms):")
    for what, first, last in (("issue", 0, 1), ("verify", 1, 2)):
        (c0, b0), (c1, b1) = marks[first], marks[last]
        server = f"{1000 * (b1 - b0) / n:.2f}" if b0 is not None and b1 is not None else "?"
        print(f"  {what:<7} client {1000 * (c1 - c0) / n:.2f}, its server backend {server}")


def profile(server: PgServer, n: int) -> None:
    """Where one PostgreSQL issue spends its time: client profile, server statements, trips."""
    with fresh_home("postgresql", server) as (home, agents):
        os.environ["NHICTL_HOME"] = home
        from nhictl.core.runtime import Runtime

        runtime = Runtime()
        service = runtime.credentials
        service.verify(service.issue(agents[0], task="warm", intent=INTENT).token)
        store = runtime.store
        cpu_split(service, store, agents, n)
        with server.admin() as admin:
            admin.execute("SELECT pg_stat_statements_reset()")
        trips = _round_trips(store)
        profiler = cProfile.Profile()
        profiler.enable()
        tokens = [
            service.issue(agents[i % len(agents)], task=f"p{i}", intent=INTENT).token
            for i in range(n)
        ]
        profiler.disable()
        issue_trips = _round_trips(store) - trips
        trips = _round_trips(store)
        verifying = cProfile.Profile()
        verifying.enable()
        for token in tokens:
            service.verify(token)
        verifying.disable()
        verify_trips = _round_trips(store) - trips
        store.close()
        for what, stats in (("issues", profiler), ("verifies", verifying)):
            text = io.StringIO()
            pstats.Stats(stats, stream=text).sort_stats("tottime").print_stats(14)
            print(f"\ncProfile, {n} single-process PostgreSQL {what}, top functions by own time:")
            print("\n".join(line for line in text.getvalue().splitlines() if line.strip())[:5000])
        if issue_trips >= 0:
            print(
                f"\nround trips to the server: {issue_trips / n:.1f} per issue, "
                f"{verify_trips / n:.1f} per verify"
            )
        database = store.location.rsplit("/", 1)[-1].split("?", 1)[0]
        with server.admin() as admin:  # before fresh_home drops the database
            rows = admin.execute(
                "SELECT s.calls, s.mean_exec_time, s.total_exec_time, s.query "
                "FROM pg_stat_statements s JOIN pg_database d ON d.oid = s.dbid "
                "WHERE d.datname = %s ORDER BY s.total_exec_time DESC LIMIT 12",
                (database,),
            ).fetchall()
            wal = admin.execute(
                "SELECT wal_records, wal_bytes, wal_sync, wal_sync_time FROM pg_stat_wal"
            ).fetchone()
    print(f"\npg_stat_statements (server execution time, {n} issues + {n} verifies):")
    print(f"{'calls':>7} {'mean ms':>8} {'total ms':>9}  statement")
    for calls, mean, total, query in rows:
        one_line = " ".join(str(query).split())
        print(f"{calls:>7} {mean:>8.3f} {total:>9.1f}  {one_line[:110]}")
    if wal:
        print(f"pg_stat_wal since start: {wal[0]} records, {wal[1]} bytes, {wal[2]} syncs")


def _round_trips(store: Any) -> int:
    """The store's count of round trips to the server (-1 if this store does not count)."""
    return int(getattr(store, "round_trips", -1))


# --------------------------------------------------------------------------- main


def main(argv: Sequence[str] | None = None) -> None:
    parser = argparse.ArgumentParser(description=(__doc__ or "").splitlines()[0])
    parser.add_argument("--n", type=int, default=600, help="issues (then verifies), 1 process")
    parser.add_argument("--processes", type=int, default=8, help="concurrent processes")
    parser.add_argument("--ops", type=int, default=150, help="issues (then verifies) per process")
    parser.add_argument("--repeats", type=int, default=3, help="repetitions of every cell")
    parser.add_argument("--budget", type=float, default=30.0, help="seconds per phase, at most")
    parser.add_argument("--profile", action="store_true", help="profile one PostgreSQL run")
    parser.add_argument(
        "--backends", default="sqlite,postgresql", help="comma-separated: sqlite, postgresql"
    )
    args = parser.parse_args(argv)
    backends = [b.strip() for b in args.backends.split(",") if b.strip()]
    server = start_server(overrides=DURABLE) if "postgresql" in backends else None
    began = time.perf_counter()
    try:
        if server is not None:
            with server.admin() as admin:
                admin.execute("CREATE EXTENSION IF NOT EXISTS pg_stat_statements")
                fsync = admin.execute("SHOW fsync").fetchone()
                commit = admin.execute("SHOW synchronous_commit").fetchone()
                version = admin.execute("SHOW server_version").fetchone()
            print(
                f"PostgreSQL {version[0] if version else '?'} on 127.0.0.1 (TCP), fsync="
                f"{fsync[0] if fsync else '?'}, synchronous_commit={commit[0] if commit else '?'}; "
                "SQLite WAL, synchronous=NORMAL"
            )
        print(
            f"{os.cpu_count()} CPUs (shared with the server), {args.repeats} repetitions, "
            f"1 process x {args.n}, {args.processes} processes x {args.ops}; median (min-max)\n"
        )
        rows: dict[tuple[str, str], list[Cell]] = {}
        for backend in backends:
            for mode, cells in measure(backend, server, args).items():
                rows[(backend, mode)] = cells
        print_table(rows)
        if server is not None:
            url = server.create_database()
            try:
                floors = [round_trip_floor(url, args.processes) for _ in range(args.repeats)]
                singles = [round_trip_floor(url, 1) for _ in range(args.repeats)]
            finally:
                server.drop_database(url)
            print(
                f"\nfloor: bare psycopg SELECT 1 round trips, same server: "
                f"1 process {_span(singles, ',.0f')}/s, "
                f"{args.processes} processes {_span(floors, ',.0f')}/s"
            )
        if args.profile and server is not None:
            profile(server, args.n)
    finally:
        if server is not None:
            server.stop()
    print(
        f"\n({time.perf_counter() - began:.0f} s, run at "
        f"{datetime.now(UTC).isoformat(timespec='seconds')})"
    )


if __name__ == "__main__":
    main()
