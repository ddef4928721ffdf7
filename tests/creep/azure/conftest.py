"""Builders for small Azure raw-output directories (the documented layout) and one-call audits."""

from __future__ import annotations

import json
from collections.abc import Sequence
from dataclasses import dataclass, field
from datetime import UTC, datetime
from pathlib import Path
from typing import Any

from nhictl.creep.model import Finding, Report
from nhictl.providers.azure.audit import AzureAuditInputs, audit_azure

NOW = datetime(2026, 11, 28, tzinfo=UTC)
TENANT = "7f3c1a2e-5b4d-4c8e-9a01-2b3c4d5e6f70"
SUB = "0b1f6c2a-1111-4a2b-9c3d-4e5f60718293"
SUB2 = "5d2e7f3b-2222-4b3c-8d4e-5f6071829304"
MG = "/providers/Microsoft.Management/managementGroups/mg-platform"
RECENT = "2026-11-20T00:00:00Z"
OLD = "2025-01-01T00:00:00Z"

ROLE = {
    "Owner": "8e3af657-a8ff-443c-a75c-2fe8c4bcb635",
    "Contributor": "b24988ac-6180-42a0-ab88-20f7382dd24c",
    "Reader": "acdd72a7-3385-48ef-bd42-f606fba81ae7",
    "User Access Administrator": "18d7d88d-d35e-4fb5-a5c3-7773c20a72d9",
    "Role Based Access Control Administrator": "f58310d9-a9f6-439a-9e8d-f62e7b41a168",
    "Storage Blob Data Reader": "2a2b9908-6ea1-4ae2-8e65-a410df84e7d1",
    "Storage Queue Data Contributor": "974c5e8b-45b9-4653-ba55-5f855dd0fb88",
    "Website Contributor": "de139f84-1756-47ae-9be6-808fbbe84772",
}


def oid(n: int) -> str:
    return f"{n:08d}-aaaa-4000-8000-{n:012d}"


def app_id(n: int) -> str:
    return f"{n:08d}-0000-4000-8000-{n:012d}"


def rg(name: str, sub: str = SUB) -> str:
    return f"/subscriptions/{sub}/resourceGroups/{name}"


def sub_scope(sub: str = SUB) -> str:
    return f"/subscriptions/{sub}"


@dataclass
class Tenant:
    """An Azure export under construction; ``write`` lays it out as the documented files."""

    assignments: list[dict[str, Any]] = field(default_factory=list)
    roles: list[dict[str, Any]] = field(default_factory=list)
    sps: list[dict[str, Any]] = field(default_factory=list)
    apps: list[dict[str, Any]] | None = None
    sign_ins: list[dict[str, Any]] | None = None
    events: list[dict[str, Any]] | None = None
    pim: list[dict[str, Any]] | None = None
    _n: int = 0

    def sp(
        self,
        n: int,
        name: str,
        kind: str = "Application",
        secrets: list[dict[str, Any]] | None = None,
    ) -> str:
        self.sps.append(
            {
                "id": oid(n),
                "appId": app_id(n),
                "displayName": name,
                "servicePrincipalType": kind,
                "accountEnabled": True,
                "appOwnerOrganizationId": TENANT,
                "alternativeNames": [],
                "passwordCredentials": secrets or [],
                "keyCredentials": [],
                "tags": [],
            }
        )
        return oid(n)

    def app(
        self,
        n: int,
        name: str,
        secrets: list[dict[str, Any]] | None = None,
        certs: list[dict[str, Any]] | None = None,
        created: str = OLD,
    ) -> None:
        self.apps = self.apps or []
        self.apps.append(
            {
                "id": f"{n:08d}-bbbb-4000-8000-{n:012d}",
                "appId": app_id(n),
                "displayName": name,
                "createdDateTime": created,
                "passwordCredentials": secrets or [],
                "keyCredentials": certs or [],
            }
        )

    def assign(
        self,
        principal: str,
        role: str,
        scope: str,
        ptype: str = "ServicePrincipal",
        condition: str | None = None,
        created: str = OLD,
    ) -> None:
        self._n += 1
        guid = ROLE.get(role, role)
        self.assignments.append(
            {
                "id": f"{scope}/providers/Microsoft.Authorization/roleAssignments/a{self._n:07d}",
                "name": f"a{self._n:07d}",
                "principalId": principal,
                "principalName": principal,
                "principalType": ptype,
                "roleDefinitionId": f"/subscriptions/{SUB}/providers/Microsoft.Authorization/"
                f"roleDefinitions/{guid}",
                "roleDefinitionName": role,
                "scope": scope,
                "condition": condition,
                "conditionVersion": "2.0" if condition else None,
                "createdOn": created,
            }
        )

    def custom_role(
        self,
        guid: str,
        name: str,
        actions: Sequence[str],
        not_actions: Sequence[str] = (),
        data_actions: Sequence[str] = (),
    ) -> None:
        self.roles.append(
            {
                "name": guid,
                "roleName": name,
                "roleType": "CustomRole",
                "assignableScopes": [sub_scope()],
                "permissions": [
                    {
                        "actions": list(actions),
                        "notActions": list(not_actions),
                        "dataActions": list(data_actions),
                        "notDataActions": [],
                    }
                ],
            }
        )

    def sign_in(self, n: int, client: str | None, credential: str | None = None) -> None:
        self.sign_ins = self.sign_ins or []
        self.sign_ins.append(
            {
                "appId": app_id(n),
                "lastSignInActivity": {"lastSignInDateTime": client},
                "applicationAuthenticationClientSignInActivity": {
                    "lastSignInDateTime": credential or client
                },
                "delegatedClientSignInActivity": {"lastSignInDateTime": None},
            }
        )

    def event(
        self, n: int, op: str, when: str = RECENT, sub: str = SUB, by_app: bool = False
    ) -> None:
        self.events = self.events if self.events is not None else []
        self.events.append(
            {
                "caller": app_id(n) if by_app else oid(n),
                "claims": {"appid": app_id(n)},
                "operationName": {"value": op, "localizedValue": op},
                "eventTimestamp": when,
                "subscriptionId": sub,
                "status": {"value": "Succeeded"},
            }
        )

    def pim_instance(self, principal: str, role: str, scope: str, end: str | None) -> None:
        self.pim = self.pim if self.pim is not None else []
        self.pim.append(
            {
                "properties": {
                    "principalId": principal,
                    "roleDefinitionId": f"{scope}/providers/Microsoft.Authorization/"
                    f"roleDefinitions/{ROLE.get(role, role)}",
                    "scope": scope,
                    "startDateTime": "2026-11-27T00:00:00Z",
                    "endDateTime": end,
                    "assignmentType": "Activated",
                }
            }
        )

    def write(self, d: Path) -> Path:
        d.mkdir(parents=True, exist_ok=True)

        def put(name: str, data: Any) -> None:
            (d / name).write_text(json.dumps(data), encoding="utf-8")

        put("role-assignments.json", self.assignments)
        put("service-principals.json", self.sps)
        if self.roles:
            put("role-definitions.json", self.roles)
        if self.apps is not None:
            put("applications.json", self.apps)
        if self.sign_ins is not None:
            put("sign-ins.json", {"value": self.sign_ins})
        if self.events is not None:
            put("activity-log.json", self.events)
        if self.pim is not None:
            put("pim-instances.json", {"value": self.pim})
        return d


def secret(
    key: str, start: str | None = OLD, end: str | None = "2026-12-31T00:00:00Z"
) -> dict[str, Any]:
    return {"keyId": key, "displayName": key[:6], "startDateTime": start, "endDateTime": end}


def audit(
    tmp: Path,
    tenant: Tenant,
    *,
    manifests: list[str] | None = None,
    baseline: Tenant | None = None,
    remediate: bool = True,
) -> Report:
    d = tenant.write(tmp / "now")
    b = baseline.write(tmp / "baseline") if baseline else None
    return audit_azure(
        AzureAuditInputs(
            snapshot=d, manifests=manifests or [], baseline=b, now=NOW, remediate=remediate
        )
    )


def hits(report: Report, rule: str, principal: str | None = None) -> list[Finding]:
    return [
        f
        for f in report.findings
        if f.rule_id == rule and (principal is None or f.principal == principal)
    ]


def manifest(
    tmp: Path, name: str, principal: str, roles: list[str], scope: str | None = None
) -> str:
    az = f"      principalId: {principal}\n      roles: [{', '.join(roles)}]\n"
    if scope:
        az += f"      scope: {scope}\n"
    text = (
        "apiVersion: nhictl.dev/v1\nkind: AgentRegistration\nmetadata:\n"
        f"  name: {name}\n  owner: team-x\n  sponsor: a@example.com\n"
        "spec:\n  description: test agent\n  entitlements:\n    azure:\n" + az
    )
    path = tmp / f"{name}.yaml"
    path.write_text(text, encoding="utf-8")
    return str(path)
