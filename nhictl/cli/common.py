"""Pieces shared by commands: the data-format option, rendering a result, reading secrets."""

from __future__ import annotations

import sys
from collections.abc import Callable
from enum import StrEnum
from pathlib import Path
from typing import Any

import typer

from nhictl.cli.output import console, emit


class DataFormat(StrEnum):
    table = "table"
    json = "json"
    yaml = "yaml"


FORMAT_OPTION = typer.Option(DataFormat.table, "--format", "-f", help="Output format.")

MAX_TOKEN_BYTES = 64 * 1024


def show(data: Any, fmt: DataFormat, table: Callable[[], None]) -> None:
    """Print ``data`` as JSON/YAML, or call ``table`` to draw the human view."""
    from nhictl.render.formats import to_json, to_yaml

    if fmt is DataFormat.json:
        emit(to_json(data))
    elif fmt is DataFormat.yaml:
        emit(to_yaml(data))
    else:
        table()


def print_table(columns: list[str], rows: list[list[Any]], title: str | None = None) -> None:
    from nhictl.render.table import build_table

    console().print(build_table(columns, rows, title=title))


def read_secret(source: str, what: str) -> str:
    """Read a token from a file or ``-`` (stdin). The value is never echoed in errors."""
    from nhictl.core.errors import InputError

    if source == "-":
        data = sys.stdin.buffer.read(MAX_TOKEN_BYTES + 1)
        where = "stdin"
    else:
        path = Path(source)
        try:
            with path.open("rb") as handle:
                data = handle.read(MAX_TOKEN_BYTES + 1)
        except OSError as exc:
            raise InputError(f"{source}: cannot read the {what}: {exc.strerror or exc}") from None
        where = source
    if len(data) > MAX_TOKEN_BYTES:
        raise InputError(f"{where}: the {what} is larger than {MAX_TOKEN_BYTES} bytes")
    try:
        text = data.decode("ascii").strip()
    except UnicodeDecodeError:
        raise InputError(f"{where}: the {what} is not ASCII text") from None
    if not text:
        raise InputError(f"{where}: the {what} is empty")
    return text
