"""benchmarks/profile_issue.py keeps working as the issue path changes (it broke once)."""

from __future__ import annotations

import subprocess
import sys
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent


def test_profile_issue_times_every_phase(tmp_path: Path) -> None:
    done = subprocess.run(
        [sys.executable, str(ROOT / "benchmarks" / "profile_issue.py"), "--n", "5"],
        capture_output=True,
        text=True,
        timeout=120,
        env={"PATH": "/usr/bin:/bin", "HOME": str(tmp_path)},
        check=False,
    )
    assert done.returncode == 0, done.stderr
    assert "5 issues on SQLite" in done.stdout
    for phase in (
        "policy decision (Cedar)",
        "build and sign the token",
        "build the audit event",
        "end of the write transaction",
        "rest (checks, defaults, guards, record)",
    ):
        line = next(line for line in done.stdout.splitlines() if phase in line)
        wall, cpu = (float(x) for x in line.split()[-2:])
        assert wall > 0 and cpu >= 0
