"""Strict JSON: no duplicate members, no NaN/Infinity, bounded nesting (one rule for all input)."""

from __future__ import annotations

import json
import re
from typing import Any, NoReturn

from nhictl.core.redact import quote


def _no_duplicates(pairs: list[tuple[str, Any]]) -> dict[str, Any]:
    out: dict[str, Any] = {}
    for key, value in pairs:
        if key in out:
            # The name is the sender's choice: bounded, and redacted if token-shaped.
            raise ValueError(f"duplicate key {quote(key)}")
        out[key] = value
    return out


def _no_constants(name: str) -> NoReturn:
    raise ValueError(f"{name} is not a JSON number")


# One decoder for every call: json.loads with hooks would build a new one each time.
_DECODER = json.JSONDecoder(object_pairs_hook=_no_duplicates, parse_constant=_no_constants)


# A \uD800-\uDFFF escape: JSON lets text spell a lone surrogate, which no UTF-8 output can
# encode (printing it would crash). Only documents that contain one are walked.
_SURROGATE_ESCAPE = re.compile(r"\\u[dD][89a-fA-F]")


def unpaired_surrogate(text: str, data: Any) -> str | None:
    """The JSON path (``$.a[0]``) of the first string or member name in ``data`` (parsed from
    ``text``) holding an unpaired surrogate, or None. Paired escapes (an emoji) are fine."""
    if _SURROGATE_ESCAPE.search(text) is None:
        return None
    stack: list[tuple[Any, str]] = [(data, "$")]
    while stack:
        value, path = stack.pop()
        if isinstance(value, str):
            if not value.isascii() and _has_surrogate(value):
                return path
        elif isinstance(value, dict):
            for key, item in value.items():
                if _has_surrogate(key):
                    return path
                step = f".{key}" if key.isidentifier() else f"[{key!r}]"  # repr: one line
                stack.append((item, path + step))
        elif isinstance(value, list):
            stack.extend((item, f"{path}[{i}]") for i, item in enumerate(value))
    return None


def _has_surrogate(text: str) -> bool:
    try:
        text.encode("utf-8")
    except UnicodeEncodeError:
        return True
    return False


def loads(raw: bytes | str) -> Any:
    """Parse JSON (UTF-8 when bytes); ``ValueError`` on duplicates, NaN or deep nesting.

    ``json.JSONDecodeError`` (a ``ValueError``) keeps its line and column for syntax errors.
    """
    text = raw.decode("utf-8") if isinstance(raw, bytes) else raw
    try:
        if text.startswith("\ufeff"):  # as json.loads does
            raise json.JSONDecodeError("Unexpected UTF-8 BOM (decode using utf-8-sig)", text, 0)
        data = _DECODER.decode(text)
    except RecursionError as exc:
        raise ValueError("nesting too deep") from exc
    where = unpaired_surrogate(text, data)
    if where is not None:
        raise ValueError(f"{where}: a string holds an unpaired UTF-16 surrogate escape (\\uD8xx)")
    return data
