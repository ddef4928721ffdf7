"""The bookkeeping both live collectors share: required and optional calls, hints, the notes."""

from __future__ import annotations

import json
from pathlib import Path
from typing import Any

import pytest

from nhictl.core.errors import InputError, ProviderError
from nhictl.providers.collectrun import DOCS, CollectRun, Hints
from nhictl.providers.rawdir import CollectResult, OutputDir, write_collection
from nhictl.providers.rest import ApiError
from tests.providers.support import leftovers

HINTS = Hints(unauthorized="sign in again", forbidden="grant {permission}", not_found="no such")


class _Run(CollectRun):
    CLOUD = "Cloud"
    HINTS = HINTS


def _fails(status: int) -> Any:
    def call() -> Any:
        raise ApiError(status, "Code", "message", "host/path")

    return call


def test_hints_by_status() -> None:
    hint = {s: HINTS(ApiError(s, "c", "m", "u"), "x.get") for s in (401, 403, 404, 0, 500)}
    assert hint[401] == "sign in again"
    assert hint[403] == "grant x.get"
    assert hint[404] == "no such"
    assert "network" in hint[0]
    assert hint[500] == DOCS


def test_required_stops_optional_notes(tmp_path: Path) -> None:
    seen: list[tuple[str, int, int]] = []
    result = CollectResult(tmp_path)
    run = _Run(OutputDir(tmp_path / "o"), result, lambda *a: seen.append(a))
    assert run.required("things.list", "things.list", lambda: [1]) == [1]
    with pytest.raises(ProviderError) as info:
        run.required("things.list", "things.list", _fails(403))
    assert info.value.message == "Cloud things.list: HTTP 403 Code: message"
    assert info.value.hint == "grant things.list"
    assert run.optional("a.json", "a list", "a.get", _fails(403)) is None
    assert run.optional("b.json", "b list", "b.get", _fails(429)) is None
    assert [s.as_dict() for s in result.skipped] == [
        {"file": "a.json", "status": 403, "reason": "a list: HTTP 403 Code: message (needs a.get)"},
        {"file": "b.json", "status": 429, "reason": "b list: HTTP 429 Code: message"},
    ]
    run.step("stage", 2, 3)
    assert seen == [("stage", 2, 3)]


def test_write_collection_writes_notes_and_files(tmp_path: Path) -> None:
    def run(out: OutputDir, result: CollectResult) -> None:
        out.write_json("b.json", [])
        out.write_json("a.json", {})
        result.notes.append("a note")

    result = write_collection(tmp_path / "out", False, "test", {"id": "x"}, run)
    assert result.files == ["a.json", "b.json", "notes.json"]
    notes = json.loads((tmp_path / "out" / "notes.json").read_text())
    assert (notes["collector"], notes["target"], notes["notes"]) == (
        "test",
        {"id": "x"},
        ["a note"],
    )
    assert notes["files"] == ["a.json", "b.json"]


def test_write_collection_leaves_nothing_behind_a_failure(tmp_path: Path) -> None:
    def twice(out: OutputDir, result: CollectResult) -> None:
        out.write_json("a.json", {})
        out.write_json("a.json", {})  # never two writers of one file: an OSError

    with pytest.raises(InputError, match="cannot write"):
        write_collection(tmp_path / "out", False, "test", {}, twice)

    def refused(out: OutputDir, result: CollectResult) -> None:
        out.write_json("a.json", {})
        raise ProviderError("Cloud things.list: HTTP 403")

    with pytest.raises(ProviderError):  # not turned into a write error
        write_collection(tmp_path / "out", False, "test", {}, refused)
    assert not (tmp_path / "out").exists() and leftovers(tmp_path) == []
