"""Writing an output file: every ``-o/--output``, token files and key files go through here.

The rules, in one place:

- A new path, or an existing regular file, is written atomically: a temp file next to it
  (``O_EXCL``, never following a link), then ``rename`` over the path. A failed or interrupted
  write leaves the old file (or nothing) and no temp file behind.
- Anything else that exists (a device such as ``/dev/null``, a FIFO, a terminal) and the name
  of an open stream (``/dev/stdout``, ``/dev/fd/3``, ``/proc/self/fd/1``), whatever it points
  at, is opened and written directly, never replaced: renaming over ``/dev/null`` would swap
  the device for a regular file.
- A directory, a missing parent folder or a parent that is not a folder is an
  :class:`OutputError` (an input error, exit 2) naming the path and the reason, raised by
  :func:`prepare_output` before any work is done.
- ``replace=False`` refuses an existing regular file (a token file: the token in it may still be
  live); ``mode=0o600`` makes the file private whatever the umask (tokens, keys).
"""

from __future__ import annotations

import contextlib
import errno
import io
import os
import secrets
import stat
from collections.abc import Iterator
from pathlib import Path
from typing import IO, TYPE_CHECKING

from nhictl.core.errors import InputError

if TYPE_CHECKING:
    from typing_extensions import Buffer

# Names of an already-open stream: renaming over them would replace whatever the stream is.
_STREAM_NAMES = ("/dev/stdout", "/dev/stderr", "/dev/stdin", "/dev/tty")
_STREAM_PREFIXES = ("/dev/fd/", "/proc/")
_BUFFER = 1 << 16


class OutputError(InputError):
    """An output file cannot be written: the message names the path and the reason."""

    def __init__(self, path: Path, reason: str, *, hint: str | None = None) -> None:
        super().__init__(f"cannot write {path}: {reason}", hint=hint)
        self.path = path
        self.reason = reason


def _reason(exc: OSError) -> str:
    return exc.strerror or str(exc)


def _fail(path: Path, reason: str, hint: str | None = None) -> OutputError:
    return OutputError(path, reason, hint=hint)


class _Sink(io.FileIO):
    """A raw file that remembers the first write error (ENOSPC, EFBIG, EIO, EPIPE)."""

    failure: OSError | None = None

    def write(self, data: Buffer, /) -> int:
        try:
            return super().write(data)
        except OSError as exc:
            if self.failure is None:
                self.failure = exc
            raise


class OutputTarget:
    """A checked, opened output: write to :attr:`handle`, then :meth:`commit` or :meth:`discard`.

    Create it with :func:`prepare_output`; every I/O failure surfaces as :class:`OutputError`.
    """

    def __init__(
        self, path: Path, sink: _Sink, temp: Path | None, sync: bool, replace: bool = True
    ) -> None:
        self.path = path
        self.temp = temp  # None: written directly (device, FIFO, /dev/stdout, ...)
        self._sink = sink
        self._sync = sync
        self._replace = replace
        self._done = False
        self._buffer = io.BufferedWriter(sink, _BUFFER)
        self.handle: IO[str] = io.TextIOWrapper(self._buffer, encoding="utf-8", newline="\n")

    @property
    def direct(self) -> bool:
        """True when the path is written in place (not a regular file replaced atomically)."""
        return self.temp is None

    def write(self, text: str) -> None:
        """Write text (the file is complete only after :meth:`commit`)."""
        try:
            self.handle.write(text)
        except OSError as exc:
            raise _fail(self.path, _reason(exc)) from None

    def write_bytes(self, data: bytes) -> None:
        """Write bytes (do not mix with text writes that are not flushed)."""
        try:
            self._buffer.write(data)
        except OSError as exc:
            raise _fail(self.path, _reason(exc)) from None

    def commit(self) -> None:
        """Flush, sync (when asked) and move the temp file into place."""
        if self._done:
            return
        try:
            self.handle.flush()
            if self._sync and self.temp is not None:
                os.fsync(self._sink.fileno())
            self.handle.close()
            if self.temp is not None:
                self._move_into_place(self.temp)
        except FileExistsError:
            self.discard()
            raise _exists(self.path) from None
        except OSError as exc:
            self.discard()
            raise _fail(self.path, _reason(exc)) from None
        self._done = True
        if self._sync and self.temp is not None:
            # The file is in place and complete; a folder that cannot be synced does not undo it.
            with contextlib.suppress(OSError):
                _fsync_dir(_folder(self.path))

    def _move_into_place(self, temp: Path) -> None:
        if self._replace:
            os.replace(temp, self.path)
            return
        # No clobbering, atomically: a file that appeared since the check is not replaced.
        try:
            os.link(temp, self.path, follow_symlinks=False)
        except FileExistsError:
            raise
        except OSError as exc:
            if exc.errno not in (errno.EPERM, errno.ENOTSUP, errno.EOPNOTSUPP, errno.EMLINK):
                raise
            os.replace(temp, self.path)  # no hard links here: the earlier check has to do
            return
        os.unlink(temp)

    def discard(self) -> None:
        """Give up: close the file and remove the temp file (the target is left as it was)."""
        if self._done:
            return
        self._done = True
        try:
            self.handle.close()
        except OSError:
            # A buffered write that cannot be flushed: close the raw file regardless.
            with contextlib.suppress(OSError):
                self._sink.close()
        if self.temp is not None:
            with contextlib.suppress(OSError):
                os.unlink(self.temp)

    @property
    def write_failure(self) -> OSError | None:
        """The first error writing the file failed with, if any."""
        return self._sink.failure


def _folder(path: Path) -> Path:
    return path.parent if str(path.parent) else Path(".")


def _exists(path: Path) -> OutputError:
    return _fail(
        path,
        "the file already exists",
        hint="it may hold a live token: use another name, or --force to replace it",
    )


def _check_parent(path: Path) -> None:
    folder = _folder(path)
    try:
        st = os.stat(folder)
    except FileNotFoundError:
        raise _fail(path, f"the folder {folder} does not exist") from None
    except NotADirectoryError:
        raise _fail(path, f"{folder} is not a folder") from None
    except OSError as exc:
        raise _fail(path, _reason(exc)) from None
    if not stat.S_ISDIR(st.st_mode):
        raise _fail(path, f"{folder} is not a folder")


def is_direct(path: Path, st: os.stat_result | None = None) -> bool:
    """Is ``path`` written in place, never renamed over? True for anything that exists and is
    neither a regular file nor a directory, and for the names of open streams (``/dev/stdout``,
    ``/dev/fd/N``, ``/proc/...``) even when the stream is a regular file."""
    absolute = os.path.abspath(path)
    if absolute in _STREAM_NAMES or absolute.startswith(_STREAM_PREFIXES):
        return True
    if st is None:
        try:
            st = os.stat(path)
        except OSError:
            return False
    return not stat.S_ISREG(st.st_mode) and not stat.S_ISDIR(st.st_mode)


def check_output(path: Path, *, replace: bool = True) -> os.stat_result | None:
    """Can ``path`` be written? Checks only, opens nothing (a FIFO would block): a directory,
    a missing or unwritable parent folder, or (``replace=False``) an existing regular file is
    an :class:`OutputError`. Returns the target's ``stat`` when it exists."""
    path = Path(path)
    try:
        st: os.stat_result | None = os.stat(path)
    except (FileNotFoundError, NotADirectoryError):
        st = None  # a parent that is missing or not a folder: _check_parent says which
    except OSError as exc:
        raise _fail(path, _reason(exc)) from None
    if st is not None and stat.S_ISDIR(st.st_mode):
        raise _fail(path, "it is a directory", hint="name a file inside it")
    if is_direct(path, st):
        return st
    _check_parent(path)
    if st is not None and not replace:
        raise _exists(path)
    folder = _folder(path)
    if not os.access(folder, os.W_OK | os.X_OK):
        reason = "read-only file system" if _read_only(folder) else "permission denied"
        raise _fail(path, f"cannot create files in {folder} ({reason})")
    return st


def _read_only(folder: Path) -> bool:
    try:
        return bool(os.statvfs(folder).f_flag & os.ST_RDONLY)
    except OSError:
        return False


def prepare_output(
    path: Path, *, mode: int | None = None, replace: bool = True, sync: bool = False
) -> OutputTarget:
    """Check ``path`` (:func:`check_output`) and open it; nothing visible changes until
    :meth:`OutputTarget.commit`. A FIFO blocks here until a reader opens it, as ``>`` does.

    ``mode`` is the exact mode of a new or replaced file (``0o600`` for secrets); ``None`` means
    the usual ``0666`` less the umask for a new file and the old file's mode for a replaced
    one. ``replace=False`` refuses an existing regular file. ``sync`` fsyncs the file and its
    folder (secrets, keys). Raises :class:`OutputError`.
    """
    path = Path(path)
    st = check_output(path, replace=replace)
    if is_direct(path, st):
        return _open_direct(path, sync)
    if mode is None and st is not None:
        mode = stat.S_IMODE(st.st_mode)
    return _open_temp(path, mode, sync, replace)


def _open_direct(path: Path, sync: bool) -> OutputTarget:
    # No O_CREAT (it exists: a device, FIFO, terminal), no O_TRUNC: /dev/stdout redirected to a
    # file is appended to, never cut.
    flags = os.O_WRONLY | os.O_APPEND | os.O_NOCTTY | getattr(os, "O_CLOEXEC", 0)
    try:
        fd = os.open(path, flags)
    except OSError as exc:
        raise _fail(path, _reason(exc)) from None
    return OutputTarget(path, _Sink(fd, "w", closefd=True), None, sync)


def _open_temp(path: Path, mode: int | None, sync: bool, replace: bool) -> OutputTarget:
    folder = _folder(path)
    flags = os.O_WRONLY | os.O_CREAT | os.O_EXCL | getattr(os, "O_NOFOLLOW", 0)
    flags |= getattr(os, "O_CLOEXEC", 0)
    for _attempt in range(16):
        temp = folder / f".{path.name}.{secrets.token_hex(4)}.tmp"
        try:
            fd = os.open(temp, flags, 0o666 if mode is None else mode & 0o600)
        except FileExistsError:
            continue
        except OSError as exc:
            raise _fail(path, _reason(exc)) from None
        try:
            if mode is not None:
                os.fchmod(fd, mode)  # exact: the umask can only remove bits
        except OSError as exc:
            os.close(fd)
            with contextlib.suppress(OSError):
                os.unlink(temp)
            raise _fail(path, _reason(exc)) from None
        return OutputTarget(path, _Sink(fd, "w", closefd=True), temp, sync, replace)
    raise _fail(path, os.strerror(errno.EEXIST))


@contextlib.contextmanager
def open_output(
    path: Path, *, mode: int | None = None, replace: bool = True, sync: bool = False
) -> Iterator[IO[str]]:
    """A text handle on ``path`` (see :func:`prepare_output`): committed when the block ends,
    discarded (no partial file, no temp file) when it raises. A write error is an
    :class:`OutputError`."""
    target = prepare_output(path, mode=mode, replace=replace, sync=sync)
    try:
        yield target.handle
    except BaseException:
        failure = target.write_failure
        target.discard()
        if failure is not None:
            raise _fail(target.path, _reason(failure)) from None
        raise
    target.commit()


def write_file(
    path: Path, data: bytes, *, mode: int | None = None, replace: bool = True, sync: bool = False
) -> None:
    """Write ``data`` to ``path`` by the rules above."""
    target = prepare_output(path, mode=mode, replace=replace, sync=sync)
    try:
        target.write_bytes(data)
    except BaseException:
        target.discard()
        raise
    target.commit()


def _fsync_dir(folder: Path) -> None:
    fd = os.open(folder, os.O_RDONLY)
    try:
        os.fsync(fd)
    finally:
        os.close(fd)
