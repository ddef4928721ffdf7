"""Regenerate sample-configs/azure/ (a small, realistic tenant export) deterministically.

One tenant, two subscriptions (prod, dev), each file in the shape the named command writes
(docs/audit-creep.md, Azure section). The files are committed; this script documents how they
were made and keeps them consistent. Dates are relative to 2026-11-28, the ``--as-of`` the demo
and the tests pin.

The estate:
- invoice-agent: an application registered with a manifest, Reader + Storage Blob Data Reader
  on its resource group, a six-month secret: clean.
- deploy-pipeline: an application with Contributor on the prod subscription (over-privileged),
  a secret without expiry on its service principal object and a two-year one on the app,
  standing (no PIM), unregistered.
- orders-processor: a user-assigned managed identity; its manifest declares Storage Queue Data
  Contributor on rg-orders, it also holds Website Contributor there: the drifted agent.
- reporting-agent: a managed identity that held Reader on rg-reporting at the baseline and now
  also Monitoring Contributor on the dev subscription: the growth case.
- legacy-sync: an application last signed in in March, Storage Account Contributor on dev, an
  expired secret and a three-year one: dormant.
- ops-automation: Role Based Access Control Administrator at a management group and a custom
  role that administers locks: escalation, standing.
- break-glass: Owner on prod through a time-bound PIM activation (mitigated), excluded.
- a group holds Contributor on dev (not resolved offline), a user holds Owner (human).
"""

from __future__ import annotations

import json
from pathlib import Path
from typing import Any

OUT = Path(__file__).resolve().parents[1] / "sample-configs/azure"
TENANT = "7f3c1a2e-5b4d-4c8e-9a01-2b3c4d5e6f70"
PROD = "0b1f6c2a-1111-4a2b-9c3d-4e5f60718293"
DEV = "5d2e7f3b-2222-4b3c-8d4e-5f6071829304"
MSFT = "f8cdef31-a31e-4b4a-93e4-5f571e91255a"  # the owner tenant of Microsoft's own apps
MG = "/providers/Microsoft.Management/managementGroups/mg-platform"

ROLES = {
    "Owner": "8e3af657-a8ff-443c-a75c-2fe8c4bcb635",
    "Contributor": "b24988ac-6180-42a0-ab88-20f7382dd24c",
    "Reader": "acdd72a7-3385-48ef-bd42-f606fba81ae7",
    "Role Based Access Control Administrator": "f58310d9-a9f6-439a-9e8d-f62e7b41a168",
    "Storage Blob Data Reader": "2a2b9908-6ea1-4ae2-8e65-a410df84e7d1",
    "Storage Queue Data Contributor": "974c5e8b-45b9-4653-ba55-5f855dd0fb88",
    "Website Contributor": "de139f84-1756-47ae-9be6-808fbbe84772",
    "Monitoring Contributor": "749f88d5-cbae-40b8-bcfc-e573ddc772fa",
    "Storage Account Contributor": "17d1049b-9a84-46fb-8f53-869881c3d3ab",
    "Ops Lock Manager": "3a0c5f9e-7d6b-4e21-9f8a-1b2c3d4e5f60",
}

# name -> (object id, appId, type)
SP = {
    "invoice-agent": (
        "11111111-aaaa-4000-8000-000000000001",
        "a1111111-0000-4000-8000-00000000000a",
        "Application",
    ),
    "deploy-pipeline": (
        "22222222-aaaa-4000-8000-000000000002",
        "a2222222-0000-4000-8000-00000000000b",
        "Application",
    ),
    "orders-processor": (
        "33333333-aaaa-4000-8000-000000000003",
        "a3333333-0000-4000-8000-00000000000c",
        "ManagedIdentity",
    ),
    "reporting-agent": (
        "44444444-aaaa-4000-8000-000000000004",
        "a4444444-0000-4000-8000-00000000000d",
        "ManagedIdentity",
    ),
    "legacy-sync": (
        "55555555-aaaa-4000-8000-000000000005",
        "a5555555-0000-4000-8000-00000000000e",
        "Application",
    ),
    "ops-automation": (
        "66666666-aaaa-4000-8000-000000000006",
        "a6666666-0000-4000-8000-00000000000f",
        "Application",
    ),
    "break-glass": (
        "77777777-aaaa-4000-8000-000000000007",
        "a7777777-0000-4000-8000-000000000010",
        "Application",
    ),
    "Microsoft Graph": (
        "88888888-aaaa-4000-8000-000000000008",
        "00000003-0000-0000-c000-000000000000",
        "Application",
    ),
}
APP_OBJECT = {name: f"{oid[:8]}-bbbb-4000-8000-{oid[-12:]}" for name, (oid, _, _) in SP.items()}
GROUP = "99999999-aaaa-4000-8000-000000000009"
USER = "aaaaaaaa-aaaa-4000-8000-00000000000a"


def rg(sub: str, name: str) -> str:
    return f"/subscriptions/{sub}/resourceGroups/{name}"


def mi_resource(sub: str, group: str, name: str) -> str:
    return (
        f"/subscriptions/{sub}/resourcegroups/{group}/providers/"
        f"Microsoft.ManagedIdentity/userAssignedIdentities/{name}"
    )


def assignment(
    n: int, principal: str, role: str, scope: str, created: str, ptype: str = "ServicePrincipal"
) -> dict[str, Any]:
    if ptype == "ServicePrincipal":
        oid, app_id, _ = SP[principal]
        name = app_id
    else:
        oid, name = principal, principal
    guid = f"{n:08d}-cccc-4000-8000-{n:012d}"
    sub = scope.split("/")[2] if scope.startswith("/subscriptions/") else PROD
    return {
        "condition": None,
        "conditionVersion": None,
        "createdBy": "aaaaaaaa-aaaa-4000-8000-00000000000a",
        "createdOn": created,
        "delegatedManagedIdentityResourceId": None,
        "description": None,
        "id": f"{scope}/providers/Microsoft.Authorization/roleAssignments/{guid}",
        "name": guid,
        "principalId": oid,
        "principalName": name,
        "principalType": ptype,
        "roleDefinitionId": f"/subscriptions/{sub}/providers/Microsoft.Authorization/"
        f"roleDefinitions/{ROLES[role]}",
        "roleDefinitionName": role,
        "scope": scope,
        "type": "Microsoft.Authorization/roleAssignments",
        "updatedBy": "aaaaaaaa-aaaa-4000-8000-00000000000a",
        "updatedOn": created,
    }


def current_assignments() -> list[dict[str, Any]]:
    return [
        assignment(
            1, "invoice-agent", "Reader", rg(PROD, "rg-invoices"), "2026-02-03T09:12:44.1234567Z"
        ),
        assignment(
            2,
            "invoice-agent",
            "Storage Blob Data Reader",
            rg(PROD, "rg-invoices"),
            "2026-02-03T09:13:02.7654321Z",
        ),
        assignment(
            3,
            "deploy-pipeline",
            "Contributor",
            f"/subscriptions/{PROD}",
            "2024-05-14T16:40:10.0000000Z",
        ),
        assignment(
            4,
            "orders-processor",
            "Storage Queue Data Contributor",
            rg(PROD, "rg-orders"),
            "2025-09-01T08:00:00.0000000Z",
        ),
        assignment(
            5,
            "orders-processor",
            "Website Contributor",
            rg(PROD, "rg-orders"),
            "2026-10-02T13:30:00.0000000Z",
        ),
        assignment(
            6, "reporting-agent", "Reader", rg(DEV, "rg-reporting"), "2025-11-20T10:00:00.0000000Z"
        ),
        assignment(
            7,
            "reporting-agent",
            "Monitoring Contributor",
            f"/subscriptions/{DEV}",
            "2026-10-15T10:00:00.0000000Z",
        ),
        assignment(
            8,
            "legacy-sync",
            "Storage Account Contributor",
            f"/subscriptions/{DEV}",
            "2023-04-11T12:00:00.0000000Z",
        ),
        assignment(
            9,
            "ops-automation",
            "Role Based Access Control Administrator",
            MG,
            "2025-01-20T07:45:00.0000000Z",
        ),
        assignment(
            10,
            "ops-automation",
            "Ops Lock Manager",
            f"/subscriptions/{DEV}",
            "2025-01-20T07:46:00.0000000Z",
        ),
        assignment(
            11, "break-glass", "Owner", f"/subscriptions/{PROD}", "2026-11-27T22:10:00.0000000Z"
        ),
        assignment(
            12,
            GROUP,
            "Contributor",
            f"/subscriptions/{DEV}",
            "2025-06-01T00:00:00.0000000Z",
            "Group",
        ),
        assignment(
            13, USER, "Owner", f"/subscriptions/{PROD}", "2023-01-01T00:00:00.0000000Z", "User"
        ),
    ]


def baseline_assignments() -> list[dict[str, Any]]:
    """Six months earlier: the reporting agent had its resource-group Reader only."""
    keep = {1, 2, 3, 4, 6, 8, 9, 10, 12, 13}
    return [a for i, a in enumerate(current_assignments(), 1) if i in keep]


def custom_roles() -> list[dict[str, Any]]:
    return [
        {
            "assignableScopes": [f"/subscriptions/{DEV}"],
            "createdBy": "aaaaaaaa-aaaa-4000-8000-00000000000a",
            "createdOn": "2025-01-20T07:40:00.0000000Z",
            "description": "Lets the ops automation place and lift resource locks.",
            "id": f"/subscriptions/{DEV}/providers/Microsoft.Authorization/roleDefinitions/"
            f"{ROLES['Ops Lock Manager']}",
            "name": ROLES["Ops Lock Manager"],
            "permissions": [
                {
                    "actions": [
                        "Microsoft.Authorization/locks/*",
                        "Microsoft.Resources/subscriptions/resourceGroups/read",
                    ],
                    "condition": None,
                    "conditionVersion": None,
                    "dataActions": [],
                    "notActions": [],
                    "notDataActions": [],
                }
            ],
            "roleName": "Ops Lock Manager",
            "roleType": "CustomRole",
            "type": "Microsoft.Authorization/roleDefinitions",
            "updatedBy": "aaaaaaaa-aaaa-4000-8000-00000000000a",
            "updatedOn": "2025-01-20T07:40:00.0000000Z",
        }
    ]


def password(key: str, name: str, start: str, end: str | None) -> dict[str, Any]:
    return {
        "customKeyIdentifier": None,
        "displayName": name,
        "endDateTime": end,
        "hint": name[:3],
        "keyId": key,
        "secretText": None,
        "startDateTime": start,
    }


def certificate(key: str, name: str, start: str, end: str) -> dict[str, Any]:
    return {
        "customKeyIdentifier": "3E1F9C0A7B2D4E5F60718293A4B5C6D7E8F90A1B",
        "displayName": name,
        "endDateTime": end,
        "key": None,
        "keyId": key,
        "startDateTime": start,
        "type": "AsymmetricX509Cert",
        "usage": "Verify",
    }


def service_principals() -> list[dict[str, Any]]:
    out = []
    for name, (oid, app_id, kind) in SP.items():
        mi = kind == "ManagedIdentity"
        sub = PROD if name == "orders-processor" else DEV
        sp: dict[str, Any] = {
            "accountEnabled": True,
            "alternativeNames": [
                "isExplicit=True",
                mi_resource(sub, f"rg-{name.split('-')[0]}", name),
            ]
            if mi
            else [],
            "appDisplayName": None if mi else name,
            "appId": app_id,
            "appOwnerOrganizationId": MSFT if (mi or name == "Microsoft Graph") else TENANT,
            "displayName": name,
            "id": oid,
            "keyCredentials": [],
            "passwordCredentials": [],
            "servicePrincipalNames": [app_id] if mi else [app_id, f"api://{name}"],
            "servicePrincipalType": kind,
            "signInAudience": None if mi else "AzureADMyOrg",
            "tags": [] if mi else ["WindowsAzureActiveDirectoryIntegratedApp"],
        }
        if name == "deploy-pipeline":
            # Added on the service principal object: the app blade does not show it.
            sp["passwordCredentials"] = [
                password(
                    "d2f0c1a4-0000-4000-8000-0000000000d1",
                    "ci-hotfix",
                    "2025-03-03T10:00:00Z",
                    None,
                )
            ]
        out.append(sp)
    return out


def applications() -> list[dict[str, Any]]:
    creds: dict[str, tuple[list[Any], list[Any]]] = {
        "invoice-agent": (
            [
                password(
                    "b1000000-0000-4000-8000-0000000000b1",
                    "rotation-2026-06",
                    "2026-06-01T00:00:00Z",
                    "2026-12-01T00:00:00Z",
                )
            ],
            [],
        ),
        "deploy-pipeline": (
            [
                password(
                    "b2000000-0000-4000-8000-0000000000b2",
                    "github-actions",
                    "2025-06-10T00:00:00Z",
                    "2027-06-10T00:00:00Z",
                )
            ],
            [],
        ),
        "legacy-sync": (
            [
                password(
                    "b5000000-0000-4000-8000-0000000000b5",
                    "old-2024",
                    "2024-01-15T00:00:00Z",
                    "2025-01-15T00:00:00Z",
                ),
                password(
                    "b5000000-0000-4000-8000-0000000000b6",
                    "sync-2025",
                    "2025-01-10T00:00:00Z",
                    "2028-01-10T00:00:00Z",
                ),
            ],
            [],
        ),
        "ops-automation": (
            [],
            [
                certificate(
                    "b6000000-0000-4000-8000-0000000000c6",
                    "CN=ops-automation",
                    "2026-05-01T00:00:00Z",
                    "2027-04-30T00:00:00Z",
                )
            ],
        ),
        "break-glass": (
            [],
            [
                certificate(
                    "b7000000-0000-4000-8000-0000000000c7",
                    "CN=break-glass",
                    "2026-09-01T00:00:00Z",
                    "2027-03-01T00:00:00Z",
                )
            ],
        ),
    }
    out = []
    for name, (pw, keys) in creds.items():
        _, app_id, _ = SP[name]
        out.append(
            {
                "appId": app_id,
                "createdDateTime": "2023-03-01T09:00:00Z"
                if name == "legacy-sync"
                else "2024-05-14T16:30:00Z",
                "displayName": name,
                "id": APP_OBJECT[name],
                "keyCredentials": keys,
                "passwordCredentials": pw,
                "publisherDomain": "contoso.example",
                "signInAudience": "AzureADMyOrg",
            }
        )
    return out


def sign_ins() -> dict[str, Any]:
    last = {
        "invoice-agent": ("2026-11-27T06:00:00Z", "2026-11-27T06:00:00Z"),
        "deploy-pipeline": ("2026-11-26T18:20:00Z", "2026-11-26T18:20:00Z"),
        "orders-processor": ("2026-11-27T23:59:00Z", None),
        "reporting-agent": ("2026-11-25T03:00:00Z", None),
        "legacy-sync": ("2026-03-02T04:00:00Z", "2026-03-02T04:00:00Z"),
        "ops-automation": ("2026-11-20T12:00:00Z", "2026-11-20T12:00:00Z"),
        "break-glass": ("2026-11-27T22:11:00Z", "2026-11-27T22:11:00Z"),
    }
    rows = []
    for name, (client, credential) in last.items():
        oid, app_id, _ = SP[name]

        def act(ts: str | None, oid: str = oid) -> dict[str, Any]:
            return {
                "lastSignInDateTime": ts,
                "lastSignInRequestId": None if ts is None else f"req-{oid[:8]}",
            }

        rows.append(
            {
                "appId": app_id,
                "id": f"{app_id}-activity",
                "lastSignInActivity": act(client),
                "applicationAuthenticationClientSignInActivity": act(credential or client),
                "applicationAuthenticationResourceSignInActivity": act(None),
                "delegatedClientSignInActivity": act(None),
                "delegatedResourceSignInActivity": act(None),
            }
        )
    return {
        "@odata.context": "https://graph.microsoft.com/beta/$metadata#reports/servicePrincipalSignInActivities",
        "value": rows,
    }


def event(name: str, op: str, ts: str, scope: str, by_app_id: bool = False) -> dict[str, Any]:
    oid, app_id, _ = SP[name]
    sub = scope.split("/")[2]
    return {
        "authorization": {"action": op, "scope": scope},
        "caller": app_id if by_app_id else oid,
        "category": {"localizedValue": "Administrative", "value": "Administrative"},
        "claims": {
            "appid": app_id,
            "http://schemas.microsoft.com/identity/claims/objectidentifier": oid,
            "idtyp": "app",
        },
        "correlationId": f"{oid[:8]}-{ts[:10]}",
        "eventTimestamp": ts,
        "level": "Informational",
        "operationName": {"localizedValue": op, "value": op},
        "resourceGroupName": scope.split("/")[4] if "/resourceGroups/" in scope else None,
        "resourceId": scope,
        "status": {"localizedValue": "Succeeded", "value": "Succeeded"},
        "subscriptionId": sub,
    }


def activity_log() -> list[dict[str, Any]]:
    web = f"{rg(PROD, 'rg-web')}/providers/Microsoft.Web/sites/storefront"
    orders = f"{rg(PROD, 'rg-orders')}/providers/Microsoft.Storage/storageAccounts/stordersprod"
    blobs = f"{rg(PROD, 'rg-invoices')}/providers/Microsoft.Storage/storageAccounts/stinvoicesprod"
    return [
        event(
            "invoice-agent",
            "Microsoft.Storage/storageAccounts/blobServices/generateUserDelegationKey/action",
            "2026-11-27T06:00:12.0000000Z",
            f"{blobs}/blobServices/default",
        ),
        event(
            "deploy-pipeline",
            "Microsoft.Resources/deployments/write",
            "2026-11-26T18:21:03.5510000Z",
            f"{rg(PROD, 'rg-web')}/providers/Microsoft.Resources/deployments/storefront-4711",
            True,
        ),
        event(
            "deploy-pipeline",
            "Microsoft.Web/sites/write",
            "2026-11-26T18:22:40.1000000Z",
            web,
            True,
        ),
        event(
            "deploy-pipeline",
            "Microsoft.Web/sites/config/write",
            "2026-11-26T18:23:05.0000000Z",
            f"{web}/config/appsettings",
        ),
        event(
            "deploy-pipeline",
            "Microsoft.Web/sites/restart/action",
            "2026-10-02T07:00:00.0000000Z",
            web,
        ),
        event(
            "orders-processor",
            "Microsoft.Storage/storageAccounts/queueServices/queues/write",
            "2026-11-02T11:00:00.0000000Z",
            f"{orders}/queueServices/default/queues/orders",
        ),
        event(
            "orders-processor",
            "Microsoft.Web/sites/write",
            "2026-11-20T09:30:00.0000000Z",
            f"{rg(PROD, 'rg-orders')}/providers/Microsoft.Web/sites/orders-api",
        ),
        event(
            "reporting-agent",
            "Microsoft.Insights/diagnosticSettings/write",
            "2026-11-10T02:00:00.0000000Z",
            f"{rg(DEV, 'rg-reporting')}/providers/Microsoft.Insights/diagnosticSettings/to-law",
        ),
        event(
            "ops-automation",
            "Microsoft.Authorization/locks/write",
            "2026-11-20T12:01:00.0000000Z",
            f"{rg(DEV, 'rg-core')}/providers/Microsoft.Authorization/locks/no-delete",
        ),
        event(
            "ops-automation",
            "Microsoft.Authorization/roleAssignments/write",
            "2026-09-15T12:00:00.0000000Z",
            f"{rg(DEV, 'rg-core')}/providers/Microsoft.Authorization/roleAssignments/"
            "00000014-cccc-4000-8000-000000000014",
        ),
    ]


def pim_instances() -> dict[str, Any]:
    oid, _, _ = SP["break-glass"]
    scope = f"/subscriptions/{PROD}"
    return {
        "value": [
            {
                "id": f"{scope}/providers/Microsoft.Authorization/"
                "roleAssignmentScheduleInstances/4b2f0d1c-eeee-4000-8000-000000000001",
                "name": "4b2f0d1c-eeee-4000-8000-000000000001",
                "type": "Microsoft.Authorization/roleAssignmentScheduleInstances",
                "properties": {
                    "assignmentType": "Activated",
                    "endDateTime": "2026-11-28T06:10:00Z",
                    "memberType": "Direct",
                    "principalId": oid,
                    "principalType": "ServicePrincipal",
                    "roleAssignmentOriginId": "00000011-cccc-4000-8000-000000000011",
                    "roleDefinitionId": f"{scope}/providers/Microsoft.Authorization/"
                    f"roleDefinitions/{ROLES['Owner']}",
                    "scope": scope,
                    "startDateTime": "2026-11-27T22:10:00Z",
                    "status": "Provisioned",
                },
            }
        ]
    }


def write(path: Path, data: Any) -> None:
    path.parent.mkdir(parents=True, exist_ok=True)
    path.write_text(json.dumps(data, indent=2) + "\n", encoding="utf-8")


def main() -> None:
    write(OUT / "role-assignments.json", current_assignments())
    write(OUT / "role-definitions.json", custom_roles())
    write(OUT / "service-principals.json", service_principals())
    write(OUT / "applications.json", applications())
    write(OUT / "sign-ins.json", sign_ins())
    write(OUT / "activity-log.json", activity_log())
    write(OUT / "pim-instances.json", pim_instances())
    write(OUT / "baseline/role-assignments.json", baseline_assignments())
    write(OUT / "baseline/role-definitions.json", custom_roles())
    write(OUT / "baseline/service-principals.json", service_principals())
    print(f"wrote {OUT}")


if __name__ == "__main__":
    main()
