"""Reading JSON inputs with errors that name the file and the field (every provider)."""

from __future__ import annotations

import json
from datetime import UTC, datetime
from pathlib import Path
from typing import Any

from nhictl.core import strictjson
from nhictl.core.errors import InputError
from nhictl.core.inputfile import display_name, read_input

MAX_INPUT_BYTES = 1 << 30  # 1 GiB: far above a 20,000-role export (~45 MB), below "eats the box"


def read_json_documents(path: Path) -> list[Any]:
    """Parse a file (``-``: stdin) holding one JSON document or several concatenated ones
    (CLI pages)."""
    name = display_name(path)
    data = read_input(path, max_bytes=MAX_INPUT_BYTES, what="JSON file")
    try:
        text = data.decode("utf-8")
    except UnicodeDecodeError as exc:
        raise InputError(f"{name}: not UTF-8 text (byte {exc.start})") from None
    return parse_json_documents(text, name)


def parse_json_documents(text: str, source: str) -> list[Any]:
    """Split concatenated JSON documents (``aws ... --page-size`` output appended to one file)."""
    decoder = json.JSONDecoder()
    docs: list[Any] = []
    pos, end = 0, len(text)
    while True:
        while pos < end and text[pos] in " \t\r\n":
            pos += 1
        if pos >= end:
            break
        try:
            doc, pos = decoder.raw_decode(text, pos)
        except json.JSONDecodeError as exc:
            raise InputError(
                f"{source}:{exc.lineno}:{exc.colno}: invalid JSON: {exc.msg}"
            ) from None
        except RecursionError:  # the decoder recurses per level: [[[[... exhausts the stack
            raise InputError(f"{source}: invalid JSON: nesting too deep") from None
        docs.append(doc)
    for i, doc in enumerate(docs):
        where = strictjson.unpaired_surrogate(text, doc)
        if where is not None:
            base = "" if len(docs) == 1 else f"document {i + 1}: "
            raise InputError(
                f"{source}: {base}{where}: a string holds an unpaired UTF-16 surrogate escape "
                "(\\uD8xx)"
            )
    if not docs:
        raise InputError(f"{source}: empty file, expected JSON")
    return docs


def expect(value: Any, kind: type | tuple[type, ...], source: str, path: str) -> Any:
    """Return ``value`` if it has the expected JSON type, else raise naming file and field."""
    if not isinstance(value, kind):
        names = kind.__name__ if isinstance(kind, type) else " or ".join(k.__name__ for k in kind)
        names = names.replace("dict", "object").replace("list", "array").replace("str", "string")
        got = type(value).__name__.replace("dict", "object").replace("list", "array")
        raise InputError(f"{source}: {path}: expected {names}, got {got}")
    return value


def parse_time(value: Any, source: str, path: str) -> datetime | None:
    """Parse an AWS timestamp (ISO 8601, with or without offset, or epoch seconds)."""
    try:
        return timestamp(value)
    except ValueError:
        raise InputError(f"{source}: {path}: not a timestamp: {str(value)[:40]!r}") from None


def timestamp(value: Any) -> datetime | None:
    """``parse_time`` without the error context: ValueError when ``value`` is not one (hot
    loops name the field only then)."""
    if value is None or value == "":
        return None
    if isinstance(value, str):
        dt = datetime.fromisoformat(value)
        return dt if dt.tzinfo else dt.replace(tzinfo=UTC)
    if isinstance(value, (int, float)) and not isinstance(value, bool):
        try:
            return datetime.fromtimestamp(value, tz=UTC)
        except (OverflowError, OSError):  # beyond time_t or the year 9999
            raise ValueError(value) from None
    raise ValueError(value)
