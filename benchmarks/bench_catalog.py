"""The three permission catalogs' hot operations, timed in one process (CPU time, best of N).

AWS: loading the shipped catalog, expanding every distinct Action/NotAction pattern of a
generated estate (``gen_aws_estate.py``, cached in benchmarks/out/) into a fresh catalog,
expanding them all again from the cache, and ``names()`` of every policy's set, with a limit
(what a finding's sample shows) and without (least-privilege policies). GCP and Azure: loading,
expanding every predefined or built-in role, and ``names()`` of each role's set. On a busy
machine count instructions instead (``valgrind --tool=callgrind``, ``PYTHONHASHSEED=0``).
Usage::

    python benchmarks/bench_catalog.py              # 5,000-role estate, best of 7
    python benchmarks/bench_catalog.py --roles 1000 --repeat 9
    PYTHONPATH=/path/to/other/checkout python benchmarks/bench_catalog.py   # its nhictl
"""

from __future__ import annotations

import argparse
import json
import sys
import time
import timeit
from collections.abc import Callable
from pathlib import Path
from typing import Any

# Appended, not inserted: a PYTHONPATH naming another checkout decides which nhictl is timed.
sys.path.append(str(Path(__file__).resolve().parent.parent))

from benchmarks.bench_creep import estate


def policy_patterns(export: Path) -> list[list[str]]:
    """Every policy document's Action and NotAction patterns, one list per document."""
    data = json.loads(export.read_text(encoding="utf-8"))
    docs: list[Any] = [v["Document"] for p in data["Policies"] for v in p["PolicyVersionList"]]
    for kind, key in (
        ("UserDetailList", "UserPolicyList"),
        ("GroupDetailList", "GroupPolicyList"),
        ("RoleDetailList", "RolePolicyList"),
    ):
        docs += [p["PolicyDocument"] for e in data[kind] for p in e.get(key, [])]
    out = []
    for doc in docs:
        statements = doc.get("Statement", [])
        patterns: list[str] = []
        for st in statements if isinstance(statements, list) else [statements]:
            for key in ("Action", "NotAction"):
                value = st.get(key)
                if value is not None:
                    patterns += [value] if isinstance(value, str) else value
        out.append(patterns)
    return out


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--roles", type=int, default=5000, help="size of the generated AWS estate")
    ap.add_argument("--repeat", type=int, default=7)
    args = ap.parse_args()

    def best(label: str, fn: Callable[[], object], number: int = 3) -> None:
        runs = timeit.repeat(fn, number=number, repeat=args.repeat, timer=time.process_time)
        print(f"{label:34s} {min(runs) / number * 1e3:9.3f} ms", flush=True)

    from nhictl.providers.aws.catalog import load_catalog as load_aws
    from nhictl.providers.azure.catalog import load_catalog as load_azure
    from nhictl.providers.gcp.catalog import load_catalog as load_gcp

    groups = policy_patterns(estate(args.roles, "typical") / "authorization-details.json")
    flat = [p for g in groups for p in g]
    distinct = sorted(set(flat))
    print(f"AWS estate of {args.roles} roles: {len(groups)} policies, {len(flat)} patterns, "
          f"{len(distinct)} distinct")  # fmt: skip
    aws = load_aws()
    masks = []
    for g in groups:
        m = 0
        for p in g:
            m |= aws.expand(p)
        masks.append(m)

    def cold() -> None:
        cat = load_aws()
        for p in distinct:
            cat.expand(p)

    best("aws load", load_aws)
    best("aws load + expand distinct", cold)
    best("aws expand all (cached)", lambda: [aws.expand(p) for p in flat])
    best("aws names(set, 10)", lambda: [aws.names(m, 10) for m in masks])
    best("aws names(set)", lambda: [aws.names(m) for m in masks])
    best("aws names(all)", lambda: aws.names(aws.all_mask))

    gcp = load_gcp()
    roles = list(gcp.roles())
    role_masks = [gcp.expand(r) for r in roles]
    best("gcp load", load_gcp)
    best("gcp load + expand roles", lambda: [c.expand(r) for c in [load_gcp()] for r in roles])
    best("gcp names(role, 10)", lambda: [gcp.names(m, 10) for m in role_masks])
    best("gcp names(role)", lambda: [gcp.names(m) for m in role_masks])

    azure = load_azure()
    refs = ["role:" + r.id for r in azure.roles()]
    ref_masks = [azure.expand(r) for r in refs]
    best("azure load", load_azure)
    best("azure load + expand roles", lambda: [c.expand(r) for c in [load_azure()] for r in refs])
    best("azure names(role, 10)", lambda: [azure.names(m, 10) for m in ref_masks])
    best("azure names(role)", lambda: [azure.names(m) for m in ref_masks])


if __name__ == "__main__":
    main()
