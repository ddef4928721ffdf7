"""Registration manifests -> declarations of Azure access (``spec.entitlements.azure``).

``principalId`` names the service principal or managed identity (object id); ``roles`` (names
or role definition ids) are what it declares, expanded like any role (actions - notActions,
dataActions - notDataActions); ``scope`` (optional) is where it declares them: the grant at
that scope or below it is within the declaration, a broader scope is not.
"""

from __future__ import annotations

from collections.abc import Iterable, Mapping
from typing import Any

from nhictl.core.errors import InputError
from nhictl.core.inputfile import display_name, is_stdin, read_input
from nhictl.creep.model import Declaration
from nhictl.providers.aws.manifests import ParsedManifest
from nhictl.providers.azure import scopes
from nhictl.providers.azure.catalog import ROLE, AzureCatalog

PRINCIPAL_PATH = "$.spec.entitlements.azure.principalId"
_PRINCIPAL = ("spec", "entitlements", "azure", "principalId")


def _where(m: ParsedManifest, path: str) -> tuple[int, int] | None:
    if m.locate is None:
        return None
    return m.locate(path) if callable(m.locate) else m.locate.get(path)


def declarations(manifests: Iterable[ParsedManifest]) -> list[Declaration]:
    """Declarations of every manifest naming an Azure principal; others are skipped."""
    out: list[Declaration] = []
    for m in manifests:
        src = m.source or "<manifest>"
        data = m.data
        if data.get("kind") != "AgentRegistration":
            continue
        spec = data.get("spec")
        ent = spec.get("entitlements") if isinstance(spec, Mapping) else None
        az: Any = ent.get("azure") if isinstance(ent, Mapping) else None
        if not isinstance(az, Mapping):
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
        meta = data.get("metadata")
        name = str(meta.get("name")) if isinstance(meta, Mapping) and meta.get("name") else pid
        pos = _where(m, PRINCIPAL_PATH)
        out.append(
            Declaration(
                name,
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


def load_declarations(paths: Iterable[str]) -> list[Declaration]:
    """Read manifests (files, directories, globs) with the safe loader; keep Azure entitlements."""
    from nhictl.core.manifest.inputs import expand_inputs
    from nhictl.core.safeyaml import Limits, load_text, read_text

    limits = Limits()
    parsed: list[ParsedManifest] = []
    for item in expand_inputs(paths):
        if item.problem:
            raise InputError(f"{item.path}: {item.problem}")
        if is_stdin(item.path):
            name = display_name(item.path)
            text = read_text(name, limits, data=read_input(item.path, max_bytes=limits.max_bytes))
        else:
            name = item.path
            text = read_text(item.path, limits)
        for doc in load_text(name, text, limits, as_json=item.path.lower().endswith(".json")):
            if isinstance(doc.data, dict):
                pos = doc.locate(_PRINCIPAL)
                parsed.append(ParsedManifest(doc.data, name, {PRINCIPAL_PATH: pos}))
    return declarations(parsed)
