"""Fixtures for the live-collection tests: a test CA, and an environment that keeps every
request on loopback.

The libraries trust the test CA through ``REQUESTS_CA_BUNDLE`` (verification stays on). Proxy
variables point at a closed loopback port, with ``NO_PROXY`` for 127.0.0.1 only: a request to
any other host (a default endpoint that slipped through, a metadata server probe) fails at once
instead of leaving the machine.
"""

from __future__ import annotations

import logging
from collections.abc import Iterator
from pathlib import Path

import pytest

from tests.providers.tlsca import LoopbackCA, make_ca

CLEARED = (
    "GOOGLE_APPLICATION_CREDENTIALS",
    "GOOGLE_CLOUD_PROJECT",
    "GOOGLE_CLOUD_QUOTA_PROJECT",
    "CLOUDSDK_CONFIG",
    "AZURE_CLIENT_ID",
    "AZURE_TENANT_ID",
    "AZURE_CLIENT_SECRET",
    "AZURE_CLIENT_CERTIFICATE_PATH",
    "AZURE_FEDERATED_TOKEN_FILE",
    "AZURE_AUTHORITY_HOST",
    "AZURE_TOKEN_CREDENTIALS",
    "IDENTITY_ENDPOINT",
    "MSI_ENDPOINT",
    "CURL_CA_BUNDLE",
    "SSL_CERT_FILE",
)


@pytest.fixture(scope="session")
def loopback_ca(tmp_path_factory: pytest.TempPathFactory) -> LoopbackCA:
    return make_ca(tmp_path_factory.mktemp("ca"))


@pytest.fixture(autouse=True)
def loopback_only(
    loopback_ca: LoopbackCA, monkeypatch: pytest.MonkeyPatch, tmp_path: Path
) -> Iterator[None]:
    for name in CLEARED:
        monkeypatch.delenv(name, raising=False)
    for name in ("HTTP_PROXY", "HTTPS_PROXY", "ALL_PROXY"):
        for spelling in (name, name.lower()):
            monkeypatch.setenv(spelling, "http://127.0.0.1:9")  # discard port: refused
    monkeypatch.setenv("NO_PROXY", "127.0.0.1")
    monkeypatch.setenv("no_proxy", "127.0.0.1")
    monkeypatch.setenv("REQUESTS_CA_BUNDLE", str(loopback_ca.ca_pem))
    monkeypatch.setenv("NO_GCE_CHECK", "true")  # google-auth: no metadata-server probe
    # no gcloud configuration or ADC file of the machine's user is ever read
    monkeypatch.setenv("CLOUDSDK_CONFIG", str(tmp_path / "gcloud-config"))
    monkeypatch.setenv("HOME", str(tmp_path / "home"))
    yield


@pytest.fixture()
def debug_logs(caplog: pytest.LogCaptureFixture) -> Iterator[pytest.LogCaptureFixture]:
    """Every library's DEBUG records, to check that no secret is ever logged."""
    caplog.set_level(logging.DEBUG)
    yield caplog
