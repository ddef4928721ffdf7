"""Where output goes: data on stdout, messages on stderr; colour only on a TTY and never
with NO_COLOR or ``--color never``. Consoles are created on first use (rich costs import time).
"""

from __future__ import annotations

import contextlib
import os
import sys
import tempfile
from collections.abc import Iterator
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


STATE = CliState()
_consoles: dict[str, Console] = {}


def reset_consoles() -> None:
    """Forget consoles (and so the streams they hold); the next use builds fresh ones."""
    _consoles.clear()
    STATE.verbosity = 0
    STATE.color = None
    STATE.wide = False


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
    if STATE.color:
        return STATE.color
    value = os.environ.get("NHICTL_COLOR", "auto")
    return value if value in ("auto", "always", "never") else "auto"


def color_enabled(stream: str = "stdout") -> bool:
    """Would output on ``stream`` be coloured? Decided without importing rich."""
    mode = _color_mode()
    if mode == "never" or os.environ.get("NO_COLOR"):
        return False
    if mode == "always":
        return True
    handle = sys.stdout if stream == "stdout" else sys.stderr
    return handle.isatty() and os.environ.get("TERM") != "dumb"


def console(stream: str = "stdout") -> Console:
    """The rich console for ``stdout`` or ``stderr``."""
    if stream not in _consoles:
        from rich.console import Console

        mode = _color_mode()
        no_color = mode == "never" or bool(os.environ.get("NO_COLOR"))
        _consoles[stream] = Console(
            file=sys.stdout if stream == "stdout" else sys.stderr,
            force_terminal=True if mode == "always" and not no_color else None,
            no_color=no_color,
            highlight=False,
            soft_wrap=True,
        )
        if not _consoles[stream].is_terminal and "COLUMNS" not in os.environ:
            # Piped output is read by programs and wide pagers: never fold table cells at 80.
            _consoles[stream].width = 250
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
    """stdout, or a file written atomically: a failed run leaves no partial file behind."""
    if path is None or str(path) == "-":
        yield sys.stdout
        return
    folder = path.parent if str(path.parent) else Path(".")
    fd, tmp = tempfile.mkstemp(prefix=f".{path.name}.", dir=folder)
    try:
        with os.fdopen(fd, "w", encoding="utf-8") as handle:
            yield handle
        os.replace(tmp, path)
    except BaseException:
        with contextlib.suppress(OSError):
            os.unlink(tmp)
        raise
