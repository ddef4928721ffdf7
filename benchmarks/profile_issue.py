"""Where one ``issue`` spends its time: wall-clock and CPU per phase over N issues.

    python benchmarks/profile_issue.py [--n 2000] [--postgresql]

Wraps public pieces of the issue path with timers (no profiler, so no skew): the Cedar
decision, building and signing the token, building the audit event, and the end of the write
transaction (on PostgreSQL the one round trip that sends the statements and COMMIT; on SQLite
the inserts and COMMIT). The rest (input checks, defaults, guards, the record) is the
difference to the total. ``--postgresql`` runs against a throwaway durable cluster on
loopback (as ``bench_store.py``) instead of the embedded SQLite store.
"""

from __future__ import annotations

import argparse
import collections
import functools
import os
import sys
import tempfile
import time
from collections.abc import Callable, Iterator
from contextlib import contextmanager
from pathlib import Path
from typing import Any

sys.path.insert(0, str(Path(__file__).resolve().parent.parent))

from benchmarks.bench_credentials import setup_home

INTENT = "read-tickets"


class Timers:
    """Wall-clock and CPU seconds (this process) spent in each wrapped callable, by label."""

    def __init__(self) -> None:
        self.spent: dict[str, float] = collections.defaultdict(float)
        self.cpu: dict[str, float] = collections.defaultdict(float)

    def wrap(self, owner: Any, name: str, label: str) -> None:
        original: Callable[..., Any] = getattr(owner, name)

        @functools.wraps(original)
        def timed(*args: Any, **kwargs: Any) -> Any:
            began, cpu_began = time.perf_counter(), time.process_time()
            try:
                return original(*args, **kwargs)
            finally:
                self.spent[label] += time.perf_counter() - began
                self.cpu[label] += time.process_time() - cpu_began

        setattr(owner, name, timed)

    def wrap_commit(self, store: Any, label: str) -> None:
        """Time from the end of a ``store.write()`` body to the end of the transaction."""
        original = store.write

        @contextmanager
        def write(*args: Any, **kwargs: Any) -> Iterator[Any]:
            with original(*args, **kwargs) as tx:
                yield tx
                began, cpu_began = time.perf_counter(), time.process_time()
            self.spent[label] += time.perf_counter() - began
            self.cpu[label] += time.process_time() - cpu_began

        store.write = write


def profile(n: int) -> None:
    from nhictl.core import auditlog
    from nhictl.core.credentials import issue as issue_module
    from nhictl.core.policy.engine import PolicyEngine
    from nhictl.core.runtime import Runtime

    with tempfile.TemporaryDirectory(prefix="nhictl-profile-") as folder:
        names = setup_home(Path(folder))
        service = Runtime().credentials
        for i in range(20):  # warm: policies, key, connection, prepared statements
            service.issue(names[i % len(names)], task=f"warm-{i}", intent=INTENT)
        timers = Timers()
        timers.wrap(PolicyEngine, "decide", "policy decision (Cedar)")
        timers.wrap(issue_module, "mint_access_token", "build and sign the token")
        timers.wrap(auditlog, "append", "build the audit event")
        timers.wrap_commit(service.store, "end of the write transaction")
        cpu_began, began = time.process_time(), time.perf_counter()
        for i in range(n):
            service.issue(names[i % len(names)], task=f"t{i}", intent=INTENT)
        total, cpu = time.perf_counter() - began, time.process_time() - cpu_began
        service.store.close()
    print(
        f"{n} issues on {'PostgreSQL' if os.environ.get('NHICTL_STORE') else 'SQLite'}: "
        f"{total / n * 1e6:.0f} us each ({n / total:,.0f}/s), "
        f"this process's CPU {cpu / n * 1e6:.0f} us each"
    )
    print(f"  {'phase':<40} {'wall us':>8} {'CPU us':>8}")
    for label, seconds in sorted(timers.spent.items(), key=lambda item: -item[1]):
        print(f"  {label:<40} {seconds / n * 1e6:8.0f} {timers.cpu[label] / n * 1e6:8.0f}")
    rest = total - sum(timers.spent.values())
    rest_cpu = cpu - sum(timers.cpu.values())
    label = "rest (checks, defaults, guards, record)"
    print(f"  {label:<40} {rest / n * 1e6:8.0f} {rest_cpu / n * 1e6:8.0f}")


def main() -> None:
    parser = argparse.ArgumentParser(description=(__doc__ or "").splitlines()[0])
    parser.add_argument("--n", type=int, default=2000, help="issues to time")
    parser.add_argument(
        "--postgresql", action="store_true", help="a throwaway durable PostgreSQL cluster"
    )
    args = parser.parse_args()
    if not args.postgresql:
        profile(args.n)
        return
    from benchmarks.bench_store import DURABLE
    from tests.pg_server import start_server

    server = start_server(overrides=DURABLE)
    try:
        os.environ["NHICTL_STORE"] = server.create_database()
        profile(args.n)
    finally:
        os.environ.pop("NHICTL_STORE", None)
        server.stop()


if __name__ == "__main__":
    main()
