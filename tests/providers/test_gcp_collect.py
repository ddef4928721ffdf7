"""``collect_gcp``: real google-auth flows against Google's endpoints served on loopback.

The service-account key, the token endpoint, impersonation and every API are real HTTPS on
127.0.0.1 (a test CA the libraries trust through REQUESTS_CA_BUNDLE); nothing is patched.
"""

from __future__ import annotations

import json
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import google.auth  # noqa: F401  (the test extra installs it: missing must fail, not skip)
import pytest

from nhictl.core.errors import InputError, ProviderError
from nhictl.providers.gcp.audit import GcpAuditInputs, audit_gcp
from nhictl.providers.gcp.catalog import load_catalog
from nhictl.providers.gcp.collect import GcpCollectOptions, collect_gcp
from nhictl.providers.gcp.snapshot import load_snapshot_dir
from nhictl.providers.rest import RetryPolicy
from tests.providers.fake_gcp import (
    ACCOUNTS_PAGES,
    ACTIVITY_PAGES,
    AGENT_A,
    AGENT_B,
    AUDIT_SA,
    COLLECTOR_SA,
    COMPUTE,
    EMPTY_POLICY,
    FOLDER,
    FOLDER_POLICY,
    KEY_ACTIVITY,
    KEYS,
    ORG,
    ORG_POLICY,
    ORG_ROLES,
    POLICY_INSIGHTS,
    PROJECT,
    PROJECT_POLICY,
    PROJECT_ROLES_PAGES,
    PROJECT_V1,
    SA_POLICIES,
    ServiceAccountKey,
    flat,
    google_error,
    google_site,
)
from tests.providers.fake_gcp import GoogleSite as Site
from tests.providers.fake_gcp_roles import (
    NEW_PERMISSION,
    PREDEFINED_ROLE_PAGES,
    serve_predefined_roles,
)
from tests.providers.loopback import Reply
from tests.providers.support import leaked, leftovers, pem_body_lines, read_tree
from tests.providers.tlsca import LoopbackCA

FAST = RetryPolicy(max_attempts=4, base_delay_s=0.05, max_delay_s=2.0)

CORE: dict[str, Any] = {
    "project.json": PROJECT_V1,
    "iam-policy.json": PROJECT_POLICY,
    f"ancestors/folder-{FOLDER}.json": FOLDER_POLICY,
    f"ancestors/organization-{ORG}.json": ORG_POLICY,
    "service-accounts.json": flat(ACCOUNTS_PAGES),
    f"keys/{AGENT_A}.json": KEYS[AGENT_A],
    f"keys/{COMPUTE}.json": [],
    f"keys/{AGENT_B}.json": [],
    f"sa-policies/{AGENT_A}.json": SA_POLICIES[AGENT_A],
    f"sa-policies/{COMPUTE}.json": EMPTY_POLICY,
    f"sa-policies/{AGENT_B}.json": EMPTY_POLICY,
    "custom-roles.json": flat(PROJECT_ROLES_PAGES) + ORG_ROLES,
}
USAGE: dict[str, Any] = {
    "insights.json": POLICY_INSIGHTS,
    "activity.json": flat(ACTIVITY_PAGES),
    "key-activity.json": KEY_ACTIVITY,
}


@pytest.fixture()
def site(loopback_ca: LoopbackCA, tmp_path: Path) -> Iterator[Site]:
    keys_dir = tmp_path / "secrets"
    keys_dir.mkdir()
    with google_site(loopback_ca, keys_dir) as served:
        yield served


def _options(site: Site, out: Path, **kw: Any) -> GcpCollectOptions:
    kw.setdefault("credentials_file", site.key_file)
    kw.setdefault("endpoints", {"*": site.base})
    return GcpCollectOptions(project=PROJECT, output=out, retry=FAST, **kw)


def test_writes_the_gcloud_layout_through_throttling_and_a_forbidden_optional_part(
    site: Site,
    tmp_path: Path,
    debug_logs: pytest.LogCaptureFixture,
    capsys: pytest.CaptureFixture[str],
) -> None:
    fake = site.fake
    fake.faults["serviceAccounts.list#page-1"] = [
        Reply(429, {"error": {"code": 429, "status": "RESOURCE_EXHAUSTED"}}, {"Retry-After": "1"})
    ]
    fake.faults["keys.list"] = [google_error(503, "UNAVAILABLE", "The service is unavailable.")]
    fake.forbidden.add("sa-insights")
    out = tmp_path / "gcp"
    seen: list[tuple[str, int, int]] = []

    result = collect_gcp(
        _options(site, out), lambda stage, done, total: seen.append((stage, done, total))
    )

    files = read_tree(out)
    expected = {**CORE, **USAGE}
    assert sorted(files) == sorted([*expected, "notes.json"])
    for name, data in expected.items():
        assert json.loads(files[name]) == data, name
    # gcloud --format=json style: 2-space indent, sorted keys, final newline
    assert files["project.json"].decode() == json.dumps(PROJECT_V1, indent=2, sort_keys=True) + "\n"

    notes = json.loads(files["notes.json"])
    assert notes["format"] == "nhictl.collect.notes/v1"
    assert notes["target"]["project"] == PROJECT
    assert [(s["file"], s["status"]) for s in notes["skipped"]] == [("sa-insights.json", 403)]
    assert "recommender.iamServiceAccountInsights.list" in notes["skipped"][0]["reason"]
    assert sorted(notes["files"]) == sorted(expected)
    assert [s.file for s in result.skipped] == ["sa-insights.json"]
    assert result.counts["serviceAccounts"] == 3
    assert result.counts["userManagedKeys"] == 1
    assert sorted(result.files) == sorted([*expected, "notes.json"])

    calls = site.api_calls()
    # the 429 (page 2 of the accounts) and the 503 (one keys.list) were retried
    listing = [r.arg("pageToken") for r in calls if r.path.endswith("/serviceAccounts")]
    assert listing == [None, "page-1", "page-1"]
    assert len([r for r in calls if r.path.endswith("/keys")]) == 4
    # the real JWT-bearer grant ran, and every API call carried a token it returned
    assert fake.assertions and set(fake.issued.values()) == {"jwt-bearer"}
    assert {r.bearer for r in calls} <= set(fake.issued)
    assert {s for s, _, _ in seen} >= {"project", "service accounts", "custom roles", "usage"}
    assert ("service accounts", 3, 3) in seen

    err = capsys.readouterr().err
    assert leaked(site.secrets(), *files.values(), debug_logs.text, err) == []
    assert leftovers(tmp_path) == []


def test_application_default_credentials_and_the_api_base_variable(
    site: Site, tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setenv("GOOGLE_APPLICATION_CREDENTIALS", str(site.key_file))
    monkeypatch.setenv("NHICTL_GCP_API_BASE", site.base)
    out = tmp_path / "adc"
    opts = GcpCollectOptions(project=PROJECT, output=out, usage=False, retry=FAST)

    collect_gcp(opts)

    files = read_tree(out)
    assert sorted(files) == sorted([*CORE, "notes.json"])
    for name, data in CORE.items():
        assert json.loads(files[name]) == data, name
    assert not [r for r in site.api_calls() if "/locations/" in r.path]  # usage not asked for


def test_impersonation_calls_the_apis_with_the_impersonated_token_only(
    site: Site, tmp_path: Path, debug_logs: pytest.LogCaptureFixture
) -> None:
    site.fake.accept_source_token = False  # the key's own token opens no API
    out = tmp_path / "imp"

    collect_gcp(_options(site, out, impersonate_service_account=AUDIT_SA, usage=False))

    files = read_tree(out)
    assert json.loads(files["service-accounts.json"]) == flat(ACCOUNTS_PAGES)
    minted = [r for r in site.server.requests if r.path.endswith(":generateAccessToken")]
    assert (
        minted
        and minted[0].path == f"/v1/projects/-/serviceAccounts/{AUDIT_SA}:generateAccessToken"
    )
    impersonated = {t for t, how in site.fake.issued.items() if how == f"impersonated:{AUDIT_SA}"}
    api = [r for r in site.api_calls() if not r.path.endswith(":generateAccessToken")]
    assert api and {r.bearer for r in api} <= impersonated
    assert json.loads(files["notes.json"])["target"]["impersonatedServiceAccount"] == AUDIT_SA
    assert leaked(site.secrets(), *files.values(), debug_logs.text) == []


def test_impersonation_refused_is_one_line(site: Site, tmp_path: Path) -> None:
    target = f"someone-else@{PROJECT}.iam.gserviceaccount.com"
    with pytest.raises(ProviderError) as info:
        collect_gcp(_options(site, tmp_path / "x", impersonate_service_account=target))
    assert "GCP authentication failed" in info.value.message
    assert "\n" not in info.value.message
    assert not (tmp_path / "x").exists()


def test_a_key_the_token_endpoint_rejects(site: Site, tmp_path: Path) -> None:
    forged = ServiceAccountKey(COLLECTOR_SA, key_id=site.fake.key.key_id)  # another key pair
    key_file = forged.key_file(tmp_path, f"{site.base}/token")
    with pytest.raises(ProviderError) as info:
        collect_gcp(_options(site, tmp_path / "out", credentials_file=key_file))
    assert "invalid_grant" in info.value.message
    assert not site.api_calls()
    assert leaked(pem_body_lines(forged.private_pem), info.value.message) == []


def test_a_required_part_forbidden_stops_with_a_hint_and_writes_nothing(
    site: Site, tmp_path: Path
) -> None:
    site.fake.forbidden.add("serviceAccounts.list")
    out = tmp_path / "gcp"
    with pytest.raises(ProviderError) as info:
        collect_gcp(_options(site, out))
    err = info.value
    assert err.message.startswith(
        f"GCP serviceAccounts.list ({PROJECT}): HTTP 403 PERMISSION_DENIED"
    )
    assert err.hint is not None and "iam.serviceAccounts.list" in err.hint
    assert not out.exists()
    assert leftovers(tmp_path) == []


def test_optional_parts_forbidden_are_left_out_and_noted(site: Site, tmp_path: Path) -> None:
    site.fake.forbidden |= {
        "folders.getIamPolicy",
        "organizations.roles.list",
        "policy-insights",
        "sa-insights",
        "sa-activity",
        "key-activity",
    }
    out = tmp_path / "gcp"
    result = collect_gcp(_options(site, out))

    files = read_tree(out)
    expected = {k: v for k, v in CORE.items() if not k.startswith("ancestors/folder-")}
    expected["custom-roles.json"] = flat(PROJECT_ROLES_PAGES)
    assert sorted(files) == sorted([*expected, "notes.json"])
    for name, data in expected.items():
        assert json.loads(files[name]) == data, name
    skipped = {(s.file, s.status) for s in result.skipped}
    assert skipped == {
        (f"ancestors/folder-{FOLDER}.json", 403),
        ("custom-roles.json", 403),
        ("insights.json", 403),
        ("sa-insights.json", 403),
        ("activity.json", 403),
        ("key-activity.json", 403),
    }
    assert json.loads(files["notes.json"])["skipped"] == [s.as_dict() for s in result.skipped]


def test_retries_are_bounded(site: Site, tmp_path: Path) -> None:
    site.fake.faults["projects.getIamPolicy"] = [
        google_error(503, "UNAVAILABLE", "down") for _ in range(10)
    ]
    with pytest.raises(ProviderError) as info:
        collect_gcp(_options(site, tmp_path / "gcp"))
    assert "HTTP 503 UNAVAILABLE: down" in info.value.message
    tries = [r for r in site.api_calls() if r.path.endswith(":getIamPolicy")]
    assert len(tries) == FAST.max_attempts


def test_refuses_a_non_empty_directory_before_any_call_unless_forced(
    site: Site, tmp_path: Path
) -> None:
    out = tmp_path / "gcp"
    out.mkdir()
    (out / "old.json").write_text("{}")
    with pytest.raises(InputError, match="not empty"):
        collect_gcp(_options(site, out))
    assert site.server.requests == []

    collect_gcp(_options(site, out, force=True, usage=False))
    assert "old.json" not in read_tree(out)
    assert "project.json" in read_tree(out)
    assert leftovers(tmp_path) == []


def test_bad_ids_are_input_errors(site: Site, tmp_path: Path) -> None:
    with pytest.raises(InputError, match="--project"):
        collect_gcp(GcpCollectOptions(project="../etc", output=tmp_path / "o"))
    with pytest.raises(InputError, match="--organization"):
        collect_gcp(GcpCollectOptions(project=PROJECT, output=tmp_path / "o", organization="acme"))
    assert site.server.requests == []


def test_no_credentials_at_all_is_one_line_with_a_hint(site: Site, tmp_path: Path) -> None:
    with pytest.raises(ProviderError) as info:
        collect_gcp(GcpCollectOptions(project=PROJECT, output=tmp_path / "o", retry=FAST))
    assert info.value.message.startswith("GCP credentials:")
    assert info.value.hint is not None and "application-default login" in info.value.hint
    assert site.server.requests == []


def test_credentials_files_are_loaded_by_their_type_only(site: Site, tmp_path: Path) -> None:
    config = tmp_path / "wif.json"
    config.write_text(
        json.dumps(
            {
                "type": "external_account",
                "audience": "//iam.googleapis.com/projects/1/locations/global/"
                "workloadIdentityPools/p/providers/x",
                "subject_token_type": "urn:ietf:params:oauth:token-type:jwt",
                "token_url": f"{site.base}/v1/token",
                "credential_source": {"executable": {"command": "/bin/echo unsafe"}},
            }
        )
    )
    with pytest.raises(InputError, match="'external_account' are not read"):
        collect_gcp(_options(site, tmp_path / "o", credentials_file=config))
    config.write_text("{not json")
    with pytest.raises(InputError, match="not a JSON credentials file"):
        collect_gcp(_options(site, tmp_path / "o", credentials_file=config))
    assert site.server.requests == []


def test_an_unreachable_api_is_retried_then_one_line(site: Site, tmp_path: Path) -> None:
    closed = "https://127.0.0.1:9"  # the discard port: nothing listens
    with pytest.raises(ProviderError) as info:
        collect_gcp(_options(site, tmp_path / "o", endpoints={"*": closed}))
    err = info.value
    assert err.message.startswith(f"GCP projects.get ({PROJECT}): no answer from 127.0.0.1:9/")
    assert err.hint is not None and "network" in err.hint
    assert [r.path for r in site.server.requests] == ["/token"]  # signed in, then no API answered


def test_roles_writes_every_predefined_role_page_and_the_audit_uses_them(
    site: Site, tmp_path: Path
) -> None:
    serve_predefined_roles(site.fake)
    out = tmp_path / "gcp"

    result = collect_gcp(_options(site, out, usage=False, roles=True))

    calls = [r for r in site.api_calls() if r.path == "/v1/roles"]
    assert [r.arg("pageToken") for r in calls] == [None, "page-1"]
    assert {(r.arg("view"), r.arg("pageSize")) for r in calls} == {("FULL", "1000")}
    files = read_tree(out)
    assert json.loads(files["predefined-roles.json"]) == flat(PREDEFINED_ROLE_PAGES)
    assert result.counts["predefinedRoles"] == len(flat(PREDEFINED_ROLE_PAGES))
    assert "predefined-roles.json" in json.loads(files["notes.json"])["files"]

    report = audit_gcp(GcpAuditInputs(snapshot=out))
    assert report.summary["inputs"]["predefined_roles"]["files"] == [
        str(out / "predefined-roles.json")
    ]
    # agent-a holds storage.objectViewer: the listed role's new permission is in its grant
    snap = load_snapshot_dir(out, load_catalog())
    (viewer,) = [
        snap.policies[a.policy_id]
        for a in snap.principals[AGENT_A].attachments
        if snap.policies[a.policy_id].name == "roles/storage.objectViewer"
    ]
    assert NEW_PERMISSION in viewer.statements[0].actions


def test_roles_are_off_by_default_and_a_refusal_is_noted(site: Site, tmp_path: Path) -> None:
    serve_predefined_roles(site.fake)
    collect_gcp(_options(site, tmp_path / "default", usage=False))
    assert not [r for r in site.api_calls() if r.path == "/v1/roles"]
    assert not (tmp_path / "default/predefined-roles.json").exists()

    site.fake.forbidden.add("roles.list")
    result = collect_gcp(_options(site, tmp_path / "denied", usage=False, roles=True))
    assert not (tmp_path / "denied/predefined-roles.json").exists()
    assert [(s.file, s.status) for s in result.skipped] == [("predefined-roles.json", 403)]
    assert "roles.list" in result.skipped[0].reason
