"""Microsoft Entra ID, ARM and Microsoft Graph on loopback, answering in the documented shapes.

- ``GET /{tenant}/v2.0/.well-known/openid-configuration``: the tenant's OIDC metadata, which
  MSAL (inside azure-identity) reads before it asks for a token;
- ``POST /{tenant}/oauth2/v2.0/token``: the client-credentials grant with a client secret, a
  certificate assertion (signature checked with the certificate's key) or a federated token
  (workload identity); tokens are bound to the scope asked for;
- ARM under ``/arm`` and Graph under ``/graph``: each accepts only tokens for its own scope;
  lists come in pages (ARM ``nextLink``, Graph ``@odata.nextLink``, absolute URLs).

``faults`` queues error replies per route; ``forbidden`` routes answer 403.
"""

from __future__ import annotations

import re
import secrets
import threading
from collections.abc import Iterator
from contextlib import contextmanager
from dataclasses import dataclass
from typing import TYPE_CHECKING, Any
from urllib.parse import quote, urlencode

import jwt
from cryptography.hazmat.primitives import serialization
from cryptography.x509 import Certificate

from tests.providers.fake_azure_operations import PROVIDER_OPERATION_PAGES
from tests.providers.loopback import (
    Faults,
    Reply,
    Request,
    Route,
    RouteHandler,
    Site,
    find_route,
    route,
    serve,
)
from tests.providers.tlsca import LoopbackCA

if TYPE_CHECKING:
    import pytest

TENANT = "7f3c2b1a-5d4e-4f60-8a7b-9c0d1e2f3a4b"
CLIENT_ID = "c0ffee00-1111-4222-8333-444455556666"
S1 = "0b1f6471-1bf0-4dda-aec3-cb9272f09590"
S2 = "5c0e1a2b-3c4d-4e5f-8a9b-0c1d2e3f4a5b"
OWNER = "8e3af657-a8ff-443c-a75c-2fe8c4bcb635"
READER = "acdd72a7-3385-48ef-bd42-f606fba81ae7"
DEPLOYER = "4d6f1e2a-9b8c-4a7d-8e6f-5a4b3c2d1e0f"
SP_AGENT = "9a8b7c6d-0001-4e5f-8a9b-000000000001"
SP_MI = "9a8b7c6d-0002-4e5f-8a9b-000000000002"
USER = "9a8b7c6d-0003-4e5f-8a9b-000000000003"
GROUP = "9a8b7c6d-0004-4e5f-8a9b-000000000004"
AGENT_APP_ID = "aaaa1111-2222-4333-8444-555566667777"
MI_APP_ID = "bbbb1111-2222-4333-8444-555566667777"
MG = "/providers/Microsoft.Management/managementGroups/contoso-root"
RG = f"/subscriptions/{S1}/resourceGroups/agents"
MI_ID = f"{RG}/providers/Microsoft.ManagedIdentity/userAssignedIdentities/agent-mi"
ASSIGNMENTS = "Microsoft.Authorization/roleAssignments"
DEFINITIONS = "Microsoft.Authorization/roleDefinitions"


def definition_id(sub: str, guid: str) -> str:
    return f"/subscriptions/{sub}/providers/{DEFINITIONS}/{guid}"


def _definition(sub: str, guid: str, name: str, kind: str, actions: list[str]) -> dict[str, Any]:
    return {
        "id": definition_id(sub, guid),
        "name": guid,
        "type": DEFINITIONS,
        "properties": {
            "roleName": name,
            "type": kind,
            "description": f"{name} role",
            "assignableScopes": ["/"] if kind == "BuiltInRole" else [f"/subscriptions/{sub}"],
            "permissions": [
                {"actions": actions, "notActions": [], "dataActions": [], "notDataActions": []}
            ],
            "createdOn": "2015-02-02T21:55:09.8806423Z",
            "updatedOn": "2021-11-11T20:13:47.8628684Z",
            "createdBy": None,
            "updatedBy": None,
        },
    }


def _assignment(
    scope: str, guid: str, role: str, principal: str, ptype: str, created: str
) -> dict[str, Any]:
    return {
        "id": f"{scope}/providers/{ASSIGNMENTS}/{guid}",
        "name": guid,
        "type": ASSIGNMENTS,
        "properties": {
            "roleDefinitionId": role,
            "principalId": principal,
            "principalType": ptype,
            "scope": scope,
            "condition": None,
            "conditionVersion": None,
            "createdOn": created,
            "updatedOn": created,
            "createdBy": "8f7e6d5c-0000-4000-8000-000000000009",
            "updatedBy": "8f7e6d5c-0000-4000-8000-000000000009",
            "delegatedManagedIdentityResourceId": None,
            "description": None,
        },
    }


DEFS_S1 = [
    _definition(S1, OWNER, "Owner", "BuiltInRole", ["*"]),
    _definition(
        S1,
        DEPLOYER,
        "Agent Deployer",
        "CustomRole",
        ["Microsoft.Web/sites/*", "Microsoft.Authorization/roleAssignments/write"],
    ),
]
DEFS_S2 = [_definition(S2, OWNER, "Owner", "BuiltInRole", ["*"])]

A_OWNER = _assignment(
    f"/subscriptions/{S1}",
    "11111111-aaaa-4bbb-8ccc-000000000001",
    definition_id(S1, OWNER),
    SP_AGENT,
    "ServicePrincipal",
    "2024-05-01T10:00:00.1234567Z",
)
A_MG = _assignment(
    MG,
    "11111111-aaaa-4bbb-8ccc-000000000002",
    definition_id(S1, OWNER),
    USER,
    "User",
    "2023-01-12T09:18:11.4808290Z",
)
A_DEPLOYER = _assignment(
    RG,
    "11111111-aaaa-4bbb-8ccc-000000000003",
    definition_id(S1, DEPLOYER),
    SP_MI,
    "ServicePrincipal",
    "2025-07-30T12:00:00Z",
)
A_READER = _assignment(
    f"/subscriptions/{S2}",
    "11111111-aaaa-4bbb-8ccc-000000000004",
    definition_id(S2, READER),
    GROUP,
    "Group",
    "2026-01-02T03:04:05.5000000Z",
)
ASSIGNMENT_PAGES = {S1: [[A_OWNER, A_MG], [A_DEPLOYER]], S2: [[A_MG, A_READER]]}

SERVICE_PRINCIPAL_PAGES = [
    [
        {
            "id": SP_AGENT,
            "appId": AGENT_APP_ID,
            "displayName": "invoice-agent",
            "servicePrincipalType": "Application",
            "servicePrincipalNames": [AGENT_APP_ID, "api://invoice-agent"],
            "accountEnabled": True,
            "appOwnerOrganizationId": TENANT,
            "passwordCredentials": [
                {
                    "keyId": "5e5e5e5e-0000-4000-8000-000000000001",
                    "displayName": "sp-secret",
                    "hint": "Xy7",
                    "startDateTime": "2024-05-01T10:00:00Z",
                    "endDateTime": "2299-12-31T10:00:00Z",
                    "customKeyIdentifier": None,
                    "secretText": None,
                }
            ],
            "keyCredentials": [],
            "tags": ["agent"],
        }
    ],
    [
        {
            "id": SP_MI,
            "appId": MI_APP_ID,
            "displayName": "agent-mi",
            "servicePrincipalType": "ManagedIdentity",
            "servicePrincipalNames": [MI_APP_ID, MI_ID],
            "alternativeNames": ["isExplicit=True", MI_ID],
            "accountEnabled": True,
            "passwordCredentials": [],
            "keyCredentials": [],
            "tags": [],
        }
    ],
]
APPLICATIONS = [
    {
        "id": "6f6f6f6f-0000-4000-8000-000000000001",
        "appId": AGENT_APP_ID,
        "displayName": "invoice-agent",
        "signInAudience": "AzureADMyOrg",
        "passwordCredentials": [
            {
                "keyId": "7a7a7a7a-0000-4000-8000-000000000001",
                "displayName": "ci",
                "hint": "q9~",
                "startDateTime": "2024-01-01T00:00:00Z",
                "endDateTime": "2026-01-01T00:00:00Z",
                "customKeyIdentifier": None,
                "secretText": None,
            }
        ],
        "keyCredentials": [
            {
                "keyId": "7b7b7b7b-0000-4000-8000-000000000001",
                "type": "AsymmetricX509Cert",
                "usage": "Verify",
                "displayName": "CN=invoice-agent",
                "startDateTime": "2025-01-01T00:00:00Z",
                "endDateTime": "2027-01-01T00:00:00Z",
                "customKeyIdentifier": "A1B2C3",
            }
        ],
    }
]
DIRECTORY_OBJECTS = {
    USER: {
        "@odata.type": "#microsoft.graph.user",
        "id": USER,
        "displayName": "Ops Admin",
        "userPrincipalName": "ops@contoso.example",
    },
    GROUP: {"@odata.type": "#microsoft.graph.group", "id": GROUP, "displayName": "Security team"},
}
PIM_S1 = [
    {
        "id": f"/subscriptions/{S1}/providers/Microsoft.Authorization/"
        "roleAssignmentScheduleInstances/2c2c2c2c-0000-4000-8000-000000000001",
        "name": "2c2c2c2c-0000-4000-8000-000000000001",
        "type": "Microsoft.Authorization/roleAssignmentScheduleInstances",
        "properties": {
            "scope": RG,
            "roleDefinitionId": definition_id(S1, DEPLOYER),
            "principalId": SP_MI,
            "principalType": "ServicePrincipal",
            "roleAssignmentScheduleId": "3d3d3d3d-0000-4000-8000-000000000001",
            "originRoleAssignmentId": A_DEPLOYER["id"],
            "status": "Provisioned",
            "startDateTime": "2025-07-30T12:00:00Z",
            "endDateTime": "2026-01-30T12:00:00Z",
            "assignmentType": "Assigned",
            "memberType": "Direct",
            "createdOn": "2025-07-30T12:00:00Z",
        },
    }
]


def _event(sub: str, n: int, caller: str, operation: str, when: str) -> dict[str, Any]:
    return {
        "authorization": {"action": operation, "scope": f"/subscriptions/{sub}"},
        "caller": caller,
        "claims": {"appid": AGENT_APP_ID, "idtyp": "app"},
        "correlationId": f"c0c0c0c0-0000-4000-8000-00000000000{n}",
        "eventDataId": f"e0e0e0e0-0000-4000-8000-00000000000{n}",
        "eventName": {"value": "EndRequest", "localizedValue": "End request"},
        "category": {"value": "Administrative", "localizedValue": "Administrative"},
        "eventTimestamp": when,
        "id": f"/subscriptions/{sub}/events/e{n}/ticks/6384",
        "level": "Informational",
        "operationId": f"0a0a0a0a-0000-4000-8000-00000000000{n}",
        "operationName": {"value": operation, "localizedValue": operation},
        "resourceGroupName": "agents",
        "resourceProviderName": {"value": "Microsoft.Web", "localizedValue": "Microsoft.Web"},
        "resourceType": {"value": "Microsoft.Web/sites", "localizedValue": "Microsoft.Web/sites"},
        "resourceId": f"{RG}/providers/Microsoft.Web/sites/invoice",
        "status": {"value": "Succeeded", "localizedValue": "Succeeded"},
        "subStatus": {"value": "", "localizedValue": ""},
        "submissionTimestamp": when,
        "subscriptionId": sub,
        "tenantId": TENANT,
    }


EVENT_PAGES = {
    S1: [
        [_event(S1, 1, SP_AGENT, "Microsoft.Web/sites/write", "2026-11-20T10:00:00.1234567Z")],
        [_event(S1, 2, SP_AGENT, "Microsoft.Web/sites/restart/action", "2026-11-21T11:30:00Z")],
    ],
    S2: [[_event(S2, 3, SP_MI, "Microsoft.Web/sites/write", "2026-10-01T08:00:00.5Z")]],
}


def arm_error(status: int, code: str, message: str) -> Reply:
    return Reply(status, {"error": {"code": code, "message": message}})


def graph_error(status: int, code: str, message: str) -> Reply:
    return Reply(
        status,
        {"error": {"code": code, "message": message, "innerError": {"request-id": "r-1"}}},
    )


class FakeAzure:
    """The handler for a `LoopbackServer`; ``base`` must be set once it listens (`serve` does)."""

    def __init__(self, secret: str) -> None:
        self.secret = secret
        self.certificate: Certificate | None = None
        self.federated_token: str | None = None
        self.base = ""
        self.issued: dict[str, str] = {}  # access token -> scope
        self.grants: list[dict[str, str]] = []  # token request forms (to check what was sent)
        self.faults = Faults()
        self.forbidden: set[str] = set()
        self.next_link_host: str | None = None  # serve a nextLink to another host
        self._lock = threading.Lock()
        prov = r"/arm/subscriptions/(?P<sub>[0-9a-f-]{36})/providers/"
        self.routes: list[Route] = [
            route(
                "GET",
                rf"^/{TENANT}/v2\.0/\.well-known/openid-configuration$",
                "openid",
                self.openid,
            ),
            route("POST", rf"^/{TENANT}/oauth2/v2\.0/token$", "token", self.token),
            route(
                "GET",
                rf"^{prov}Microsoft\.Authorization/roleAssignments$",
                "roleAssignments",
                self.arm_pages(ASSIGNMENT_PAGES, "2022-04-01"),
            ),
            route(
                "GET",
                rf"^{prov}Microsoft\.Authorization/roleDefinitions$",
                "roleDefinitions",
                self.arm_pages({S1: [DEFS_S1], S2: [DEFS_S2]}, "2022-04-01"),
            ),
            route(
                "GET",
                rf"^{prov}Microsoft\.Authorization/roleAssignmentScheduleInstances$",
                "pim",
                self.arm_pages({S1: [PIM_S1], S2: [[]]}, "2020-10-01"),
            ),
            route(
                "GET",
                rf"^{prov}Microsoft\.Insights/eventtypes/management/values$",
                "activity",
                self.activity,
            ),
            route(
                "GET",
                r"^/arm/providers/Microsoft\.Authorization/providerOperations$",
                "providerOperations",
                self.provider_operations,
            ),
            route(
                "GET",
                r"^/graph/v1\.0/servicePrincipals$",
                "servicePrincipals",
                self.graph_pages(SERVICE_PRINCIPAL_PAGES, "v1.0/servicePrincipals"),
            ),
            route(
                "GET",
                r"^/graph/v1\.0/applications$",
                "applications",
                self.graph_pages([APPLICATIONS], "v1.0/applications"),
            ),
            route("POST", r"^/graph/v1\.0/directoryObjects/getByIds$", "getByIds", self.by_ids),
            route(
                "GET",
                r"^/graph/beta/reports/servicePrincipalSignInActivities$",
                "signIns",
                self.graph_pages([[]], "beta/reports/servicePrincipalSignInActivities"),
            ),
        ]

    @property
    def arm_scope(self) -> str:
        return f"{self.base}/arm/.default"

    @property
    def graph_scope(self) -> str:
        return f"{self.base}/graph/.default"

    def __call__(self, req: Request) -> Reply:
        found = find_route(self.routes, req)
        if found is None:
            return arm_error(404, "NotFound", f"no route for {req.method} {req.path}")
        hit, m = found
        name = hit.name
        if name not in ("openid", "token"):
            scope = self.arm_scope if req.path.startswith("/arm/") else self.graph_scope
            if req.bearer is None or self.issued.get(req.bearer) != scope:
                return arm_error(401, "InvalidAuthenticationToken", "The token is invalid.")
        page = req.arg("$skipToken") or req.arg("$skiptoken")
        key = name if page is None else f"{name}#{page}"
        if name in ("roleAssignments", "activity", "pim", "roleDefinitions"):
            key = f"{key}@{m.group('sub')}"
        fault = self.faults.take(key)
        if fault is not None:
            return fault
        if name in self.forbidden:
            if req.path.startswith("/graph/"):
                return graph_error(403, "Authorization_RequestDenied", "Insufficient privileges")
            return arm_error(403, "AuthorizationFailed", f"no authorization for {name}")
        return hit.handler(req, m)

    # -- Entra ID ---------------------------------------------------------------------------

    def openid(self, _req: Request, _m: re.Match[str]) -> Reply:
        root = f"{self.base}/{TENANT}"
        return Reply(
            200,
            {
                "token_endpoint": f"{root}/oauth2/v2.0/token",
                "authorization_endpoint": f"{root}/oauth2/v2.0/authorize",
                "device_authorization_endpoint": f"{root}/oauth2/v2.0/devicecode",
                "issuer": f"{root}/v2.0",
                "jwks_uri": f"{self.base}/{TENANT}/discovery/v2.0/keys",
                "token_endpoint_auth_methods_supported": [
                    "client_secret_post",
                    "private_key_jwt",
                    "client_secret_basic",
                ],
                "response_types_supported": ["code", "id_token", "code id_token"],
            },
        )

    def token(self, req: Request, _m: re.Match[str]) -> Reply:
        form = req.form()
        self.grants.append(form)
        if form.get("grant_type") != "client_credentials" or form.get("client_id") != CLIENT_ID:
            return Reply(400, {"error": "unauthorized_client", "error_description": "AADSTS700016"})
        if not self.client_authenticated(form, f"{self.base}/{TENANT}/oauth2/v2.0/token"):
            return Reply(
                401,
                {
                    "error": "invalid_client",
                    "error_description": "AADSTS7000215: Invalid client secret provided.",
                },
            )
        scope = form.get("scope", "")
        if scope not in (self.arm_scope, self.graph_scope):
            return Reply(400, {"error": "invalid_scope", "error_description": scope})
        access = "eyJ0eXAi.fake-" + secrets.token_urlsafe(24)
        with self._lock:
            self.issued[access] = scope
        return Reply(
            200,
            {
                "token_type": "Bearer",
                "expires_in": 3599,
                "ext_expires_in": 3599,
                "access_token": access,
            },
        )

    def client_authenticated(self, form: dict[str, str], audience: str) -> bool:
        if "client_secret" in form:
            return secrets.compare_digest(form["client_secret"], self.secret)
        assertion = form.get("client_assertion")
        if (
            form.get("client_assertion_type")
            != "urn:ietf:params:oauth:client-assertion-type:jwt-bearer"
        ):
            return False
        if assertion is None:
            return False
        if self.federated_token is not None and assertion == self.federated_token:
            return True
        if self.certificate is not None:
            public = self.certificate.public_key()
            pem = public.public_bytes(
                serialization.Encoding.PEM, serialization.PublicFormat.SubjectPublicKeyInfo
            )
            try:
                claims = jwt.decode(
                    assertion, pem, algorithms=["RS256", "PS256"], audience=audience
                )
            except jwt.PyJWTError:
                return False
            return claims.get("iss") == CLIENT_ID and claims.get("sub") == CLIENT_ID
        return False

    # -- ARM and Graph ----------------------------------------------------------------------

    def arm_pages(self, pages: dict[str, list[list[Any]]], api: str) -> RouteHandler:
        def answer(req: Request, m: re.Match[str]) -> Reply:
            if req.arg("api-version") != api:
                return arm_error(400, "InvalidApiVersionParameter", f"expected {api}")
            return self.page(req, pages[m.group("sub")], "nextLink")

        return answer

    def page(self, req: Request, pages: list[list[Any]], link_key: str) -> Reply:
        token = req.arg("$skipToken") or req.arg("$skiptoken")
        index = 0 if token is None else int(token.removeprefix("p"))
        body: dict[str, Any] = {"value": pages[index]}
        if index + 1 < len(pages):
            host = self.next_link_host or self.base
            kept = {k: v[0] for k, v in req.query.items() if not k.lower().startswith("$skip")}
            param = "$skiptoken" if link_key.startswith("@") else "$skipToken"
            query = urlencode({**kept, param: f"p{index + 1}"}, quote_via=quote)
            body[link_key] = f"{host}{req.path}?{query}"
        return Reply(200, body)

    def activity(self, req: Request, m: re.Match[str]) -> Reply:
        if req.arg("api-version") != "2015-04-01":
            return arm_error(400, "InvalidApiVersionParameter", "expected 2015-04-01")
        window = req.arg("$filter") or ""
        if not re.fullmatch(
            r"eventTimestamp ge '\d{4}-\d\d-\d\dT\d\d:\d\d:\d\dZ' and "
            r"eventTimestamp le '\d{4}-\d\d-\d\dT\d\d:\d\d:\d\dZ'",
            window,
        ):
            return arm_error(400, "BadRequest", f"$filter {window!r}")
        return self.page(req, EVENT_PAGES[m.group("sub")], "nextLink")

    def provider_operations(self, req: Request, _m: re.Match[str]) -> Reply:
        if req.arg("api-version") != "2022-04-01" or req.arg("$expand") != "resourceTypes":
            return arm_error(400, "BadRequest", "expected api-version 2022-04-01, $expand")
        return self.page(req, PROVIDER_OPERATION_PAGES, "nextLink")

    def graph_pages(self, pages: list[list[Any]], path: str) -> RouteHandler:
        def answer(req: Request, _m: re.Match[str]) -> Reply:
            if path.startswith("v1.0/") and req.arg("$top") != "999" and not req.arg("$skiptoken"):
                return graph_error(400, "BadRequest", "expected $top=999")
            reply = self.page(req, pages, "@odata.nextLink")
            reply.body["@odata.context"] = f"{self.base}/graph/{path.split('/')[0]}/$metadata#x"
            return reply

        return answer

    def by_ids(self, req: Request, _m: re.Match[str]) -> Reply:
        ids = req.json().get("ids", [])
        if not isinstance(ids, list) or len(ids) > 1000:
            return graph_error(400, "BadRequest", "ids")
        return Reply(200, {"value": [DIRECTORY_OBJECTS[i] for i in ids if i in DIRECTORY_OBJECTS]})


@dataclass
class AzureSite(Site[FakeAzure]):
    def api_calls(self) -> list[Request]:
        return [r for r in self.server.requests if r.path.startswith(("/arm/", "/graph/"))]

    def secrets(self) -> list[str]:
        return [
            self.fake.secret,
            *self.fake.issued,
            *(g.get("client_assertion", "") for g in self.fake.grants),
        ]

    def endpoints_env(self, monkeypatch: pytest.MonkeyPatch) -> None:
        """Point azure-identity's authority and the collector's ARM and Graph at the fake."""
        monkeypatch.setenv("AZURE_AUTHORITY_HOST", self.base)
        monkeypatch.setenv("NHICTL_AZURE_ARM_URL", f"{self.base}/arm")
        monkeypatch.setenv("NHICTL_AZURE_GRAPH_URL", f"{self.base}/graph")


@contextmanager
def azure_site(ca: LoopbackCA, secret: str) -> Iterator[AzureSite]:
    """Entra ID, ARM and Graph on loopback; ``secret`` is the app's client secret."""
    fake = FakeAzure(secret)
    with serve(ca, fake) as server:
        yield AzureSite(fake, server)
