"""The one-pass loader for alias-free YAML agrees with the general path, errors included."""

from __future__ import annotations

from pathlib import Path

import pytest

from nhictl.core import safeyaml
from nhictl.core.errors import InputError

ROOT = Path(__file__).resolve().parent.parent
SMALL = safeyaml.Limits(max_depth=4, max_nodes=12)

CASES = [
    "a: 1\nb: -0x1F\nc: 1_000\nd: 0o17\ne: 1.5e3\nf: .inf\ng: ~\nh: null\ni: yes\nj: Off\n",
    "when: 2027-06-30\nat: 2026-11-28T10:00:00Z\nver: 1.0\nzip: 012\nsexa: 1:30\n",
    "on: 1\n1: one\n'2': two\n=: value-key\nlist: [a, 'b', \"c\", [d, {e: f}]]\n",
    "text: |\n  line one\n  line two\nfolded: >\n  a\n  b\nempty: ''\nnone:\n",
    "explicit: !!str 123\nstamp: !!timestamp 2027-01-01\nint: !!int '7'\nmap: !!map {a: 1}\n",
    "---\na: 1\n---\n---\n- x\n- y\n...\n---\nscalar\n",
    "~\n",
    # Invalid or unusual: the general path must decide, with its own wording.
    "a: 1\nb: 2\na: 3\n",
    "outer:\n  k: 1\n  k: 2\n",
    "? [a, b]\n: complex key\n",
    "base: {x: 1}\nk:\n  <<: {x: 2}\n  y: 3\n",
    "x: !!python/object/apply:os.system ['echo pwned']\n",
    "x: !custom 1\n",
    "x: !!set {a, b}\n",
    "x: !!binary aGVsbG8=\n",
    "x: !!omap [a: 1]\n",
    "x: =\n",
    "a: [1, 2\n",
    "a:\n  b:\n    c:\n      d: deep\n",
    "a: [1, 2, 3, 4, 5, 6, 7, 8, 9, 10, 11, 12]\n",
    "a: {b: 1, c: 2, d: 3, e: 4, f: 5}\n",
]


def _general(text: str, limits: safeyaml.Limits) -> tuple[str, object]:
    with pytest.MonkeyPatch.context() as mp:
        mp.setattr(safeyaml, "_load_plain", lambda *_: None)
        return _outcome(text, limits)


def _outcome(text: str, limits: safeyaml.Limits) -> tuple[str, object]:
    try:
        docs = safeyaml.load_yaml("f.yaml", text, limits)
    except InputError as exc:
        return "error", str(exc)
    return "ok", [(d.index, repr(d.data), d.locate(("a",))) for d in docs]  # repr: 1 != True


def _corpus() -> list[str]:
    files = sorted(ROOT.glob("sample-configs/**/*.y*ml")) + sorted(ROOT.glob("tests/**/*.y*ml"))
    return CASES + [p.read_text(encoding="utf-8") for p in files]


@pytest.mark.parametrize("limits", [safeyaml.Limits(), SMALL], ids=["default", "small"])
def test_same_data_and_errors_as_the_general_path(limits: safeyaml.Limits) -> None:
    for text in _corpus():
        assert _outcome(text, limits) == _general(text, limits), text


def test_plain_path_is_taken_for_plain_documents() -> None:
    assert safeyaml._load_plain("f", "a: [1, x]\n", safeyaml.Limits()) is not None
    assert safeyaml._load_plain("f", "a: 1\na: 2\n", safeyaml.Limits()) is None
    assert safeyaml._load_plain("f", "a: {b: 1}\n", safeyaml.Limits(max_depth=2)) is None
    assert safeyaml._load_plain("f", "a: [1, 2]\n", safeyaml.Limits(max_nodes=4)) is None
    assert safeyaml._load_plain("f", "a: [1, 2]\n", safeyaml.Limits(max_nodes=5)) is not None


def test_remembered_scalar_tags_match_the_resolver() -> None:
    import yaml
    from yaml.nodes import ScalarNode

    reference = yaml.resolver.Resolver()
    loader = safeyaml._Loader("")
    values = ["", "~", "null", "Null", "yes", "No", "on", "OFF", "1", "0x1F", "0o17", "+1",
              "1_000", "1:30", "1.5", "-.5", ".inf", ".NaN", "2027-01-01",
              "2027-01-01T00:00:00Z", "=", "<<", "abc", "s3:GetObject", "'1'"]  # fmt: skip
    try:
        for _ in range(2):  # the second round is answered from memory
            for value in values:
                for implicit in ((True, False), (False, True), (False, False)):
                    got = loader.resolve(ScalarNode, value, implicit)
                    want = reference.resolve(ScalarNode, value, implicit)  # type: ignore[no-untyped-call]
                    assert got == want, value
    finally:
        loader.dispose()


def test_plain_documents_leave_no_cyclic_garbage() -> None:
    # audit-creep parses thousands of manifests with the cyclic collector paused: garbage that
    # only it could free would pile up (a recursive closure did: ~20 KB per manifest).
    import gc

    gc.collect()
    gc.disable()
    try:
        for _ in range(50):
            safeyaml.load_yaml("f.yaml", "a: [1, {b: x, c: 2027-01-01}]\n", safeyaml.Limits())
        assert gc.collect() == 0
    finally:
        gc.enable()
