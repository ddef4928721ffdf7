"""`audit-creep --live` for GCP and Azure: the real google-auth / azure-identity flows against
loopback endpoints, collected into the offline layout and audited like an offline folder."""

from __future__ import annotations

import json
from pathlib import Path

import pytest

from tests.conftest import CliRunner
from tests.providers.fake_azure import CLIENT_ID, S1, TENANT, azure_site
from tests.providers.fake_gcp import PROJECT, google_site
from tests.providers.tlsca import LoopbackCA


def test_live_gcp_audit_equals_collect_then_audit(
    cli: CliRunner, loopback_ca: LoopbackCA, tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    with google_site(loopback_ca, tmp_path) as site:
        monkeypatch.setenv("NHICTL_GCP_API_BASE", site.base)
        monkeypatch.setenv("GOOGLE_APPLICATION_CREDENTIALS", str(site.key_file))
        live = cli("audit-creep", "--provider", "gcp", "--live", "--project", PROJECT, "-f", "json")
        folder = tmp_path / "collected"
        assert cli("collect", "gcp", "--project", PROJECT, "-o", str(folder), "-q").code == 0
    assert live.code == 0, live.stderr
    offline = cli("audit-creep", "--provider", "gcp", "--snapshot", str(folder), "-f", "json")
    live_doc, offline_doc = json.loads(live.stdout), json.loads(offline.stdout)
    assert live_doc["provider"] == "gcp" and live_doc["principals"]
    assert live_doc["principals"] == offline_doc["principals"]
    assert [f["rule_id"] for f in live_doc["findings"]] == [
        f["rule_id"] for f in offline_doc["findings"]
    ]


def test_live_azure_audit(
    cli: CliRunner, loopback_ca: LoopbackCA, monkeypatch: pytest.MonkeyPatch
) -> None:
    with azure_site(loopback_ca, "s3cr3t-from-env-" + "q" * 20) as site:
        fake = site.fake
        site.endpoints_env(monkeypatch)
        # DefaultAzureCredential's environment credential: what --live signs in with
        monkeypatch.setenv("AZURE_TENANT_ID", TENANT)
        monkeypatch.setenv("AZURE_CLIENT_ID", CLIENT_ID)
        monkeypatch.setenv("AZURE_CLIENT_SECRET", fake.secret)
        result = cli(
            "audit-creep", "--provider", "azure", "--live", "--subscription", S1, "-f", "json"
        )
    assert result.code == 0, result.stderr
    doc = json.loads(result.stdout)
    assert doc["provider"] == "azure" and doc["principals"]
    assert fake.secret not in result.stdout + result.stderr


def test_live_needs_its_scope(cli: CliRunner) -> None:
    gcp = cli("audit-creep", "--provider", "gcp", "--live")
    assert gcp.code == 2 and "--live --provider gcp needs --project" in gcp.stderr
    azure = cli("audit-creep", "--provider", "azure", "--live")
    assert azure.code == 2 and "--live --provider azure needs --subscription" in azure.stderr
