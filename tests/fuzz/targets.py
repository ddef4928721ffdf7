"""One checker per input loader: feed it bytes, it asserts the loader's contract on hostile input.

The contract, for every loader: a clean result, or an ``InputError`` whose message is one line
that names the file (and, for a parsed document, the field); never any other exception. The
property tests (tests/fuzz/test_*_properties.py) and the fuzz harness (fuzz/run.py) drive the
same checkers, so a crash found by one reproduces in the other.

A checker raises ``AssertionError`` when the contract is broken and lets an unexpected exception
escape (that is the bug: a traceback a user would see as exit 3).
"""

from __future__ import annotations

import contextlib
import io
from collections.abc import Callable
from pathlib import Path

from nhictl.cli.app import main
from nhictl.core.durations import format_duration, parse_duration
from nhictl.core.errors import InputError
from nhictl.core.identity.spiffe import parse_spiffe_id, spiffe_id_problem
from nhictl.core.manifest.results import Issue
from nhictl.core.manifest.validator import ManifestValidator, ValidateOptions
from nhictl.core.safeyaml import Limits, load_text, read_text
from nhictl.creep.exclusions import load_exclusions
from nhictl.providers.aws.snapshot import load_snapshot_file
from nhictl.providers.aws.usage import load_access_keys, load_last_accessed

Checker = Callable[[bytes, Path], None]
MANIFESTS = Path(__file__).resolve().parents[2] / "sample-configs" / "aws" / "manifests"


def assert_one_line(message: str, source: str) -> None:
    """An error a user reads: one non-empty line that starts with the input's name."""
    assert message.strip(), "empty error message"
    assert "\n" not in message and "\r" not in message, f"multi-line error: {message!r}"
    assert message.startswith(source), f"error does not name {source}: {message!r}"
    message.encode("utf-8")  # printable: a lone surrogate would crash the output


def expect_input_error(load: Callable[[], object], source: str) -> InputError | None:
    """Run ``load``; an ``InputError`` must be one line naming ``source``. Returns it, or None."""
    try:
        load()
    except InputError as exc:
        assert_one_line(exc.message, source)
        return exc
    return None


# --------------------------------------------------------------------------- manifests


def check_manifest(data: bytes, workdir: Path) -> None:
    """``nhictl validate``'s path: read, parse (YAML from stdin, JSON by suffix), validate."""
    validator = ManifestValidator(ValidateOptions(cache_dir=workdir / "schema-cache"))
    for result in validator.validate_paths(["-"], stdin=io.BytesIO(data)):
        _check_result_messages(result.issues, result.input_error, "<stdin>")
    # The JSON reader (a file ending in .json) is a different parser: drive it too.
    limits = Limits()
    source = str(workdir / "agent.json")
    try:
        documents = load_text(source, read_text(source, limits, data=data), limits, as_json=True)
    except InputError as exc:
        assert_one_line(exc.message, source)
        return
    for document in documents:
        result = validator.validate_document(document)
        _check_result_messages(result.issues, result.input_error, source)


def _check_result_messages(issues: list[Issue], input_error: bool, source: str) -> None:
    for issue in issues:
        message = issue.message
        assert message.strip(), f"empty issue: {issue!r}"
        assert "\n" not in message, f"multi-line issue: {message!r}"
        message.encode("utf-8")  # printable: a lone surrogate would crash the output
        if input_error:
            assert_one_line(message, source)


# --------------------------------------------------------------------------- durations, SPIFFE


def check_duration(data: bytes, workdir: Path) -> None:
    """Any text: seconds within bounds that format back to the same seconds, or an InputError."""
    text = data.decode("utf-8", "replace")
    try:
        seconds = parse_duration(text)
    except InputError as exc:
        assert "\n" not in exc.message, exc.message  # the value is quoted with repr()
        return
    assert 0 <= seconds <= 100 * 366 * 86400, seconds
    assert parse_duration(format_duration(seconds)) == seconds or seconds == 0


def check_spiffe(data: bytes, workdir: Path) -> None:
    """Any text: ``spiffe_id_problem`` never raises and agrees with ``parse_spiffe_id``."""
    text = data.decode("utf-8", "replace")
    problem = spiffe_id_problem(text)
    try:
        parsed = parse_spiffe_id(text)
    except ValueError as exc:
        assert problem is not None and problem in str(exc)
        return
    assert problem is None
    assert str(parsed) == text, (parsed, text)
    assert parsed.trust_domain == parsed.trust_domain.lower()


# --------------------------------------------------------------------------- files on disk


def _file_checker(name: str, load: Callable[[Path], object]) -> Checker:
    def check(data: bytes, workdir: Path) -> None:
        path = workdir / name
        path.write_bytes(data)
        expect_input_error(lambda: load(path), str(path))

    check.__name__ = f"check_{name}"
    return check


check_exclusions = _file_checker("exclusions.yaml", load_exclusions)
check_aws_snapshot = _file_checker("authorization-details.json", load_snapshot_file)
check_aws_last_accessed = _file_checker("last-accessed.json", load_last_accessed)
check_aws_access_keys = _file_checker(
    "access-keys.json", lambda path: load_access_keys(path, {"ci-deployer": "arn:aws:iam::1:u"})
)


def check_aws_audit(data: bytes, workdir: Path) -> None:
    """The whole ``nhictl audit-creep`` on the snapshot: exit 0 or 2, never 3 (an internal
    error from a value the loader let through and the engine did not expect)."""
    path = workdir / "authorization-details.json"
    path.write_bytes(data)
    out, err = io.StringIO(), io.StringIO()
    with contextlib.redirect_stdout(out), contextlib.redirect_stderr(err):
        code = main(["audit-creep", "--snapshot", str(path), "--manifests", str(MANIFESTS)])
    assert code in (0, 2), f"exit {code}: {err.getvalue()}"
    if code == 2:
        assert_one_line(err.getvalue().splitlines()[0].removeprefix("nhictl: error: "), str(path))


TARGETS: dict[str, Checker] = {
    "manifest": check_manifest,
    "duration": check_duration,
    "spiffe": check_spiffe,
    "exclusions": check_exclusions,
    "aws-snapshot": check_aws_snapshot,
    "aws-last-accessed": check_aws_last_accessed,
    "aws-access-keys": check_aws_access_keys,
    "aws-audit": check_aws_audit,
}
