"""Reading one input file, or standard input for ``-``, within a size cap.

Every command that reads a file takes ``-`` for stdin; this is the one place that knows how,
and the one place that turns the usual failures into one-line input errors naming the file.
"""

from __future__ import annotations

import os
import sys
from pathlib import Path
from typing import BinaryIO

from nhictl.core.errors import InputError

STDIN = "-"


def is_stdin(path: str | Path | None) -> bool:
    return path is not None and str(path) == STDIN


def display_name(path: str | Path) -> str:
    """How error messages name the input: ``stdin`` for ``-``."""
    return "stdin" if is_stdin(path) else str(path)


def read_input(
    path: str | Path,
    *,
    max_bytes: int,
    what: str = "file",
    stdin: BinaryIO | None = None,
    hint: str | None = None,
) -> bytes:
    """The bytes of ``path`` (``-``: stdin), refusing more than ``max_bytes`` (``hint``: how
    to raise the cap)."""
    name = display_name(path)
    if is_stdin(path):
        data = (stdin or sys.stdin.buffer).read(max_bytes + 1)
    else:
        try:
            with open(path, "rb") as handle:
                # Ask for what the file holds, not the cap: a 1 MiB request allocates 1 MiB per
                # file (it dominated reading thousands of small manifests), and the cap can be
                # a gigabyte. A growing file, or one that is not regular, is read up to the cap.
                size = os.fstat(handle.fileno()).st_size
                if size > max_bytes:
                    raise InputError(f"{name}: larger than the {max_bytes} byte limit", hint=hint)
                data = handle.read(max(size, 0) + 1)
                if len(data) > size:  # growing, or not a regular file (FIFO, device)
                    data += handle.read(max_bytes + 1 - len(data))
        except FileNotFoundError:
            raise InputError(f"{name}: no such file") from None
        except IsADirectoryError:
            raise InputError(f"{name}: is a directory, expected a {what}") from None
        except OSError as exc:
            raise InputError(f"{name}: cannot read: {exc.strerror or exc}") from None
    if len(data) > max_bytes:
        raise InputError(f"{name}: larger than the {max_bytes} byte limit", hint=hint)
    return data


def check_one_stdin(named: dict[str, str | Path | None]) -> None:
    """Refuse ``-`` for more than one input of a command: stdin can be read once."""
    takers = [flag for flag, value in named.items() if is_stdin(value)]
    if len(takers) > 1:
        raise InputError(f"only one input can be read from stdin, but {' and '.join(takers)} ask")
