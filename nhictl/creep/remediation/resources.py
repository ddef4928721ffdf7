"""Which named resources an action of a service may be narrowed to.

An ARN names its service (``arn:<partition>:<service>:<region>:<account>:<resource>``); an
action of service ``s`` can only act on ARNs of ``s`` (S3 bucket and object ARNs for ``s3:``
actions, the table's ARN for ``dynamodb:`` actions...). A few services act on another
service's ARNs: STS assumes IAM roles and federates IAM users.
"""

from __future__ import annotations

from collections.abc import Iterable

# Action service -> the ARN services its actions take, where they differ from its own name.
_ARN_SERVICES: dict[str, tuple[str, ...]] = {"sts": ("sts", "iam")}


def arn_service(resource: str) -> str | None:
    """The service of an ARN (lowercase), None for anything that is not an ARN."""
    parts = resource.split(":", 5)
    if len(parts) < 6 or parts[0] != "arn" or not parts[2]:
        return None
    return parts[2].lower()


def named_resources(resources: Iterable[str]) -> dict[str, list[str]]:
    """Named resources (ARNs, not ``*``) by ARN service, in the order given."""
    out: dict[str, list[str]] = {}
    for r in resources:
        svc = arn_service(r)
        if svc is not None and r not in out.get(svc, ()):
            out.setdefault(svc, []).append(r)
    return out


def resources_for(action_service: str, named: dict[str, list[str]]) -> list[str]:
    """The named resources an action of ``action_service`` can act on (may be empty)."""
    svc = action_service.lower()
    out: list[str] = []
    for arn_svc in _ARN_SERVICES.get(svc, (svc,)):
        out += named.get(arn_svc, ())
    return out
