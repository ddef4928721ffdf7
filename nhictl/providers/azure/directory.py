"""``service-principals.json`` and ``applications.json`` (Microsoft Entra) -> identities and
their long-lived credentials.

- service principals: ``az ad sp list --all -o json`` (Graph ``servicePrincipal`` objects: ``id``
  (object id), ``appId``, ``displayName``, ``servicePrincipalType`` (``Application`` |
  ``ManagedIdentity`` | ...), ``alternativeNames``, ``passwordCredentials``, ``keyCredentials``,
  ``accountEnabled``, ``tags``, ``appOwnerOrganizationId``);
- applications: ``az ad app list --all -o json`` (``id``, ``appId``, ``displayName``,
  ``createdDateTime``, ``passwordCredentials``, ``keyCredentials``).

Secrets (``passwordCredentials``) become credentials of kind ``client-secret``, certificates
(``keyCredentials``) of kind ``certificate``; both the application's and those added on the
service principal object itself (which the portal's app blade does not show).
"""

from __future__ import annotations

from dataclasses import dataclass, field
from datetime import datetime
from pathlib import Path
from typing import Any

from nhictl.core.errors import InputError
from nhictl.providers.azure.rbac import items
from nhictl.providers.jsonio import expect, parse_time


@dataclass(frozen=True, slots=True)
class Secret:
    """A password or certificate credential of an application or service principal."""

    key_id: str
    kind: str  # client-secret | certificate
    origin: str  # application | service-principal
    owner: str  # object id of the application or service principal carrying it
    app_id: str
    name: str
    start: datetime | None
    end: datetime | None


@dataclass(slots=True)
class Identity:
    """A service principal (app or managed identity) from Entra."""

    object_id: str  # lowercase
    app_id: str  # lowercase
    name: str
    sp_type: str  # Application | ManagedIdentity | Legacy | SocialIdp | Unknown
    enabled: bool = True
    tags: dict[str, str] = field(default_factory=dict)
    alternative_names: tuple[str, ...] = ()
    owner_tenant: str | None = None


@dataclass(slots=True)
class App:
    """An application registration of the tenant."""

    object_id: str
    app_id: str
    name: str
    created: datetime | None


def _str(obj: dict[str, Any], key: str, source: str, path: str, required: bool = False) -> str:
    value = obj.get(key)
    if value is None or value == "":
        if required:
            raise InputError(f"{source}: {path}.{key}: missing")
        return ""
    return str(expect(value, str, source, f"{path}.{key}"))


def _list(obj: dict[str, Any], key: str, source: str, path: str) -> list[Any]:
    value = obj.get(key)
    return [] if value is None else list(expect(value, list, source, f"{path}.{key}"))


def _secrets(
    obj: dict[str, Any], origin: str, owner: str, app_id: str, source: str, path: str
) -> list[Secret]:
    out: list[Secret] = []
    for key, kind in (("passwordCredentials", "client-secret"), ("keyCredentials", "certificate")):
        for i, c in enumerate(_list(obj, key, source, path)):
            cp = f"{path}.{key}[{i}]"
            expect(c, dict, source, cp)
            out.append(
                Secret(
                    key_id=_str(c, "keyId", source, cp, required=True).lower(),
                    kind=kind,
                    origin=origin,
                    owner=owner,
                    app_id=app_id,
                    name=_str(c, "displayName", source, cp),
                    start=parse_time(c.get("startDateTime"), source, f"{cp}.startDateTime"),
                    end=parse_time(c.get("endDateTime"), source, f"{cp}.endDateTime"),
                )
            )
    return out


def load_service_principals(path: Path) -> tuple[list[Identity], list[Secret]]:
    identities: list[Identity] = []
    secrets: list[Secret] = []
    for sp, p, source in items(path):
        oid = _str(sp, "id", source, p, required=True).lower()
        app_id = _str(sp, "appId", source, p).lower()
        tags: dict[str, str] = {}
        for i, t in enumerate(_list(sp, "tags", source, p)):
            tag = str(expect(t, str, source, f"{p}.tags[{i}]"))
            k, _, v = tag.partition("=")
            tags[k] = v
        alt = _list(sp, "alternativeNames", source, p)
        identities.append(
            Identity(
                object_id=oid,
                app_id=app_id,
                name=_str(sp, "displayName", source, p) or oid,
                sp_type=_str(sp, "servicePrincipalType", source, p) or "Unknown",
                enabled=sp.get("accountEnabled") is not False,
                tags=tags,
                alternative_names=tuple(str(a) for a in alt if isinstance(a, str)),
                owner_tenant=_str(sp, "appOwnerOrganizationId", source, p).lower() or None,
            )
        )
        secrets += _secrets(sp, "service-principal", oid, app_id, source, p)
    return identities, secrets


def load_applications(path: Path) -> tuple[list[App], list[Secret]]:
    apps: list[App] = []
    secrets: list[Secret] = []
    for app, p, source in items(path):
        oid = _str(app, "id", source, p, required=True).lower()
        app_id = _str(app, "appId", source, p, required=True).lower()
        apps.append(
            App(
                oid,
                app_id,
                _str(app, "displayName", source, p) or app_id,
                parse_time(app.get("createdDateTime"), source, f"{p}.createdDateTime"),
            )
        )
        secrets += _secrets(app, "application", oid, app_id, source, p)
    return apps, secrets
