"""Hypothesis strategies for hostile input: bytes, hostile YAML, and valid samples mutated."""

from __future__ import annotations

import copy
import json
from collections.abc import Iterator
from pathlib import Path
from typing import Any

from hypothesis import strategies as st

# Values of every JSON type, including the ones loaders trip on: huge and negative numbers
# (timestamps out of range), floats, empty containers, nested containers.
WRONG_VALUES = st.sampled_from(
    [
        None,
        True,
        False,
        0,
        -1,
        10**20,
        -(10**20),
        1.5,
        1e308,
        "",
        "x",
        "1970",
        [],
        [1],
        {},
        {"a": 1},
    ]
)

JsonPathParts = tuple[str | int, ...]


def json_paths(doc: Any, prefix: JsonPathParts = ()) -> Iterator[JsonPathParts]:
    """Every path to a value in ``doc`` (the root excluded), parents before children."""
    if isinstance(doc, dict):
        items: Iterator[tuple[str | int, Any]] = iter(doc.items())
    elif isinstance(doc, list):
        items = iter(enumerate(doc))
    else:
        return
    for key, value in items:
        yield (*prefix, key)
        yield from json_paths(value, (*prefix, key))


def replaced(doc: Any, path: JsonPathParts, value: Any) -> Any:
    """A deep copy of ``doc`` with the value at ``path`` replaced (``...``: the key deleted)."""
    out = copy.deepcopy(doc)
    parent = out
    for part in path[:-1]:
        parent = parent[part]
    if value is ...:
        del parent[path[-1]]
    else:
        parent[path[-1]] = value
    return out


@st.composite
def mutated_json(draw: st.DrawFn, sample: Path) -> tuple[bytes, JsonPathParts]:
    """``sample`` with one value replaced by a wrong-typed one, or one member deleted."""
    doc = json.loads(sample.read_text())
    path = draw(st.sampled_from(list(json_paths(doc))))
    value = draw(st.one_of(WRONG_VALUES, st.just(...)))
    return json.dumps(replaced(doc, path, value)).encode(), path


@st.composite
def truncated(draw: st.DrawFn, sample: Path) -> bytes:
    """The first n bytes of ``sample``, as a write cut short leaves it."""
    data = sample.read_bytes()
    return data[: draw(st.integers(0, len(data) - 1))]


@st.composite
def byte_mutated(draw: st.DrawFn, sample: Path) -> bytes:
    """``sample`` with a few bytes overwritten, inserted or deleted anywhere."""
    data = bytearray(sample.read_bytes())
    for _ in range(draw(st.integers(1, 4))):
        pos = draw(st.integers(0, len(data)))
        op = draw(st.sampled_from(["set", "insert", "delete"]))
        byte = draw(st.integers(0, 255))
        if op == "insert" or pos == len(data):
            data.insert(pos, byte)
        elif op == "set":
            data[pos] = byte
        else:
            del data[pos]
    return bytes(data)


# --------------------------------------------------------------------------- hostile YAML

_SCALARS = st.sampled_from(
    ["a", "1", "-1", "1e400", "0x1F", "0o17", "~", "null", "yes", "on", "2024-01-01", "'q'", '"q"']
)
_TAGS = st.sampled_from(
    [
        "!!python/object:os.system",
        "!!python/name:os.system",
        "!!binary",
        "!!set",
        "!!omap",
        "!!pairs",
        "!!timestamp",
        "!!float",
        "!!int",
        "!!str",
        "!custom",
        "!<tag:example.com,2024:x>",
    ]
)


def billion_laughs(levels: int, width: int) -> str:
    lines = ["a0: &a0 [x, x]"]
    for i in range(1, levels):
        refs = ", ".join(f"*a{i - 1}" for _ in range(width))
        lines.append(f"a{i}: &a{i} [{refs}]")
    return "\n".join(lines) + "\n"


HOSTILE_YAML = st.one_of(
    st.builds(billion_laughs, st.integers(2, 12), st.integers(2, 10)),
    st.integers(1, 5000).map(lambda n: "[" * n + "]" * n),
    st.integers(1, 5000).map(lambda n: "{a: " * n + "b" + "}" * n),
    st.integers(1, 400).map(lambda n: "".join(f"{'  ' * i}k{i}:\n" for i in range(n)) + "x"),
    st.integers(1, 2_000_000).map(lambda n: "a: " + "x" * n),
    st.tuples(_TAGS, _SCALARS).map(lambda t: f"spec: {t[0]} {t[1]}\n"),
    st.tuples(_SCALARS, _SCALARS).map(lambda t: f"a: {t[0]}\na: {t[1]}\n"),
    st.just("a: 1\n<<: {a: 2}\n"),
    st.just("<<: *missing\n"),
    st.just("? [a, b]\n: c\n"),
    st.just("? {a: b}\n: c\n"),
    st.just("a: &x b\n*x : c\n"),
    st.just("--- a\n--- b\n...\n---\n"),
    st.just("%YAML 1.1\n%TAG ! tag:example.com,2024:\n--- !x a\n"),
    st.just("a: |\n  \x85\n"),
)


def encoded(text_strategy: st.SearchStrategy[str]) -> st.SearchStrategy[bytes]:
    """Text as a loader meets it: UTF-8, UTF-8 with a BOM, UTF-16, or Latin-1."""
    return st.tuples(
        text_strategy, st.sampled_from(["utf-8", "utf-8-sig", "utf-16", "latin-1"])
    ).map(lambda t: t[0].encode(t[1], "replace"))
