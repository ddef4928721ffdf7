"""Tables for the terminal. Only the table format imports rich.

The rules (docs/cli.md, "Tables and colour"):

- Key columns (identifiers, names, statuses: what a user copies into the next command) are
  printed whole on one line, never cut, folded or ellipsised.
- Other columns wrap at word boundaries; a word longer than the room left is folded only as a
  last resort, when nothing more can be dropped.
- When the table is still too wide, the command's low-value columns are dropped, in the order the
  command gives, and a footer names them and points at ``--wide``.
- ``width=None`` (``--wide``) shows every column and never limits the width.
"""

from __future__ import annotations

import datetime as dt
import textwrap
from collections.abc import Iterable, Sequence
from dataclasses import dataclass
from typing import TYPE_CHECKING, Any

if TYPE_CHECKING:
    from rich.text import Text

# Column headers (case-insensitive) that are key columns unless a command says otherwise.
KEY_COLUMNS = frozenset(
    {
        "jti",
        "agent",
        "task",
        "kid",
        "name",
        "status",
        "setting",
        "field",
        "seq",
        "principal",
        "rule",
        "policy",
        "file",
        "line",
        "action",
        "subject",
        "outcome",
        "env",
        "declared",
    }
)
GAP = 2  # spaces between columns
FOLD_FLOOR = 8  # a wrapped column is never narrower than this (unless its content is)


def is_key(header: str, keys: Iterable[str] = ()) -> bool:
    """Is ``header`` a key column: by default, or because the command says so?"""
    wanted = {k.lower() for k in keys}
    return header.lower() in KEY_COLUMNS or header.lower() in wanted


def cell_text(value: Any) -> str:
    """A cell as text: ``None`` is ``-``."""
    return "-" if value is None else str(value)


def short_time(value: Any) -> Any:
    """An ISO timestamp to the second, in UTC with ``Z`` (tables only; JSON keeps the full value).
    Anything that is not a timestamp is returned unchanged."""
    if not isinstance(value, str) or len(value) < 19 or value[10:11] != "T":
        return value
    try:
        when = dt.datetime.fromisoformat(value.replace("Z", "+00:00"))
    except ValueError:
        return value
    if when.tzinfo is None:
        return when.strftime("%Y-%m-%dT%H:%M:%S")
    return when.astimezone(dt.UTC).strftime("%Y-%m-%dT%H:%M:%SZ")


def _cell_len(text: str) -> int:
    from rich.cells import cell_len

    return cell_len(text)


@dataclass(frozen=True)
class Layout:
    """Which columns are shown (indices, in order), how wide each is, which were hidden."""

    shown: tuple[int, ...]
    widths: tuple[int, ...]  # one per shown column
    hidden: tuple[str, ...]  # headers, in the table's order

    @property
    def total(self) -> int:
        return sum(self.widths) + GAP * max(len(self.widths) - 1, 0)


def plan(
    headers: Sequence[str],
    cells: Sequence[Sequence[str]],
    width: int | None,
    *,
    drop: Sequence[str] = (),
    keys: Iterable[str] = (),
) -> Layout:
    """Lay a table out in ``width`` columns (``None``: no limit). Pure; see the module rules."""
    n = len(headers)
    key = [is_key(h, keys) for h in headers]
    natural = [_cell_len(h) for h in headers]
    longest_word = [max((_cell_len(w) for w in h.split()), default=0) for h in headers]
    for row in cells:
        for i, text in enumerate(row):
            for line in text.splitlines() or [""]:
                natural[i] = max(natural[i], _cell_len(line))
                words = line.split()
                if words:
                    longest_word[i] = max(longest_word[i], max(_cell_len(w) for w in words))
    # A wrapped column never cuts a word unless it must: its minimum is its longest word.
    minimum = [natural[i] if key[i] else min(natural[i], longest_word[i]) for i in range(n)]
    shown = list(range(n))
    if width is None:
        return Layout(tuple(shown), tuple(natural), ())

    def needed(columns: list[int], floor: list[int]) -> int:
        return sum(floor[i] for i in columns) + GAP * max(len(columns) - 1, 0)

    lowered = [h.lower() for h in headers]
    droppable = [lowered.index(d.lower()) for d in drop if d.lower() in lowered]
    hidden: list[int] = []
    while needed(shown, minimum) > width and droppable:
        victim = droppable.pop(0)
        if victim in shown:
            shown.remove(victim)
            hidden.append(victim)
    if needed(shown, minimum) > width:
        # Last resort: fold long words in the wrapped columns; key columns stay whole even if
        # the lines end up longer than the terminal.
        minimum = [m if key[i] else min(m, FOLD_FLOOR) for i, m in enumerate(minimum)]
    widths = {i: minimum[i] for i in shown}
    room = width - needed(shown, minimum)
    # Share what is left among the wrapped columns, one column at a time, widest need first.
    while room > 0:
        growing = [i for i in shown if widths[i] < natural[i]]
        if not growing:
            break
        for i in sorted(growing, key=lambda i: widths[i] - natural[i]):
            if room == 0:
                break
            widths[i] += 1
            room -= 1
    return Layout(
        tuple(shown), tuple(widths[i] for i in shown), tuple(headers[i] for i in sorted(hidden))
    )


def hidden_footer(hidden: Sequence[str], width: int | None) -> str:
    """The line under a table that had to hide columns."""
    return (
        f"(hidden to fit {width} columns: {', '.join(hidden)}; "
        f"--wide shows {'them' if len(hidden) > 1 else 'it'})"
    )


def _wrap(text: str, width: int) -> list[str]:
    if _cell_len(text) <= width and "\n" not in text:
        return [text]
    lines: list[str] = []
    for part in text.splitlines() or [""]:
        lines.extend(
            textwrap.wrap(part, width, break_long_words=True, break_on_hyphens=False) or [""]
        )
    return lines


def _pad(text: str, width: int) -> str:
    return text + " " * max(width - _cell_len(text), 0)


def build_table(
    columns: Sequence[str],
    rows: Iterable[Sequence[Any]],
    *,
    title: str | None = None,
    width: int | None = None,
    drop: Sequence[str] = (),
    keys: Iterable[str] = (),
) -> Text:
    """The table as rich ``Text`` (header bold, footer dim), laid out by ``plan``.

    ``drop``: headers the command can spare, the first dropped first. ``keys``: headers to
    treat as key columns besides the default ones (``KEY_COLUMNS``).
    """
    from rich.text import Text

    headers = list(columns)
    cells = [[cell_text(c) for c in row] for row in rows]
    layout = plan(headers, cells, width, drop=drop, keys=keys)
    key = [is_key(h, keys) for h in headers]
    out = Text()
    if title:
        out.append(title + "\n")
    last = len(layout.shown) - 1

    def emit_row(row: Sequence[str], style: str | None) -> None:
        wrapped = [
            (row[i].splitlines() or [""]) if key[i] else _wrap(row[i], w)
            for i, w in zip(layout.shown, layout.widths, strict=True)
        ]
        for depth in range(max((len(c) for c in wrapped), default=1)):
            parts = []
            for pos, (lines, w) in enumerate(zip(wrapped, layout.widths, strict=True)):
                text = lines[depth] if depth < len(lines) else ""
                parts.append(text if pos == last else _pad(text, w))
            out.append((" " * GAP).join(parts).rstrip() + "\n", style=style)

    emit_row(headers, "bold")
    for row in cells:
        emit_row(row, None)
    if layout.hidden:
        footer = hidden_footer(layout.hidden, width)
        for line in [footer] if width is None else _wrap(footer, max(width, FOLD_FLOOR)):
            out.append(line + "\n", style="dim")
    out.rstrip()
    return out
