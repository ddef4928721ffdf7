"""Fixtures for tests that need an initialised registry and a demo SPIFFE identity provider."""

from __future__ import annotations

import datetime as dt
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import pytest

from nhictl.core.identity import TrustSources
from nhictl.core.identity.demo_idp import DemoSpiffeIdp
from nhictl.core.runtime import Runtime
from tests.conftest import SAMPLES

TRUST_DOMAIN = "prod.example.com"
INVOICE = SAMPLES / "agents" / "invoice-reconciler.yaml"
SUMMARIZER = SAMPLES / "agents" / "support-summarizer.yaml"


def load_manifest(path: Path) -> dict[str, Any]:
    """A sample manifest parsed exactly as nhictl parses it (dates stay text)."""
    from nhictl.core.safeyaml import Limits, load_text

    data: dict[str, Any] = load_text(str(path), path.read_text(), Limits(), as_json=False)[0].data
    return data


@dataclass
class Home:
    runtime: Runtime
    idp: DemoSpiffeIdp
    trust: TrustSources
    bundle: Path

    def svid(self, manifest: dict[str, Any], **kwargs: Any) -> str:
        identity = manifest["spec"]["workloadIdentity"]
        return self.idp.mint(identity["spiffeId"], identity["audience"], **kwargs)

    def register(self, manifest: dict[str, Any], **kwargs: Any) -> Any:
        return self.runtime.registry.register(
            manifest, token=self.svid(manifest), trust=self.trust, **kwargs
        )


@pytest.fixture
def home(isolated_env: Path, tmp_path: Path, store_url: str) -> Home:
    runtime = Runtime()
    runtime.init()
    idp = DemoSpiffeIdp(tmp_path / "idp", TRUST_DOMAIN)
    trust = TrustSources.from_files(trust_bundle=idp.bundle_path)
    return Home(runtime, idp, trust, idp.bundle_path)


def days_from_now(days: int) -> str:
    return (dt.datetime.now(dt.UTC).date() + dt.timedelta(days=days)).isoformat()
