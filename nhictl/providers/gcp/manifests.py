"""Registration manifests -> declarations of GCP access (``spec.entitlements.gcp``).

``serviceAccount`` names the principal (its e-mail); ``roles`` (``roles/...``, or custom
``projects/P/roles/R``) expand through the catalog to their permissions, ``permissions`` are
taken literally. ``project`` is informational: GCP grants are bound on a resource, and the
account's bindings are compared wherever they are.
"""

from __future__ import annotations

from collections.abc import Iterable, Mapping
from typing import Any

from nhictl.core.errors import InputError
from nhictl.creep.model import Declaration
from nhictl.providers.manifests import (
    ManifestReader,
    ParsedManifest,
    agent_name,
    entitlements,
    where,
)

SERVICE_ACCOUNT_PATH = "$.spec.entitlements.gcp.serviceAccount"


def declarations_from(
    data: Mapping[str, Any], source: str | None, pos: tuple[int, int] | None = None
) -> Declaration | None:
    """The GCP declaration of one parsed manifest; None when it declares no GCP access."""
    gcp = entitlements(data, "gcp")
    if gcp is None:
        return None
    src = source or "<manifest>"
    sa = gcp.get("serviceAccount")
    if not isinstance(sa, str) or "@" not in sa:
        raise InputError(f"{src}: {SERVICE_ACCOUNT_PATH}: expected a service-account e-mail")
    lists: dict[str, list[str]] = {}
    for key in ("roles", "permissions"):
        val = gcp.get(key, [])
        if not isinstance(val, list) or not all(isinstance(v, str) for v in val):
            raise InputError(f"{src}: $.spec.entitlements.gcp.{key}: expected strings")
        lists[key] = val
    for role in lists["roles"]:
        if not (role.startswith("roles/") or "/roles/" in role):
            raise InputError(
                f"{src}: $.spec.entitlements.gcp.roles: {role!r} is not a role name "
                "(roles/..., projects/P/roles/R or organizations/O/roles/R)"
            )
    return Declaration(
        agent_name(data, sa),
        sa.lower(),
        tuple(lists["roles"]) + tuple(lists["permissions"]),
        (),
        source,
        pos[0] if pos else None,
        pos[1] if pos else None,
    )


def declarations(manifests: Iterable[ParsedManifest]) -> list[Declaration]:
    """Declarations of every manifest naming a service account, each located at its
    ``serviceAccount`` line; others are skipped."""
    out: list[Declaration] = []
    for m in manifests:
        decl = declarations_from(m.data, m.source, where(m, SERVICE_ACCOUNT_PATH))
        if decl is not None:
            out.append(decl)
    return out


# Each manifest is judged as soon as it is parsed: the first problem in file order is reported,
# whether a file that does not parse or a bad entitlement.
GCP_MANIFESTS = ManifestReader(declarations, SERVICE_ACCOUNT_PATH, parse_first=False)


def load_declarations(paths: Iterable[str]) -> list[Declaration]:
    """Read manifests (files, directories, globs, ``-``) with the strict loader; keep the GCP
    entitlements."""
    return GCP_MANIFESTS.load(paths)
