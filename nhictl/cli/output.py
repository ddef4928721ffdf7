"""Where output goes: data on stdout, messages on stderr; colour only on a TTY and never
with NO_COLOR or ``--color never``. Consoles are created on first use (rich costs import time).
"""

from __future__ import annotations

import contextlib
import os
import sys
from collections.abc import Callable, Iterator
from dataclasses import dataclass
from pathlib import Path
from typing import IO, TYPE_CHECKING, Any

if TYPE_CHECKING:
    from rich.console import Console


@dataclass
class CliState:
    """Global flags, set by the root callback; read by the error handler in ``main``."""

    verbosity: int = 0
    color: str | None = None
    wide: bool = False
    configured_color: str | None = None  # the `color` setting (env or config file), once read


STATE = CliState()
_consoles: dict[str, Console] = {}


def reset_consoles() -> None:
    """Forget consoles (and so the streams they hold); the next use builds fresh ones."""
    _consoles.clear()
    STATE.verbosity = 0
    STATE.color = None
    STATE.wide = False
    STATE.configured_color = None


def apply_global_options(
    *, verbose: int = 0, quiet: int = 0, color: str | None = None, wide: bool = False
) -> None:
    """Fold one occurrence of the global options into ``STATE``, before or after the command."""
    STATE.verbosity += verbose - quiet
    if color:
        STATE.color = color
        _consoles.clear()  # a console built before --color was seen must not be reused
    STATE.wide = STATE.wide or wide
    if STATE.verbosity > 0:  # logging costs ~20 ms to import: only when asked for
        import logging

        if not logging.getLogger().handlers:
            logging.basicConfig(format="nhictl: %(levelname)s: %(message)s", stream=sys.stderr)
        logging.getLogger().setLevel(logging.DEBUG if STATE.verbosity >= 2 else logging.INFO)


def _color_mode() -> str:
    """``--color``, else the ``color`` setting (NHICTL_COLOR, then the config file)."""
    if STATE.color:
        return STATE.color
    if STATE.configured_color is None:
        from nhictl.core.errors import NhictlError
        from nhictl.core.settings import load_settings

        try:
            STATE.configured_color = str(load_settings().values["color"])
        except NhictlError:  # the command itself reports a broken config; colour stays auto
            STATE.configured_color = "auto"
    return STATE.configured_color


def color_enabled(stream: str = "stdout") -> bool:
    """Would output on ``stream`` be coloured? Decided without importing rich.

    ``NO_COLOR`` (any non-empty value) and ``--color never`` win over everything, ``--color
    always`` included; ``always`` colours even when piped; ``auto`` colours a terminal (or when
    ``FORCE_COLOR`` is set) unless ``TERM=dumb``.
    """
    mode = _color_mode()
    if mode == "never" or os.environ.get("NO_COLOR"):
        return False
    if mode == "always":
        return True
    if os.environ.get("TERM") == "dumb":
        return False
    if os.environ.get("FORCE_COLOR"):
        return True
    return _isatty(sys.stdout if stream == "stdout" else sys.stderr)


# Width when no terminal is involved at all (cron, CI): wide, so programs get whole rows.
NO_TERMINAL_WIDTH = 250


def _isatty(handle: Any) -> bool:
    try:
        return bool(handle.isatty())
    except (AttributeError, ValueError, OSError):
        return False


def _tty_columns(handle: Any) -> int | None:
    try:
        if handle.isatty():
            return os.get_terminal_size(handle.fileno()).columns or None
    except (AttributeError, ValueError, OSError):
        pass
    return None


def terminal_width() -> int:
    """The width tables are laid out for: ``COLUMNS`` if set; else the terminal's, found on
    stdout, stderr or ``/dev/tty`` (so ``nhictl ... | less`` follows the terminal); only with
    no terminal at all, ``NO_TERMINAL_WIDTH``."""
    columns = os.environ.get("COLUMNS", "")
    if columns.isdigit() and int(columns) > 0:
        return int(columns)
    for handle in (sys.stdout, sys.stderr, sys.__stdout__, sys.__stderr__):
        if handle is not None and (found := _tty_columns(handle)):
            return found
    try:
        fd = os.open("/dev/tty", os.O_RDONLY | getattr(os, "O_NOCTTY", 0))
    except OSError:
        return NO_TERMINAL_WIDTH
    try:
        return os.get_terminal_size(fd).columns or NO_TERMINAL_WIDTH
    except OSError:
        return NO_TERMINAL_WIDTH
    finally:
        os.close(fd)


def console(stream: str = "stdout") -> Console:
    """The rich console for ``stdout`` or ``stderr``.

    Without colour it has no colour system at all, so it writes no escape codes (rich's
    ``no_color`` alone still writes bold, dim and italic).
    """
    if stream not in _consoles:
        from rich.console import Console

        coloured = color_enabled(stream)
        _consoles[stream] = Console(
            file=sys.stdout if stream == "stdout" else sys.stderr,
            force_terminal=coloured,
            color_system="auto" if coloured else None,
            width=terminal_width(),
            highlight=False,
            soft_wrap=True,
        )
    return _consoles[stream]


def emit(chunk: Any, out: IO[str] | None = None) -> None:
    """Write a chunk: plain text as is, UTF-8 bytes (JSON) to the stream's binary buffer,
    rich renderables through the console."""
    if isinstance(chunk, str):
        if chunk:
            (out or sys.stdout).write(chunk)
        return
    if isinstance(chunk, bytes):
        stream = out or sys.stdout
        buffer = getattr(stream, "buffer", None)
        if buffer is None:  # a text-only stream (io.StringIO): decode once, never encode twice
            stream.write(chunk.decode("utf-8"))
        elif chunk:
            stream.flush()  # text written before must come first
            buffer.write(chunk)
        return
    if out is not None and out is not sys.stdout:
        from rich.console import Console

        Console(file=out, no_color=True, highlight=False, soft_wrap=True).print(chunk, end="")
        return
    console("stdout").print(chunk, end="")


def message(text: str, *, style: str | None = None) -> None:
    """A message for the person at the terminal (stderr), suppressed by ``-q``."""
    if STATE.verbosity < 0:
        return
    console("stderr").print(text, style=style, markup=False)


def error(text: str, hint: str | None = None) -> None:
    """An error line on stderr: ``nhictl: error: ...`` (never suppressed)."""
    err = console("stderr")
    err.print(f"nhictl: error: {text}", style="red", markup=False)
    if hint:
        err.print(f"hint: {hint}", style="dim", markup=False)


@contextlib.contextmanager
def output_stream(path: Path | None) -> Iterator[IO[str]]:
    """stdout (no path, or ``-``), or ``path`` written by ``nhictl.core.outfile``: a regular
    file is replaced atomically (a failed run leaves no partial file), a device or FIFO is
    written in place; a directory or missing folder is a one-line input error."""
    if path is None or str(path) == "-":
        yield sys.stdout
        return
    from nhictl.core.outfile import open_output

    with open_output(path) as handle:
        yield handle


def check_output(path: Path | None) -> None:
    """Fail now, before slow work, if ``path`` cannot be written (a directory, no folder)."""
    if path is None or str(path) == "-":
        return
    from nhictl.core.outfile import check_output as check

    check(path)


def progress() -> Callable[[str, int, int], None] | None:
    """A one-line progress display on stderr, only on a terminal and never under ``-q``."""
    if STATE.verbosity < 0 or not sys.stderr.isatty():
        return None
    err = console("stderr")

    def show(stage: str, done: int, total: int) -> None:
        err.print(f"\r{stage}: {done}/{total}   ", end="", markup=False, highlight=False)
        if done >= total:
            err.print("")

    return show
