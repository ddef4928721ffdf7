"""``role-assignments.json`` and ``role-definitions.json`` -> assignments and custom roles.

Accepted shapes (each file may also hold several JSON arrays concatenated, one per
subscription):

- role assignments: ``az role assignment list --all --include-inherited -o json`` (a JSON array
  of ``{id, principalId, principalType, principalName, roleDefinitionId, roleDefinitionName,
  scope, condition, conditionVersion, createdOn}``), or the raw ARM list (``{"value": [...]}``,
  fields under ``properties``);
- role definitions: ``az role definition list -o json`` (``[{name, roleName, roleType,
  permissions: [{actions, notActions, dataActions, notDataActions}], assignableScopes}]``), or
  the raw ARM list. Built-in roles in it replace the shipped ones (they are newer).
"""

from __future__ import annotations

from collections.abc import Iterator
from dataclasses import dataclass
from datetime import datetime
from pathlib import Path
from typing import Any

from nhictl.core.errors import InputError
from nhictl.core.inputfile import display_name
from nhictl.providers.azure.catalog import RoleDefinition, RolePermission
from nhictl.providers.jsonio import expect, parse_time, read_json_documents


@dataclass(frozen=True, slots=True)
class Assignment:
    """One role assignment, as the CLI lists it."""

    id: str
    principal_id: str  # lowercase object id
    principal_type: str  # ServicePrincipal | User | Group | ForeignGroup | ...
    principal_name: str
    role_id: str  # lowercase role definition GUID
    role_name: str
    scope: str  # as exported
    condition: str | None
    condition_version: str | None
    created: datetime | None


def items(path: Path) -> Iterator[tuple[dict[str, Any], str, str]]:
    """Every object of a list file: (object, its JSON path, the file's display name).

    A document may be a JSON array, or an object with a ``value`` array (ARM / Graph pages).
    """
    source = display_name(path)
    docs = read_json_documents(path)
    for di, doc in enumerate(docs):
        base = "$" if len(docs) == 1 else f"document {di + 1}: $"
        if isinstance(doc, dict) and "value" in doc:
            lst = expect(doc["value"], list, source, f"{base}.value")
            base += ".value"
        else:
            lst = expect(doc, list, source, base)
        for i, item in enumerate(lst):
            yield expect(item, dict, source, f"{base}[{i}]"), f"{base}[{i}]", source


def _flat(item: dict[str, Any]) -> dict[str, Any]:
    """The raw ARM shape keeps the fields under ``properties``: lift them."""
    props = item.get("properties")
    if isinstance(props, dict):
        return {**{k: v for k, v in item.items() if k != "properties"}, **props}
    return item


def _text(obj: dict[str, Any], key: str, source: str, path: str, required: bool = True) -> str:
    value = obj.get(key)
    if value is None or value == "":
        if required:
            raise InputError(f"{source}: {path}.{key}: missing")
        return ""
    return str(expect(value, str, source, f"{path}.{key}"))


def load_assignments(path: Path) -> list[Assignment]:
    out: list[Assignment] = []
    for raw, p, source in items(path):
        item = _flat(raw)
        role_ref = _text(item, "roleDefinitionId", source, p)
        cond = item.get("condition")
        if cond is not None:
            expect(cond, str, source, f"{p}.condition")
        out.append(
            Assignment(
                id=_text(item, "id", source, p, required=False),
                principal_id=_text(item, "principalId", source, p).lower(),
                principal_type=_text(item, "principalType", source, p, required=False) or "Unknown",
                principal_name=_text(item, "principalName", source, p, required=False),
                role_id=role_ref.rstrip("/").rsplit("/", 1)[-1].lower(),
                role_name=_text(item, "roleDefinitionName", source, p, required=False),
                scope=_text(item, "scope", source, p),
                condition=cond or None,
                condition_version=item.get("conditionVersion")
                if isinstance(item.get("conditionVersion"), str)
                else None,
                created=parse_time(item.get("createdOn"), source, f"{p}.createdOn"),
            )
        )
    return out


def _patterns(obj: dict[str, Any], key: str, source: str, path: str) -> tuple[str, ...]:
    value = obj.get(key)
    if value is None:
        return ()
    lst = expect(value, list, source, f"{path}.{key}")
    for i, v in enumerate(lst):
        expect(v, str, source, f"{path}.{key}[{i}]")
    return tuple(str(v).strip() for v in lst)


def load_role_definitions(path: Path) -> list[RoleDefinition]:
    out: list[RoleDefinition] = []
    for raw, p, source in items(path):
        item = _flat(raw)
        guid = _text(item, "name", source, p).lower()
        if "/" in guid:  # some exports put the full id in "name"
            guid = guid.rstrip("/").rsplit("/", 1)[-1]
        perms = []
        raw_perms = item.get("permissions")
        perms_list = (
            [] if raw_perms is None else expect(raw_perms, list, source, f"{p}.permissions")
        )
        for i, perm in enumerate(perms_list):
            pp = f"{p}.permissions[{i}]"
            expect(perm, dict, source, pp)
            perms.append(
                RolePermission(
                    _patterns(perm, "actions", source, pp),
                    _patterns(perm, "notActions", source, pp),
                    _patterns(perm, "dataActions", source, pp),
                    _patterns(perm, "notDataActions", source, pp),
                )
            )
        kind = str(item.get("roleType") or item.get("type") or "CustomRole")
        scopes = expect(item.get("assignableScopes") or [], list, source, f"{p}.assignableScopes")
        out.append(
            RoleDefinition(
                guid,
                _text(item, "roleName", source, p),
                tuple(perms),
                builtin=kind == "BuiltInRole",
                assignable_scopes=tuple(str(s) for s in scopes if isinstance(s, str)),
            )
        )
    return out
