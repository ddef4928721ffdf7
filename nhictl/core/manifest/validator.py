"""``nhictl validate``: inputs -> documents -> schema and semantic checks -> results."""

from __future__ import annotations

import datetime as dt
import sys
from collections.abc import Iterable, Iterator
from dataclasses import dataclass
from pathlib import Path
from typing import BinaryIO

from nhictl.core.errors import InputError
from nhictl.core.manifest.checks import CheckOptions, semantic_issues
from nhictl.core.manifest.inputs import NO_MANIFESTS, STDIN, expand_inputs
from nhictl.core.manifest.results import DocumentResult, Issue, Severity
from nhictl.core.manifest.schema_check import SchemaChecker
from nhictl.core.safeyaml import DEFAULT_MAX_BYTES, Document, Limits, load_text, read_text

REGISTRATION_SCHEMA = "agent-registration.v1"
NOT_A_MANIFEST = "not-a-manifest"
STDIN_NAME = "<stdin>"


@dataclass(frozen=True)
class ValidateOptions:
    """Knobs for one validation run."""

    ttl_ceiling_seconds: int = 3600
    max_bytes: int = DEFAULT_MAX_BYTES
    today: dt.date | None = None
    cache_dir: Path | None = None  # where the compiled schema validator is kept


class ManifestValidator:
    """Validates registration manifests; remembers names to catch duplicates across inputs.

    Results are yielded one document at a time so memory stays flat in the number of files.
    """

    def __init__(self, options: ValidateOptions | None = None) -> None:
        self.options = options or ValidateOptions()
        self._limits = Limits(max_bytes=self.options.max_bytes)
        self._checks = CheckOptions(self.options.ttl_ceiling_seconds, self.options.today)
        self._schema = SchemaChecker(REGISTRATION_SCHEMA, cache_dir=self.options.cache_dir)
        self._names: dict[str, str] = {}

    def validate_paths(
        self, args: Iterable[str], *, stdin: BinaryIO | None = None, strict: bool = False
    ) -> Iterator[DocumentResult]:
        """Validate every file the arguments name (files, directories, globs, ``-``).

        A file found in a directory or by a glob that parses but is plainly not a manifest (no
        document has ``apiVersion`` or ``kind``) is skipped: a result with ``skipped`` set and
        a note, or, with ``strict``, an error. A directory or glob that yields no manifest at
        all is an input error ("no manifests found"). A file named explicitly is always
        validated.
        """
        for arg in args:
            validated = skipped = 0
            for item in expand_inputs([arg]):
                if item.problem:
                    validated += 1
                    yield _input_error(item.path, f"{item.path}: {item.problem}")
                    continue
                try:
                    documents = self.load(item.path, stdin=stdin)
                except InputError as exc:
                    validated += 1
                    yield _input_error(_display(item.path), exc.message)
                    continue
                if item.expanded and not any(_looks_like_manifest(d) for d in documents):
                    skipped += 1
                    yield _not_a_manifest(item.path, documents, strict=strict)
                    validated += strict
                    continue
                validated += 1
                for document in documents:
                    yield self.validate_document(document)
            if skipped and not validated:
                yield _input_error(
                    arg,
                    f"{arg}: {NO_MANIFESTS} ({skipped} file(s) skipped: "
                    "not registration manifests)",
                )

    def load(self, path: str, *, stdin: BinaryIO | None = None) -> list[Document]:
        """Read and parse one file (``-`` is stdin, parsed as YAML, which includes JSON)."""
        if path == STDIN:
            stream = stdin if stdin is not None else sys.stdin.buffer
            text = read_text(STDIN_NAME, self._limits, data=stream.read(self._limits.max_bytes + 1))
            return load_text(STDIN_NAME, text, self._limits, as_json=False)
        text = read_text(path, self._limits)
        return load_text(path, text, self._limits, as_json=path.lower().endswith(".json"))

    def validate_document(self, document: Document) -> DocumentResult:
        """Schema errors, semantic errors and warnings, and duplicate names, for one document."""
        issues = self._schema.check(document)
        issues.extend(semantic_issues(document, self._checks))
        name = _name_of(document)
        if name is not None:
            where = f"{document.source}" + (
                f" (document {document.index + 1})" if document.index else ""
            )
            first = self._names.setdefault(name, where)
            if first != where:
                line, column = document.locate(("metadata", "name"))
                issues.append(
                    Issue(
                        Severity.ERROR,
                        "duplicate-name",
                        f"agent name {name!r} is already used by {first}",
                        ("metadata", "name"),
                        line,
                        column,
                    )
                )
        issues.sort(key=lambda i: (i.line or 0, i.column or 0))
        return DocumentResult(document.source, document.index, name, issues)


def _name_of(document: Document) -> str | None:
    metadata = document.data.get("metadata") if isinstance(document.data, dict) else None
    name = metadata.get("name") if isinstance(metadata, dict) else None
    return name if isinstance(name, str) else None


def _looks_like_manifest(document: Document) -> bool:
    data = document.data
    return isinstance(data, dict) and ("apiVersion" in data or "kind" in data)


def _not_a_manifest(path: str, documents: list[Document], *, strict: bool) -> DocumentResult:
    """A file found by a directory or glob that is some other YAML/JSON (skipped, or with
    ``strict`` an error)."""
    why = "no documents" if not documents else "no apiVersion/kind"
    if strict:
        issue = Issue(
            Severity.ERROR,
            NOT_A_MANIFEST,
            f"not a registration manifest ({why}); --strict checks every file it finds",
            (),
            1,
            1,
        )
        return DocumentResult(path, 0, None, [issue])
    note = f"skipped {path}: not a registration manifest ({why})"
    return DocumentResult(
        path, 0, None, [Issue(Severity.WARNING, NOT_A_MANIFEST, note)], skipped=True
    )


def _display(path: str) -> str:
    return STDIN_NAME if path == STDIN else path


def _input_error(path: str, message: str) -> DocumentResult:
    issue = Issue(Severity.ERROR, "input", message)
    return DocumentResult(path, 0, None, [issue], input_error=True)
