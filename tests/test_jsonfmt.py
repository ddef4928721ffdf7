"""``dumps_indent2`` must be ``json.dumps(obj, indent=2)`` byte for byte, errors included."""

from __future__ import annotations

import json
from collections import OrderedDict
from enum import IntEnum
from typing import Any, NamedTuple

import pytest

from nhictl.render.jsonfmt import compact_pieces, dumps_indent2


class Level(IntEnum):
    HIGH = 3


class Pair(NamedTuple):
    a: int
    b: str


class Text(str):
    pass


CASES: list[Any] = [
    {},
    [],
    "plain",
    'é \u2028 \x00 \n " \\ { } [ ] ,',
    0,
    -1.5,
    float("nan"),
    float("inf"),
    -float("inf"),
    True,
    None,
    {"a": 1, "b": [], "c": {}, "d": [1, "x", None, False, 2.5]},
    {"nested": {"deep": [[], [[]], [{}], [{"k": "v"}]]}},
    [{"a": [1, 2]}, "s", 3, None, [["x"]]],
    {"flat keys": {1: "int key", 2.5: "float", None: "null", False: "bool"}},
    {"mixed": {"x": [1], 7: "non-string key beside a container"}},
    {"tuple": (1, (2, 3), ("a",))},
    {"enum": Level.HIGH, "in list": [Level.HIGH, {"k": Level.HIGH}]},
    {"subclass": OrderedDict(b=1, a=[2]), "text": Text("t"), "pair": Pair(1, "x")},
    {"flat subclass": [Text("a"), Text("b")], "n": [Pair(1, "y")]},
    {"unicode": {"ключ": "значение", "emoji": "\U0001f600"}},
]


@pytest.mark.parametrize("obj", CASES)
def test_same_as_stdlib(obj: Any) -> None:
    assert dumps_indent2(obj) == json.dumps(obj, indent=2)


def test_large_report_shape() -> None:
    methods = [{"id": f"iam-{i:03}", "actions": {"iam:PassRole": ["p1", "p2"]}} for i in range(3)]
    finding = {
        "ruleId": "priv.escalation",
        "locations": [{"physicalLocation": {"artifactLocation": {"uri": "file:///m.yaml"}}}],
        "properties": {
            "evidence": {
                "methods": methods,
                "ratio": 0.25,
            }
        },
    }
    obj = {"runs": [{"results": [finding] * 50, "properties": {"summary": {"n": 50}}}]}
    assert dumps_indent2(obj) == json.dumps(obj, indent=2)


def test_errors_are_the_stdlibs() -> None:
    cyclic: list[Any] = [1]
    cyclic.append([cyclic])
    for bad in ({"when": object()}, [{"k": {1, 2}}], {(1, 2): "tuple key"}, cyclic):
        with pytest.raises((TypeError, ValueError)) as ours:
            dumps_indent2(bad)
        with pytest.raises((TypeError, ValueError)) as theirs:
            json.dumps(bad, indent=2)
        assert type(ours.value) is type(theirs.value)
        assert str(ours.value) == str(theirs.value)


@pytest.mark.parametrize("obj", [c for c in CASES if isinstance(c, dict)])
def test_compact_pieces(obj: dict[str, Any]) -> None:
    expected = json.JSONEncoder(check_circular=False).encode(obj)
    assert "".join(compact_pieces(obj)) == expected


def test_compact_pieces_errors() -> None:
    with pytest.raises(TypeError, match="Object of type object is not JSON serializable"):
        compact_pieces({"x": object()})
