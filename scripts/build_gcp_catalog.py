"""Build nhictl's compact GCP predefined-role catalog from iann0036/iam-dataset.

Source: https://github.com/iann0036/iam-dataset, ``gcp/roles/<role>.json`` (one
``gcloud iam roles describe`` output per predefined role), read with git from a local copy of
the repository at a pinned commit -- the shipped file was built from commit
2073fa52ac008a45477aa0b1b4580cd99135bf60 (22 Aug 2026). Rebuild (a newer dataset: pass its
commit):

    python scripts/build_gcp_catalog.py --git-dir /path/to/iam-dataset/.git \\
        [--commit 2073fa52ac008a45477aa0b1b4580cd99135bf60]

Or rebuild from a live listing of the predefined roles, ``predefined-roles.json`` as
``nhictl collect gcp --roles`` writes it (IAM ``roles.list view=FULL``; read by
``nhictl.providers.gcp.predefined``, the reader the offline audit uses for the same file):

    python scripts/build_gcp_catalog.py --roles-file snapshots/gcp/P/predefined-roles.json \
        [--date 2026-12-01T00:00:00+00:00]

Its ``source`` then records the file's name, SHA-256 and date (``--date``, else the
``collectedAt`` of the ``notes.json`` beside it, else the file's modification time).

The output, ``nhictl/providers/gcp/data/roles.v1.json.gz``, keeps what the creep engine needs:
every permission once, in sorted order, with its access level (``nhictl.providers.gcp.levels``),
and every role's name, title, stage and permissions as indices into that list (the gaps between
sorted indices, as a comma-separated string).
Its ``source`` records the repository, commit and commit date; ``counts`` the totals. The same
dataset and commit always give the same bytes (sorted keys and lists, gzip mtime 0).
"""

from __future__ import annotations

import argparse
import hashlib
import json
import subprocess
import sys
from collections import Counter
from datetime import UTC, datetime
from pathlib import Path
from typing import Any

ROOT = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(ROOT))

from nhictl.core.errors import InputError  # noqa: E402
from nhictl.providers.catalog_file import LEVEL_CODES, pack  # noqa: E402
from nhictl.providers.gcp.levels import level_of  # noqa: E402
from nhictl.providers.gcp.predefined import read_predefined_roles  # noqa: E402
from nhictl.providers.rawdir import NOTES_FILE  # noqa: E402

REPOSITORY = "iann0036/iam-dataset"
COMMIT = "2073fa52ac008a45477aa0b1b4580cd99135bf60"
GIT_DIR = Path("/work/.mirror/iann0036+iam-dataset/repo")
ROLES_DIR = "gcp/roles/"
OUT = ROOT / "nhictl/providers/gcp/data/roles.v1.json.gz"
FORMAT = "nhictl-gcp-roles/v1"


def _git(git_dir: Path, *args: str, data: bytes | None = None) -> bytes:
    return subprocess.run(
        ["git", "--git-dir", str(git_dir), *args], input=data, capture_output=True, check=True
    ).stdout


def read_roles(git_dir: Path, commit: str) -> tuple[list[dict[str, Any]], str]:
    """Every ``gcp/roles/*.json`` document at ``commit``, and the commit's date (ISO 8601)."""
    listing = _git(git_dir, "ls-tree", "-z", "--name-only", commit, ROLES_DIR).decode()
    paths = sorted(p for p in listing.split("\0") if p.endswith(".json"))
    # One `git cat-file --batch` for 2,461 blobs instead of as many `git show` processes.
    batch = _git(
        git_dir, "cat-file", "--batch", data="".join(f"{commit}:{p}\n" for p in paths).encode()
    )
    roles: list[dict[str, Any]] = []
    pos = 0
    for path in paths:
        eol = batch.index(b"\n", pos)
        header = batch[pos:eol].split()
        if len(header) != 3 or header[1] != b"blob":
            raise SystemExit(f"{path}: not a blob at {commit}")
        size = int(header[2])
        roles.append(json.loads(batch[eol + 1 : eol + 1 + size]))
        pos = eol + 1 + size + 1
    date = _git(git_dir, "show", "-s", "--format=%cI", commit).decode().strip()
    return roles, date


def read_roles_file(
    path: Path, date: str | None = None
) -> tuple[list[dict[str, Any]], dict[str, Any]]:
    """The roles of a ``predefined-roles.json`` and the ``source`` recording where they are from."""
    roles = [
        {"name": r.name, "title": r.title, "stage": r.stage, "includedPermissions": r.permissions}
        for r in read_predefined_roles(path)
    ]
    if date is None:
        notes = path.parent / NOTES_FILE
        if notes.is_file():
            date = json.loads(notes.read_text(encoding="utf-8")).get("collectedAt")
    if date is None:
        date = datetime.fromtimestamp(path.stat().st_mtime, UTC).isoformat(timespec="seconds")
    source = {
        "file": path.name,
        "sha256": hashlib.sha256(path.read_bytes()).hexdigest(),
        "date": date,
        "origin": "IAM v1 roles.list view=FULL (nhictl collect gcp --roles)",
    }
    return roles, source


def build(
    roles: list[dict[str, Any]], commit: str, date: str, source: dict[str, Any] | None = None
) -> dict[str, Any]:
    """The compact catalog of ``roles`` (``gcloud iam roles describe`` documents); ``source``
    replaces the dataset's (repository, commit, date) when the roles come from a file."""
    by_name: dict[str, dict[str, Any]] = {}
    for r in roles:
        name = r["name"]
        if not name.startswith("roles/") or name in by_name:
            raise SystemExit(f"unexpected or repeated role name {name!r}")
        by_name[name] = r
    permissions = sorted({p for r in roles for p in r.get("includedPermissions", ())})
    index = {p: i for i, p in enumerate(permissions)}
    out_roles = []
    for name in sorted(by_name):
        r = by_name[name]
        bits = sorted(index[p] for p in set(r.get("includedPermissions", ())))
        # Deltas as one decimal string: parsed only when the role is first used (165,000
        # indices as JSON numbers cost ~40 ms at every start, as strings ~1 ms).
        deltas = ",".join(str(b - a) for a, b in zip([-1, *bits], bits, strict=False))
        out_roles.append([name, r.get("title", ""), r.get("stage", ""), deltas])
    stages = Counter(r.get("stage", "") for r in roles)
    return {
        "format": FORMAT,
        "source": source
        or {
            "repository": REPOSITORY,
            "url": f"https://github.com/{REPOSITORY}",
            "path": ROLES_DIR + "*.json",
            "commit": commit,
            "date": date,
        },
        "counts": {
            "roles": len(out_roles),
            "permissions": len(permissions),
            "stages": dict(sorted(stages.items())),
            "roles_without_permissions": sum(1 for r in roles if not r.get("includedPermissions")),
        },
        "levels": {code: level for level, code in LEVEL_CODES.items()},
        "permissions": permissions,
        "codes": "".join(LEVEL_CODES[level_of(p)] for p in permissions),
        "roles": out_roles,
    }


def encode(catalog: dict[str, Any]) -> bytes:
    return pack(catalog, sort_keys=True)


def main(argv: list[str] | None = None) -> None:
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--git-dir", type=Path, default=GIT_DIR, help="iam-dataset git directory")
    ap.add_argument("--commit", default=COMMIT)
    ap.add_argument("--out", type=Path, default=OUT)
    ap.add_argument(
        "--roles-file", type=Path, help="predefined-roles.json (instead of the dataset)"
    )
    ap.add_argument("--date", help="with --roles-file: when the roles were listed (ISO 8601)")
    args = ap.parse_args(argv)
    if args.roles_file is not None:
        try:
            roles, source = read_roles_file(args.roles_file, args.date)
        except InputError as exc:
            raise SystemExit(f"error: {exc}") from None
        catalog = build(roles, "", str(source["date"]), source)
    else:
        roles, date = read_roles(args.git_dir, args.commit)
        catalog = build(roles, args.commit, date)
    args.out.write_bytes(encode(catalog))
    c = catalog["counts"]
    print(
        f"wrote {args.out} ({args.out.stat().st_size} bytes): {c['roles']} roles, "
        f"{c['permissions']} permissions, stages {c['stages']}"
    )


if __name__ == "__main__":
    main()
