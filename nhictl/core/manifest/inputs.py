"""Turn command-line inputs (files, directories, globs, ``-``) into a stream of files."""

from __future__ import annotations

import glob
import os
from collections.abc import Iterable, Iterator
from dataclasses import dataclass

MANIFEST_SUFFIXES = (".yaml", ".yml", ".json")
STDIN = "-"


@dataclass(frozen=True)
class InputPath:
    """A file to read, or an argument that named nothing readable (``problem`` set)."""

    path: str
    problem: str | None = None


def expand_inputs(args: Iterable[str]) -> Iterator[InputPath]:
    """Yield files in a stable order; directories recurse (hidden ones skipped), lazily."""
    for arg in args:
        if arg == STDIN:
            yield InputPath(STDIN)
        elif os.path.isdir(arg):
            yield from _walk(arg)
        elif os.path.exists(arg) or os.path.islink(arg):
            yield InputPath(arg)
        elif glob.has_magic(arg):
            matches = sorted(glob.iglob(arg, recursive=True))
            if not matches:
                yield InputPath(arg, "no files match this pattern")
            for match in matches:
                if os.path.isdir(match):
                    yield from _walk(match)
                else:
                    yield InputPath(match)
        else:
            yield InputPath(arg, "no such file or directory")


def _walk(root: str) -> Iterator[InputPath]:
    # os.walk does not follow directory symlinks, so a link loop cannot trap us.
    for folder, dirs, files in os.walk(root):
        dirs[:] = sorted(d for d in dirs if not d.startswith("."))
        for name in sorted(files):
            if name.endswith(MANIFEST_SUFFIXES) and not name.startswith("."):
                yield InputPath(os.path.join(folder, name))
