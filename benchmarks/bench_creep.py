"""Benchmark ``nhictl audit-creep`` against cloudsplaining on the same generated estates.

For each profile and size it generates (once, cached in benchmarks/out/) an AWS estate in the
exact CLI shapes (``gen_aws_estate.py``), then runs, each in a fresh process:

- ``nhictl audit-creep`` with last-accessed data, access keys and manifests, JSON output;
- ``cloudsplaining scan`` on the same ``authorization-details.json`` (only for --peer-sizes).

and prints wall time, peak RSS (largest process of the run's tree) and output size, side by
side. Usage::

    python benchmarks/bench_creep.py                      # 1k/5k/20k nhictl, 1k/5k peer
    python benchmarks/bench_creep.py --sizes 1000 --peer-sizes 1000
    python benchmarks/bench_creep.py --peer-sizes ''      # skip cloudsplaining
    python benchmarks/bench_creep.py --sizes 1000 --peer-sizes 1000 --wildcard-share 0.6
    python benchmarks/bench_creep.py --profiles typical --sizes 5000 --peer-sizes '' \
        --remediate /dev/shm/fixes                        # + the least-privilege fixes
"""

from __future__ import annotations

import argparse
import os
import shutil
import subprocess
import sys
import time
from dataclasses import dataclass
from pathlib import Path

HERE = Path(__file__).resolve().parent
OUT = HERE / "out"


@dataclass
class Run:
    tool: str
    profile: str
    roles: int
    wall_s: float
    peak_mb: float
    output_mb: float
    ok: bool


def _sizes(text: str) -> list[int]:
    return [int(x) for x in text.split(",") if x.strip()]


def estate(n: int, profile: str, wildcard_share: float = 0.12) -> Path:
    tag = "" if profile == "typical" else f"-{profile}"
    tag += "" if wildcard_share == 0.12 else f"-w{wildcard_share:g}"
    d = OUT / f"estate-{n}{tag}"
    if not (d / "authorization-details.json").exists():
        cmd = [sys.executable, str(HERE / "gen_aws_estate.py"), str(n), str(d),
               "--wildcard-share", str(wildcard_share), "--profile", profile]  # fmt: skip
        subprocess.run(cmd, check=True, stdout=subprocess.DEVNULL)
    return d


def measure(cmd: list[str], out_path: Path) -> tuple[float, float, bool]:
    """Wall seconds and peak RSS (MB) of one command, via wait4's resource usage."""
    # stderr goes to a file: a pipe read only after the run would fill up and block a chatty
    # tool (cloudsplaining logs a line per policy).
    log = out_path.with_name(out_path.name + ".stderr.log")
    with log.open("wb") as err_file:
        t0 = time.perf_counter()
        proc = subprocess.Popen(cmd, stdout=subprocess.DEVNULL, stderr=err_file)
        _, status, usage = os.wait4(proc.pid, 0)
        wall = time.perf_counter() - t0
    proc.returncode = os.waitstatus_to_exitcode(status)
    ok = proc.returncode in (0, 1)
    if not ok:
        tail = log.read_text(errors="replace").strip()[-300:]
        print(f"  ! {cmd[0]} exited {proc.returncode}: {tail}", file=sys.stderr)
    # ru_maxrss is in KiB on Linux and covers the child and the descendants it waited for.
    return wall, usage.ru_maxrss / 1024, ok


def size_mb(path: Path) -> float:
    if path.is_file():
        return path.stat().st_size / 1e6
    if path.is_dir():
        return sum(p.stat().st_size for p in path.rglob("*") if p.is_file()) / 1e6
    return 0.0


def compile_nhictl() -> None:
    """Byte-compile nhictl once, as ``pip install`` does (and did for cloudsplaining).

    An editable install under PYTHONDONTWRITEBYTECODE=1 (this machine's default) would
    otherwise compile every nhictl module from source in every measured run (~90 ms) while
    the peer loads its bytecode.
    """
    import compileall

    compileall.compile_dir(str(HERE.parent / "nhictl"), quiet=1)


def run_nhictl(n: int, d: Path, profile: str, fixes: Path | None = None) -> Run:
    """``fixes``: also read the estate's Lambda listing and write every least-privilege fix
    there (``--resources``, ``--remediate-out``), emptied first."""
    report = OUT / f"nhictl-{d.name.removeprefix('estate-')}.json"
    cmd = [
        sys.executable, "-m", "nhictl", "audit-creep",
        "--snapshot", str(d / "authorization-details.json"),
        "--last-accessed", str(d / "last-accessed.json"),
        "--access-keys", str(d / "access-keys.json"),
        "--manifests", str(d / "manifests"),
        "--as-of", "2026-11-28", "--format", "json", "-o", str(report),
    ]  # fmt: skip
    tool = "nhictl audit-creep"
    if fixes is not None:
        shutil.rmtree(fixes, ignore_errors=True)
        cmd += ["--resources", str(d), "--remediate-out", str(fixes)]
        tool += " +fixes"
    wall, peak, ok = measure(cmd, report)
    return Run(tool, profile, n, wall, peak, size_mb(report), ok)


def graph_cost(d: Path) -> str:
    """The principal graph's own cost on an estate, in this process: the facts pass (one
    effective grant per principal), the build + reverse BFS, and its size. The Lambda listing
    is read here directly so the figure does not depend on the resource loader."""
    import json

    from nhictl.creep.context import AuditOptions, Context
    from nhictl.creep.effective import Expander
    from nhictl.creep.graph_pass import attach_graph
    from nhictl.creep.model import Resource
    from nhictl.providers.aws.knowledge import aws_knowledge
    from nhictl.providers.aws.load import load_aws

    snap, _ = load_aws(d / "authorization-details.json", None, None)
    listing = d / "lambda-functions.json"
    if listing.exists():
        fns = json.loads(listing.read_text())["Functions"]
        snap.resources = [
            Resource("lambda-function", f["FunctionArn"], f["Role"], f["FunctionArn"].split(":")[4])
            for f in fns
        ]
        snap.inventory = frozenset({"lambda-function"})
    k = aws_knowledge()
    from datetime import UTC, datetime

    ctx = Context(snap, k, AuditOptions(now=datetime.now(UTC)), Expander(k.catalog), {})
    cost = attach_graph(ctx)
    if cost is None:
        return "graph: not built"
    return (
        f"graph: facts {cost.facts_s:.2f} s, build+BFS {cost.build_s:.3f} s, "
        f"{cost.nodes} nodes, {cost.edges} explicit edges, {cost.open_targets} open targets, "
        f"{cost.holders} holders, {cost.reach_admin} reach admin"
    )


def run_cloudsplaining(n: int, d: Path, profile: str, exe: str) -> Run:
    out = OUT / f"cloudsplaining-{d.name.removeprefix('estate-')}"
    shutil.rmtree(out, ignore_errors=True)
    out.mkdir(parents=True)
    cmd = [exe, "scan", "-i", str(d / "authorization-details.json"), "-o", str(out), "-s"]
    wall, peak, ok = measure(cmd, out)
    return Run("cloudsplaining 0.9.1 scan", profile, n, wall, peak, size_mb(out), ok)


def main() -> None:
    ap = argparse.ArgumentParser(description="nhictl audit-creep vs cloudsplaining")
    ap.add_argument(
        "--profiles", default="typical,broad", help="estate profiles: typical, broad or both"
    )
    ap.add_argument("--sizes", default="1000,5000,20000", help="roles per estate for nhictl")
    ap.add_argument("--peer-sizes", default="1000,5000", help="sizes also run with cloudsplaining")
    ap.add_argument(
        "--wildcard-share",
        type=float,
        default=0.12,
        help="typical profile: share of svc:* statements (0.6: a wildcard-heavy estate)",
    )
    ap.add_argument(
        "--remediate",
        metavar="DIR",
        type=Path,
        help="also run nhictl with the Lambda listing and --remediate-out DIR/<estate> "
        "(a tmpfs DIR keeps the file system's cost of ~5,000 small files out of the figure)",
    )
    args = ap.parse_args()
    profiles = [x.strip() for x in args.profiles.split(",") if x.strip()]
    OUT.mkdir(exist_ok=True)
    compile_nhictl()
    sizes, peer = _sizes(args.sizes), _sizes(args.peer_sizes)
    exe = shutil.which("cloudsplaining", path=str(Path(sys.executable).parent)) or shutil.which(
        "cloudsplaining"
    )
    if peer and exe is None:
        print("cloudsplaining not found: pip install -e '.[bench]' (skipping the peer)")
        peer = []
    runs: list[Run] = []
    for profile in profiles:
        for n in sorted(set(sizes) | set(peer)):
            d = estate(n, profile, args.wildcard_share)
            export_mb = size_mb(d / "authorization-details.json")
            print(f"{profile}, {n} roles: {export_mb:.1f} MB export", flush=True)
            if n in sizes:
                runs.append(run_nhictl(n, d, profile))
                r = runs[-1]
                print(f"  nhictl          {r.wall_s:7.2f} s  {r.peak_mb:7.0f} MB", flush=True)
                print(f"  {graph_cost(d)}", flush=True)
                if args.remediate is not None:
                    runs.append(run_nhictl(n, d, profile, args.remediate / d.name))
                    r = runs[-1]
                    print(f"  nhictl +fixes   {r.wall_s:7.2f} s  {r.peak_mb:7.0f} MB", flush=True)
            if n in peer and exe:
                runs.append(run_cloudsplaining(n, d, profile, exe))
                r = runs[-1]
                print(f"  cloudsplaining  {r.wall_s:7.2f} s  {r.peak_mb:7.0f} MB", flush=True)
    cpu = os.cpu_count()
    print(
        f"\nmachine: {cpu} CPUs, Python {sys.version.split()[0]}, load avg {os.getloadavg()[0]:.2f}"
    )
    head = f"{'tool':28} {'profile':>8} {'roles':>6} {'wall s':>8} {'peak MB':>8} {'output MB':>10}"
    print(head)
    for r in runs:
        flag = "" if r.ok else "  (failed)"
        print(
            f"{r.tool:28} {r.profile:>8} {r.roles:>6} {r.wall_s:>8.2f} {r.peak_mb:>8.0f} "
            f"{r.output_mb:>10.1f}{flag}"
        )
    by = {(r.tool.split()[0], r.profile, r.roles): r for r in runs if "+fixes" not in r.tool}
    for profile in profiles:
        for n in peer:
            a, b = by.get(("nhictl", profile, n)), by.get(("cloudsplaining", profile, n))
            if a and b and a.wall_s and a.peak_mb:
                print(
                    f"{profile}, {n} roles: nhictl is {b.wall_s / a.wall_s:.0f}x faster and uses "
                    f"{a.peak_mb / b.peak_mb:.2f}x the memory of cloudsplaining"
                )


if __name__ == "__main__":
    main()
