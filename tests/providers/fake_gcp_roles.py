"""Google's predefined roles as the loopback IAM API serves them, in pages.

IAM ``GET /v1/roles?view=FULL&pageSize=1000`` (``Role`` resources with
``includedPermissions``): two pages; ``roles/storage.objectViewer`` gained a permission the
shipped catalog does not have, the other roles are as shipped.
"""

from __future__ import annotations

from typing import Any

from tests.providers.fake_gcp import FakeGoogle
from tests.providers.loopback import route


def _role(name: str, title: str, perms: list[str], stage: str = "GA") -> dict[str, Any]:
    return {
        "name": name,
        "title": title,
        "description": f"{title} role",
        "includedPermissions": perms,
        "stage": stage,
        "etag": "AA==",
    }


# storage.objectViewer as Google lists it later: one permission newer than the shipped catalog.
NEW_PERMISSION = "storage.objects.getRetention"
PREDEFINED_ROLE_PAGES: list[list[Any]] = [
    [
        _role(
            "roles/storage.objectViewer",
            "Storage Object Viewer",
            [
                "resourcemanager.projects.get",
                "resourcemanager.projects.list",
                "storage.folders.get",
                "storage.folders.list",
                "storage.managedFolders.get",
                "storage.managedFolders.list",
                "storage.objects.get",
                "storage.objects.list",
                NEW_PERMISSION,
            ],
        ),
        _role(
            "roles/browser",
            "Browser",
            [
                "resourcemanager.folders.get",
                "resourcemanager.folders.list",
                "resourcemanager.organizations.get",
                "resourcemanager.projects.get",
                "resourcemanager.projects.getIamPolicy",
                "resourcemanager.projects.list",
            ],
        ),
    ],
    [
        _role(
            "roles/iam.serviceAccountTokenCreator",
            "Service Account Token Creator",
            [
                "iam.serviceAccounts.get",
                "iam.serviceAccounts.getAccessToken",
                "iam.serviceAccounts.getOpenIdToken",
                "iam.serviceAccounts.implicitDelegation",
                "iam.serviceAccounts.list",
                "iam.serviceAccounts.signBlob",
                "iam.serviceAccounts.signJwt",
                "resourcemanager.projects.get",
                "resourcemanager.projects.list",
            ],
        )
    ],
]


def serve_predefined_roles(fake: FakeGoogle) -> None:
    """Add IAM ``roles.list`` (predefined roles, view FULL) to a fake Google."""
    fake.routes.append(
        route(
            "GET",
            r"^/v1/roles$",
            "roles.list",
            fake.pages(PREDEFINED_ROLE_PAGES, "roles", {"view": "FULL", "pageSize": "1000"}),
        )
    )
