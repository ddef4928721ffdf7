"""Benchmark `nhictl validate` side by side with check-jsonschema (the tool CI uses today).

Prints, for each scenario, the median wall time over several runs and the peak RSS, and the
ratio nhictl / check-jsonschema. Targets (issue #2): --help <= 0.7x, one file <= 0.8x,
10,000 files <= 0.5x, memory flat in the number of files.

    python benchmarks/bench_validate.py [--runs 7] [--files 10000]
"""

from __future__ import annotations

import argparse
import os
import shutil
import statistics
import subprocess
import sys
import tempfile
import time
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
SCHEMA = ROOT / "schemas" / "agent-registration.v1.schema.json"
EXAMPLE = ROOT / "sample-configs" / "agents" / "invoice-reconciler.yaml"
BIN = Path(sys.executable).parent


def run(cmd: list[str]) -> tuple[float, int, int]:
    """Wall seconds, peak RSS in MiB, and the exit code of one run."""
    start = time.perf_counter()
    proc = subprocess.Popen(cmd, stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL, cwd=ROOT)
    _, status, usage = os.wait4(proc.pid, 0)
    elapsed = time.perf_counter() - start
    return elapsed, usage.ru_maxrss // 1024, os.waitstatus_to_exitcode(status)


def measure(cmd: list[str], runs: int) -> tuple[float, int]:
    run(cmd)  # warm the page cache and .pyc files
    samples = [run(cmd) for _ in range(runs)]
    codes = {code for _, _, code in samples}
    if codes != {0}:
        raise SystemExit(f"benchmark command failed with {codes}: {' '.join(cmd)}")
    return statistics.median(s for s, _, _ in samples), max(m for _, m, _ in samples)


def generate(folder: Path, count: int) -> list[str]:
    template = EXAMPLE.read_text()
    paths = []
    for i in range(count):
        sub = folder / f"team-{i % 50:02d}"
        sub.mkdir(parents=True, exist_ok=True)
        path = sub / f"agent-{i:05d}.yaml"
        path.write_text(template.replace("invoice-reconciler", f"agent-{i:05d}"))
        paths.append(str(path))
    return paths


def row(label: str, ours: tuple[float, int], peer: tuple[float, int], target: str) -> None:
    ratio = ours[0] / peer[0]
    print(
        f"{label:<28} nhictl {ours[0] * 1000:8.0f} ms {ours[1]:5d} MiB | "
        f"check-jsonschema {peer[0] * 1000:8.0f} ms {peer[1]:5d} MiB | "
        f"ratio {ratio:4.2f} (target {target})"
    )


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--runs", type=int, default=7)
    parser.add_argument("--files", type=int, default=10_000)
    args = parser.parse_args()
    nhictl = [str(BIN / "nhictl")]
    peer = str(BIN / "check-jsonschema")
    if not Path(peer).exists():
        raise SystemExit("check-jsonschema is missing: pip install -e '.[bench]'")
    schema = ["--schemafile", str(SCHEMA)]
    print(f"python {sys.version.split()[0]}, {os.cpu_count()} CPUs, median of {args.runs} runs")
    row(
        "--help",
        measure([*nhictl, "--help"], args.runs),
        measure([peer, "--help"], args.runs),
        "<= 0.70",
    )
    row(
        "validate one file",
        measure([*nhictl, "validate", str(EXAMPLE)], args.runs),
        measure([peer, *schema, str(EXAMPLE)], args.runs),
        "<= 0.80",
    )
    work = Path(tempfile.mkdtemp(prefix="nhictl-bench-"))
    try:
        small = generate(work / "small", args.files // 10)
        files = generate(work / "large", args.files)
        runs = max(1, args.runs // 3)
        ours_small = measure([*nhictl, "validate", str(work / "small")], runs)
        ours = measure([*nhictl, "validate", str(work / "large")], runs)
        theirs = measure([peer, *schema, *files], runs)
        row(f"validate {args.files} files", ours, theirs, "<= 0.50")
        print(
            f"memory flat: nhictl peak RSS {ours_small[1]} MiB for {len(small)} files, "
            f"{ours[1]} MiB for {len(files)} files"
        )
        print(f"nhictl throughput: {len(files) / ours[0]:,.0f} files/s")
    finally:
        shutil.rmtree(work)


if __name__ == "__main__":
    main()
