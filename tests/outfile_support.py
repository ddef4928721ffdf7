"""Helpers for the output-file tests: FIFO readers, temp-file checks, a tiny real tmpfs."""

from __future__ import annotations

import os
import shutil
import stat
import subprocess
import threading
from pathlib import Path

import pytest

ROOT = Path(__file__).resolve().parent.parent


def leftovers(folder: Path) -> list[str]:
    return sorted(p.name for p in folder.iterdir() if p.name.endswith(".tmp"))


class FifoReader:
    """Read a FIFO in a thread, as `cat fifo` would."""

    def __init__(self, path: Path) -> None:
        os.mkfifo(path)
        self.path = path
        self.data = b""
        self.thread = threading.Thread(target=self._read, daemon=True)
        self.thread.start()

    def _read(self) -> None:
        with open(self.path, "rb") as handle:
            self.data = handle.read()

    def result(self) -> bytes:
        self.thread.join(timeout=60)
        assert not self.thread.is_alive()
        return self.data


def dev_null_is_intact() -> bool:
    st = os.stat("/dev/null")
    return stat.S_ISCHR(st.st_mode) and st.st_rdev == os.makedev(1, 3)


# A real, tiny, full file system: tmpfs in a private mount namespace (no root needed).
TINY_FS = """
set -e
d="$1"
shift
mount -t tmpfs -o size=4k,mode=0777 tmpfs "$d"
head -c 4096 /dev/zero > "$d/filler" 2>/dev/null || true
set +e
"$@" 2>&1
echo "rc=$?"
ls -A "$d"
"""


def unshare_available() -> bool:
    if not shutil.which("unshare"):
        return False
    probe = subprocess.run(
        ["unshare", "--user", "--map-root-user", "--mount", "true"], capture_output=True
    )
    return probe.returncode == 0


needs_unshare = pytest.mark.skipif(
    not unshare_available(), reason="needs unshare (user + mount namespaces) for a tiny tmpfs"
)


def on_tiny_fs(folder: Path, *command: str, read_only: bool = False) -> str:
    """Run ``command`` with a full 4 KiB tmpfs (or an empty read-only one) mounted on
    ``folder``: its output, ``rc=N``, then what the file system held afterwards, one name a
    line (the mount vanishes with the namespace)."""
    folder.mkdir(exist_ok=True)
    script = TINY_FS.replace("size=4k,", "ro,size=4k,") if read_only else TINY_FS
    result = subprocess.run(
        ["unshare", "--user", "--map-root-user", "--mount", "sh", "-c", script, "sh",
         str(folder), *command],
        capture_output=True, text=True, cwd=ROOT, timeout=120,
    )  # fmt: skip
    return result.stdout + result.stderr
