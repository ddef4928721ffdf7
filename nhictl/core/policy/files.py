"""Read, parse and validate ``*.cedar`` policy files against the nhictl schema.

cedarpy numbers policies ``policy0..N`` per parse and its parse errors carry no position, so
this module splits each file into statements itself to recover the line of every policy, and
re-keys policies by their required ``@id`` annotation.
"""

from __future__ import annotations

import json
import re
from collections.abc import Iterable, Sequence
from dataclasses import dataclass, field
from importlib import resources
from pathlib import Path
from typing import TYPE_CHECKING, Any

from nhictl.core.errors import ConfigError, InputError

if TYPE_CHECKING:
    import cedarpy

MAX_POLICY_FILE_BYTES = 1024 * 1024
_ID_PATTERN = re.compile(r"[A-Za-z0-9][A-Za-z0-9._:/-]{0,127}")
_POSITIONAL = re.compile(r"policy(\d+)")


@dataclass(frozen=True)
class Problem:
    """One thing wrong with a policy file (for ``nhictl policy validate``)."""

    file: str
    message: str
    policy_id: str | None = None
    line: int | None = None
    severity: str = "error"
    #: The path is missing or cannot be read (an input error), rather than an invalid policy.
    unreadable: bool = False

    def __str__(self) -> str:
        where = f"{self.file}:{self.line}" if self.line else self.file
        who = f" [{self.policy_id}]" if self.policy_id else ""
        return f"{where}:{who} {self.message}"

    def to_dict(self) -> dict[str, Any]:
        return {
            "file": self.file,
            "policy_id": self.policy_id,
            "line": self.line,
            "message": self.message,
            "severity": self.severity,
        }


@dataclass(frozen=True)
class PolicyInfo:
    """A loaded policy: its stable id, human reason, effect and where it came from."""

    id: str
    effect: str
    reason: str | None
    file: str
    line: int | None
    est: dict[str, Any] = field(repr=False, compare=False)


def default_policy_dir() -> Path:
    """The default policies shipped inside the package (``nhictl/policies/default``)."""
    return Path(str(resources.files("nhictl") / "policies" / "default"))


def schema_text() -> str:
    """The Cedar schema shipped inside the package."""
    return resources.files("nhictl").joinpath("policies", "nhictl.cedarschema").read_text("utf-8")


def split_statements(text: str) -> list[tuple[int, str]]:
    """(1-based start line, text) of each ``;``-terminated statement, annotations included.

    A tiny lexer: drops ``//`` comments and keeps string literals (with escapes) whole, so a
    ``;`` inside them does not end a statement. Trailing text without ``;`` is a statement too.
    """
    statements: list[tuple[int, str]] = []
    buf: list[str] = []
    line, start, i, n = 1, 0, 0, len(text)
    while i < n:
        ch = text[i]
        if ch == "/" and text.startswith("//", i):
            end = text.find("\n", i)
            i = n if end < 0 else end
            continue
        buf.append(ch)
        if ch == "\n":
            line += 1
        elif not ch.isspace() and not start:
            start = line
        if ch == '"':
            i += 1
            while i < n and text[i] != '"':
                step = 2 if text[i] == "\\" else 1
                chunk = text[i : i + step]
                line += chunk.count("\n")
                buf.append(chunk)
                i += step
            if i < n:
                buf.append(text[i])
        elif ch == ";":
            statements.append((start, "".join(buf)))
            buf, start = [], 0
        i += 1
    if start:
        statements.append((start, "".join(buf)))
    return statements


def statement_lines(text: str) -> list[int]:
    """1-based line where each statement (policy) of ``text`` starts."""
    return [line for line, _ in split_statements(text)]


def policy_files(paths: Iterable[Path]) -> tuple[list[Path], list[Problem]]:
    """Every ``*.cedar`` file under the given directories (or the files themselves), sorted."""
    found: list[Path] = []
    problems: list[Problem] = []
    for path in paths:
        if path.is_dir():
            found.extend(sorted(p for p in path.rglob("*.cedar") if p.is_file()))
        elif path.is_file():
            found.append(path)
        else:
            problems.append(Problem(str(path), "no such file or directory", unreadable=True))
    return found, problems


def _positional_index(policy_key: str) -> int | None:
    match = _POSITIONAL.fullmatch(policy_key)
    return int(match.group(1)) if match else None


def _parse_error(cedar: Any, name: str, text: str, exc: Exception) -> Problem:
    """Locate a parse error by re-parsing statement by statement (cedarpy gives no position)."""
    for line, chunk in split_statements(text):
        try:
            cedar.policies_to_json_str(chunk)
        except ValueError as chunk_exc:
            return Problem(name, f"syntax error: {chunk_exc}", line=line)
    return Problem(name, f"syntax error: {exc}")


def compile_files(
    files: Sequence[Path], schema: cedarpy.Schema
) -> tuple[dict[str, PolicyInfo], list[Problem]]:
    """Parse and validate every file; return policies keyed by ``@id`` and all problems found."""
    import cedarpy

    policies: dict[str, PolicyInfo] = {}
    problems: list[Problem] = []
    for path in files:
        name = str(path)
        try:
            if path.stat().st_size > MAX_POLICY_FILE_BYTES:
                problems.append(
                    Problem(
                        name, f"file is larger than {MAX_POLICY_FILE_BYTES} bytes", unreadable=True
                    )
                )
                continue
            text = path.read_text(encoding="utf-8")
        except OSError as exc:
            why = exc.strerror or str(exc)
            problems.append(Problem(name, f"cannot read policy file: {why}", unreadable=True))
            continue
        except UnicodeDecodeError as exc:
            problems.append(
                Problem(name, f"cannot read policy file: not UTF-8 text ({exc})", unreadable=True)
            )
            continue
        try:
            est = json.loads(cedarpy.policies_to_json_str(text))
        except ValueError as exc:
            problems.append(_parse_error(cedarpy, name, text, exc))
            continue
        lines = statement_lines(text)
        for key in est.get("templates", {}):
            index = _positional_index(key)
            line = lines[index] if index is not None and index < len(lines) else None
            problems.append(Problem(name, "policy templates are not supported", line=line))
        file_ids: dict[str, str] = {}  # positional key -> @id, to name validation errors
        for key, body in sorted(
            est.get("staticPolicies", {}).items(), key=lambda kv: _positional_index(kv[0]) or 0
        ):
            index = _positional_index(key)
            line = lines[index] if index is not None and index < len(lines) else None
            annotations = body.get("annotations") or {}
            policy_id = annotations.get("id")
            if not policy_id:
                problems.append(Problem(name, 'policy has no @id("...") annotation', line=line))
                continue
            if not _ID_PATTERN.fullmatch(policy_id):
                problems.append(
                    Problem(
                        name,
                        "@id must be 1-128 of letters, digits and ._:/- (starting alphanumeric)",
                        policy_id=policy_id,
                        line=line,
                    )
                )
                continue
            if policy_id in policies:
                first = policies[policy_id]
                where = f"{first.file}:{first.line}" if first.line else first.file
                problems.append(
                    Problem(name, f"duplicate @id, first defined at {where}", policy_id, line)
                )
                continue
            file_ids[key] = policy_id
            reason = annotations.get("reason") or None
            policies[policy_id] = PolicyInfo(
                policy_id, body.get("effect", ""), reason, name, line, body
            )
        result = cedarpy.validate_policies(text, schema)
        for error in result.errors:
            index = _positional_index(error.policy_id)
            line = lines[index] if index is not None and index < len(lines) else None
            policy_id = file_ids.get(error.policy_id)
            # cedarpy names the policy positionally inside the message; show the stable id.
            message = error.error
            if policy_id:
                message = message.replace(f"`{error.policy_id}`", f"`{policy_id}`")
            problems.append(Problem(name, message, policy_id=policy_id, line=line))
    return policies, problems


def load_schema() -> cedarpy.Schema:
    """Parse the shipped schema once (a broken schema is a packaging bug, reported as config)."""
    import cedarpy

    try:
        return cedarpy.Schema.from_str(schema_text())
    except ValueError as exc:
        raise ConfigError(f"the nhictl Cedar schema does not parse: {exc}") from None


def validate_policy_files(paths: Sequence[Path]) -> list[Problem]:
    """Check policy files/directories against the schema; an empty list means all is well.

    A path that does not exist or a file that cannot be read is an ``InputError`` (exit 2),
    not a problem in a policy: there is nothing to judge.
    """
    files, problems = policy_files(paths)
    if not files and not problems:
        return [Problem(", ".join(map(str, paths)) or "(none)", "no *.cedar policy files found")]
    _, more = compile_files(files, load_schema())
    problems += more
    unreadable = [p for p in problems if p.unreadable]
    if unreadable:
        extra = f" (and {len(unreadable) - 1} more)" if len(unreadable) > 1 else ""
        raise InputError(f"{unreadable[0].file}: {unreadable[0].message}{extra}")
    return problems
