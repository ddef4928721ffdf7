"""A directory of raw tool outputs, written all at once or not at all.

`nhictl collect gcp|azure -o DIR` writes the files the offline loaders read, in the layout and
JSON style of ``gcloud --format=json`` / ``az -o json`` (2-space indent, keys sorted, UTF-8).
Everything goes to ``DIR.tmp-XXXX`` next to DIR first and is renamed to DIR at the end, so an
interrupted or failed collection never leaves a half-filled DIR. An existing DIR that holds
anything is refused unless ``force`` (then it is replaced whole, after the new one is complete).

Besides the raw files, ``notes.json`` records what the collector did (`NOTES_FORMAT`): the
files written, optional parts it skipped and why (e.g. HTTP 403), and other notes. The
loaders may ignore it; it is for the person reading the directory.
"""

from __future__ import annotations

import contextlib
import json
import os
import secrets
import shutil
import tempfile
from collections.abc import Callable
from dataclasses import dataclass, field
from datetime import UTC, datetime
from pathlib import Path, PurePosixPath
from typing import Any

from nhictl.core.errors import InputError

NOTES_FILE = "notes.json"
NOTES_FORMAT = "nhictl.collect.notes/v1"


def check_target(target: Path, force: bool) -> None:
    """Refuse early (before any cloud call) what `OutputDir` would refuse at the end."""
    if target.is_symlink() or (target.exists() and not target.is_dir()):
        raise InputError(f"{target}: exists and is not a directory")
    if target.is_dir() and any(target.iterdir()) and not force:
        raise InputError(
            f"{target}: directory is not empty",
            hint="choose a new directory, or pass --force to replace it",
        )


def dump_json(data: Any) -> str:
    """JSON as gcloud and az print it."""
    return json.dumps(data, indent=2, sort_keys=True, ensure_ascii=False) + "\n"


@dataclass(slots=True)
class Skipped:
    """An optional part that could not be collected."""

    file: str
    status: int
    reason: str

    def as_dict(self) -> dict[str, Any]:
        return {"file": self.file, "status": self.status, "reason": self.reason}


@dataclass(slots=True)
class CollectResult:
    """What a collection wrote."""

    directory: Path
    files: list[str] = field(default_factory=list)
    skipped: list[Skipped] = field(default_factory=list)
    notes: list[str] = field(default_factory=list)
    counts: dict[str, int] = field(default_factory=dict)


class OutputDir:
    """``with OutputDir(DIR, force) as out: out.write_json("a/b.json", data)``."""

    def __init__(self, target: Path, force: bool = False) -> None:
        self.target = target
        self.force = force
        self.files: list[str] = []
        self._tmp: Path | None = None

    def __enter__(self) -> OutputDir:
        check_target(self.target, self.force)
        parent = self.target.parent
        parent.mkdir(parents=True, exist_ok=True)
        # mkdtemp: mode 0700, like the data it will hold (an IAM inventory of the estate).
        self._tmp = Path(tempfile.mkdtemp(prefix=f"{self.target.name}.tmp-", dir=parent))
        return self

    def path(self, relative: str) -> Path:
        rel = PurePosixPath(relative)
        if rel.is_absolute() or any(p in ("", ".", "..") for p in rel.parts):
            raise ValueError(f"not a relative file name: {relative!r}")
        assert self._tmp is not None, "use OutputDir as a context manager"
        return self._tmp.joinpath(*rel.parts)

    def write_json(self, relative: str, data: Any) -> None:
        dest = self.path(relative)
        dest.parent.mkdir(parents=True, exist_ok=True)
        with open(dest, "x", encoding="utf-8") as handle:  # "x": never two writers of a file
            handle.write(dump_json(data))
        self.files.append(relative)

    def write_notes(self, result: CollectResult, collector: str, target: dict[str, Any]) -> None:
        self.write_json(
            NOTES_FILE,
            {
                "format": NOTES_FORMAT,
                "collector": collector,
                "collectedAt": datetime.now(UTC).isoformat(timespec="seconds"),
                "target": target,
                "files": sorted(self.files),
                "skipped": [s.as_dict() for s in result.skipped],
                "notes": result.notes,
            },
        )

    def __exit__(self, exc_type: Any, exc: Any, tb: Any) -> None:
        tmp, self._tmp = self._tmp, None
        if tmp is None:
            return
        if exc_type is not None:
            shutil.rmtree(tmp, ignore_errors=True)
            return
        try:
            self._commit(tmp)
        except BaseException:
            shutil.rmtree(tmp, ignore_errors=True)
            raise

    def _commit(self, tmp: Path) -> None:
        target = self.target
        check_target(target, self.force)  # it may have changed while we collected
        old: Path | None = None
        if target.exists():  # empty, or --force: move it aside, swap, then delete it
            old = target.with_name(f"{target.name}.old-{secrets.token_hex(4)}")
            os.rename(target, old)
        try:
            os.rename(tmp, target)
        except OSError:
            if old is not None:
                with contextlib.suppress(OSError):
                    os.rename(old, target)
            raise
        if old is not None:
            shutil.rmtree(old, ignore_errors=True)


def write_collection(
    directory: Path,
    force: bool,
    collector: str,
    target: dict[str, Any],
    run: Callable[[OutputDir, CollectResult], None],
) -> CollectResult:
    """``run(out, result)``, then ``notes.json``: ``directory`` appears whole, or not at all.

    A file that cannot be written is an `InputError`; whatever else ``run`` raises passes
    through, after the temporary directory is removed.
    """
    result = CollectResult(directory)
    try:
        with OutputDir(directory, force) as out:
            run(out, result)
            out.write_notes(result, collector, target)
            result.files = sorted(out.files)
    except OSError as exc:
        raise InputError(f"{directory}: cannot write: {exc.strerror or exc}") from None
    return result
