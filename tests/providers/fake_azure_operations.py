"""Azure's operation list as the loopback ARM serves it, in pages.

ARM ``GET /providers/Microsoft.Authorization/providerOperations?$expand=resourceTypes``
(``ProviderOperationsMetadata``, azure-rest-api-specs 2022-04-01): two pages, with operations
the built-in roles never name (``virtualMachines/capture/action``, ``images/write``, ...) and
fields ARM may leave out (``origin``, ``properties``) that az prints as null.
"""

from __future__ import annotations

from typing import Any


def _op(name: str, display: str, data: bool = False, **extra: Any) -> dict[str, Any]:
    op: dict[str, Any] = {
        "name": name,
        "displayName": display,
        "description": f"{display}.",
        "isDataAction": data,
    }
    op.update(extra)
    return op


def _vm(verb: str, display: str) -> dict[str, Any]:
    return _op(
        f"Microsoft.Compute/virtualMachines/{verb}",
        display,
        origin="user,system",
        properties=None,
    )


COMPUTE = {
    "id": "/providers/Microsoft.Authorization/providerOperations/Microsoft.Compute",
    "name": "Microsoft.Compute",
    "type": "Microsoft.Authorization/providerOperations",
    "displayName": "Microsoft Compute",
    "operations": [
        _op("Microsoft.Compute/register/action", "Register Subscription for Compute"),
        _op("Microsoft.Compute/operations/read", "List Available Compute Operations"),
    ],
    "resourceTypes": [
        {
            "name": "virtualMachines",
            "displayName": "Virtual Machines",
            "operations": [
                _vm("read", "Get Virtual Machine"),
                _vm("write", "Create or Update Virtual Machine"),
                _vm("delete", "Delete Virtual Machine"),
                _vm("start/action", "Start Virtual Machine"),
                _vm("capture/action", "Capture Virtual Machine"),
                _vm("redeploy/action", "Redeploy Virtual Machine"),
                _vm("generalize/action", "Generalize Virtual Machine"),
                _vm("reapply/action", "Reapply a virtual machine's current model"),
            ],
        },
        {
            "name": "images",
            "displayName": "Images",
            "operations": [
                _op("Microsoft.Compute/images/read", "Get Image"),
                _op("Microsoft.Compute/images/write", "Create or Update Image"),
                _op("Microsoft.Compute/images/delete", "Delete Image"),
            ],
        },
        {
            "name": "virtualMachines/login",
            "displayName": "Virtual machine login",
            "operations": [
                _op(
                    "Microsoft.Compute/virtualMachines/login/action",
                    "Log in to Virtual Machine",
                    data=True,
                ),
            ],
        },
    ],
}
STORAGE = {
    "id": "/providers/Microsoft.Authorization/providerOperations/Microsoft.Storage",
    "name": "Microsoft.Storage",
    "type": "Microsoft.Authorization/providerOperations",
    "displayName": "Microsoft Storage",
    "operations": [],
    "resourceTypes": [
        {
            "name": "storageAccounts/blobServices/containers/blobs",
            "displayName": "Blob",
            "operations": [
                _op(
                    "Microsoft.Storage/storageAccounts/blobServices/containers/blobs/read",
                    "Read Blob",
                    data=True,
                ),
                _op(
                    "Microsoft.Storage/storageAccounts/blobServices/containers/blobs/"
                    "immutableStorage/runAsSuperUser/action",
                    "Run as super user on immutable storage",
                    data=True,
                ),
            ],
        }
    ],
}
AUTHORIZATION = {
    "id": "/providers/Microsoft.Authorization/providerOperations/Microsoft.Authorization",
    "name": "Microsoft.Authorization",
    "type": "Microsoft.Authorization/providerOperations",
    "displayName": "Microsoft.Authorization",
    "resourceTypes": [
        {
            "name": "roleAssignments",
            "displayName": "Role assignments",
            "operations": [
                _op("Microsoft.Authorization/roleAssignments/read", "Get role assignment"),
                _op("Microsoft.Authorization/roleAssignments/write", "Create role assignment"),
            ],
        }
    ],
}
PROVIDER_OPERATION_PAGES: list[list[Any]] = [[COMPUTE, STORAGE], [AUTHORIZATION]]
# Concrete operations of the pages that no built-in role names (the shipped catalog lacks them).
NEW_COMPUTE_OPERATIONS = (
    "Microsoft.Compute/virtualMachines/capture/action",
    "Microsoft.Compute/virtualMachines/redeploy/action",
    "Microsoft.Compute/virtualMachines/generalize/action",
    "Microsoft.Compute/virtualMachines/reapply/action",
    "Microsoft.Compute/images/write",
    "Microsoft.Compute/images/delete",
)
