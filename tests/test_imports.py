"""Heavy SDKs must not load for --help or validate (they cost hundreds of milliseconds)."""

from __future__ import annotations

import subprocess
import sys

import pytest

from tests.conftest import EXAMPLE, ROOT

FORBIDDEN = ("boto3", "botocore", "azure", "google", "jwt", "cryptography", "sqlalchemy")


def imported_modules(*args: str) -> set[str]:
    result = subprocess.run(
        [sys.executable, "-X", "importtime", "-m", "nhictl", *args],
        capture_output=True,
        text=True,
        cwd=ROOT,
        check=False,
        timeout=60,
    )
    modules = set()
    for line in result.stderr.splitlines():
        if line.startswith("import time:") and "|" in line:
            modules.add(line.rsplit("|", 1)[1].strip())
    assert modules, result.stderr
    return modules


@pytest.mark.parametrize("args", [("--help",), ("validate", str(EXAMPLE))])
def test_no_heavy_imports(args: tuple[str, ...]) -> None:
    modules = imported_modules(*args)
    heavy = sorted(m for m in modules if m.split(".")[0] in FORBIDDEN)
    assert heavy == [], heavy


@pytest.mark.parametrize("args", [("--help",), ("validate", str(EXAMPLE))])
def test_json_writer_loads_only_where_json_is_written(args: tuple[str, ...]) -> None:
    # orjson is cheap (~2 ms with the json module it imports) but nothing here writes JSON.
    modules = imported_modules(*args)
    assert "orjson" not in modules and "nhictl.core.jsonout" not in modules


def test_json_output_loads_the_json_writer() -> None:
    assert "orjson" in imported_modules("validate", "-f", "json", str(EXAMPLE))
