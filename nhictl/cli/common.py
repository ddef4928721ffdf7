"""Pieces shared by commands: the data-format option, rendering a result, reading secrets."""

from __future__ import annotations

import sys
from collections.abc import Callable, Sequence
from enum import StrEnum
from pathlib import Path
from typing import Any

import click
import typer

from nhictl.cli.output import console, emit


class DataFormat(StrEnum):
    table = "table"
    json = "json"
    yaml = "yaml"


class FormatChoice(click.Choice[str]):
    """``-f/--format``: the formats a command offers; ``text`` (the old name) means ``table``."""

    def convert(self, value: Any, param: click.Parameter | None, ctx: click.Context | None) -> str:
        if value == "text" and "table" in self.choices:
            value = "table"
        return str(super().convert(value, param, ctx))


def format_option(*extra: str, default: str = "table", help: str = "Output format.") -> Any:
    """The ``-f/--format`` option: table, json and yaml, plus ``extra`` formats (sarif, ...)."""
    choices = [f.value for f in DataFormat] + list(extra)
    return typer.Option(
        default,
        "--format",
        "-f",
        help=help,
        click_type=FormatChoice(choices),
        show_default=default != "table",
    )


FORMAT_OPTION = format_option()


def output_option(help: str, *, required: bool = False) -> Any:
    """``-o/--output FILE`` (``--out``, the old spelling, parses but is not shown): one
    declaration for every command that writes a file (docs/cli.md, "Output files")."""
    return typer.Option(
        ... if required else None, "--output", "-o", "--out", help=help, show_default=False
    )


MAX_TOKEN_BYTES = 64 * 1024


def show(data: Any, fmt: str, table: Callable[[], None]) -> None:
    """Print ``data`` as JSON/YAML, or call ``table`` to draw the human view."""
    from nhictl.render.formats import to_json, to_yaml

    if fmt == DataFormat.json:
        emit(to_json(data))
    elif fmt == DataFormat.yaml:
        emit(to_yaml(data))
    else:
        table()


def print_table(
    columns: list[str],
    rows: list[list[Any]],
    title: str | None = None,
    *,
    drop: Sequence[str] = (),
    keys: Sequence[str] = (),
) -> None:
    """A table on stdout, fitted to the terminal (docs/cli.md, "Tables and colour"): key columns
    (ids, names, statuses; ``keys`` adds to the default ones) are whole; ``drop`` lists the
    columns to hide first when the terminal is too narrow; ``--wide`` shows every column."""
    from nhictl.cli.output import STATE
    from nhictl.render.table import build_table

    out = console()
    width = None if STATE.wide else out.width
    out.print(build_table(columns, rows, title=title, width=width, drop=drop, keys=keys))


def _looks_like_jwt(text: str) -> bool:
    """Dotted like a compact JWS/JWE. Characters no token holds (non-ASCII, undecodable bytes)
    still count: such an argument is a broken token for the verifier to refuse, not a path."""
    parts = text.split(".")
    return len(parts) in (3, 5) and all(
        part and all(c.isalnum() or c in "-_" or not c.isascii() for c in part) for part in parts
    )


def _printable(text: str) -> str:
    return text if text.isprintable() else ascii(text)


def _exists(source: str) -> bool:
    try:
        return Path(source).exists()
    except (OSError, ValueError):  # too long for a file name, or a NUL byte: not a path
        return False


def read_secret(source: str, what: str, *, keep_undecodable: bool = False) -> str:
    """A token from ``-`` (stdin), a file that exists, or the argument itself when it has a
    token's shape; says on stderr which it took. The value is never echoed in errors.

    Text that is not ASCII is an input error, unless ``keep_undecodable``: then it is returned
    with each byte it cannot be decoded as kept as a lone surrogate (``surrogateescape``, as
    Python keeps a command line), so a verifier can refuse and audit it as a malformed token.
    """
    from nhictl.cli.output import message
    from nhictl.core.errors import InputError

    if source == "-":
        data = sys.stdin.buffer.read(MAX_TOKEN_BYTES + 1)
        where = "stdin"
    elif _looks_like_jwt(source) and not _exists(source):
        message(f"{what}: taken from the argument (prefer a file or - to keep it out of ps)")
        return source
    else:
        path = Path(source)
        # A path from a command line may hold undecodable bytes: escaped, it can be printed.
        shown = "the argument" if _looks_like_jwt(source) else _printable(source)
        try:
            with path.open("rb") as handle:
                data = handle.read(MAX_TOKEN_BYTES + 1)
        except FileNotFoundError:
            raise InputError(
                f"{shown}: cannot read the {what}: no such file, and not a token either "
                "(pass a file, a token, or -)"
            ) from None
        except OSError as exc:
            raise InputError(f"{shown}: cannot read the {what}: {exc.strerror or exc}") from None
        where = _printable(source)
        message(f"{what}: read from {where}")
    if len(data) > MAX_TOKEN_BYTES:
        raise InputError(f"{where}: the {what} is larger than {MAX_TOKEN_BYTES} bytes")
    try:
        text = data.decode("ascii", "surrogateescape" if keep_undecodable else "strict").strip()
    except UnicodeDecodeError:
        raise InputError(f"{where}: the {what} is not ASCII text") from None
    if not text:
        raise InputError(f"{where}: the {what} is empty")
    return text
