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
from nhictl.core.inputfile import display_name, is_stdin, read_input
from nhictl.creep.model import Declaration

SERVICE_ACCOUNT_PATH = "$.spec.entitlements.gcp.serviceAccount"
_SERVICE_ACCOUNT = ("spec", "entitlements", "gcp", "serviceAccount")


def declarations_from(
    data: Mapping[str, Any], source: str | None, pos: tuple[int, int] | None = None
) -> Declaration | None:
    """The GCP declaration of one parsed manifest; None when it declares no GCP access."""
    if data.get("kind") != "AgentRegistration":
        return None
    spec = data.get("spec")
    ent = spec.get("entitlements") if isinstance(spec, Mapping) else None
    gcp = ent.get("gcp") if isinstance(ent, Mapping) else None
    if not isinstance(gcp, Mapping):
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
    meta = data.get("metadata")
    name = str(meta.get("name")) if isinstance(meta, Mapping) and meta.get("name") else sa
    return Declaration(
        name,
        sa.lower(),
        tuple(lists["roles"]) + tuple(lists["permissions"]),
        (),
        source,
        pos[0] if pos else None,
        pos[1] if pos else None,
    )


def load_declarations(paths: Iterable[str]) -> list[Declaration]:
    """Read manifests (files, directories, globs, ``-``) with the strict loader; keep the GCP
    entitlements, each located at its ``serviceAccount`` line."""
    from nhictl.core.manifest.inputs import expand_inputs
    from nhictl.core.safeyaml import Limits, load_text, read_text

    limits = Limits()
    out: list[Declaration] = []
    for item in expand_inputs(paths):
        if item.problem:
            raise InputError(f"{item.path}: {item.problem}")
        if is_stdin(item.path):
            name = display_name(item.path)
            text = read_text(name, limits, data=read_input(item.path, max_bytes=limits.max_bytes))
        else:
            name = item.path
            text = read_text(item.path, limits)
        as_json = item.path.lower().endswith(".json")
        for doc in load_text(name, text, limits, as_json=as_json):
            if not isinstance(doc.data, dict):
                continue
            decl = declarations_from(doc.data, name, doc.locate(_SERVICE_ACCOUNT))
            if decl is not None:
                out.append(decl)
    return out
