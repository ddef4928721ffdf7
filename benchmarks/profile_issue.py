"""Where one ``issue`` spends its time: wall-clock per phase over N issues (no profiler skew).

    python benchmarks/profile_issue.py [--n 2000]

Wraps the phases of ``CredentialService.issue`` with timers; the rest (BEGIN/COMMIT, input
checks) is the difference to the total. For the next person chasing the 1,000/s target.
"""

from __future__ import annotations

import argparse
import collections
import functools
import sys
import tempfile
import time
from collections.abc import Callable
from pathlib import Path
from typing import Any

sys.path.insert(0, str(Path(__file__).resolve().parent.parent))

from benchmarks.bench_credentials import setup_home


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--n", type=int, default=2000)
    args = parser.parse_args()
    from nhictl.core import auditlog, credentials
    from nhictl.core.runtime import Runtime

    with tempfile.TemporaryDirectory(prefix="nhictl-profile-") as folder:
        names = setup_home(Path(folder))
        service = Runtime().credentials
        service.issue(names[0], task="warm-up", intent="read-tickets")
        spent: dict[str, float] = collections.defaultdict(float)

        def timed(owner: Any, name: str, label: str) -> None:
            original: Callable[..., Any] = getattr(owner, name)

            @functools.wraps(original)
            def wrapper(*a: Any, **k: Any) -> Any:
                start = time.perf_counter()
                try:
                    return original(*a, **k)
                finally:
                    spent[label] += time.perf_counter() - start

            setattr(owner, name, wrapper)

        timed(service.policies, "decide", "policy decision (Cedar)")
        timed(credentials.CredentialService, "_mint_and_store", "mint + store row + audit")
        timed(credentials, "mint_access_token", "  of which: build and sign the token")
        timed(auditlog, "append", "  of which: audit append")
        timed(credentials.CredentialService, "_concurrency_guard", "concurrency cap")
        timed(credentials.CredentialService, "_guards", "built-in guards")
        timed(credentials.CredentialService, "_resolve", "resolve defaults")
        start = time.perf_counter()
        for i in range(args.n):
            service.issue(names[i % len(names)], task=f"t{i}", intent="read-tickets")
        total = time.perf_counter() - start
        print(f"{args.n} issues: {total / args.n * 1e6:.0f} us each ({args.n / total:,.0f}/s)")
        for label, seconds in sorted(spent.items(), key=lambda item: -item[1]):
            print(f"  {label:<40} {seconds / args.n * 1e6:7.0f} us")
        inner = sum(v for k, v in spent.items() if not k.startswith("  "))
        print(f"  {'rest (BEGIN/COMMIT, checks)':<40} {(total - inner) / args.n * 1e6:7.0f} us")


if __name__ == "__main__":
    main()
