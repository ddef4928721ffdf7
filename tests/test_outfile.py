"""``nhictl.core.outfile``: atomic for regular files, in place for devices, FIFOs and streams,
one-line input errors for directories and missing folders; and ``-o`` on the report commands."""

from __future__ import annotations

import os
import stat
import subprocess
import sys
from collections.abc import Iterator
from pathlib import Path

import pytest

from nhictl.core.outfile import OutputError, is_direct, open_output, prepare_output, write_file
from tests.conftest import EXAMPLE, CliRunner
from tests.creep.test_cli_creep import BASE as AUDIT
from tests.outfile_support import (
    ROOT,
    FifoReader,
    dev_null_is_intact,
    leftovers,
    needs_unshare,
    on_tiny_fs,
)


@pytest.fixture
def umask_022() -> Iterator[None]:
    old = os.umask(0o022)
    yield
    os.umask(old)


# --------------------------------------------------------------------------- core rules


def test_new_file_is_created_with_the_umask_mode_and_no_temp_file(
    tmp_path: Path, umask_022: None
) -> None:
    path = tmp_path / "report.json"
    write_file(path, b"{}\n")
    assert path.read_bytes() == b"{}\n"
    assert stat.S_IMODE(path.stat().st_mode) == 0o644
    assert leftovers(tmp_path) == []


def test_existing_regular_file_is_replaced_atomically_keeping_its_mode(tmp_path: Path) -> None:
    path = tmp_path / "report.json"
    path.write_text("old\n")
    path.chmod(0o640)
    before = path.stat().st_ino
    write_file(path, b"new\n")
    assert path.read_text() == "new\n"
    assert path.stat().st_ino != before  # a new file renamed into place, not rewritten
    assert stat.S_IMODE(path.stat().st_mode) == 0o640
    assert leftovers(tmp_path) == []


def test_private_mode_is_exact_whatever_the_umask(tmp_path: Path) -> None:
    old = os.umask(0)
    try:
        new = tmp_path / "new.jwt"
        write_file(new, b"t\n", mode=0o600, replace=False)
        existing = tmp_path / "old.jwt"
        existing.write_text("old\n")
        existing.chmod(0o666)
        write_file(existing, b"t\n", mode=0o600)
    finally:
        os.umask(old)
    assert stat.S_IMODE(new.stat().st_mode) == 0o600
    assert stat.S_IMODE(existing.stat().st_mode) == 0o600


def test_replace_false_refuses_an_existing_file(tmp_path: Path) -> None:
    path = tmp_path / "token.jwt"
    path.write_text("older live token\n")
    with pytest.raises(OutputError) as caught:
        write_file(path, b"new\n", mode=0o600, replace=False)
    assert str(caught.value) == f"cannot write {path}: the file already exists"
    assert caught.value.hint and "--force" in caught.value.hint
    assert path.read_text() == "older live token\n"
    assert leftovers(tmp_path) == []


def test_a_file_that_appears_after_the_check_is_not_clobbered(tmp_path: Path) -> None:
    path = tmp_path / "token.jwt"
    target = prepare_output(path, mode=0o600, replace=False)
    path.write_text("someone else's token\n")  # between the check and the rename
    target.write("ours\n")
    with pytest.raises(OutputError, match="the file already exists"):
        target.commit()
    assert path.read_text() == "someone else's token\n"
    assert leftovers(tmp_path) == []


@pytest.mark.parametrize(
    ("name", "reason"),
    [
        ("", "it is a directory"),
        ("missing/out.json", "the folder {tmp}/missing does not exist"),
        ("file/out.json", "{tmp}/file is not a folder"),
    ],
)
def test_directory_and_bad_parents_are_input_errors(tmp_path: Path, name: str, reason: str) -> None:
    (tmp_path / "file").write_text("x")
    path = tmp_path / name if name else tmp_path
    with pytest.raises(OutputError) as caught:
        write_file(path, b"x")
    assert caught.value.exit_code == 2  # an input error, not an internal one
    assert str(caught.value) == f"cannot write {path}: " + reason.format(tmp=tmp_path)


def test_fifo_is_written_in_place_not_replaced(tmp_path: Path) -> None:
    fifo = tmp_path / "pipe"
    reader = FifoReader(fifo)
    assert is_direct(fifo)
    write_file(fifo, b"through the pipe\n", mode=0o600)
    assert reader.result() == b"through the pipe\n"
    assert stat.S_ISFIFO(fifo.stat().st_mode)
    assert leftovers(tmp_path) == []


@pytest.mark.skipif(os.geteuid() != 0, reason="creating a device node needs root")
def test_device_node_is_written_in_place_not_replaced(tmp_path: Path) -> None:
    node = tmp_path / "null"  # a private copy of /dev/null: the real one is never at risk
    os.mknod(node, stat.S_IFCHR | 0o666, os.makedev(1, 3))
    node.chmod(0o666)  # mknod applies the umask
    write_file(node, b"discarded\n", mode=0o600)
    with open_output(node) as handle:
        handle.write("discarded too\n")
    st = node.stat()
    assert stat.S_ISCHR(st.st_mode) and st.st_rdev == os.makedev(1, 3)
    assert stat.S_IMODE(st.st_mode) == 0o666  # not chmodded either
    assert leftovers(tmp_path) == []


def test_dev_null_is_written_in_place() -> None:
    assert is_direct(Path("/dev/null"))  # checked first: only then is it safe to write
    write_file(Path("/dev/null"), b"x\n", mode=0o600)
    assert dev_null_is_intact()
    assert not [p for p in os.listdir("/dev") if p.startswith(".null.")]


def test_dev_stdout_redirected_to_a_file_is_appended_to_not_renamed_over(tmp_path: Path) -> None:
    captured = tmp_path / "captured.txt"
    captured.write_text("before\n")
    inode = captured.stat().st_ino
    code = (
        "from pathlib import Path; from nhictl.core.outfile import write_file; "
        "write_file(Path('/dev/stdout'), b'report\\n')"
    )
    with captured.open("a") as handle:
        subprocess.run([sys.executable, "-c", code], stdout=handle, check=True, cwd=ROOT)
    assert captured.read_text() == "before\nreport\n"
    assert captured.stat().st_ino == inode
    assert stat.S_ISCHR(os.stat("/dev/null").st_mode)


def test_a_failing_device_write_is_an_output_error() -> None:
    if not os.path.exists("/dev/full"):
        pytest.skip("no /dev/full")
    with pytest.raises(OutputError, match=r"^cannot write /dev/full: No space left on device$"):
        write_file(Path("/dev/full"), b"x" * 100_000)
    with (
        pytest.raises(OutputError, match="No space left on device"),
        open_output(Path("/dev/full")) as handle,
    ):
        handle.write("y" * 100_000)


def test_an_exception_in_the_block_leaves_no_file_and_no_temp_file(tmp_path: Path) -> None:
    path = tmp_path / "report.json"
    with pytest.raises(RuntimeError), open_output(path) as handle:
        handle.write("half a report")
        raise RuntimeError("renderer failed")
    assert not path.exists() and leftovers(tmp_path) == []
    path.write_text("previous\n")
    with pytest.raises(RuntimeError), open_output(path) as handle:
        handle.write("half a report")
        raise RuntimeError("renderer failed")
    assert path.read_text() == "previous\n" and leftovers(tmp_path) == []


@needs_unshare
def test_a_full_disk_leaves_no_temp_file(tmp_path: Path) -> None:
    folder = tmp_path / "tiny"
    code = (
        "import sys; from pathlib import Path; from nhictl.core.outfile import write_file\n"
        "try:\n    write_file(Path(sys.argv[1]), b'x' * 20000, mode=0o600)\n"
        "except Exception as exc:\n    print(exc)\n    sys.exit(2)"
    )
    out = on_tiny_fs(folder, sys.executable, "-c", code, str(folder / "out.jwt"))
    assert f"cannot write {folder}/out.jwt: No space left on device" in out
    assert "rc=2" in out
    assert out.rstrip().splitlines()[-1] == "filler"  # no out.jwt, no .out.jwt.*.tmp


# --------------------------------------------------------------------------- report commands


def report_commands(out: Path) -> list[tuple[str, ...]]:
    return [
        ("validate", str(EXAMPLE), "-o", str(out)),
        (*AUDIT, "--format", "json", "-o", str(out)),
        ("schema", "show", "agent-registration.v1", "-o", str(out)),
    ]


@pytest.mark.parametrize("index", range(3))
def test_output_to_a_directory_or_missing_folder_is_exit_2_on_one_line(
    cli: CliRunner, tmp_path: Path, index: int
) -> None:
    for target, reason in (
        (tmp_path, "it is a directory"),
        (tmp_path / "no" / "r.json", f"the folder {tmp_path}/no does not exist"),
    ):
        result = cli(*report_commands(target)[index])
        assert result.code == 2, result.stderr
        first = result.stderr.splitlines()[0]
        assert first == f"nhictl: error: cannot write {target}: {reason}"
        assert "internal error" not in result.stderr and "Traceback" not in result.stderr
        assert leftovers(tmp_path) == []


@pytest.mark.parametrize("index", range(3))
def test_reports_replace_an_existing_file_and_write_fifos_in_place(
    cli: CliRunner, tmp_path: Path, index: int
) -> None:
    out = tmp_path / "report"
    out.write_text("stale\n")
    result = cli(*report_commands(out)[index])
    assert result.code == 0, result.stderr
    assert out.read_text() != "stale\n" and out.stat().st_size > 50
    fifo = tmp_path / "fifo"
    reader = FifoReader(fifo)
    assert cli(*report_commands(fifo)[index]).code == 0
    assert reader.result() == out.read_bytes()
    assert stat.S_ISFIFO(fifo.stat().st_mode)
    assert leftovers(tmp_path) == []


def test_validate_to_dev_null_keeps_the_device(cli: CliRunner) -> None:
    assert is_direct(Path("/dev/null"))
    assert cli("validate", str(EXAMPLE), "-o", "/dev/null").code == 0
    assert cli(*AUDIT, "-f", "sarif", "-o", "/dev/null").code == 0
    assert dev_null_is_intact()


def test_collect_aws_checks_its_output_before_calling_aws(cli: CliRunner, tmp_path: Path) -> None:
    pytest.importorskip("boto3")
    result = cli("collect", "aws", "-o", str(tmp_path))
    assert result.code == 2
    assert result.stderr.splitlines()[0] == (
        f"nhictl: error: cannot write {tmp_path}: it is a directory"
    )
    result = cli("collect", "aws", "--out", str(tmp_path / "no" / "b.json"))
    assert result.code == 2 and "does not exist" in result.stderr
