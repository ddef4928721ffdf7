"""Google's endpoints on loopback, answering in the documented REST shapes.

- ``POST /token``: the OAuth 2.0 token endpoint of a service-account key file (``token_uri``),
  JWT-bearer grant (RFC 7523). The assertion's RS256 signature is checked with the test
  service account's public key, and its ``iss``, ``aud``, ``scope``, ``iat``/``exp`` and ``kid``.
- ``POST /v1/projects/-/serviceAccounts/E:generateAccessToken`` (iamcredentials): impersonation.
- Resource Manager, IAM, Recommender and Policy Analyzer calls the collector makes, each only
  with a token this server issued; list calls in several pages (``nextPageToken``).

``faults`` queues error replies per route (e.g. a 429 with ``Retry-After``): the next request
to that route gets the first one.
"""

from __future__ import annotations

import json
import re
import secrets
import threading
import time
from collections.abc import Iterator
from contextlib import contextmanager
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import jwt
from cryptography.hazmat.primitives import serialization
from cryptography.hazmat.primitives.asymmetric import rsa

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
from tests.providers.support import pem_body_lines
from tests.providers.tlsca import LoopbackCA

PROJECT = "agents-prod"
NUMBER = "123456789012"
FOLDER = "111222333444"
ORG = "999888777666"
GOOGLE_TOKEN_AUDIENCE = "https://oauth2.googleapis.com/token"
CLOUD_PLATFORM = "https://www.googleapis.com/auth/cloud-platform"
IAM_SCOPE = "https://www.googleapis.com/auth/iam"
COLLECTOR_SA = f"nhictl-collector@{PROJECT}.iam.gserviceaccount.com"
AUDIT_SA = f"nhictl-audit@{PROJECT}.iam.gserviceaccount.com"
AGENT_A = f"agent-a@{PROJECT}.iam.gserviceaccount.com"
AGENT_B = f"agent-b@{PROJECT}.iam.gserviceaccount.com"
COMPUTE = f"{NUMBER}-compute@developer.gserviceaccount.com"


def _account(email: str, uid: str, name: str, disabled: bool = False) -> dict[str, Any]:
    out: dict[str, Any] = {
        "name": f"projects/{PROJECT}/serviceAccounts/{email}",
        "projectId": PROJECT,
        "uniqueId": uid,
        "email": email,
        "displayName": name,
        "etag": "MDEwMjE5MjA=",
        "oauth2ClientId": uid,
    }
    if disabled:
        out["disabled"] = True
    return out


PROJECT_V1 = {
    "projectNumber": NUMBER,
    "projectId": PROJECT,
    "lifecycleState": "ACTIVE",
    "name": "Agents (prod)",
    "labels": {"env": "prod"},
    "createTime": "2024-03-01T09:00:00.000Z",
    "parent": {"type": "folder", "id": FOLDER},
}
PROJECT_POLICY = {
    "version": 3,
    "etag": "BwYz1aBcDeF=",
    "bindings": [
        {"role": "roles/editor", "members": [f"serviceAccount:{COMPUTE}"]},
        {
            "role": "roles/storage.objectViewer",
            "members": [f"serviceAccount:{AGENT_A}", "user:ops@example.com"],
            "condition": {
                "title": "expires",
                "expression": "request.time < timestamp('2027-01-01T00:00:00Z')",
            },
        },
        {
            "role": f"projects/{PROJECT}/roles/agentDeployer",
            "members": [f"serviceAccount:{AGENT_B}"],
        },
    ],
}
ANCESTRY = {
    "ancestor": [
        {"resourceId": {"type": "project", "id": PROJECT}},
        {"resourceId": {"type": "folder", "id": FOLDER}},
        {"resourceId": {"type": "organization", "id": ORG}},
    ]
}
FOLDER_POLICY = {
    "version": 1,
    "etag": "BwYfolder=",
    "bindings": [{"role": "roles/viewer", "members": [f"serviceAccount:{AGENT_B}"]}],
}
ORG_POLICY = {
    "version": 1,
    "etag": "BwYorg=",
    "bindings": [
        {"role": f"organizations/{ORG}/roles/auditReader", "members": ["group:sec@example.com"]}
    ],
}
ACCOUNTS_PAGES = [
    [_account(AGENT_A, "101", "agent a"), _account(COMPUTE, "102", "Compute Engine default")],
    [_account(AGENT_B, "103", "agent b", disabled=True)],
]
KEYS = {
    AGENT_A: [
        {
            "name": f"projects/{PROJECT}/serviceAccounts/{AGENT_A}/keys/0a1b2c3d4e5f",
            "validAfterTime": "2025-01-10T08:00:00Z",
            "validBeforeTime": "9999-12-31T23:59:59Z",
            "keyAlgorithm": "KEY_ALG_RSA_2048",
            "keyOrigin": "GOOGLE_PROVIDED",
            "keyType": "USER_MANAGED",
        }
    ],
}
SA_POLICIES = {
    AGENT_A: {
        "version": 1,
        "etag": "BwYsa=",
        "bindings": [
            {
                "role": "roles/iam.serviceAccountTokenCreator",
                "members": [f"serviceAccount:{AGENT_B}"],
            }
        ],
    },
}
EMPTY_POLICY = {"etag": "ACAB"}
PROJECT_ROLES_PAGES = [
    [
        {
            "name": f"projects/{PROJECT}/roles/agentDeployer",
            "title": "Agent deployer",
            "description": "deploys agents",
            "includedPermissions": ["run.services.create", "iam.serviceAccounts.actAs"],
            "stage": "GA",
            "etag": "BwYrole1=",
        }
    ],
    [
        {
            "name": f"projects/{PROJECT}/roles/reader",
            "title": "Reader",
            "includedPermissions": ["storage.objects.get"],
            "stage": "BETA",
            "etag": "BwYrole2=",
        }
    ],
]
ORG_ROLES = [
    {
        "name": f"organizations/{ORG}/roles/auditReader",
        "title": "Audit reader",
        "includedPermissions": ["logging.logEntries.list"],
        "stage": "GA",
        "etag": "BwYrole3=",
    }
]
POLICY_INSIGHTS = [
    {
        "name": f"projects/{NUMBER}/locations/global/insightTypes/google.iam.policy.Insight"
        "/insights/ins-1",
        "description": "1 of the permissions in this role binding were used in the past 90 days.",
        "content": {
            "role": "roles/storage.objectViewer",
            "member": f"serviceAccount:{AGENT_A}",
            "condition": {"expression": "", "title": "", "description": "", "location": ""},
            "exercisedPermissions": [{"permission": "storage.objects.get"}],
            "inferredPermissions": [],
            "currentTotalPermissionsCount": "2",
        },
        "lastRefreshTime": "2026-11-20T08:00:00Z",
        "observationPeriod": "7776000s",
        "stateInfo": {"state": "ACTIVE"},
        "category": "SECURITY",
        "targetResources": [f"//cloudresourcemanager.googleapis.com/projects/{NUMBER}"],
        "insightSubtype": "PERMISSIONS_USAGE",
        "etag": '"a1b2"',
        "severity": "LOW",
    }
]


def _activity(kind: str, name: str, when: str) -> dict[str, Any]:
    field_name = (
        "serviceAccount" if kind == "serviceAccountLastAuthentication" else ("serviceAccountKey")
    )
    return {
        "activityType": kind,
        "fullResourceName": name,
        "observationPeriod": {
            "startTime": "2026-08-20T00:00:00Z",
            "endTime": "2026-11-20T00:00:00Z",
        },
        "activity": {
            "lastAuthenticatedTime": when,
            field_name: {"fullResourceName": name, "projectNumber": NUMBER},
        },
    }


ACTIVITY_PAGES = [
    [
        _activity(
            "serviceAccountLastAuthentication",
            f"//iam.googleapis.com/projects/{PROJECT}/serviceAccounts/{AGENT_A}",
            "2026-11-19T07:00:00Z",
        )
    ],
    [
        _activity(
            "serviceAccountLastAuthentication",
            f"//iam.googleapis.com/projects/{PROJECT}/serviceAccounts/{COMPUTE}",
            "2026-06-01T07:00:00Z",
        )
    ],
]
KEY_ACTIVITY = [
    _activity(
        "serviceAccountKeyLastAuthentication",
        f"//iam.googleapis.com/projects/{PROJECT}/serviceAccounts/{AGENT_A}/keys/0a1b2c3d4e5f",
        "2026-02-01T07:00:00Z",
    )
]


def flat(pages: list[list[Any]]) -> list[Any]:
    return [item for page in pages for item in page]


def google_error(status: int, code: str, message: str) -> Reply:
    return Reply(status, {"error": {"code": status, "message": message, "status": code}})


@dataclass
class ServiceAccountKey:
    """A service account's key pair, and its key file as IAM hands it out."""

    email: str
    key_id: str = field(default_factory=lambda: secrets.token_hex(20))
    private: rsa.RSAPrivateKey = field(
        default_factory=lambda: rsa.generate_private_key(public_exponent=65537, key_size=2048)
    )

    @property
    def private_pem(self) -> str:
        return self.private.private_bytes(
            serialization.Encoding.PEM,
            serialization.PrivateFormat.PKCS8,
            serialization.NoEncryption(),
        ).decode()

    def key_file(self, folder: Path, token_uri: str) -> Path:
        info = {
            "type": "service_account",
            "project_id": PROJECT,
            "private_key_id": self.key_id,
            "private_key": self.private_pem,
            "client_email": self.email,
            "client_id": "104242424242424242424",
            "auth_uri": "https://accounts.google.com/o/oauth2/auth",
            "token_uri": token_uri,
        }
        path = folder / "sa-key.json"
        path.write_text(json.dumps(info))
        return path


class FakeGoogle:
    """The handler for a `LoopbackServer`; ``base`` must be set once it listens (`serve` does)."""

    def __init__(self, key: ServiceAccountKey) -> None:
        self.key = key
        self.base = ""
        self.issued: dict[str, str] = {}  # access token -> how it was issued
        self.api_tokens: set[str] = set()  # tokens the APIs accept
        self.impersonation_grants: dict[str, str] = {}  # source token -> target SA
        self.assertions: list[str] = []
        self.faults = Faults()
        self.forbidden: set[str] = set()  # routes that answer 403
        self._lock = threading.Lock()
        self.accept_source_token = True  # False when only impersonated tokens may call APIs
        p = re.escape(PROJECT)
        sa = r"(?P<email>[^/:]+)"
        self.routes: list[Route] = [
            route("POST", r"^/token$", "token", self.token),
            route(
                "POST",
                rf"^/v1/projects/-/serviceAccounts/{sa}:generateAccessToken$",
                "generateAccessToken",
                self.generate_access_token,
            ),
            route("GET", rf"^/v1/projects/{p}$", "projects.get", self.static(PROJECT_V1)),
            route(
                "POST",
                rf"^/v3/projects/{p}:getIamPolicy$",
                "projects.getIamPolicy",
                self.policy(PROJECT_POLICY, body_version=True),
            ),
            route(
                "POST",
                rf"^/v1/projects/{p}:getAncestry$",
                "projects.getAncestry",
                self.static(ANCESTRY),
            ),
            route(
                "POST",
                rf"^/v3/folders/{FOLDER}:getIamPolicy$",
                "folders.getIamPolicy",
                self.policy(FOLDER_POLICY, body_version=True),
            ),
            route(
                "POST",
                rf"^/v3/organizations/{ORG}:getIamPolicy$",
                "organizations.getIamPolicy",
                self.policy(ORG_POLICY, body_version=True),
            ),
            route(
                "GET",
                rf"^/v1/projects/{p}/serviceAccounts$",
                "serviceAccounts.list",
                self.pages(ACCOUNTS_PAGES, "accounts", {"pageSize": "100"}),
            ),
            route("GET", rf"^/v1/projects/{p}/serviceAccounts/{sa}/keys$", "keys.list", self.keys),
            route(
                "POST",
                rf"^/v1/projects/{p}/serviceAccounts/{sa}:getIamPolicy$",
                "serviceAccounts.getIamPolicy",
                self.sa_policy,
            ),
            route(
                "GET",
                rf"^/v1/projects/{p}/roles$",
                "projects.roles.list",
                self.pages(PROJECT_ROLES_PAGES, "roles", {"view": "FULL"}),
            ),
            route(
                "GET",
                rf"^/v1/organizations/{ORG}/roles$",
                "organizations.roles.list",
                self.pages([ORG_ROLES], "roles", {"view": "FULL"}),
            ),
            route(
                "GET",
                rf"^/v1/projects/{p}/locations/global/insightTypes/"
                r"google\.iam\.policy\.Insight/insights$",
                "policy-insights",
                self.pages([POLICY_INSIGHTS], "insights", {}),
            ),
            route(
                "GET",
                rf"^/v1/projects/{p}/locations/global/insightTypes/"
                r"google\.iam\.serviceAccount\.Insight/insights$",
                "sa-insights",
                self.pages([[]], "insights", {}),
            ),
            route(
                "GET",
                rf"^/v1/projects/{p}/locations/global/activityTypes/"
                r"serviceAccountLastAuthentication/activities:query$",
                "sa-activity",
                self.pages(ACTIVITY_PAGES, "activities", {"pageSize": "1000"}),
            ),
            route(
                "GET",
                rf"^/v1/projects/{p}/locations/global/activityTypes/"
                r"serviceAccountKeyLastAuthentication/activities:query$",
                "key-activity",
                self.pages([KEY_ACTIVITY], "activities", {"pageSize": "1000"}),
            ),
        ]

    # -- dispatch ---------------------------------------------------------------------------

    def __call__(self, req: Request) -> Reply:
        found = find_route(self.routes, req)
        if found is None:
            return google_error(404, "NOT_FOUND", f"no route for {req.method} {req.path}")
        hit, m = found
        name = hit.name
        if name not in ("token", "generateAccessToken"):
            denied = self.check_token(req)
            if denied:
                return denied
        key = name if req.arg("pageToken") is None else f"{name}#{req.arg('pageToken')}"
        fault = self.faults.take(key)
        if fault is not None:
            return fault
        if name in self.forbidden:
            return google_error(403, "PERMISSION_DENIED", f"Permission denied on {name}")
        return hit.handler(req, m)

    def check_token(self, req: Request) -> Reply | None:
        token = req.bearer
        if token is None or token not in self.api_tokens:
            return google_error(401, "UNAUTHENTICATED", "Request had invalid credentials.")
        return None

    # -- OAuth ------------------------------------------------------------------------------

    def token(self, req: Request, _m: re.Match[str]) -> Reply:
        form = req.form()
        if form.get("grant_type") != "urn:ietf:params:oauth:grant-type:jwt-bearer":
            return Reply(400, {"error": "unsupported_grant_type"})
        assertion = form.get("assertion", "")
        self.assertions.append(assertion)
        public = self.key.private.public_key()
        try:
            header = jwt.get_unverified_header(assertion)
            claims = jwt.decode(
                assertion,
                public,
                algorithms=["RS256"],
                # google-auth always names Google's token URI as the audience, wherever the
                # key file's token_uri points; Google checks exactly that value.
                audience=GOOGLE_TOKEN_AUDIENCE,
                issuer=self.key.email,
                options={"require": ["iat", "exp", "iss", "aud"]},
            )
        except jwt.PyJWTError as exc:
            return Reply(400, {"error": "invalid_grant", "error_description": str(exc)})
        if header.get("kid") != self.key.key_id:
            return Reply(400, {"error": "invalid_grant", "error_description": "unknown kid"})
        scopes = str(claims.get("scope", "")).split()
        # impersonated_credentials re-scopes a service-account source to the iam scope
        if CLOUD_PLATFORM not in scopes and IAM_SCOPE not in scopes:
            return Reply(400, {"error": "invalid_scope"})
        if not 0 < claims["exp"] - claims["iat"] <= 3600:
            return Reply(400, {"error": "invalid_grant", "error_description": "lifetime"})
        access = "ya29.src-" + secrets.token_urlsafe(24)
        with self._lock:
            self.issued[access] = "jwt-bearer"
            if self.accept_source_token and CLOUD_PLATFORM in scopes:
                self.api_tokens.add(access)
        return Reply(200, {"access_token": access, "expires_in": 3599, "token_type": "Bearer"})

    def generate_access_token(self, req: Request, m: re.Match[str]) -> Reply:
        source = req.bearer
        if source is None or self.issued.get(source) != "jwt-bearer":
            return google_error(401, "UNAUTHENTICATED", "Request had invalid credentials.")
        target = m.group("email")
        body = req.json()
        if CLOUD_PLATFORM not in body.get("scope", []) or body.get("lifetime") != "3600s":
            return google_error(400, "INVALID_ARGUMENT", "scope or lifetime")
        if target != AUDIT_SA:
            return google_error(403, "PERMISSION_DENIED", "iam.serviceAccounts.getAccessToken")
        access = "ya29.imp-" + secrets.token_urlsafe(24)
        expire = time.strftime("%Y-%m-%dT%H:%M:%SZ", time.gmtime(time.time() + 3600))
        with self._lock:
            self.issued[access] = f"impersonated:{target}"
            self.api_tokens.add(access)
            self.impersonation_grants[source] = target
        return Reply(200, {"accessToken": access, "expireTime": expire})

    # -- resources --------------------------------------------------------------------------

    @staticmethod
    def static(data: Any) -> RouteHandler:
        return lambda _req, _m: Reply(200, data)

    @staticmethod
    def policy(data: Any, body_version: bool) -> RouteHandler:
        def answer(req: Request, _m: re.Match[str]) -> Reply:
            if body_version and req.json() != {"options": {"requestedPolicyVersion": 3}}:
                return google_error(400, "INVALID_ARGUMENT", "expected requestedPolicyVersion 3")
            return Reply(200, data)

        return answer

    @staticmethod
    def pages(pages: list[list[Any]], key: str, expect: dict[str, str]) -> RouteHandler:
        def answer(req: Request, _m: re.Match[str]) -> Reply:
            for name, value in expect.items():
                if req.arg(name) != value:
                    return google_error(400, "INVALID_ARGUMENT", f"expected {name}={value}")
            token = req.arg("pageToken")
            index = 0 if token is None else int(token.removeprefix("page-"))
            body: dict[str, Any] = {key: pages[index]} if pages[index] else {}
            if index + 1 < len(pages):
                body["nextPageToken"] = f"page-{index + 1}"
            return Reply(200, body)

        return answer

    def keys(self, req: Request, m: re.Match[str]) -> Reply:
        if req.arg("keyTypes") != "USER_MANAGED":
            return google_error(400, "INVALID_ARGUMENT", "expected keyTypes=USER_MANAGED")
        found = KEYS.get(m.group("email"))
        return Reply(200, {"keys": found} if found else {})

    def sa_policy(self, req: Request, m: re.Match[str]) -> Reply:
        if req.arg("options.requestedPolicyVersion") != "3":
            return google_error(400, "INVALID_ARGUMENT", "expected requestedPolicyVersion 3")
        return Reply(200, SA_POLICIES.get(m.group("email"), EMPTY_POLICY))


@dataclass
class GoogleSite(Site[FakeGoogle]):
    key_file: Path  # the collector's service-account key file; its token_uri is the fake

    def api_calls(self) -> list[Request]:
        return [r for r in self.server.requests if r.path != "/token"]

    def secrets(self) -> list[str]:
        fake = self.fake
        return [*fake.issued, *fake.assertions, *pem_body_lines(fake.key.private_pem)]


@contextmanager
def google_site(ca: LoopbackCA, key_folder: Path) -> Iterator[GoogleSite]:
    """Google on loopback, and a key file for ``COLLECTOR_SA`` written to ``key_folder``."""
    key = ServiceAccountKey(COLLECTOR_SA)
    fake = FakeGoogle(key)
    with serve(ca, fake) as server:
        yield GoogleSite(fake, server, key.key_file(key_folder, f"{server.base}/token"))
