"""Wall time and peak memory of the Azure audit at 1k and 5k principals (3 runs each).

Two catalogs: the shipped one (~4,000 operations, the ones built-in roles name) and one grown
to ~25,000 operations (the size of Azure's full list) by a ``provider-operations.json`` of that
size in the folder (``gen_azure_estate.py --pad-operations``). Each run is a fresh process
doing what ``audit-creep --provider azure`` will do: load the raw-output directory and the
manifests,
analyse, compute the least-privilege roles, and write the JSON report. Estates come from
``gen_azure_estate.py`` (cached under ``benchmarks/out/azure-estate-N*``).
Usage: ``python benchmarks/bench_creep_azure.py [1000 5000]``.
"""

from __future__ import annotations

import os
import statistics
import subprocess
import sys
import time
from pathlib import Path

HERE = Path(__file__).resolve().parent
OUT = HERE / "out"
RUNS = 3

CHILD = """
import sys
from datetime import UTC, datetime
from pathlib import Path
from nhictl.providers.azure.audit import AzureAuditInputs, audit_azure
from nhictl.render.creep import render_json
d = Path(sys.argv[1])
report = audit_azure(AzureAuditInputs(
    snapshot=d, manifests=[str(d / "manifests")], now=datetime(2026, 11, 28, tzinfo=UTC),
    remediate=True))
Path(sys.argv[2]).write_bytes(render_json(report))
print(len(report.principals), len(report.findings))
"""


PAD = 21_000


def estate(n: int, pad: int) -> Path:
    d = OUT / f"azure-estate-{n}{f'-pad{pad}' if pad else ''}"
    if not (d / "role-assignments.json").is_file():
        cmd = [sys.executable, str(HERE / "gen_azure_estate.py"), str(n), str(d)]
        subprocess.run([*cmd, "--pad-operations", str(pad)], check=True)
    return d


def measure(d: Path, report: Path) -> tuple[float, float, str]:
    """Wall seconds, peak RSS (MB) and the child's output of one run."""
    t0 = time.perf_counter()
    proc = subprocess.Popen(
        [sys.executable, "-c", CHILD, str(d), str(report)],
        stdout=subprocess.PIPE,
        text=True,
    )
    out = proc.stdout.read() if proc.stdout else ""
    _, status, usage = os.wait4(proc.pid, 0)
    wall = time.perf_counter() - t0
    if os.waitstatus_to_exitcode(status) != 0:
        raise SystemExit(f"audit failed on {d}")
    return wall, usage.ru_maxrss / 1024, out.strip()


def main() -> None:
    import argparse

    ap = argparse.ArgumentParser(description="Benchmark the Azure audit on generated tenants.")
    ap.add_argument("sizes", nargs="*", type=int, default=[1000, 5000], help="principals")
    sizes: list[int] = ap.parse_args().sizes
    OUT.mkdir(exist_ok=True)
    print(
        f"{'catalog':>14} {'principals':>10} {'findings':>9} "
        f"{'wall s (min/med/max)':>22} {'peak MB (max)':>14}"
    )
    for n, pad in [(n, pad) for pad in (0, PAD) for n in sizes]:
        d = estate(n, pad)
        walls, peaks = [], []
        counts = ""
        for _ in range(RUNS):
            wall, peak, counts = measure(d, OUT / f"azure-report-{n}.json")
            walls.append(wall)
            peaks.append(peak)
        principals, findings = counts.split()
        label = "shipped ~4k" if not pad else "padded ~25k"
        print(
            f"{label:>14} {principals:>10} {findings:>9} "
            f"{min(walls):>8.2f}/{statistics.median(walls):.2f}/{max(walls):.2f}"
            f"{max(peaks):>15.0f}"
        )


if __name__ == "__main__":
    main()
