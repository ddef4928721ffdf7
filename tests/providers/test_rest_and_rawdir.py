"""The pieces both collectors share: retry waits, endpoint overrides, the atomic output folder."""

from __future__ import annotations

import json
from datetime import UTC, datetime
from email.utils import format_datetime
from pathlib import Path

import pytest

from nhictl.core.errors import ConfigError, InputError
from nhictl.providers.azure.endpoints import AzureEndpoints
from nhictl.providers.gcp.endpoints import GcpEndpoints
from nhictl.providers.rawdir import OutputDir, check_target
from nhictl.providers.rest import RetryPolicy, backoff_s, base_url, retry_after_s
from tests.providers.support import leftovers


def test_retry_after_in_seconds_milliseconds_and_http_dates() -> None:
    now = datetime(2026, 11, 20, 10, 0, 0, tzinfo=UTC)
    later = format_datetime(datetime(2026, 11, 20, 10, 0, 30, tzinfo=UTC), usegmt=True)
    assert retry_after_s({"Retry-After": "7"}) == 7.0
    assert retry_after_s({"retry-after-ms": "1500", "Retry-After": "9"}) == 1.5
    assert retry_after_s({"Retry-After": later}, now=now) == 30.0
    assert retry_after_s({"Retry-After": "soon"}) is None
    assert retry_after_s({}) is None


def test_backoff_is_capped_and_honours_the_server() -> None:
    policy = RetryPolicy(base_delay_s=0.5, max_delay_s=8.0)
    for attempt, step in ((1, 0.5), (2, 1.0), (3, 2.0), (10, 8.0)):
        wait = backoff_s(attempt, policy, None)
        assert step / 2 <= wait <= step  # jitter: half to all of the step
    assert backoff_s(1, policy, 3.0) == 3.0
    assert backoff_s(1, policy, 3600.0) == 8.0  # a server asking for an hour waits the cap


def test_endpoint_overrides_are_https_only() -> None:
    assert base_url("https://127.0.0.1:8443/", "x") == "https://127.0.0.1:8443"
    for bad in ("http://127.0.0.1:8080", "https:///path", "https://h/?q=1", "ftp://h"):
        with pytest.raises(ConfigError):
            base_url(bad, "x")


def test_gcp_endpoints_default_to_googleapis_and_follow_the_universe() -> None:
    assert GcpEndpoints.resolve(environ={}).iam == "https://iam.googleapis.com"
    assert GcpEndpoints.resolve("s3nsapis.fr", environ={}).recommender == (
        "https://recommender.s3nsapis.fr"
    )
    env = {
        "NHICTL_GCP_API_BASE": "https://127.0.0.1:1",
        "NHICTL_GCP_IAM_URL": "https://127.0.0.1:2",
    }
    ep = GcpEndpoints.resolve(environ=env)
    assert (ep.iam, ep.cloudresourcemanager) == ("https://127.0.0.1:2", "https://127.0.0.1:1")
    assert GcpEndpoints.resolve(overrides={"iam": "https://o:3"}, environ=env).iam == "https://o:3"
    with pytest.raises(ConfigError):
        GcpEndpoints.resolve(overrides={"storage": "https://x"}, environ={})


def test_azure_endpoints_public_by_default_sovereign_by_name() -> None:
    public = AzureEndpoints.resolve(environ={})
    assert public.authority == "https://login.microsoftonline.com"
    assert public.arm_scope == "https://management.azure.com/.default"
    assert public.graph_scope == "https://graph.microsoft.com/.default"
    assert not public.disable_instance_discovery
    gov = AzureEndpoints.resolve("usgov", environ={})
    assert (gov.arm, gov.graph) == (
        "https://management.usgovcloudapi.net",
        "https://graph.microsoft.us",
    )
    assert not gov.disable_instance_discovery
    local = AzureEndpoints.resolve(environ={"AZURE_AUTHORITY_HOST": "127.0.0.1:8443"})
    assert local.authority == "https://127.0.0.1:8443" and local.disable_instance_discovery
    with pytest.raises(ConfigError):
        AzureEndpoints.resolve("mooncake-2", environ={})


def test_output_dir_is_renamed_into_place_only_on_success(tmp_path: Path) -> None:
    target = tmp_path / "out"
    with OutputDir(target) as out:
        out.write_json("a/b.json", {"z": 1, "a": "é"})
        assert not target.exists()  # nothing visible until the end
    assert (target / "a" / "b.json").read_text(encoding="utf-8") == (
        '{\n  "a": "é",\n  "z": 1\n}\n'
    )
    with pytest.raises(RuntimeError), OutputDir(tmp_path / "failed") as out:
        out.write_json("x.json", [])
        raise RuntimeError("collection failed")
    assert not (tmp_path / "failed").exists() and leftovers(tmp_path) == []


def test_output_dir_refuses_what_it_should(tmp_path: Path) -> None:
    full = tmp_path / "full"
    full.mkdir()
    (full / "keep.json").write_text("{}")
    with pytest.raises(InputError, match="not empty"):
        check_target(full, force=False)
    (tmp_path / "file").write_text("")
    with pytest.raises(InputError, match="not a directory"):
        check_target(tmp_path / "file", force=True)
    (tmp_path / "link").symlink_to(full)
    with pytest.raises(InputError, match="not a directory"):
        check_target(tmp_path / "link", force=True)
    with OutputDir(tmp_path / "o") as out, pytest.raises(ValueError):
        out.write_json("../escape.json", {})
    assert not (tmp_path / "escape.json").exists()


def test_force_replaces_the_old_directory_whole(tmp_path: Path) -> None:
    target = tmp_path / "out"
    target.mkdir()
    (target / "stale.json").write_text("{}")
    with OutputDir(target, force=True) as out:
        out.write_json("fresh.json", {"ok": True})
    assert sorted(p.name for p in target.iterdir()) == ["fresh.json"]
    assert json.loads((target / "fresh.json").read_text()) == {"ok": True}
    assert leftovers(tmp_path) == []
