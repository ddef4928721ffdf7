"""Registration manifests -> declarations of Azure access (``spec.entitlements.azure``).

``principalId`` names the service principal or managed identity (object id); ``roles`` (names
or role definition ids) are what it declares, expanded like any role (actions - notActions,
dataActions - notDataActions); ``scope`` (optional) is where it declares them: the grant at
that scope or below it is within the declaration, a broader scope is not.
"""

from __future__ import annotations

from collections.abc import Iterable

from nhictl.core.errors import InputError
from nhictl.creep.model import Declaration
from nhictl.providers.azure import scopes
from nhictl.providers.azure.catalog import ROLE, AzureCatalog
from nhictl.providers.manifests import (
    ManifestReader,
    ParsedManifest,
    agent_name,
    entitlements,
    where,
)

PRINCIPAL_PATH = "$.spec.entitlements.azure.principalId"


def declarations(manifests: Iterable[ParsedManifest]) -> list[Declaration]:
    """Declarations of every manifest naming an Azure principal; others are skipped."""
    out: list[Declaration] = []
    for m in manifests:
        src = m.source or "<manifest>"
        az = entitlements(m.data, "azure")
        if az is None:
            continue
        pid = az.get("principalId")
        if not isinstance(pid, str) or not pid.strip():
            raise InputError(f"{src}: {PRINCIPAL_PATH}: expected an object id")
        roles = az.get("roles", [])
        if not isinstance(roles, list) or not all(isinstance(r, str) and r for r in roles):
            raise InputError(f"{src}: $.spec.entitlements.azure.roles: expected role names or ids")
        scope = az.get("scope")
        if scope is not None and (not isinstance(scope, str) or not scope.startswith("/")):
            raise InputError(f"{src}: $.spec.entitlements.azure.scope: expected an ARM scope")
        resources: tuple[str, ...] = ()
        if scope:
            s = scopes.canonical(scope)
            resources = (s,) if s == "/" else (s, s + "/*")
        pos = where(m, PRINCIPAL_PATH)
        out.append(
            Declaration(
                agent_name(m.data, pid),
                pid.strip().lower(),
                tuple(ROLE + r.strip() for r in roles),
                resources,
                m.source,
                pos[0] if pos else None,
                pos[1] if pos else None,
            )
        )
    return out


def check_roles(decls: Iterable[Declaration], catalog: AzureCatalog) -> None:
    """Every declared role must exist (built in, or a custom role of the tenant)."""
    for d in decls:
        for i, ref in enumerate(d.actions):
            if catalog.role(ref[len(ROLE) :]) is None:
                raise InputError(
                    f"{d.source or d.manifest}: $.spec.entitlements.azure.roles[{i}]: unknown "
                    f"role {ref[len(ROLE) :]!r} (neither built in nor in role-definitions.json)"
                )


AZURE_MANIFESTS = ManifestReader(declarations, PRINCIPAL_PATH)


def load_declarations(paths: Iterable[str]) -> list[Declaration]:
    """Read manifests (files, directories, globs) with the safe loader; keep Azure entitlements."""
    return AZURE_MANIFESTS.load(paths)
