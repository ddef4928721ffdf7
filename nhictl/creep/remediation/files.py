"""The fix files of ``--remediate-out DIR`` and ``DIR/index.json``; nothing is ever applied.

A fix in several managed policies is ``<name>.json``, ``<name>.2.json``, ...; ``index.json``
lists every principal considered, with the files of its fix or why it has none. Files a
previous run listed in ``index.json`` are removed first, so the folder never holds a stale fix
next to the new ones (a principal excluded since must not keep its old ``detach-all``).
"""

from __future__ import annotations

from pathlib import Path
from typing import Any

import orjson

from nhictl.core.errors import InputError
from nhictl.core.jsonout import document
from nhictl.core.outfile import write_file

INDEX = "index.json"
_INTERNAL = ("policy", "documents")  # what rides along for the writer, not for the index


def write_remediations(out_dir: Path, remediations: dict[str, dict[str, Any]]) -> list[Path]:
    """Every fix file and ``index.json`` (the last path returned)."""
    try:
        out_dir.mkdir(parents=True, exist_ok=True)
    except OSError as exc:
        raise InputError(
            f"{out_dir}: cannot create remediation directory: {exc.strerror}"
        ) from None
    planned: list[tuple[str, Any]] = []  # (file name, document)
    index: list[dict[str, Any]] = []
    used_names: set[str] = set()
    for pid in sorted(remediations):
        rem = remediations[pid]
        entry = {k: v for k, v in rem.items() if k not in _INTERNAL}
        docs = rem.get("documents")
        if docs is None:  # a provider's own fix: one document
            docs = [rem["policy"]] if rem.get("policy") is not None else []
        if docs:
            name = _safe_name(pid)
            while name in used_names:
                name += "_"
            used_names.add(name)
            files = [f"{name}.json"] + [f"{name}.{i}.json" for i in range(2, len(docs) + 1)]
            planned += zip(files, docs, strict=True)
            entry["file"] = files[0]  # the only one, or the first of the parts
            entry["files"] = files
            for part, fname in zip(entry.get("parts", ()), files, strict=False):
                part["file"] = fname
        index.append(entry)
    _remove_previous(out_dir, {fname for fname, _ in planned})
    written: list[Path] = []
    for fname, doc in planned:
        path = out_dir / fname
        write_file(path, document(doc))
        written.append(path)
    idx = out_dir / INDEX
    write_file(idx, document(index))
    written.append(idx)
    return written


def fix_files(written: list[Path]) -> int:
    """How many of ``written`` are fix files (not the index)."""
    return sum(1 for p in written if p.name != INDEX)


def _remove_previous(out_dir: Path, keep: set[str]) -> None:
    """Remove the files a previous run's index lists (plain names inside ``out_dir`` only),
    except those about to be replaced."""
    idx = out_dir / INDEX
    try:
        old = orjson.loads(idx.read_bytes())
    except (OSError, orjson.JSONDecodeError):
        return  # no previous index, or not ours: leave the folder as it is
    if not isinstance(old, list):
        return
    for entry in old:
        if not isinstance(entry, dict):
            continue
        names = entry.get("files")
        for name in names if isinstance(names, list) else [entry.get("file")]:
            if (
                isinstance(name, str)
                and name not in keep
                and name == Path(name).name
                and name.endswith(".json")
            ):
                (out_dir / name).unlink(missing_ok=True)


def _safe_name(arn: str) -> str:
    acct = arn.split(":")[4] if arn.count(":") >= 5 else ""
    tail = arn.rsplit(":", 1)[-1].replace("/", "_")
    safe = "".join(c if c.isalnum() or c in "-_.+=@" else "_" for c in f"{acct}_{tail}")
    return safe.strip("._") or "principal"
