"""The one JSON writer: every JSON document and line nhictl writes goes through here.

orjson (maintained C/Rust, one call per document) writes UTF-8 bytes: keys in insertion order
(``sort_keys`` for canonical lines), UTF-8 kept rather than ``\\u``-escaped, two-space
indentation for documents, ``,`` and ``:`` without spaces on compact lines, floats in their
shortest round-trip form (``0.1``, ``1.0``, ``1e+16``), NaN and the infinities as ``null``.

What orjson refuses but the standard library can write (a non-string dict key, an integer
beyond 64 bits, a lone surrogate such as a non-UTF-8 file name decoded with
``surrogateescape``, nesting deeper than 254 levels) is written by ``json`` with the same
layout; a lone surrogate becomes its ``\\uXXXX`` escape, so the output is always valid UTF-8.
Anything neither can write (a set, an arbitrary object, a cycle) raises ``TypeError`` naming it.

The bytes go to a binary stream as they are; ``nhictl.cli.output.emit`` writes them to a text
stream's underlying buffer (never encoded twice).
"""

from __future__ import annotations

from typing import Any

import orjson

_INDENT = orjson.OPT_INDENT_2
_SORT = orjson.OPT_SORT_KEYS
_NEWLINE = orjson.OPT_APPEND_NEWLINE


def dumps(
    data: Any, *, indent: bool = False, sort_keys: bool = False, newline: bool = False
) -> bytes:
    """``data`` as UTF-8 JSON: compact (one line), or indented by two spaces with ``indent``."""
    option = (_INDENT if indent else 0) | (_SORT if sort_keys else 0) | (_NEWLINE if newline else 0)
    try:
        return orjson.dumps(data, option=option)
    except orjson.JSONEncodeError as exc:
        return _stdlib(data, exc, indent=indent, sort_keys=sort_keys, newline=newline)


def document(data: Any) -> bytes:
    """A JSON document as nhictl writes it: two-space indent and a trailing newline."""
    return dumps(data, indent=True, newline=True)


def line(data: Any, *, sort_keys: bool = False) -> bytes:
    """One compact JSON line with its newline (JSON lines, as ``log export`` writes them)."""
    return dumps(data, sort_keys=sort_keys, newline=True)


def _stdlib(data: Any, exc: Exception, *, indent: bool, sort_keys: bool, newline: bool) -> bytes:
    import json

    try:
        text = json.dumps(
            data,
            indent=2 if indent else None,
            separators=(",", ": ") if indent else (",", ":"),
            ensure_ascii=False,
            sort_keys=sort_keys,
        )
    except (TypeError, ValueError, RecursionError):
        raise TypeError(f"cannot write JSON: {exc}") from None
    # A lone surrogate can only sit inside a string: "\\udcff" there is its JSON escape.
    return text.encode("utf-8", "backslashreplace") + (b"\n" if newline else b"")
