"""Optional usage inputs: ``sign-ins.json``, ``activity-log.json``, ``pim-instances.json``.

- sign-ins: Graph beta ``reports/servicePrincipalSignInActivities`` (``{"value": [{appId,
  lastSignInActivity, applicationAuthenticationClientSignInActivity,
  delegatedClientSignInActivity, ...}]}``): when each application last signed in.
- activity log: ``az monitor activity-log list --offset 90d -o json`` (a JSON array of events
  with ``operationName.value``, ``caller`` (an object id or an appId), ``claims.appid``,
  ``eventTimestamp``); several subscriptions' outputs may be concatenated in one file.
- PIM: ``roleAssignmentScheduleInstances`` (``{"value": [{properties: {principalId,
  roleDefinitionId, scope, startDateTime, endDateTime, assignmentType, memberType}}]}``).
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import datetime
from pathlib import Path
from typing import Any

from nhictl.core.errors import InputError
from nhictl.providers.azure.rbac import items
from nhictl.providers.azure.scopes import canonical
from nhictl.providers.jsonio import expect, parse_time, timestamp

_OID_CLAIM = "http://schemas.microsoft.com/identity/claims/objectidentifier"


@dataclass(frozen=True, slots=True)
class SignIn:
    """An application's last sign-ins: as a client (it acted) and with its own credential."""

    app_id: str
    last_client: datetime | None  # app-only or delegated, as the client
    last_credential: datetime | None  # app-only client credentials (a secret or certificate)


@dataclass(frozen=True, slots=True)
class Event:
    """One Activity Log event reduced to who did which operation when."""

    callers: tuple[str, ...]  # lowercase ids that may name the principal (object id, appId)
    operation: str
    when: datetime
    subscription: str | None


@dataclass(frozen=True, slots=True)
class ScheduleInstance:
    """An active PIM role assignment schedule instance."""

    principal_id: str
    role_id: str  # lowercase GUID
    scope: str  # canonical
    start: datetime | None
    end: datetime | None  # None: no expiration
    assignment_type: str  # Assigned | Activated


def _last(obj: Any, key: str, source: str, path: str) -> datetime | None:
    act = obj.get(key)
    if act is None:
        return None
    expect(act, dict, source, f"{path}.{key}")
    return parse_time(act.get("lastSignInDateTime"), source, f"{path}.{key}.lastSignInDateTime")


def _latest(*stamps: datetime | None) -> datetime | None:
    known = [s for s in stamps if s is not None]
    return max(known) if known else None


def load_sign_ins(path: Path) -> dict[str, SignIn]:
    out: dict[str, SignIn] = {}
    for item, p, source in items(path):
        app_id = item.get("appId")
        if not isinstance(app_id, str) or not app_id:
            raise InputError(f"{source}: {p}.appId: missing")
        app_only = _last(item, "applicationAuthenticationClientSignInActivity", source, p)
        delegated = _last(item, "delegatedClientSignInActivity", source, p)
        overall = _last(item, "lastSignInActivity", source, p)
        client = _latest(app_only, delegated)
        if client is None and not any(
            k in item
            for k in (
                "applicationAuthenticationClientSignInActivity",
                "delegatedClientSignInActivity",
            )
        ):
            client = overall  # a row without the split: the overall last sign-in
        out[app_id.lower()] = SignIn(app_id.lower(), client, app_only)
    return out


def load_activity_log(path: Path) -> list[Event]:
    out: list[Event] = []
    for item, p, source in items(path):
        op = item.get("operationName")
        name = op.get("value") if isinstance(op, dict) else op
        if not isinstance(name, str) or "/" not in name:
            raise InputError(f"{source}: {p}.operationName.value: missing")
        ts = item.get("eventTimestamp")
        try:
            when = timestamp(ts)
        except ValueError:
            when = parse_time(ts, source, f"{p}.eventTimestamp")
        if when is None:
            raise InputError(f"{source}: {p}.eventTimestamp: missing")
        callers: list[str] = []
        caller = item.get("caller")
        if isinstance(caller, str) and caller:
            callers.append(caller.lower())
        claims = item.get("claims")
        if claims is not None:
            expect(claims, dict, source, f"{p}.claims")
            for key in ("appid", _OID_CLAIM, "oid"):
                v = claims.get(key)
                if isinstance(v, str) and v:
                    callers.append(v.lower())
        sub = item.get("subscriptionId")
        out.append(
            Event(
                tuple(dict.fromkeys(callers)),
                name.strip(),
                when,
                sub.lower() if isinstance(sub, str) and sub else None,
            )
        )
    return out


def load_pim_instances(path: Path) -> list[ScheduleInstance]:
    out: list[ScheduleInstance] = []
    for raw, p, source in items(path):
        props = raw.get("properties", raw)
        pp = f"{p}.properties" if "properties" in raw else p
        expect(props, dict, source, pp)
        for key in ("principalId", "roleDefinitionId", "scope"):
            if not isinstance(props.get(key), str) or not props[key]:
                raise InputError(f"{source}: {pp}.{key}: missing")
        out.append(
            ScheduleInstance(
                props["principalId"].lower(),
                props["roleDefinitionId"].rstrip("/").rsplit("/", 1)[-1].lower(),
                canonical(props["scope"]),
                parse_time(props.get("startDateTime"), source, f"{pp}.startDateTime"),
                parse_time(props.get("endDateTime"), source, f"{pp}.endDateTime"),
                str(props.get("assignmentType") or "Assigned"),
            )
        )
    return out
