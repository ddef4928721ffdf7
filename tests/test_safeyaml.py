"""Hostile and broken input: each gets one line naming the file, fast, with bounded memory."""

from __future__ import annotations

import time
from collections.abc import Callable
from pathlib import Path

import pytest

from nhictl.core.errors import InputError
from nhictl.core.safeyaml import Limits, load_text, read_text

Write = Callable[[str, str | bytes], Path]
LIMITS = Limits()


def load(path: Path, limits: Limits = LIMITS) -> list[object]:
    text = read_text(str(path), limits)
    docs = load_text(str(path), text, limits, as_json=path.suffix == ".json")
    return [d.data for d in docs]


def fails(path: Path, match: str, limits: Limits = LIMITS) -> str:
    with pytest.raises(InputError, match=match) as info:
        load(path, limits)
    message = str(info.value)
    assert message.startswith(str(path)), message
    assert "\n" not in message
    return message


def test_empty_file(write: Write) -> None:
    fails(write("empty.yaml", ""), "file is empty")
    fails(write("blank.yaml", "  \n\n"), "file is empty")
    fails(write("comments.yaml", "# nothing\n---\n"), "no documents")


def test_non_utf8_bytes(write: Write) -> None:
    message = fails(write("latin1.yaml", b"name: caf\xe9\n"), "not valid UTF-8")
    assert ":1:" in message


def test_nul_bytes(write: Write) -> None:
    fails(write("bin.yaml", b"a: 1\x00\n"), "NUL")


def test_invalid_yaml_names_line_and_column(write: Write) -> None:
    message = fails(write("bad.yaml", "a: 1\nb: [1, 2\nc: 3\n"), "invalid YAML")
    assert "bad.yaml:3:" in message


@pytest.mark.parametrize(
    "payload",
    [
        "x: !!python/object/apply:os.system ['echo pwned']\n",
        "x: !!python/object:builtins.dict {}\n",
        "x: !!python/name:os.system\n",
        "x: !custom 1\n",
        "x: !!set {a, b}\n",
        "x: !!binary aGVsbG8=\n",
    ],
)
def test_unsafe_tags_rejected(write: Write, payload: str) -> None:
    fails(write("tag.yaml", payload), "unsupported YAML tag")


def test_billion_laughs(write: Write) -> None:
    lines = ['a0: &a0 ["lol","lol","lol","lol","lol","lol","lol","lol","lol"]']
    for i in range(1, 10):
        refs = ",".join([f"*a{i - 1}"] * 9)
        lines.append(f"a{i}: &a{i} [{refs}]")
    start = time.monotonic()
    fails(write("bomb.yaml", "\n".join(lines) + "\n"), "alias bomb")
    assert time.monotonic() - start < 5  # bounded: the expansion is counted, never built


def test_small_aliases_are_fine(write: Write) -> None:
    data = load(write("ok.yaml", "base: &b {x: 1}\nk:\n  <<: *b\n  y: 2\nl: *b\n"))
    assert data == [{"base": {"x": 1}, "k": {"x": 1, "y": 2}, "l": {"x": 1}}]


@pytest.mark.parametrize(
    "text",
    [
        "[" * 5000 + "]" * 5000,
        "{a: " * 3000 + "1" + "}" * 3000,
        "- " * 3000 + "x\n",
        "".join(" " * i + "k:\n" for i in range(200)) + " " * 200 + "k: 1\n",
    ],
)
def test_deep_nesting(write: Write, text: str) -> None:
    fails(write("deep.yaml", text), "nest")


def test_deep_json(write: Write) -> None:
    fails(write("deep.json", "[" * 100_000 + "]" * 100_000), "nesting too deep|invalid JSON")


def test_duplicate_keys_yaml(write: Write) -> None:
    message = fails(write("dup.yaml", "a: 1\nb:\n  c: 1\n  c: 2\n"), "duplicate key 'c'")
    assert "dup.yaml:4:3" in message


def test_duplicate_keys_json(write: Write) -> None:
    fails(write("dup.json", '{"a": 1, "a": 2}'), "duplicate key 'a'")


def test_file_over_size_cap(write: Write) -> None:
    path = write("big.yaml", "a: " + "x" * 2048 + "\n")
    fails(path, "larger than the 1024 byte limit", Limits(max_bytes=1024))
    assert load(path, Limits(max_bytes=4096))


def test_default_cap_is_one_mebibyte(write: Write) -> None:
    fails(write("big.yaml", "a: '" + "x" * (1024 * 1024) + "'\n"), "1048576 byte limit")


@pytest.mark.parametrize(
    ("text", "match"),
    [
        ('{"a": 1} trailing', "Extra data"),
        ('{"a": 1}\n{"b": 2}', "Extra data"),
        ('{"a": NaN}', "NaN"),
        ('{"a": 1,}', "invalid JSON"),
    ],
)
def test_json_garbage(write: Write, text: str, match: str) -> None:
    fails(write("bad.json", text), match)


def test_timestamps_stay_strings_and_keys_stay_text(write: Write) -> None:
    data = load(write("t.yaml", "d: 2027-06-30\non: yes\n1: x\n"))
    assert data == [{"d": "2027-06-30", "on": True, "1": "x"}]


def test_multiple_documents(write: Write) -> None:
    assert load(write("m.yaml", "a: 1\n---\nb: 2\n---\n")) == [{"a": 1}, {"b": 2}]


def test_missing_file_and_directory(tmp_path: Path) -> None:
    with pytest.raises(InputError, match="no such file"):
        read_text(str(tmp_path / "nope.yaml"), LIMITS)
    with pytest.raises(InputError, match="is a directory"):
        read_text(str(tmp_path), LIMITS)


@pytest.mark.parametrize("size", [100, 3000])
def test_size_cap_holds_for_files_without_a_size(tmp_path: Path, size: int) -> None:
    # A named pipe reports size 0: it is still read whole, and still capped.
    import os
    import threading

    fifo = tmp_path / "pipe.yaml"
    os.mkfifo(fifo)
    body = "a: " + "x" * size + "\n"
    writer = threading.Thread(target=fifo.write_text, args=(body,))
    writer.start()
    try:
        if size < 1024:
            assert read_text(str(fifo), Limits(max_bytes=1024)) == body
        else:
            fails(fifo, "larger than the 1024 byte limit", Limits(max_bytes=1024))
    finally:
        writer.join(timeout=10)  # the body fits the pipe's buffer: the writer never blocks
