"""What validation produces: issues with positions, grouped per document."""

from __future__ import annotations

import re
from dataclasses import dataclass, field
from enum import StrEnum

from nhictl.core.safeyaml import JsonPath

_IDENTIFIER = re.compile(r"[A-Za-z_][A-Za-z0-9_-]*")


class Severity(StrEnum):
    ERROR = "error"
    WARNING = "warning"


def json_path(path: JsonPath) -> str:
    """``("spec", "intents", 0, "name")`` -> ``$.spec.intents[0].name``."""
    out = ["$"]
    for part in path:
        if isinstance(part, int):
            out.append(f"[{part}]")
        elif _IDENTIFIER.fullmatch(part):
            out.append(f".{part}")
        else:
            out.append("[" + repr(part) + "]")
    return "".join(out)


def json_pointer(path: JsonPath) -> str:
    """RFC 6901 pointer: ``/spec/intents/0/name``."""
    return "".join("/" + str(p).replace("~", "~0").replace("/", "~1") for p in path)


@dataclass(frozen=True)
class Issue:
    """One problem in one document. ``code`` is stable (``schema``, ``ttl-ceiling``, ...)."""

    severity: Severity
    code: str
    message: str
    path: JsonPath = ()
    line: int | None = None
    column: int | None = None

    @property
    def json_path(self) -> str:
        return json_path(self.path)

    @property
    def pointer(self) -> str:
        return json_pointer(self.path)


@dataclass
class DocumentResult:
    """Validation outcome of one document (``document`` is its 0-based index in the file).

    ``input_error`` marks a file that could not be read or parsed at all: it has one issue
    and no document data. ``skipped`` marks a file found in a directory or by a glob that is
    not a registration manifest: its one issue is the note saying so; it counts as neither
    valid nor invalid.
    """

    file: str
    document: int
    name: str | None = None
    issues: list[Issue] = field(default_factory=list)
    input_error: bool = False
    skipped: bool = False

    @property
    def errors(self) -> list[Issue]:
        return [i for i in self.issues if i.severity is Severity.ERROR]

    @property
    def warnings(self) -> list[Issue]:
        return [i for i in self.issues if i.severity is Severity.WARNING]

    def is_valid(self, *, strict: bool = False) -> bool:
        """Valid when it has no errors (and, with ``strict``, no warnings either)."""
        return not self.issues if strict else not self.errors


@dataclass
class Summary:
    """Counts over a validation run."""

    files: int = 0
    documents: int = 0
    valid: int = 0
    invalid: int = 0
    unreadable: int = 0
    errors: int = 0
    warnings: int = 0
    skipped: int = 0

    def add(self, result: DocumentResult, *, strict: bool) -> None:
        if result.skipped:
            self.skipped += 1
            return
        if result.document == 0:
            self.files += 1
        if result.input_error:
            self.unreadable += 1
        else:
            self.documents += 1
            if result.is_valid(strict=strict):
                self.valid += 1
            else:
                self.invalid += 1
        self.errors += len(result.errors)
        self.warnings += len(result.warnings)

    @property
    def exit_code(self) -> int:
        """2 when an input could not be read, 1 when a document is invalid, else 0."""
        if self.unreadable:
            return 2
        return 1 if self.invalid else 0
