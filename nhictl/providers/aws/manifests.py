"""Registration manifests (already parsed) -> declarations of AWS access.

The manifest loader (``nhictl.core.manifest``) owns YAML parsing and line/column mapping; this
module only reads ``spec.entitlements.aws`` from the parsed documents it is handed.
"""

from __future__ import annotations

from collections.abc import Callable, Iterable, Mapping
from dataclasses import dataclass
from typing import Any

from nhictl.core.errors import InputError
from nhictl.creep.model import Declaration

Locate = Callable[[str], tuple[int, int] | None] | Mapping[str, tuple[int, int]]

ROLE_ARN_PATH = "$.spec.entitlements.aws.roleArn"


@dataclass(frozen=True, slots=True)
class ParsedManifest:
    """A manifest document as the loader hands it over."""

    data: Mapping[str, Any]
    source: str | None = None
    locate: Locate | None = None  # JSON path -> (line, column)


def _where(m: ParsedManifest, path: str) -> tuple[int, int] | None:
    if m.locate is None:
        return None
    if callable(m.locate):
        return m.locate(path)
    return m.locate.get(path)


def declarations(manifests: Iterable[ParsedManifest]) -> list[Declaration]:
    """Declarations of every manifest naming an AWS role or user; others are skipped."""
    out: list[Declaration] = []
    for m in manifests:
        src = m.source or "<manifest>"
        data = m.data
        if data.get("kind") != "AgentRegistration":
            continue
        spec = data.get("spec")
        ent = spec.get("entitlements") if isinstance(spec, Mapping) else None
        aws = ent.get("aws") if isinstance(ent, Mapping) else None
        if not isinstance(aws, Mapping):
            continue
        arn = aws.get("roleArn") or aws.get("principalArn")
        if not isinstance(arn, str) or not arn.startswith("arn:"):
            raise InputError(f"{src}: {ROLE_ARN_PATH}: expected an IAM ARN")
        actions = aws.get("actions", [])
        resources = aws.get("resources", [])
        for field, val in (("actions", actions), ("resources", resources)):
            if not isinstance(val, list) or not all(isinstance(v, str) for v in val):
                raise InputError(f"{src}: $.spec.entitlements.aws.{field}: expected strings")
        meta = data.get("metadata")
        name = str(meta.get("name")) if isinstance(meta, Mapping) and meta.get("name") else arn
        pos = _where(m, ROLE_ARN_PATH)
        out.append(
            Declaration(
                name,
                arn,
                tuple(actions),
                tuple(resources),
                m.source,
                pos[0] if pos else None,
                pos[1] if pos else None,
            )
        )
    return out
