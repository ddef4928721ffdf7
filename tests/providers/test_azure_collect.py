"""``collect_azure``: real azure-identity (MSAL) flows against Entra ID, ARM and Graph on loopback.

Client secret, certificate, workload identity federation and DefaultAzureCredential (its
environment credential) all sign in against the loopback authority, with instance discovery
off; ARM and Graph accept only tokens for their own scope. TLS is verified against a test CA.
"""

from __future__ import annotations

import json
from collections.abc import Iterator
from datetime import UTC, datetime, timedelta
from pathlib import Path
from typing import Any

import azure.identity  # noqa: F401  (the test extra installs it: missing must fail, not skip)
import jwt
import pytest
from cryptography import x509
from cryptography.hazmat.primitives import hashes, serialization
from cryptography.hazmat.primitives.asymmetric import rsa
from cryptography.x509.oid import NameOID

from nhictl.core.errors import InputError, ProviderError
from nhictl.providers.azure.audit import AzureAuditInputs, audit_azure
from nhictl.providers.azure.auth import AzureAuth
from nhictl.providers.azure.collect import AzureCollectOptions, collect_azure
from nhictl.providers.rest import RetryPolicy
from tests.providers.fake_azure import (
    A_DEPLOYER,
    A_MG,
    A_OWNER,
    A_READER,
    AGENT_APP_ID,
    APPLICATIONS,
    CLIENT_ID,
    DEFINITIONS,
    DEPLOYER,
    EVENT_PAGES,
    GROUP,
    MI_APP_ID,
    OWNER,
    PIM_S1,
    S1,
    S2,
    SERVICE_PRINCIPAL_PAGES,
    SP_AGENT,
    SP_MI,
    TENANT,
    USER,
    arm_error,
    azure_site,
    definition_id,
    graph_error,
)
from tests.providers.fake_azure import AzureSite as Site
from tests.providers.fake_azure_operations import PROVIDER_OPERATION_PAGES
from tests.providers.loopback import Reply
from tests.providers.support import leaked, leftovers, pem_body_lines, read_tree
from tests.providers.tlsca import LoopbackCA

FAST = RetryPolicy(max_attempts=4, base_delay_s=0.05, max_delay_s=2.0)
SECRET = "Zq8~test-secret-" + "x" * 24
CREATOR = "8f7e6d5c-0000-4000-8000-000000000009"


def az_assignment(
    raw: dict[str, Any], role_name: str | None, principal_name: str, created: str
) -> dict[str, Any]:
    """What `az role assignment list` prints for ``raw`` (values written out by hand)."""
    props = raw["properties"]
    return {
        "condition": None,
        "conditionVersion": None,
        "createdBy": CREATOR,
        "createdOn": created,
        "delegatedManagedIdentityResourceId": None,
        "description": None,
        "id": raw["id"],
        "name": raw["name"],
        "principalId": props["principalId"],
        "principalName": principal_name,
        "principalType": props["principalType"],
        "roleDefinitionId": props["roleDefinitionId"],
        "roleDefinitionName": role_name,
        "scope": props["scope"],
        "type": "Microsoft.Authorization/roleAssignments",
        "updatedBy": CREATOR,
        "updatedOn": created,
    }


ROLE_ASSIGNMENTS = [
    az_assignment(A_OWNER, "Owner", AGENT_APP_ID, "2024-05-01T10:00:00.123456+00:00"),
    az_assignment(A_MG, "Owner", "ops@contoso.example", "2023-01-12T09:18:11.480829+00:00"),
    az_assignment(A_DEPLOYER, "Agent Deployer", MI_APP_ID, "2025-07-30T12:00:00+00:00"),
    az_assignment(A_READER, None, "Security team", "2026-01-02T03:04:05.500000+00:00"),
]


def az_definition(
    guid: str, name: str, kind: str, scopes: list[str], actions: list[str]
) -> dict[str, Any]:
    return {
        "assignableScopes": scopes,
        "createdBy": None,
        "createdOn": "2015-02-02T21:55:09.880642+00:00",
        "description": f"{name} role",
        "id": definition_id(S1, guid),
        "name": guid,
        "permissions": [
            {"actions": actions, "notActions": [], "dataActions": [], "notDataActions": []}
        ],
        "roleName": name,
        "roleType": kind,
        "type": DEFINITIONS,
        "updatedBy": None,
        "updatedOn": "2021-11-11T20:13:47.862868+00:00",
    }


ROLE_DEFINITIONS = [
    az_definition(OWNER, "Owner", "BuiltInRole", ["/"], ["*"]),
    az_definition(
        DEPLOYER,
        "Agent Deployer",
        "CustomRole",
        [f"/subscriptions/{S1}"],
        ["Microsoft.Web/sites/*", "Microsoft.Authorization/roleAssignments/write"],
    ),
]


def _events() -> list[dict[str, Any]]:
    stamps = [
        "2026-11-20T10:00:00.123456+00:00",
        "2026-11-21T11:30:00+00:00",
        "2026-10-01T08:00:00.500000+00:00",
    ]
    raw = [e for sub in (S1, S2) for page in EVENT_PAGES[sub] for e in page]
    return [
        {**e, "eventTimestamp": t, "submissionTimestamp": t}
        for e, t in zip(raw, stamps, strict=True)
    ]


def az_operation(op: dict[str, Any]) -> dict[str, Any]:
    """What `az provider operation list` prints for one operation: every field of its model."""
    return {
        "description": op["description"],
        "displayName": op["displayName"],
        "isDataAction": op["isDataAction"],
        "name": op["name"],
        "origin": op.get("origin"),
        "properties": op.get("properties"),
    }


def az_provider(p: dict[str, Any]) -> dict[str, Any]:
    ops = p.get("operations")
    return {
        "displayName": p["displayName"],
        "id": p["id"],
        "name": p["name"],
        "operations": None if ops is None else [az_operation(o) for o in ops],
        "resourceTypes": [
            {
                "displayName": rt["displayName"],
                "name": rt["name"],
                "operations": [az_operation(o) for o in rt["operations"]],
            }
            for rt in p["resourceTypes"]
        ],
        "type": p["type"],
    }


CORE: dict[str, Any] = {
    "provider-operations.json": [az_provider(p) for pg in PROVIDER_OPERATION_PAGES for p in pg],
    "role-assignments.json": ROLE_ASSIGNMENTS,
    "role-definitions.json": ROLE_DEFINITIONS,
    "service-principals.json": [p for page in SERVICE_PRINCIPAL_PAGES for p in page],
    "applications.json": APPLICATIONS,
}
USAGE: dict[str, Any] = {"pim-instances.json": {"value": PIM_S1}, "activity-log.json": _events()}


@pytest.fixture()
def site(loopback_ca: LoopbackCA) -> Iterator[Site]:
    with azure_site(loopback_ca, SECRET) as served:
        yield served


def _options(
    site: Site, out: Path, auth: AzureAuth | None = None, **kw: Any
) -> AzureCollectOptions:
    return AzureCollectOptions(
        subscriptions=[S1, S2],
        output=out,
        auth=auth or AzureAuth(tenant=TENANT, client_id=CLIENT_ID, client_secret=SECRET),
        authority_host=site.base,
        arm_url=f"{site.base}/arm",
        graph_url=f"{site.base}/graph",
        retry=FAST,
        **kw,
    )


def test_writes_the_az_layout_with_a_client_secret_through_throttling(
    site: Site,
    tmp_path: Path,
    debug_logs: pytest.LogCaptureFixture,
    capsys: pytest.CaptureFixture[str],
) -> None:
    fake = site.fake
    fake.faults[f"activity@{S1}"] = [
        Reply(429, {"error": {"code": "TooManyRequests"}}, {"Retry-After": "1"})
    ]
    fake.faults["applications"] = [graph_error(503, "serviceNotAvailable", "try later")]
    fake.forbidden.add("signIns")
    out = tmp_path / "azure"
    seen: list[tuple[str, int, int]] = []

    result = collect_azure(_options(site, out), lambda s, d, t: seen.append((s, d, t)))

    files = read_tree(out)
    expected = {**CORE, **USAGE}
    assert sorted(files) == sorted([*expected, "notes.json"])
    for name, data in expected.items():
        assert json.loads(files[name]) == data, name
    # az -o json style
    assert (
        files["applications.json"].decode()
        == json.dumps(APPLICATIONS, indent=2, sort_keys=True, ensure_ascii=False) + "\n"
    )
    notes = json.loads(files["notes.json"])
    assert [(s["file"], s["status"]) for s in notes["skipped"]] == [("sign-ins.json", 403)]
    assert "AuditLog.Read.All" in notes["skipped"][0]["reason"]
    assert notes["target"] == {"tenant": TENANT, "subscriptions": [S1, S2]}
    assert result.counts["roleAssignments"] == 4

    calls = site.api_calls()
    listing = [r.arg("$skipToken") for r in calls if r.path.endswith("/roleAssignments")]
    assert listing == [None, "p1", None]  # S1's two pages, then S2
    activity = [r for r in calls if r.path.endswith("/management/values")]
    assert len(activity) == 4  # S1: 429, page 1, page 2; S2: one page
    assert len([r for r in calls if r.path.endswith("/applications")]) == 2  # 503, then 200
    by_ids = [r.json() for r in calls if r.path.endswith("/getByIds")]
    assert by_ids == [{"ids": sorted([USER, GROUP])}]  # service principals are known already
    # the real client-credentials grant ran once per scope, and each API got its own token
    assert sorted(g["scope"] for g in fake.grants) == sorted([fake.arm_scope, fake.graph_scope])
    assert {fake.issued[r.bearer or ""] for r in calls if r.path.startswith("/arm/")} == {
        fake.arm_scope
    }
    assert {fake.issued[r.bearer or ""] for r in calls if r.path.startswith("/graph/")} == {
        fake.graph_scope
    }
    assert [r.path for r in site.server.requests if "openid-configuration" in r.path]
    assert ("subscriptions", 2, 2) in seen

    err = capsys.readouterr().err
    assert leaked(site.secrets(), *files.values(), debug_logs.text, err) == []
    assert leftovers(tmp_path) == []


def _certificate(folder: Path) -> tuple[Path, x509.Certificate, str]:
    key = rsa.generate_private_key(public_exponent=65537, key_size=2048)
    name = x509.Name([x509.NameAttribute(NameOID.COMMON_NAME, "nhictl-collector")])
    now = datetime.now(UTC)
    cert = (
        x509.CertificateBuilder()
        .subject_name(name)
        .issuer_name(name)
        .public_key(key.public_key())
        .serial_number(x509.random_serial_number())
        .not_valid_before(now - timedelta(minutes=5))
        .not_valid_after(now + timedelta(days=1))
        .sign(key, hashes.SHA256())
    )
    key_pem = key.private_bytes(
        serialization.Encoding.PEM,
        serialization.PrivateFormat.PKCS8,
        serialization.NoEncryption(),
    ).decode()
    path = folder / "collector.pem"
    path.write_text(key_pem + cert.public_bytes(serialization.Encoding.PEM).decode())
    return path, cert, key_pem


def test_certificate_credential(
    site: Site, tmp_path: Path, debug_logs: pytest.LogCaptureFixture
) -> None:
    path, cert, key_pem = _certificate(tmp_path)
    site.fake.certificate = cert
    out = tmp_path / "azure"
    auth = AzureAuth(tenant=TENANT, client_id=CLIENT_ID, certificate=path)

    collect_azure(_options(site, out, auth, usage=False))

    files = read_tree(out)
    assert sorted(files) == sorted([*CORE, "notes.json"])
    assert json.loads(files["role-assignments.json"]) == ROLE_ASSIGNMENTS
    assert all("client_assertion" in g and "client_secret" not in g for g in site.fake.grants)
    assert (
        leaked([*site.secrets(), *pem_body_lines(key_pem)], *files.values(), debug_logs.text) == []
    )


def test_workload_identity_federation(site: Site, tmp_path: Path) -> None:
    issuer_key = rsa.generate_private_key(public_exponent=65537, key_size=2048)
    federated = jwt.encode(
        {
            "iss": "https://token.actions.githubusercontent.com",
            "sub": "repo:acme/agents:ref:refs/heads/main",
            "aud": "api://AzureADTokenExchange",
            "exp": int(datetime.now(UTC).timestamp()) + 600,
        },
        issuer_key,
        algorithm="RS256",
    )
    token_file = tmp_path / "federated-token"
    token_file.write_text(federated)
    site.fake.federated_token = federated
    out = tmp_path / "azure"
    auth = AzureAuth(tenant=TENANT, client_id=CLIENT_ID, federated_token_file=token_file)

    collect_azure(_options(site, out, auth, usage=False))

    assert json.loads(read_tree(out)["service-principals.json"]) == CORE["service-principals.json"]
    assert {g.get("client_assertion") for g in site.fake.grants} == {federated}
    assert federated not in "".join(f.decode() for f in read_tree(out).values())


def test_default_azure_credential_from_the_environment(
    site: Site, tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setenv("AZURE_TENANT_ID", TENANT)
    monkeypatch.setenv("AZURE_CLIENT_ID", CLIENT_ID)
    monkeypatch.setenv("AZURE_CLIENT_SECRET", SECRET)
    # only the environment credential of the chain: no managed-identity probe, no az CLI
    monkeypatch.setenv("AZURE_TOKEN_CREDENTIALS", "EnvironmentCredential")
    site.endpoints_env(monkeypatch)
    out = tmp_path / "azure"
    opts = AzureCollectOptions(
        subscriptions=[S1, S2], output=out, auth=AzureAuth(tenant=TENANT), usage=False, retry=FAST
    )

    collect_azure(opts)

    files = read_tree(out)
    for name, data in CORE.items():
        assert json.loads(files[name]) == data, name
    assert {g["client_secret"] for g in site.fake.grants} == {SECRET}


def test_a_wrong_secret_is_one_line_without_the_secret(site: Site, tmp_path: Path) -> None:
    wrong = "not-the-secret-" + "y" * 20
    auth = AzureAuth(tenant=TENANT, client_id=CLIENT_ID, client_secret=wrong)
    with pytest.raises(ProviderError) as info:
        collect_azure(_options(site, tmp_path / "azure", auth))
    err = info.value
    assert err.message.startswith("Azure authentication failed:")
    assert "AADSTS7000215" in err.message
    assert "\n" not in err.message and wrong not in err.message and wrong not in (err.hint or "")
    assert site.api_calls() == []
    assert not (tmp_path / "azure").exists()


def test_a_required_part_forbidden_stops_with_a_hint(site: Site, tmp_path: Path) -> None:
    site.fake.forbidden.add("roleAssignments")
    with pytest.raises(ProviderError) as info:
        collect_azure(_options(site, tmp_path / "azure"))
    err = info.value
    assert err.message.startswith(
        f"Azure role assignments of subscription {S1}: HTTP 403 AuthorizationFailed"
    )
    assert err.hint is not None and "roleAssignments/read" in err.hint
    assert not (tmp_path / "azure").exists() and leftovers(tmp_path) == []


def test_optional_parts_all_or_nothing_per_file(site: Site, tmp_path: Path) -> None:
    site.fake.faults[f"pim@{S2}"] = [
        arm_error(400, "AadPremiumLicenseRequired", "PIM needs Entra ID P2")
    ]
    site.fake.forbidden |= {"getByIds", "activity"}
    out = tmp_path / "azure"

    result = collect_azure(_options(site, out))

    files = read_tree(out)
    # S1's PIM instances alone would make S2's assignments look standing: no file at all
    assert "pim-instances.json" not in files and "activity-log.json" not in files
    assert {(s.file, s.status) for s in result.skipped} == {
        ("role-assignments.json", 403),  # getByIds: user and group names left empty
        ("pim-instances.json", 400),
        ("activity-log.json", 403),
    }
    names = {
        a["principalId"]: a["principalName"] for a in json.loads(files["role-assignments.json"])
    }
    assert names == {SP_AGENT: AGENT_APP_ID, USER: "", SP_MI: MI_APP_ID, GROUP: ""}
    assert json.loads(files["sign-ins.json"]) == {"value": []}


def test_a_next_link_to_another_host_is_not_followed(site: Site, tmp_path: Path) -> None:
    site.fake.next_link_host = "https://127.0.0.2:9"
    with pytest.raises(ProviderError, match="points at another host"):
        collect_azure(_options(site, tmp_path / "azure"))


def test_bad_ids_are_input_errors(site: Site, tmp_path: Path) -> None:
    with pytest.raises(InputError, match="--subscription"):
        collect_azure(AzureCollectOptions(subscriptions=["prod"], output=tmp_path / "o"))
    with pytest.raises(InputError, match="--tenant and --client-id"):
        collect_azure(
            AzureCollectOptions(
                subscriptions=[S1],
                output=tmp_path / "o",
                auth=AzureAuth(client_secret=SECRET),
                authority_host=site.base,
            )
        )
    assert site.server.requests == []


def test_an_unknown_tenant_is_one_line(site: Site, tmp_path: Path) -> None:
    other = "00000000-0000-4000-8000-00000000dead"
    auth = AzureAuth(tenant=other, client_id=CLIENT_ID, client_secret=SECRET)
    with pytest.raises(ProviderError) as info:
        collect_azure(_options(site, tmp_path / "azure", auth))
    assert info.value.message.startswith("Azure authentication failed:")
    assert "\n" not in info.value.message
    assert site.api_calls() == []


def test_provider_operations_are_collected_in_pages_and_make_the_audit_complete(
    site: Site, tmp_path: Path
) -> None:
    out = tmp_path / "azure"

    result = collect_azure(_options(site, out, usage=False))

    calls = [r for r in site.api_calls() if r.path.endswith("/providerOperations")]
    assert [r.arg("$skipToken") for r in calls] == [None, "p1"]
    assert {(r.arg("api-version"), r.arg("$expand")) for r in calls} == {
        ("2022-04-01", "resourceTypes")
    }
    written = json.loads((out / "provider-operations.json").read_text())
    assert written == CORE["provider-operations.json"]
    assert result.counts["providerOperations"] == sum(
        len(p.get("operations") or []) + sum(len(rt["operations"]) for rt in p["resourceTypes"])
        for page in PROVIDER_OPERATION_PAGES
        for p in page
    )
    report = audit_azure(AzureAuditInputs(snapshot=out))
    info = report.summary["inputs"]["operation_list"]
    assert info["complete"] is True
    assert info["files"] == [str(out / "provider-operations.json")]


def test_provider_operations_forbidden_or_off_leave_the_list_partial(
    site: Site, tmp_path: Path
) -> None:
    site.fake.forbidden.add("providerOperations")
    out = tmp_path / "forbidden"
    result = collect_azure(_options(site, out, usage=False))
    assert not (out / "provider-operations.json").exists()
    ((file, status, reason),) = [(s.file, s.status, s.reason) for s in result.skipped]
    assert (file, status) == ("provider-operations.json", 403)
    assert "providerOperations/read" in reason
    report = audit_azure(AzureAuditInputs(snapshot=out))
    assert report.summary["inputs"]["operation_list"]["complete"] is False

    site.fake.forbidden.clear()
    before = len(site.server.requests)
    collect_azure(_options(site, tmp_path / "off", usage=False, operations=False))
    assert not (tmp_path / "off/provider-operations.json").exists()
    assert not [r for r in site.server.requests[before:] if "providerOperations" in r.path]
