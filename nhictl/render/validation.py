"""Renderers for ``nhictl validate`` results.

They stream: ``begin``/``result``/``end`` each return the next chunk of output, so 10,000 files
need no more memory than one (SARIF keeps only the issues, which it must list together).
"""

from __future__ import annotations

import os
from pathlib import PurePath
from typing import Any, Protocol
from urllib.parse import quote

from nhictl.core.manifest.results import DocumentResult, Issue, Severity, Summary
from nhictl.render.formats import OutputFormat, to_json_bytes, to_yaml
from nhictl.render.sarif import SarifResult, SarifRule, sarif_log

Chunk = Any  # str, bytes (UTF-8 JSON), or a rich Text when the table is coloured

VALIDATION_FORMATS = (OutputFormat.TABLE, OutputFormat.JSON, OutputFormat.YAML, OutputFormat.SARIF)


class ValidationRenderer(Protocol):
    def begin(self) -> Chunk: ...
    def result(self, result: DocumentResult) -> Chunk: ...
    def end(self, summary: Summary) -> Chunk: ...


def issue_dict(issue: Issue) -> dict[str, Any]:
    """The documented JSON shape of one issue."""
    return {
        "path": issue.json_path,
        "pointer": issue.pointer,
        "line": issue.line,
        "column": issue.column,
        "message": issue.message,
        "severity": str(issue.severity),
        "code": issue.code,
    }


def result_dict(result: DocumentResult, *, strict: bool) -> dict[str, Any]:
    """The documented JSON shape of one document's result."""
    return {
        "file": result.file,
        "document": result.document,
        "name": result.name,
        "valid": result.is_valid(strict=strict),
        "errors": [issue_dict(issue) for issue in result.issues],
    }


def summary_dict(summary: Summary) -> dict[str, int]:
    return {
        "files": summary.files,
        "documents": summary.documents,
        "valid": summary.valid,
        "invalid": summary.invalid,
        "unreadable": summary.unreadable,
        "errors": summary.errors,
        "warnings": summary.warnings,
        "skipped": summary.skipped,
    }


class _PlainText:
    """The part of rich's ``Text`` the table renderer uses, for uncoloured output without rich."""

    def __init__(self) -> None:
        self._parts: list[str] = []

    def append(self, text: str, style: str | None = None) -> None:
        self._parts.append(text)

    def __str__(self) -> str:
        return "".join(self._parts)


class TableRenderer:
    """Compiler-style lines (``file:line:col: severity: $.path: message [code]``) and a summary.

    ``quiet`` (``-q``) prints only the problems: no summary line and no ``ok`` lines. Skipped
    files print nothing here (the command notes them on stderr). Without colour the output is
    plain text and rich is never imported (CI runs stay fast).
    """

    def __init__(
        self, *, strict: bool, verbose: bool, color: bool = False, quiet: bool = False
    ) -> None:
        self.strict = strict
        self.verbose = verbose and not quiet
        self.color = color
        self.quiet = quiet

    def _text(self) -> Any:
        if self.color:
            from rich.text import Text

            return Text()
        return _PlainText()

    def _out(self, text: Any) -> Chunk:
        return text if self.color else str(text)

    def begin(self) -> Chunk:
        return ""

    def result(self, result: DocumentResult) -> Chunk:
        if result.skipped:
            return ""
        text = self._text()
        if result.input_error:
            text.append(f"{result.issues[0].message} ", style="red")
            text.append("[input]\n", style="dim")
            return self._out(text)
        for issue in result.issues:
            style = "red" if issue.severity is Severity.ERROR else "yellow"
            text.append(f"{result.file}:{issue.line or 1}:{issue.column or 1}: ", style="bold")
            text.append(f"{issue.severity}: ", style=style)
            text.append(f"{issue.json_path}: {issue.message} ")
            text.append(f"[{issue.code}]\n", style="dim")
        if self.verbose and result.is_valid(strict=self.strict):
            suffix = f" (document {result.document + 1})" if result.document else ""
            text.append("ok ", style="green")
            text.append(f"{result.file}{suffix}: {result.name or '-'}\n")
        return self._out(text)

    def end(self, summary: Summary) -> Chunk:
        if self.quiet:
            return ""
        text = self._text()
        plural = "s" if summary.files != 1 else ""
        counts = f"{summary.documents} document(s) in {summary.files} file{plural}"
        if summary.exit_code == 0:
            text.append("✓ ", style="green")
            text.append(f"{counts}: all valid")
        else:
            text.append("✗ ", style="red")
            text.append(f"{counts}: {summary.valid} valid, {summary.invalid} invalid")
            if summary.unreadable:
                text.append(f", {summary.unreadable} unreadable")
        text.append(f" ({summary.errors} error(s), {summary.warnings} warning(s))")
        if summary.skipped:
            text.append(f"; {summary.skipped} file(s) skipped: not manifests")
        text.append("\n")
        return self._out(text)


class JsonRenderer:
    """``{"results": [...], "summary": {...}, "valid": bool}``, written as it goes.

    Chunks are text: one small line per document goes through the stream's text layer, where
    bytes would force a flush (a system call) per document.
    """

    def __init__(self, *, strict: bool) -> None:
        from nhictl.core.jsonout import dumps

        self.strict = strict
        self._first = True
        self._dumps = dumps

    def begin(self) -> Chunk:
        return '{\n  "results": ['

    def result(self, result: DocumentResult) -> Chunk:
        if result.skipped:
            return ""
        body = self._dumps(result_dict(result, strict=self.strict)).decode("utf-8")
        prefix = "\n    " if self._first else ",\n    "
        self._first = False
        return prefix + body

    def end(self, summary: Summary) -> Chunk:
        closing = "\n  ],\n" if not self._first else "],\n"
        tail = {"summary": summary_dict(summary), "valid": summary.exit_code == 0}
        body = self._dumps(tail, indent=True).decode("utf-8")[1:-1].strip("\n")
        return closing + body + "\n}\n"


class YamlRenderer:
    """The JSON structure as YAML; each result is emitted as one list item."""

    def __init__(self, *, strict: bool) -> None:
        self.strict = strict

    def begin(self) -> Chunk:
        return "results:\n"

    def result(self, result: DocumentResult) -> Chunk:
        if result.skipped:
            return ""
        item = to_yaml([result_dict(result, strict=self.strict)])
        return "".join("  " + line + "\n" for line in item.splitlines())

    def end(self, summary: Summary) -> Chunk:
        return to_yaml({"summary": summary_dict(summary), "valid": summary.exit_code == 0})


class SarifRenderer:
    """One SARIF result per issue, located at the manifest's line and column."""

    def __init__(self) -> None:
        self._results: list[SarifResult] = []
        self._codes: dict[str, str] = {}

    def begin(self) -> Chunk:
        return ""

    def result(self, result: DocumentResult) -> Chunk:
        if result.skipped:
            return ""
        uri = _artifact_uri(result.file)
        for issue in result.issues:
            self._codes.setdefault(issue.code, str(issue.severity))
            self._results.append(
                SarifResult(
                    rule_id=f"manifest/{issue.code}",
                    message=f"{issue.json_path}: {issue.message}",
                    severity=str(issue.severity),
                    uri=uri,
                    line=issue.line,
                    column=issue.column,
                    fingerprint_parts=(issue.code, uri, str(result.document), issue.pointer),
                )
            )
        return ""

    def end(self, summary: Summary) -> Chunk:
        rules = [
            SarifRule(
                id=f"manifest/{code}",
                name=_RULE_NAMES.get(code, code),
                short=_RULE_TEXT.get(code, f"Manifest check '{code}'"),
                help="See docs/validate.md for every check and how to fix it.",
                severity=severity,
            )
            for code, severity in sorted(self._codes.items())
        ]
        return to_json_bytes(sarif_log(rules, self._results))


_RULE_TEXT = {
    "schema": "Manifest does not match the agent-registration.v1 schema",
    "input": "Input file cannot be read or parsed",
    "spiffe-id": "workloadIdentity.spiffeId is not a valid SPIFFE ID",
    "oidc-issuer": "workloadIdentity.issuer is not an https URL",
    "oidc-subject": "workloadIdentity.subject contains a wildcard",
    "duration": "A credential TTL is not a valid duration",
    "ttl-order": "defaultTtl is longer than maxTtl",
    "ttl-ceiling": "maxTtl exceeds the registry's TTL ceiling",
    "review-date": "A review date is not a real or consistent date",
    "review-expired": "The registration review date has passed",
    "intent-duplicate": "Two intents share a name",
    "intent-sensitivity": "An intent's data sensitivity exceeds the agent's ceiling",
    "intent-tools": "An intent uses a tool outside the agent's tool reach",
    "aws-arn": "entitlements.aws.roleArn is not an IAM role or user ARN",
    "aws-action": "An AWS action is not of the form service:Action",
    "aws-resource": "An AWS resource is not an ARN",
    "gcp-service-account": "entitlements.gcp.serviceAccount is not a service account e-mail",
    "gcp-role": "A GCP role is not a role name",
    "azure-guid": "An Azure id is not a GUID",
    "azure-scope": "entitlements.azure.scope is not an Azure scope",
    "wildcard-entitlement": "A declared entitlement uses a wildcard or a broad role",
    "delegation-wildcard": "The agent may act on behalf of anyone",
    "duplicate-name": "Two manifests register the same agent name",
    "not-a-manifest": "A file found in a directory or by a glob is not a registration manifest",
}
_RULE_NAMES = {code: "".join(p.title() for p in code.split("-")) for code in _RULE_TEXT}


def _artifact_uri(path: str) -> str:
    if path.startswith("<"):
        return "stdin"
    absolute = os.path.abspath(path)
    cwd = os.getcwd()
    if absolute.startswith(cwd + os.sep):
        # A URI reference (SARIF 3.10.2): percent-encoded, also for a non-UTF-8 file name.
        return quote(os.fsencode(PurePath(os.path.relpath(absolute, cwd)).as_posix()))
    return PurePath(absolute).as_uri()


def make_renderer(
    fmt: OutputFormat, *, strict: bool, verbose: bool, color: bool = False, quiet: bool = False
) -> ValidationRenderer:
    """The renderer for ``fmt`` (one of ``VALIDATION_FORMATS``); ``quiet`` only changes the
    table (JSON, YAML and SARIF are data and never shortened)."""
    if fmt is OutputFormat.TABLE:
        return TableRenderer(strict=strict, verbose=verbose, color=color, quiet=quiet)
    if fmt is OutputFormat.JSON:
        return JsonRenderer(strict=strict)
    if fmt is OutputFormat.YAML:
        return YamlRenderer(strict=strict)
    if fmt is OutputFormat.SARIF:
        return SarifRenderer()
    raise ValueError(f"validate does not support --format {fmt}")
