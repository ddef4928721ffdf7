"""The shapes ``az ... -o json`` prints, made from the raw ARM / Graph answers.

The az CLI does not print ARM resources as ARM returns them. For role assignments and role
definitions it deserialises them into SDK models and prints ``todict(model)``:

- ``properties`` is flattened into the top level (``id``, ``name``, ``type`` stay), every model
  field present (``null`` when ARM left it out);
- a role definition's ``properties.type`` (BuiltInRole / CustomRole) becomes ``roleType``
  (the top-level ``type`` stays ``Microsoft.Authorization/roleDefinitions``);
- timestamps are Python ``datetime.isoformat()`` strings: ``2023-01-12T09:18:11.480829+00:00``
  (microseconds, ``+00:00``), not ARM's 7-digit ``...4808290Z``;
- ``az role assignment list`` adds ``roleDefinitionName`` (the role's ``roleName`` by the
  definition's full id, listed at the subscription; ``null`` when unknown) and ``principalName``
  (from Graph ``directoryObjects/getByIds``: a user's ``userPrincipalName``, a service
  principal's first ``servicePrincipalNames`` entry, else ``displayName``; ``""`` when unknown).

Graph objects (``az ad sp list``, ``az ad app list``) are printed as Graph returns them, and so
are the Activity Log events (``az monitor activity-log list``) except their two timestamps,
which az also turns into ``isoformat()`` strings.
"""

from __future__ import annotations

import re
from datetime import datetime
from typing import Any

ASSIGNMENT_FIELDS = (
    "condition",
    "conditionVersion",
    "createdBy",
    "createdOn",
    "delegatedManagedIdentityResourceId",
    "description",
    "principalId",
    "principalType",
    "roleDefinitionId",
    "scope",
    "updatedBy",
    "updatedOn",
)
DEFINITION_FIELDS = (
    "assignableScopes",
    "createdBy",
    "createdOn",
    "description",
    "permissions",
    "roleName",
    "updatedBy",
    "updatedOn",
)
EVENT_TIMESTAMPS = ("eventTimestamp", "submissionTimestamp")

_ISO = re.compile(
    r"^(\d{4}-\d{2}-\d{2})[T ](\d{2}:\d{2}:\d{2})(?:\.(\d+))?(Z|[+-]\d{2}:?\d{2})?$", re.I
)


def az_datetime(value: Any) -> Any:
    """An ARM timestamp as az prints it; anything else unchanged."""
    if not isinstance(value, str):
        return value
    m = _ISO.match(value.strip())
    if not m:
        return value
    day, clock, frac, zone = m.groups()
    micro = (frac or "")[:6].ljust(6, "0") if frac else ""
    zone = "+00:00" if not zone or zone.upper() == "Z" else zone
    if len(zone) == 5:  # +0100
        zone = zone[:3] + ":" + zone[3:]
    try:
        parsed = datetime.fromisoformat(f"{day}T{clock}{'.' + micro if micro else ''}{zone}")
    except ValueError:
        return value
    return parsed.isoformat()


def _flatten(raw: dict[str, Any], fields: tuple[str, ...]) -> dict[str, Any]:
    props = raw.get("properties")
    props = props if isinstance(props, dict) else {}
    out: dict[str, Any] = {k: raw.get(k) for k in ("id", "name", "type")}
    for key in fields:
        out[key] = props.get(key)
    for key, value in props.items():  # fields newer than the model: kept, as todict would
        if key not in out and key != "type":
            out[key] = value
    for key in ("createdOn", "updatedOn"):
        out[key] = az_datetime(out.get(key))
    return out


def role_definition(raw: dict[str, Any]) -> dict[str, Any]:
    """One ``az role definition list`` entry."""
    out = _flatten(raw, DEFINITION_FIELDS)
    props = raw.get("properties") if isinstance(raw.get("properties"), dict) else {}
    out["roleType"] = (props or {}).get("type")
    return out


def role_assignment(
    raw: dict[str, Any], role_names: dict[str, str], principal_names: dict[str, str]
) -> dict[str, Any]:
    """One ``az role assignment list`` entry: flattened, with the two names az adds."""
    out = _flatten(raw, ASSIGNMENT_FIELDS)
    role_id = str(out.get("roleDefinitionId") or "")
    out["roleDefinitionName"] = role_names.get(role_id.lower())
    out["principalName"] = principal_names.get(str(out.get("principalId") or ""), "")
    return out


def displayable_name(obj: dict[str, Any]) -> str:
    """az's name for a directory object (role/custom.py ``_get_displayable_name``)."""
    if obj.get("userPrincipalName"):
        return str(obj["userPrincipalName"])
    names = obj.get("servicePrincipalNames")
    if isinstance(names, list) and names:
        return str(names[0])
    return str(obj.get("displayName") or "")


def activity_event(raw: dict[str, Any]) -> dict[str, Any]:
    """One ``az monitor activity-log list`` event."""
    out = dict(raw)
    for key in EVENT_TIMESTAMPS:
        if key in out:
            out[key] = az_datetime(out[key])
    return out
