"""The hand-rolled JSON writer nhictl used before orjson, kept only as the baseline of
``bench_json.py`` (nhictl itself never imports it). Formerly ``nhictl/render/jsonfmt.py``:

``compact_pieces``: ``JSONEncoder(check_circular=False).encode`` as a list of pieces, from one
C encoder made once (``encode`` makes a new one, and a closure, on every call).

``dumps_indent2``: ``json.dumps(obj, indent=2)``, several times faster on large documents.

Python 3.11's C encoder cannot indent, so ``indent=2`` runs the pure-Python encoder: one
generator step per token. Here Python walks only the containers that hold containers; every
container of plain scalars is encoded by CPython's private C encoder (``_json.make_encoder``)
in one call, with a separator that cannot occur in its output (a raw NUL: ``ensure_ascii``
escapes control characters inside strings), then indented with one ``str.replace``. Anything
unusual falls back to ``json.dumps`` for the whole document.
"""

from __future__ import annotations

import json
from collections.abc import Callable
from json.encoder import encode_basestring_ascii
from typing import Any, NoReturn, cast

try:
    from _json import make_encoder
except ImportError:  # pragma: no cover - CPython always has the C accelerator
    make_encoder = None  # type: ignore[assignment, misc]


class _Unusual(Exception):
    """A value this encoder does not handle itself: the standard library decides."""


def _unusual(o: Any) -> NoReturn:
    raise _Unusual


_SCALAR_TYPES = frozenset((str, int, float, bool, type(None)))
_SEP = "\x00"  # never in ensure_ascii output: it would be written as \u0000


def _c_encoder(*args: Any) -> Callable[[Any, int], list[str]] | None:
    """A C encoder, or None where the private accelerator is missing or its signature moved
    (then every function below takes the standard library's path)."""
    if make_encoder is None:  # pragma: no cover - CPython always has the C accelerator
        return None
    try:
        return cast(Callable[[Any, int], list[str]], make_encoder(*args))
    except TypeError:  # pragma: no cover - a future CPython changed the private signature
        return None


# markers=None: no cycle bookkeeping (a container of scalars cannot be part of a cycle).
_flat_encoder = _c_encoder(
    None, _unusual, encode_basestring_ascii, None, ": ", _SEP, False, False, True
)
# The encoder ``JSONEncoder(check_circular=False)`` makes for each ``encode`` call.
_line_encoder = _c_encoder(
    None, json.JSONEncoder().default, encode_basestring_ascii, None, ": ", ", ", False, False, True
)


def compact_pieces(obj: dict[str, Any]) -> list[str]:
    """Pieces that join to ``JSONEncoder(check_circular=False).encode(obj)`` (for a dict)."""
    if _line_encoder is None:  # pragma: no cover - CPython always has the C accelerator
        return [json.JSONEncoder(check_circular=False).encode(obj)]
    return _line_encoder(obj, 0)


def dumps_indent2(obj: Any) -> str:
    """Exactly ``json.dumps(obj, indent=2)``."""
    if _flat_encoder is None:  # pragma: no cover - CPython always has the C accelerator
        return json.dumps(obj, indent=2)
    parts: list[str] = []
    try:
        _value(obj, "\n", parts.append)
    except (_Unusual, RecursionError, TypeError, ValueError):
        return json.dumps(obj, indent=2)
    return "".join(parts)


def _flat(obj: dict[Any, Any] | list[Any] | tuple[Any, ...], nl: str) -> str:
    """A non-empty container of scalars at the indentation ``nl`` (newline + spaces)."""
    assert _flat_encoder is not None
    inner = nl + "  "
    body = "".join(_flat_encoder(obj, 0))
    return body[0] + inner + body[1:-1].replace(_SEP, "," + inner) + nl + body[-1]


def _scalar(o: Any) -> str:
    """A scalar as the pure-Python encoder writes it (exact types only)."""
    t = type(o)
    if t is str:
        return encode_basestring_ascii(o)
    if t is int:
        return int.__repr__(o)
    if t is float:
        if o != o:
            return "NaN"
        if o == float("inf"):
            return "Infinity"
        if o == -float("inf"):
            return "-Infinity"
        return float.__repr__(o)
    if o is None:
        return "null"
    if o is True:
        return "true"
    if o is False:
        return "false"
    raise _Unusual


def _value(o: Any, nl: str, put: Callable[[str], None]) -> None:
    t = type(o)
    if t is dict:
        if not o:
            put("{}")
        elif _SCALAR_TYPES.issuperset(map(type, o.values())):
            put(_flat(o, nl))
        else:
            inner = nl + "  "
            sep = "{" + inner
            for k, v in o.items():
                if type(k) is not str:
                    raise _Unusual
                tv = type(v)
                if tv is dict or tv is list or tv is tuple:
                    put(sep + encode_basestring_ascii(k) + ": ")
                    _value(v, inner, put)
                else:
                    put(sep + encode_basestring_ascii(k) + ": " + _scalar(v))
                sep = "," + inner
            put(nl + "}")
    elif t is list or t is tuple:
        if not o:
            put("[]")
        elif _SCALAR_TYPES.issuperset(map(type, o)):
            put(_flat(o, nl))
        else:
            inner = nl + "  "
            sep = "[" + inner
            for v in o:
                tv = type(v)
                if tv is dict or tv is list or tv is tuple:
                    put(sep)
                    _value(v, inner, put)
                else:
                    put(sep + _scalar(v))
                sep = "," + inner
            put(nl + "]")
    else:
        put(_scalar(o))
