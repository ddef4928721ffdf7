"""Registration manifests (already parsed) -> declarations of AWS access.

The manifest loader (``nhictl.providers.manifests``) owns finding, parsing and locating the
documents; this module only reads ``spec.entitlements.aws`` from the parsed documents it is
handed.
"""

from __future__ import annotations

from collections.abc import Iterable

from nhictl.core.errors import InputError
from nhictl.creep.model import Declaration
from nhictl.providers.manifests import (
    ManifestReader,
    ParsedManifest,
    agent_name,
    entitlements,
    where,
)

__all__ = ["AWS_MANIFESTS", "ROLE_ARN_PATH", "ParsedManifest", "declarations"]

ROLE_ARN_PATH = "$.spec.entitlements.aws.roleArn"


def declarations(manifests: Iterable[ParsedManifest]) -> list[Declaration]:
    """Declarations of every manifest naming an AWS role or user; others are skipped."""
    out: list[Declaration] = []
    for m in manifests:
        src = m.source or "<manifest>"
        aws = entitlements(m.data, "aws")
        if aws is None:
            continue
        arn = aws.get("roleArn") or aws.get("principalArn")
        if not isinstance(arn, str) or not arn.startswith("arn:"):
            raise InputError(f"{src}: {ROLE_ARN_PATH}: expected an IAM ARN")
        actions = aws.get("actions", [])
        resources = aws.get("resources", [])
        for field, val in (("actions", actions), ("resources", resources)):
            if not isinstance(val, list) or not all(isinstance(v, str) for v in val):
                raise InputError(f"{src}: $.spec.entitlements.aws.{field}: expected strings")
        pos = where(m, ROLE_ARN_PATH)
        out.append(
            Declaration(
                agent_name(m.data, arn),
                arn,
                tuple(actions),
                tuple(resources),
                m.source,
                pos[0] if pos else None,
                pos[1] if pos else None,
            )
        )
    return out


AWS_MANIFESTS = ManifestReader(declarations, ROLE_ARN_PATH)
