"""Benchmark the GCP audit (``audit_gcp``) on generated estates of real-size role catalogs.

For each size it generates (once, cached in benchmarks/out/) an estate in the raw gcloud layout
(``gen_gcp_estate.py``: accounts spread over projects of at most ``--per-project`` accounts
under folders, insights, activity, keys, account policies, a manifest per two accounts), then
runs the whole audit -- loading, every rule, usage, manifests, remediation proposals -- and
writes the JSON report, each run in a fresh process, and prints wall time and peak RSS::

    python benchmarks/bench_creep_gcp.py                 # 1k and 5k accounts, 3 runs each
    python benchmarks/bench_creep_gcp.py --sizes 1000,5000,20000 --runs 1
    python benchmarks/bench_creep_gcp.py --predefined-roles   # + a full predefined-roles.json

``--predefined-roles`` puts a ``predefined-roles.json`` holding every shipped role (2,461, as
``nhictl collect gcp --roles`` writes them) beside the project folders for the runs, so the
audit reads it and redefines every predefined role from it: the refresh path at real size.

Prowler, the peer one would pick, checks GCP only against live APIs (it has no offline input),
so there is no side-by-side run here; see docs/audit-creep.md.
"""

from __future__ import annotations

import argparse
import os
import subprocess
import sys
import time
from pathlib import Path

HERE = Path(__file__).resolve().parent
ROOT = HERE.parent
OUT = HERE / "out"

_RUN = """
import sys
from datetime import UTC, datetime
from pathlib import Path
from nhictl.providers.gcp.audit import GcpAuditInputs, audit_gcp
from nhictl.render.creep import render_json
d = Path(sys.argv[1])
report = audit_gcp(GcpAuditInputs(snapshot=d / "snapshot", manifests=[str(d / "manifests")],
                                  now=datetime(2026, 11, 28, tzinfo=UTC), remediate=True))
Path(sys.argv[2]).write_bytes(render_json(report))
print(len(report.principals), len(report.findings))
"""


def estate(n: int, per_project: int) -> Path:
    d = OUT / f"gcp-estate-{n}-p{per_project}"
    if not (d / "snapshot").is_dir():
        cmd = [sys.executable, str(HERE / "gen_gcp_estate.py"), str(n), str(d),
               "--per-project", str(per_project)]  # fmt: skip
        subprocess.run(cmd, check=True, stdout=subprocess.DEVNULL)
    return d


def write_predefined_roles(path: Path) -> None:
    """Every shipped predefined role as IAM roles.list (view FULL) lists it."""
    import json

    from nhictl.providers.gcp.catalog import load_catalog

    cat = load_catalog()
    roles = []
    for name in sorted(cat.roles()):
        info = cat.role(name)
        assert info is not None
        roles.append(
            {
                "name": name,
                "title": info.title,
                "description": f"{info.title} role",
                "stage": info.stage,
                "etag": "AA==",
                "includedPermissions": list(cat.role_permissions(name) or ()),
            }
        )
    path.write_text(json.dumps(roles, indent=2, sort_keys=True) + "\n", encoding="utf-8")


def measure(d: Path, report: Path) -> tuple[float, float, str]:
    """Wall seconds, peak RSS (MB, from wait4's resource usage) and the run's output line."""
    env = {**os.environ, "PYTHONPATH": str(ROOT)}
    log = report.with_suffix(".log")
    with log.open("wb") as out:
        t0 = time.perf_counter()
        proc = subprocess.Popen([sys.executable, "-c", _RUN, str(d), str(report)],
                                stdout=out, stderr=subprocess.STDOUT, env=env)  # fmt: skip
        _, status, usage = os.wait4(proc.pid, 0)
        wall = time.perf_counter() - t0
    text = log.read_text(errors="replace").strip()
    if os.waitstatus_to_exitcode(status) != 0:
        raise SystemExit(f"audit failed: {text[-400:]}")
    # ru_maxrss is in KiB on Linux.
    return wall, usage.ru_maxrss / 1024, text.splitlines()[-1] if text else ""


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--sizes", default="1000,5000")
    ap.add_argument("--runs", type=int, default=3)
    ap.add_argument("--per-project", type=int, default=250)
    ap.add_argument("--predefined-roles", action="store_true")
    args = ap.parse_args()
    sizes = sorted(int(x) for x in args.sizes.split(",") if x.strip())
    OUT.mkdir(exist_ok=True)
    print(f"{'accounts':>9} {'run':>4} {'wall s':>8} {'peak MB':>8}  principals findings")
    for n in sizes:
        d = estate(n, args.per_project)
        roles_file = d / "snapshot" / "predefined-roles.json"
        if args.predefined_roles:
            write_predefined_roles(roles_file)
        walls = []
        try:
            for i in range(args.runs):
                wall, peak, line = measure(d, OUT / f"gcp-report-{n}.json")
                walls.append(wall)
                print(f"{n:>9} {i + 1:>4} {wall:>8.2f} {peak:>8.0f}  {line}")
        finally:
            roles_file.unlink(missing_ok=True)  # the cached estate stays as generated
        print(f"{n:>9}  min {min(walls):.2f} s, max {max(walls):.2f} s")


if __name__ == "__main__":
    main()
