"""The shared table rules (nhictl/render/table.py), the width rule and ``--color never``.

The command tables at 80 and 100 columns are in tests/credentials/test_cli_tables.py and
tests/creep/test_cli_creep.py; here: the layout itself, and real terminals (ptys) for colour and
for the width of piped output.
"""

from __future__ import annotations

import fcntl
import os
import pty
import select
import struct
import subprocess
import sys
import termios
from pathlib import Path

import pytest

from nhictl.render.table import build_table, plan, short_time
from tests.conftest import ROOT

JTI = "TkvVEUYp9U8z_9hYrr-glA"
TASK = "INV-20260101-ALPHA"
COLUMNS = ["jti", "task", "intent", "scopes", "status", "expires"]
ROW = [JTI, TASK, "reconcile-invoices", "invoices:read reports:write", "revoked", "2026-12-01"]


def lines_of(width: int | None, drop: list[str] | None = None) -> list[str]:
    return build_table(COLUMNS, [ROW, ROW], width=width, drop=drop or []).plain.splitlines()


def test_key_columns_are_whole_and_the_rest_wraps_at_word_boundaries() -> None:
    lines = lines_of(100)  # 112 wide when nothing wraps
    assert max(len(line) for line in lines) <= 100
    assert lines[0].split() == COLUMNS
    first = lines[1].split()
    assert first[:2] == [JTI, TASK] and "revoked" in first
    # scopes wrapped, one whole word per line, under its column
    column = lines[0].index("scopes")
    assert [line[column:].split()[0] for line in lines[1:3]] == ["invoices:read", "reports:write"]


def footer_of(lines: list[str]) -> str:
    """The footer under the table (it wraps like the rest), as one line."""
    start = max(i for i, line in enumerate(lines) if line.startswith("("))
    return " ".join(lines[start:])


def test_low_value_columns_are_dropped_in_order_with_a_footer() -> None:
    lines = lines_of(64, drop=["intent", "scopes", "expires"])
    assert lines[0].split() == ["jti", "task", "status", "expires"]
    assert lines[1].split() == [JTI, TASK, "revoked", "2026-12-01"]
    assert lines[-1] == "(hidden to fit 64 columns: intent, scopes; --wide shows them)"
    narrower = lines_of(40, drop=["intent", "scopes", "expires"])
    # Nothing more to drop: the key columns overflow the width, whole; the footer wraps to it.
    assert narrower[0].split() == ["jti", "task", "status"]
    assert narrower[1].split() == [JTI, TASK, "revoked"]
    assert max(len(line) for line in narrower[3:]) <= 40
    assert footer_of(narrower) == (
        "(hidden to fit 40 columns: intent, scopes, expires; --wide shows them)"
    )
    assert footer_of(lines_of(48, drop=["scopes"])).endswith("scopes; --wide shows it)")


def test_no_width_shows_every_column_on_one_line() -> None:
    lines = lines_of(None, drop=["intent", "scopes"])
    assert lines[1].split() == [*ROW[:3], "invoices:read", "reports:write", *ROW[4:]]
    assert len(lines) == 3  # header and two rows, no footer


def test_key_columns_stay_whole_when_nothing_else_fits() -> None:
    lines = lines_of(30)  # narrower than the key columns alone: they overflow, never fold
    assert lines[1].split()[:2] == [JTI, TASK]
    assert "revoked" in lines[1].split()


def test_commands_can_name_extra_key_columns() -> None:
    text = build_table(["thing", "note"], [["a-b c-d e-f", "x"]], width=10, keys=["thing"])
    assert text.plain.splitlines()[1].startswith("a-b c-d e-f")


def test_cells_are_text_not_markup() -> None:
    text = build_table(["name"], [["[bold]x[/bold]"], [None]], width=80)
    assert text.plain.splitlines()[1:] == ["[bold]x[/bold]", "-"]


def test_plan_shares_spare_room_between_wrapped_columns() -> None:
    layout = plan(["a", "b"], [["one two three four", "five six seven eight"]], 31)
    assert layout.total <= 31 and sorted(layout.widths) == [14, 15]


def test_short_time_is_for_timestamps_only() -> None:
    assert short_time("2026-12-01T21:40:00.328752Z") == "2026-12-01T21:40:00Z"
    assert short_time("2026-12-01T22:40:00.3+01:00") == "2026-12-01T21:40:00Z"
    assert short_time("INV-20260101-ALPHA") == "INV-20260101-ALPHA"
    assert short_time(None) is None


# ------------------------------------------------------------------ real terminals (ptys)


def _pty(columns: int) -> tuple[int, int]:
    master, slave = pty.openpty()
    fcntl.ioctl(slave, termios.TIOCSWINSZ, struct.pack("HHHH", 24, columns, 0, 0))
    return master, slave


def _drain(master: int, proc: subprocess.Popen[bytes]) -> bytes:
    out = b""
    while True:
        ready, _, _ = select.select([master], [], [], 0.1)
        if ready:
            try:
                chunk = os.read(master, 65536)
            except OSError:  # EIO: the child closed its end
                break
            if not chunk:
                break
            out += chunk
        elif proc.poll() is not None:
            break
    return out


def run(
    *args: str,
    env: dict[str, str] | None = None,
    stdout_tty: int | None = None,
    stderr_tty: int | None = None,
) -> tuple[bytes, bytes]:
    """Run nhictl in a new session (no controlling terminal, so no /dev/tty) with stdout and/or
    stderr on a pty of the given width; returns (stdout, stderr)."""
    environ = {k: v for k, v in os.environ.items() if k != "COLUMNS"}
    environ.update({"TERM": "xterm-256color", **(env or {})})
    ptys = {name: _pty(cols) for name, cols in (("out", stdout_tty), ("err", stderr_tty)) if cols}
    proc = subprocess.Popen(
        [sys.executable, "-m", "nhictl", *args],
        stdin=subprocess.DEVNULL,
        stdout=ptys["out"][1] if "out" in ptys else subprocess.PIPE,
        stderr=ptys["err"][1] if "err" in ptys else subprocess.PIPE,
        env=environ,
        cwd=ROOT,
        start_new_session=True,
    )
    for _, slave in ptys.values():
        os.close(slave)
    try:
        got = {name: _drain(master, proc) for name, (master, _) in ptys.items()}
        rest_out, rest_err = proc.communicate(timeout=60)
    finally:
        for master, _ in ptys.values():
            os.close(master)
    return got.get("out", rest_out or b""), got.get("err", rest_err or b"")


# `schema list` prints a bold header on stdout; `agents show` without a store prints a red
# error and a dim hint on stderr.
STDOUT_CMD = ("schema", "list")
STDERR_CMD = ("agents", "show", "x")


def test_a_pty_shows_colour_by_default() -> None:  # the check below can see escape codes
    out, _ = run(*STDOUT_CMD, stdout_tty=100)
    _, err = run(*STDERR_CMD, stderr_tty=100)
    assert b"\x1b[" in out and b"\x1b[" in err


@pytest.mark.parametrize(
    ("flags", "env"),
    [
        (["--color", "never"], {}),
        ([], {"NO_COLOR": "1"}),
        (["--color", "always"], {"NO_COLOR": "1"}),  # NO_COLOR wins, as documented
        ([], {"NHICTL_COLOR": "never"}),
    ],
)
def test_no_colour_means_no_escape_codes_at_all(flags: list[str], env: dict[str, str]) -> None:
    out, _ = run(*STDOUT_CMD, *flags, env=env, stdout_tty=100)
    _, err = run(*STDERR_CMD, *flags, env=env, stderr_tty=100)
    assert b"agent-registration.v1" in out and b"nhictl: error:" in err and b"hint:" in err
    assert b"\x1b" not in out and b"\x1b" not in err  # no bold, dim or italic either


def test_color_always_colours_a_pipe() -> None:
    out, err = run(*STDOUT_CMD, "--color", "always")
    assert out.startswith(b"\x1b[1m")
    _, err = run(*STDERR_CMD, "--color", "always")
    assert b"\x1b[" in err


def test_piped_output_follows_the_terminal_on_stderr(tmp_path: Path) -> None:
    # `nhictl schema list | less`: stdout is a pipe, stderr the 60-column terminal.
    out, _ = run(*STDOUT_CMD, stderr_tty=60)
    lines = out.decode().splitlines()
    assert max(len(line) for line in lines) <= 60
    assert lines[-1] == "(hidden to fit 60 columns: id; --wide shows it)"
    # COLUMNS wins over the terminal's size
    out, _ = run(*STDOUT_CMD, env={"COLUMNS": "120"}, stderr_tty=60)
    assert b"hidden" not in out and b"https://nhictl.dev/schemas/" in out


def test_no_terminal_at_all_uses_a_wide_fixed_width() -> None:
    out, _ = run(*STDOUT_CMD)  # stdout and stderr pipes, no controlling terminal
    assert b"hidden" not in out and b"https://nhictl.dev/schemas/" in out
