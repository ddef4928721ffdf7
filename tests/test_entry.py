"""The console-script entry: the collector is paused only while the CLI is imported."""

from __future__ import annotations

import gc
import subprocess
import sys

import pytest

from nhictl import __version__
from nhictl.cli import entry
from tests.conftest import ROOT


def test_runs_the_cli_and_restores_the_collector(
    monkeypatch: pytest.MonkeyPatch, capsys: pytest.CaptureFixture[str]
) -> None:
    monkeypatch.setattr(sys, "argv", ["nhictl", "--version"])
    assert gc.isenabled()
    try:
        with pytest.raises(SystemExit) as exit_info:
            entry.run()
    finally:
        gc.unfreeze()
    assert exit_info.value.code == 0
    assert gc.isenabled()
    assert capsys.readouterr().out == f"nhictl {__version__}\n"


def test_keeps_the_collector_off_when_it_was_off(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setattr(sys, "argv", ["nhictl", "--version"])
    gc.disable()
    try:
        with pytest.raises(SystemExit):
            entry.run()
        assert not gc.isenabled()
    finally:
        gc.unfreeze()
        gc.enable()


def test_python_m_nhictl() -> None:
    result = subprocess.run(
        [sys.executable, "-m", "nhictl", "--version"],
        capture_output=True,
        text=True,
        cwd=ROOT,
        check=False,
    )
    assert result.returncode == 0, result.stderr
    assert result.stdout == f"nhictl {__version__}\n"
