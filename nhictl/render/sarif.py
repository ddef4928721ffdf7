"""SARIF 2.1.0 logs, in the subset GitHub code scanning reads.

Rule ids and artifact paths stay stable between runs so alerts are matched, and every result
carries a ``partialFingerprints`` entry because API uploads do not compute one.
"""

from __future__ import annotations

import hashlib
from dataclasses import dataclass, field
from typing import Any

from nhictl import __version__

SARIF_SCHEMA = "https://json.schemastore.org/sarif-2.1.0.json"
INFORMATION_URI = "https://github.com/nhictl/nhictl"

# GitHub maps security-severity: >= 9.0 critical, 7.0-8.9 high, 4.0-6.9 medium, < 4 low.
SECURITY_SEVERITY = {"critical": "9.5", "high": "8.0", "medium": "5.5", "low": "3.0", "info": "1.0"}
LEVEL = {
    "critical": "error",
    "high": "error",
    "error": "error",
    "medium": "warning",
    "warning": "warning",
    "low": "note",
    "info": "note",
}


@dataclass(frozen=True)
class SarifRule:
    id: str
    name: str
    short: str
    help: str
    severity: str = "error"
    tags: tuple[str, ...] = ("security",)


@dataclass(frozen=True)
class SarifResult:
    rule_id: str
    message: str
    severity: str
    uri: str | None = None
    line: int | None = None
    column: int | None = None
    fingerprint_parts: tuple[str, ...] = ()
    properties: dict[str, Any] = field(default_factory=dict)


def sarif_log(rules: list[SarifRule], results: list[SarifResult]) -> dict[str, Any]:
    """Build the SARIF document (a dict; serialise with ``to_json``)."""
    index = {rule.id: i for i, rule in enumerate(rules)}
    return {
        "$schema": SARIF_SCHEMA,
        "version": "2.1.0",
        "runs": [
            {
                "tool": {
                    "driver": {
                        "name": "nhictl",
                        "version": __version__,
                        "informationUri": INFORMATION_URI,
                        "rules": [_rule(rule) for rule in rules],
                    }
                },
                "columnKind": "unicodeCodePoints",
                "results": [_result(result, index) for result in results],
            }
        ],
    }


def _rule(rule: SarifRule) -> dict[str, Any]:
    return {
        "id": rule.id,
        "name": rule.name,
        "shortDescription": {"text": rule.short},
        "fullDescription": {"text": rule.short},
        "help": {"text": rule.help},
        "defaultConfiguration": {"level": LEVEL.get(rule.severity, "warning")},
        "properties": {
            "tags": list(rule.tags),
            "security-severity": SECURITY_SEVERITY.get(rule.severity, "5.5"),
        },
    }


def _result(result: SarifResult, index: dict[str, int]) -> dict[str, Any]:
    out: dict[str, Any] = {
        "ruleId": result.rule_id,
        "level": LEVEL.get(result.severity, "warning"),
        "message": {"text": result.message},
    }
    if result.rule_id in index:
        out["ruleIndex"] = index[result.rule_id]
    if result.uri is not None:
        region: dict[str, int] = {"startLine": result.line or 1}
        if result.column:
            region["startColumn"] = result.column
        out["locations"] = [
            {
                "physicalLocation": {
                    "artifactLocation": {"uri": result.uri, "uriBaseId": "%SRCROOT%"},
                    "region": region,
                }
            }
        ]
    parts = result.fingerprint_parts or (result.rule_id, result.uri or "", result.message)
    # surrogateescape: a non-UTF-8 file name hashes as its bytes instead of failing.
    digest = hashlib.sha256("|".join(parts).encode("utf-8", "surrogateescape")).hexdigest()
    out["partialFingerprints"] = {"nhictl/v1": digest}
    if result.properties:
        out["properties"] = result.properties
    return out
