"""``predefined-roles.json``: Google's predefined roles as they are now, in place of the shipped
catalog's copies.

The file is the list of IAM ``Role`` resources of ``GET iam/v1/roles?view=FULL`` (every page),
as ``gcloud iam roles list --format=json`` prints them, with ``includedPermissions`` (the FULL
view; gcloud's default BASIC view leaves them out, and such a file is refused rather than read
as "no permissions"). ``nhictl collect gcp --roles`` writes it; REST pages
(``{"roles": [...], "nextPageToken"}``) are accepted too, also several concatenated.

One reader for two callers: the offline loader (a project folder, or the ``--snapshot`` folder
above several, holding the file) and ``scripts/build_gcp_catalog.py --roles-file`` (rebuilding
the shipped catalog from such a file).
"""

from __future__ import annotations

from dataclasses import dataclass
from pathlib import Path
from typing import Any

from nhictl.core.errors import InputError
from nhictl.core.inputfile import display_name
from nhictl.providers.gcp.catalog import GcpCatalog
from nhictl.providers.gcp.inputs import project_folders
from nhictl.providers.jsonio import expect, read_json_documents

FILE = "predefined-roles.json"


@dataclass(frozen=True, slots=True)
class PredefinedRole:
    """One predefined role of the file."""

    name: str  # roles/...
    title: str
    stage: str
    permissions: tuple[str, ...]  # sorted, distinct
    description: str = ""


def parse_predefined_roles(docs: list[Any], source: str) -> list[PredefinedRole]:
    """The roles of the file's documents (deleted ones left out), in file order."""
    out: dict[str, PredefinedRole] = {}
    with_permissions = 0
    for n, doc in enumerate(docs):
        root = "$" if len(docs) == 1 else f"document {n + 1}: $"
        if isinstance(doc, dict):
            root += ".roles"
            items = expect(doc.get("roles", []), list, source, root)
        else:
            items = expect(doc, list, source, root)
        for i, raw in enumerate(items):
            at = f"{root}[{i}]"
            role = _role(raw, source, at)
            if "includedPermissions" in raw:
                with_permissions += 1
            if raw.get("deleted") is True:
                continue
            seen = out.get(role.name)
            if seen is not None and seen.permissions != role.permissions:
                raise InputError(f"{source}: {at}.name: {role.name} is listed twice, differently")
            out[role.name] = role
    if not out:
        raise InputError(f"{source}: $: no predefined role (expected gcloud iam roles list)")
    if not with_permissions:
        raise InputError(
            f"{source}: $[0].includedPermissions: missing in every role: list them with "
            "view=FULL (nhictl collect gcp --roles); gcloud iam roles list alone omits them"
        )
    return list(out.values())


def read_predefined_roles(path: Path) -> list[PredefinedRole]:
    """``parse_predefined_roles`` of a file (size-capped read, one-line errors)."""
    return parse_predefined_roles(read_json_documents(path), display_name(path))


def predefined_role_files(path: Path) -> list[Path]:
    """``predefined-roles.json`` of the ``--snapshot`` folder, then of each project folder."""
    folders = [path, *(f for f in project_folders(path) if f != path)]
    return [f / FILE for f in folders if (f / FILE).is_file()]


@dataclass(frozen=True, slots=True)
class RoleRefresh:
    """What the files changed in a catalog."""

    files: tuple[str, ...]
    roles: int  # roles read, each now as the files define it
    changed: int  # known roles whose permissions differ from the shipped catalog's
    added: int  # roles the shipped catalog does not have
    new_permissions: int  # permissions the catalog did not know
    conflicts: int  # roles defined differently by two files (the later file's kept)
    shipped: str  # the catalog replaced, e.g. iann0036/iam-dataset@2073fa5 (2026-08-22)

    def warning(self) -> str:
        text = (
            f"predefined roles: {self.roles:,} role(s) as {', '.join(self.files)} defines them, "
            f"in place of the shipped catalog's ({self.shipped}): {self.changed} changed, "
            f"{self.added} new, {self.new_permissions} new permission(s)"
        )
        if self.conflicts:
            text += (
                f"; {self.conflicts} role(s) differ between the files (the last file's "
                "definition is used)"
            )
        return text


def shipped_summary(catalog: GcpCatalog) -> dict[str, Any]:
    """``summary.inputs.predefined_roles`` when no file refreshed the catalog."""
    return {"source": "shipped", "catalog": catalog_label(catalog.source)}


def catalog_label(source: dict[str, Any]) -> str:
    """Where a catalog's roles come from, in one line (a dataset commit or a roles file)."""
    date = str(source.get("date", ""))[:10]
    if source.get("repository"):
        return f"{source['repository']}@{str(source.get('commit', ''))[:7]} ({date})"
    return f"{source.get('file', '?')} sha256:{str(source.get('sha256', ''))[:12]} ({date})"


def refreshed_summary(catalog: GcpCatalog) -> dict[str, Any]:
    """``summary.inputs.predefined_roles`` when files refreshed the catalog."""
    return {
        "source": "files",
        "files": sorted(set(catalog.refreshed.values())),
        "roles": len(catalog.refreshed),
        "catalog": catalog_label(catalog.source),  # what the files' roles replaced
    }


def refresh_predefined_roles(path: Path, catalog: GcpCatalog) -> RoleRefresh | None:
    """Read every ``predefined-roles.json`` under ``path`` into ``catalog`` (None: there is
    none), before any binding is turned into permissions."""
    files = predefined_role_files(path)
    if not files:
        return None
    chosen: dict[str, tuple[PredefinedRole, str]] = {}
    conflicts = 0
    for f in files:
        name = display_name(f)
        for role in read_predefined_roles(f):
            prev = chosen.get(role.name)
            if prev is not None and prev[0].permissions != role.permissions:
                conflicts += 1
            chosen[role.name] = (role, name)
    known = len(catalog)
    shipped = catalog_label(catalog.source)
    changed = added = 0
    for f in files:
        name = display_name(f)
        mine = [r for r, src in chosen.values() if src == name]
        got = catalog.refresh_roles(((r.name, r.title, r.stage, r.permissions) for r in mine), name)
        changed += got[0]
        added += got[1]
    return RoleRefresh(
        tuple(display_name(f) for f in files),
        len(chosen),
        changed,
        added,
        len(catalog) - known,
        conflicts,
        shipped,
    )


def _role(raw: Any, source: str, at: str) -> PredefinedRole:
    expect(raw, dict, source, at)
    name = raw.get("name")
    if not isinstance(name, str) or not name:
        raise InputError(f"{source}: {at}.name: missing")
    if not name.startswith("roles/"):
        raise InputError(
            f"{source}: {at}.name: {name} is not a predefined role (roles/...); custom roles "
            "belong in custom-roles.json"
        )
    perms = expect(raw.get("includedPermissions", []), list, source, f"{at}.includedPermissions")
    if not all(isinstance(p, str) and p for p in perms):
        j = next(j for j, p in enumerate(perms) if not isinstance(p, str) or not p)
        raise InputError(f"{source}: {at}.includedPermissions[{j}]: expected a permission")
    text = {}
    for key in ("title", "stage", "description"):
        value = raw.get(key, "")
        text[key] = str(expect(value, str, source, f"{at}.{key}") if value is not None else "")
    return PredefinedRole(
        name, text["title"], text["stage"], tuple(sorted(set(perms))), text["description"]
    )
