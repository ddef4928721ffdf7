"""The JSON writer before and after: the hand-rolled ``jsonfmt`` (CPython's private C encoder,
indented by string replacement; kept as ``benchmarks/jsonfmt_baseline.py``) and the standard
library, against orjson through ``nhictl.core.jsonout``, on what nhictl really writes:

- ``sarif``: the audit-creep SARIF log of a broad estate (168 MB at 5,000 roles), rendered from
  the SARIF dict and written to a file (before: ``dumps_indent2`` to a text file; after: orjson
  bytes to a binary file, as ``emit`` does);
- ``json``: the audit-creep JSON report streamed in chunks to a file (before: ``json.dumps`` for
  the header and ``compact_pieces`` per line; after: ``nhictl.render.creep.iter_json``);
- ``to_json`` on small documents (a ``verify`` result, a 50-credential list, a JWKS) and one
  ``validate --format json`` line: before, ``json.dumps(indent=2, ensure_ascii=False)``;
- ``import``: what ``import orjson`` (after) and ``import json`` (before) add to a process that
  has already imported the CLI (``python -X importtime``).

The Report is built once; only rendering and writing are timed. Each repetition runs both
writers back to back (their order alternating) so machine noise hits both alike; the table
shows min / median / max over the repetitions and the ratio before / after (median, and the
range of the per-repetition ratios). Usage::

    python benchmarks/bench_json.py                 # 5,000-role broad estate, 5 repetitions
    python benchmarks/bench_json.py --roles 1000 --reps 9
"""

from __future__ import annotations

import argparse
import json
import os
import statistics
import subprocess
import sys
import tempfile
import time
from collections.abc import Callable, Iterator
from dataclasses import dataclass, field
from datetime import UTC, datetime
from pathlib import Path
from typing import Any

import orjson

sys.path.insert(0, str(Path(__file__).resolve().parent.parent))

from benchmarks.bench_creep import OUT, estate
from benchmarks.jsonfmt_baseline import compact_pieces, dumps_indent2
from nhictl.core import jsonout
from nhictl.creep.model import Report
from nhictl.render import creep

Writer = Callable[[], int]  # renders and writes once; returns the bytes written


@dataclass
class Case:
    name: str
    unit: str  # "s" per run or "us" per call
    before: Writer
    after: Writer
    before_label: str = "jsonfmt"
    times: dict[str, list[float]] = field(default_factory=lambda: {"before": [], "after": []})
    sizes: dict[str, int] = field(default_factory=dict)


def build_report(roles: int, profile: str) -> Report:
    from nhictl.providers.aws.audit import AwsAuditInputs, audit_aws

    d = estate(roles, profile)
    inputs = AwsAuditInputs(
        snapshot=d / "authorization-details.json",
        last_accessed=d / "last-accessed.json",
        access_keys=d / "access-keys.json",
        manifests=[str(d / "manifests")],
        baseline=None,
        exclusions=None,
        now=datetime(2026, 11, 28, tzinfo=UTC),
        unused_days=90,
        key_max_age_days=90,
        remediate=False,
    )
    return audit_aws(inputs, None, False)


def old_iter_json(report: Report) -> Iterator[str]:
    """``nhictl.render.creep.iter_json`` as it was on jsonfmt (text chunks)."""
    head = {
        "schema": creep.SCHEMA_VERSION,
        "provider": report.provider,
        "generated_at": report.generated_at.isoformat(),
        "summary": report.summary,
    }
    pieces = [json.dumps(head, indent=2)[:-2]]
    for key, items in (
        ("principals", (creep.principal_dict(p) for p in report.principals)),
        ("findings", (creep.finding_dict(f) for f in report.findings)),
    ):
        sep = f',\n  "{key}": [\n    '
        empty = True
        for n, item in enumerate(items, 1):
            pieces.append(sep)
            pieces += compact_pieces(item)
            sep, empty = ",\n    ", False
            if n % 256 == 0:
                yield "".join(pieces)
                pieces.clear()
        pieces.append(f',\n  "{key}": []' if empty else "\n  ]")
    pieces.append("\n}\n")
    yield "".join(pieces)


def big_cases(report: Report, folder: Path) -> list[Case]:
    target = folder / "report.out"
    sarif = creep.sarif_dict(report)

    def sarif_before() -> int:
        with target.open("w", encoding="utf-8") as fh:
            return fh.write(dumps_indent2(sarif) + "\n")

    def sarif_after() -> int:
        with target.open("wb") as fh:
            return fh.write(jsonout.dumps(sarif, indent=True, newline=True))

    def json_before() -> int:
        with target.open("w", encoding="utf-8") as fh:
            return sum(fh.write(chunk) for chunk in old_iter_json(report))

    def json_after() -> int:
        with target.open("wb") as fh:
            return sum(fh.write(chunk) for chunk in creep.iter_json(report))

    return [
        Case("sarif (audit-creep)", "s", sarif_before, sarif_after),
        Case("json (audit-creep)", "s", json_before, json_after),
    ]


def small_documents() -> dict[str, Any]:
    record = {
        "jti": "BmnWPvsRcXIzc9yxDh09xg",
        "agent": "invoice-reconciler",
        "agent_revision": 3,
        "subject": "spiffe://prod.example.com/ns/finance/sa/invoice-reconciler",
        "task": "INV-42",
        "intent": "reconcile-invoices",
        "scopes": ["invoices:read", "ledger:read"],
        "audience": "urn:nhictl:api",
        "data_sensitivity": "confidential",
        "environment": "prod",
        "tools": ["erp", "email"],
        "on_behalf_of": None,
        "ttl_seconds": 300,
        "issued_at": "2026-11-28T10:04:02Z",
        "expires_at": "2026-11-28T10:09:02Z",
        "status": "active",
        "status_idx": 17,
        "kid": "Xq3vY0b2bq1hJ6yq3l2T3o3bqvYQ9n2c1m0yqXH7bq0",
        "policy_ids": ["issue.default", "issue.prod-needs-ticket"],
    }
    verify = {k: record[k] for k in ("jti", "agent", "task", "scopes", "expires_at")}
    jwks = {
        "keys": [
            {
                "kty": "OKP",
                "crv": "Ed25519",
                "x": "11qYAYKxCrfVS_7TyWQHOg7hcvPapiMlrwIaaPcHURo",
                "kid": f"kid-{i}",
                "use": "sig",
                "alg": "EdDSA",
            }
            for i in range(2)
        ]
    }
    return {
        "verify result": {"valid": True, "reason": None, **verify},
        "credentials list (50)": [dict(record, status_idx=i) for i in range(50)],
        "keys jwks": jwks,
    }


def small_cases(calls: int) -> list[Case]:
    cases = []
    for name, doc in small_documents().items():

        def before(doc: Any = doc) -> int:
            n = 0
            for _ in range(calls):
                n = len(json.dumps(doc, indent=2, ensure_ascii=False) + "\n")
            return n

        def after(doc: Any = doc) -> int:
            n = 0
            for _ in range(calls):
                n = len(jsonout.document(doc).decode("utf-8"))  # to_json
            return n

        cases.append(Case(f"to_json: {name}", "us", before, after, "json"))
    line = {
        "file": "agents/invoice-reconciler.yaml",
        "document": 0,
        "name": "invoice-reconciler",
        "valid": False,
        "errors": [
            {
                "path": "$.spec.credentials.maxTtl",
                "pointer": "/spec/credentials/maxTtl",
                "line": 21,
                "column": 41,
                "message": "'48h' exceeds the 1h ceiling",
                "severity": "error",
                "code": "ttl-ceiling",
            }
        ],
    }

    def line_before() -> int:
        n = 0
        for _ in range(calls):
            n = len(json.dumps(line, ensure_ascii=False))
        return n

    def line_after() -> int:
        n = 0
        for _ in range(calls):
            n = len(jsonout.dumps(line).decode("utf-8"))
        return n

    cases.append(Case("validate -f json: one line", "us", line_before, line_after, "json"))
    return cases


def import_ms(module: str) -> float:
    """Milliseconds ``import module`` adds after the CLI is imported (cumulative importtime)."""
    code = f"import nhictl.cli.app; import {module}"
    proc = subprocess.run(
        [sys.executable, "-X", "importtime", "-c", code],
        capture_output=True,
        text=True,
        check=True,
    )
    for text in reversed(proc.stderr.splitlines()):
        parts = [p.strip() for p in text.split("|")]
        if len(parts) == 3 and parts[2] == module:
            return int(parts[1]) / 1000
    return 0.0  # already imported by the CLI


def _size(n: int) -> str:
    return f"{n / 1e6:.1f} MB" if n > 1e5 else f"{n} B"


def fmt_range(values: list[float], unit: str) -> str:
    scale = 1.0 if unit == "s" else 1e6
    lo, mid, hi = (v * scale for v in (min(values), statistics.median(values), max(values)))
    digits = 3 if unit == "s" else 1
    return f"{lo:.{digits}f} / {mid:.{digits}f} / {hi:.{digits}f}"


def main() -> None:
    ap = argparse.ArgumentParser(description="JSON writers side by side")
    ap.add_argument("--roles", type=int, default=5000, help="roles in the generated estate")
    ap.add_argument("--profile", default="broad", help="estate profile (broad or typical)")
    ap.add_argument("--reps", type=int, default=5, help="repetitions per case")
    ap.add_argument("--calls", type=int, default=2000, help="calls per repetition (small docs)")
    args = ap.parse_args()
    OUT.mkdir(exist_ok=True)
    t0 = time.perf_counter()
    report = build_report(args.roles, args.profile)
    print(
        f"{args.profile} estate, {args.roles} roles: {len(report.principals)} principals, "
        f"{len(report.findings)} findings (report built in {time.perf_counter() - t0:.1f} s)",
        flush=True,
    )
    with tempfile.TemporaryDirectory(dir=OUT) as tmp:
        cases = big_cases(report, Path(tmp)) + small_cases(args.calls)
        for rep in range(args.reps):
            for case in cases:
                order = ("before", "after") if rep % 2 == 0 else ("after", "before")
                for side in order:
                    fn = case.before if side == "before" else case.after
                    start = time.perf_counter()
                    size = fn()
                    elapsed = time.perf_counter() - start
                    case.times[side].append(elapsed if case.unit == "s" else elapsed / args.calls)
                    case.sizes[side] = size
            print(f"  repetition {rep + 1}/{args.reps} done", flush=True)
    imports = {m: [import_ms(m) for _ in range(args.reps)] for m in ("json", "orjson")}

    load = os.getloadavg()[0]
    print(
        f"\nmachine: {os.cpu_count()} CPUs, Python {sys.version.split()[0]}, "
        f"orjson {orjson.__version__}, load avg {load:.2f}; {args.reps} repetitions"
    )
    print(
        f"{'case':30} {'size before / after':>19} {'before':>8} {'min / median / max':>26} "
        f"{'orjson min / median / max':>26} {'before/orjson':>20}"
    )
    for case in cases:
        b, a = case.times["before"], case.times["after"]
        ratios = [x / y for x, y in zip(b, a, strict=True)]
        shown = _size(case.sizes["before"]) + " / " + _size(case.sizes["after"])
        unit = "s" if case.unit == "s" else "us"
        ratio = statistics.median(b) / statistics.median(a)
        print(
            f"{case.name:30} {shown:>19} {case.before_label:>8}"
            f" {fmt_range(b, case.unit):>23} {unit} {fmt_range(a, case.unit):>23} {unit}"
            f" {ratio:6.1f}x"
            f" ({min(ratios):.1f}-{max(ratios):.1f}x)"
        )
    j, o = imports["json"], imports["orjson"]
    print(
        f"{'import, after the CLI':30} {'':>19} {'json':>8} {fmt_range(j, 's'):>23} ms"
        f" {fmt_range(o, 's'):>23} ms"
    )


if __name__ == "__main__":
    main()
