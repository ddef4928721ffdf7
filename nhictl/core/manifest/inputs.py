"""Turn command-line inputs (files, directories, globs, ``-``) into a stream of files."""

from __future__ import annotations

import glob
import os
from collections.abc import Iterable, Iterator
from dataclasses import dataclass

MANIFEST_SUFFIXES = (".yaml", ".yml", ".json")
STDIN = "-"
NO_MANIFESTS = "no manifests found"


@dataclass(frozen=True)
class InputPath:
    """A file to read, or an argument that named nothing readable (``problem`` set).

    ``expanded`` marks a file found by searching a directory or expanding a glob (rather than
    named on the command line): such a file may be some other YAML/JSON file that happens to
    sit beside the manifests (a ``package.json``, a CI workflow).
    """

    path: str
    problem: str | None = None
    expanded: bool = False


def expand_inputs(args: Iterable[str]) -> Iterator[InputPath]:
    """Yield files in a stable order; directories recurse (hidden ones skipped), lazily.

    A glob that matches nothing, or a directory holding no ``*.yaml``/``*.yml``/``*.json``
    file, is an ``InputPath`` whose ``problem`` starts with "no manifests found".
    """
    suffixes = ", ".join(f"*{s}" for s in MANIFEST_SUFFIXES)
    for arg in args:
        if arg == STDIN:
            yield InputPath(STDIN)
        elif os.path.isdir(arg):
            found = False
            for item in _walk(arg):
                found = True
                yield item
            if not found:
                yield InputPath(arg, f"{NO_MANIFESTS} (no {suffixes} file in this directory)")
        elif os.path.exists(arg) or os.path.islink(arg):
            yield InputPath(arg)
        elif glob.has_magic(arg):
            matches = sorted(glob.iglob(arg, recursive=True))
            if not matches:
                yield InputPath(arg, f"{NO_MANIFESTS} (no files match this pattern)")
            for match in matches:
                if os.path.isdir(match):
                    yield from _walk(match)
                else:
                    yield InputPath(match, expanded=True)
        else:
            yield InputPath(arg, "no such file or directory")


def _walk(root: str) -> Iterator[InputPath]:
    # os.walk does not follow directory symlinks, so a link loop cannot trap us.
    for folder, dirs, files in os.walk(root):
        dirs[:] = sorted(d for d in dirs if not d.startswith("."))
        for name in sorted(files):
            if name.endswith(MANIFEST_SUFFIXES) and not name.startswith("."):
                yield InputPath(os.path.join(folder, name), expanded=True)
