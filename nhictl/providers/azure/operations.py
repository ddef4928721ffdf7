"""``provider-operations.json``: Azure's full list of operations, as ``az provider operation list
-o json`` prints it (ARM ``GET /providers/Microsoft.Authorization/providerOperations
?$expand=resourceTypes``, api 2022-04-01).

One reader for two callers: ``scripts/build_azure_catalog.py --operations`` (shipping a full
list in the wheel) and the offline loader (a snapshot folder holding the tenant's list). The
shape (``ProviderOperationsMetadata`` in azure-rest-api-specs)::

    [{"id", "name", "type", "displayName",
      "operations": [{"name", "displayName", "description", "origin", "isDataAction",
                      "properties"}],
      "resourceTypes": [{"name", "displayName", "operations": [...]}]}]

An ARM page (``{"value": [...], "nextLink"}``) is accepted too, and so are several documents
concatenated (one per page). Only ``name`` and ``isDataAction`` matter here; an operation name
without a ``/`` names no operation (Azure matches such a pattern to nothing) and is skipped.
"""

from __future__ import annotations

from dataclasses import dataclass
from pathlib import Path
from typing import Any

from nhictl.core.errors import InputError
from nhictl.core.inputfile import display_name
from nhictl.providers.azure.catalog import AzureCatalog
from nhictl.providers.azure.rbac import items
from nhictl.providers.jsonio import expect

FILE = "provider-operations.json"
API = "2022-04-01"
# Every key of az's models, in the order az's todict() writes them (null when ARM left one out).
PROVIDER_KEYS = ("id", "name", "type", "displayName", "resourceTypes", "operations")
RESOURCE_TYPE_KEYS = ("name", "displayName", "operations")
OPERATION_KEYS = ("name", "displayName", "description", "origin", "properties", "isDataAction")


@dataclass(frozen=True, slots=True)
class OperationList:
    """What a ``provider-operations.json`` held, and what it taught a catalog."""

    source: str  # the file, as errors name it
    providers: int
    operations: int  # (name, plane) pairs in the file, duplicates counted once
    learned: int  # of those, new to the catalog


def read_provider_operations(path: Path) -> tuple[list[tuple[str, bool]], int]:
    """(name, isDataAction) of every operation of the file, and its number of providers."""
    out: list[tuple[str, bool]] = []
    providers = 0
    source = display_name(path)
    for provider, at, source in items(path):
        providers += 1
        out += _operations(provider.get("operations"), source, f"{at}.operations")
        types = provider.get("resourceTypes")
        if types is None:
            continue
        expect(types, list, source, f"{at}.resourceTypes")
        for j, rt in enumerate(types):
            rt_at = f"{at}.resourceTypes[{j}]"
            expect(rt, dict, source, rt_at)
            out += _operations(rt.get("operations"), source, f"{rt_at}.operations")
    if not providers:
        raise InputError(f"{source}: $: no resource provider (expected az provider operation list)")
    return out, providers


def learn_provider_operations(path: Path, catalog: AzureCatalog) -> OperationList:
    """Teach ``catalog`` every operation of the file, before any role is expanded over it."""
    ops, providers = read_provider_operations(path)
    source = display_name(path)
    distinct = {(name.lower(), data): (name, data) for name, data in ops}
    learned = catalog.learn(distinct.values(), source)
    return OperationList(source, providers, len(distinct), learned)


def az_provider(raw: Any) -> Any:
    """An ARM ``ProviderOperationsMetadata`` as az prints it: every model key present."""
    if not isinstance(raw, dict):
        return raw  # not ours to fix: the loader names the bad entry
    out = {k: raw.get(k) for k in PROVIDER_KEYS}
    out["operations"] = _az_operations(raw.get("operations"))
    types = raw.get("resourceTypes")
    if isinstance(types, list):
        out["resourceTypes"] = [
            (
                {
                    **{k: rt.get(k) for k in RESOURCE_TYPE_KEYS},
                    "operations": _az_operations(rt.get("operations")),
                }
                if isinstance(rt, dict)
                else rt
            )
            for rt in types
        ]
    return out


def count_operations(providers: list[Any]) -> int:
    """Operations named in az-shaped providers (for the collector's counts)."""
    n = 0
    for p in providers:
        if isinstance(p, dict):
            n += len(p.get("operations") or [])
            n += sum(
                len(rt.get("operations") or [])
                for rt in p.get("resourceTypes") or []
                if isinstance(rt, dict)
            )
    return n


def _az_operations(raw: Any) -> Any:
    if not isinstance(raw, list):
        return raw
    return [{k: op.get(k) for k in OPERATION_KEYS} if isinstance(op, dict) else op for op in raw]


def _operations(raw: Any, source: str, at: str) -> list[tuple[str, bool]]:
    if raw is None:
        return []
    expect(raw, list, source, at)
    out: list[tuple[str, bool]] = []
    for k, op in enumerate(raw):
        op_at = f"{at}[{k}]"
        expect(op, dict, source, op_at)
        name = op.get("name")
        if not isinstance(name, str) or not name.strip():
            raise InputError(f"{source}: {op_at}.name: missing")
        data = op.get("isDataAction")
        if data is not None and not isinstance(data, bool):
            raise InputError(f"{source}: {op_at}.isDataAction: expected true or false")
        name = name.strip()
        if "/" in name.rstrip("/") and "*" not in name:
            out.append((name, bool(data)))
    return out


def operation_list_status(catalog: AzureCatalog) -> tuple[dict[str, Any], str | None]:
    """``summary.inputs.operation_list`` of a report, and the warning when it is partial."""
    complete = catalog.operations_complete
    info: dict[str, Any] = {
        "complete": complete,
        "operations": len(catalog),
        "files": list(catalog.operation_lists),  # provider-operations.json files learned
        "shipped": str(catalog.source.get("operations", "")),
    }
    if complete:
        return info, None
    return info, (
        f"operation list incomplete: wildcards (*, Microsoft.Compute/*, */read) expand over the "
        f"{len(catalog):,} operations nhictl knows (those the built-in roles, the custom roles "
        f"and the Activity Log name), not Azure's full list, so wildcard grants count fewer "
        f"operations than they hold; add {FILE} (az provider operation list -o json, or "
        "nhictl collect azure) to the folder"
    )
