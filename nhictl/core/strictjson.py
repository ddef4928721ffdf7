"""Strict JSON: no duplicate members, no NaN/Infinity, bounded nesting (one rule for all input)."""

from __future__ import annotations

import json
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


def loads(raw: bytes | str) -> Any:
    """Parse JSON (UTF-8 when bytes); ``ValueError`` on duplicates, NaN or deep nesting.

    ``json.JSONDecodeError`` (a ``ValueError``) keeps its line and column for syntax errors.
    """
    text = raw.decode("utf-8") if isinstance(raw, bytes) else raw
    try:
        if text.startswith("\ufeff"):  # as json.loads does
            raise json.JSONDecodeError("Unexpected UTF-8 BOM (decode using utf-8-sig)", text, 0)
        return _DECODER.decode(text)
    except RecursionError as exc:
        raise ValueError("nesting too deep") from exc
