"""Helpers and constants for the credential tests (fixtures are in ``conftest.py``)."""

from __future__ import annotations

import copy
import datetime as dt
from collections.abc import Callable
from dataclasses import dataclass
from typing import Any

from nhictl.core.credentials import CredentialService, IssuedCredential
from nhictl.core.identity import TrustSources
from nhictl.core.identity.demo_idp import DemoSpiffeIdp
from nhictl.core.manifest import ManifestValidator
from nhictl.core.runtime import Runtime
from tests.conftest import SAMPLES

TRUST_DOMAIN = "prod.example.com"
INVOICE = "invoice-reconciler"  # prod, confidential, approved by a second person
SUPPORT = "support-summarizer"  # dev+staging, internal, may act for user:*@example.com
DEPLOYER = "payments-deployer"  # staging, maxConcurrentCredentials 2, intent-level tools
PENDING = "pending-reconciler"  # registered, never approved
INVOICE_ID = "spiffe://prod.example.com/ns/finance/sa/invoice-reconciler"
SUPPORT_ID = "spiffe://prod.example.com/ns/support/sa/summarizer"
DEPLOYER_ID = "spiffe://prod.example.com/ns/payments/sa/deployer"


def sample(name: str) -> dict[str, Any]:
    doc = ManifestValidator().load(str(SAMPLES / "agents" / f"{name}.yaml"))[0].data
    return copy.deepcopy(doc)


def manifests() -> list[dict[str, Any]]:
    deployer = sample(DEPLOYER)
    # The tests register everything through SPIFFE; the OIDC path is the registry's business.
    deployer["spec"]["workloadIdentity"] = {
        "type": "spiffe",
        "spiffeId": DEPLOYER_ID,
        "audience": "nhictl",
    }
    pending = sample(INVOICE)
    pending["metadata"]["name"] = PENDING
    pending["spec"]["workloadIdentity"]["spiffeId"] = INVOICE_ID + "-2"
    return [sample(INVOICE), sample(SUPPORT), deployer, pending]


def register_all(runtime: Runtime, idp: DemoSpiffeIdp) -> None:
    trust = TrustSources.from_files(trust_bundle=idp.bundle_path)
    for doc in manifests():
        spiffe_id = doc["spec"]["workloadIdentity"]["spiffeId"]
        result = runtime.registry.register(doc, token=idp.mint(spiffe_id, "nhictl"), trust=trust)
        assert not result.denied, result.reasons
    runtime.registry.approve(INVOICE, by="carol@example.com")


Issuer = Callable[..., IssuedCredential]


def invoice(service: CredentialService, task: str = "INV-1", **over: Any) -> IssuedCredential:
    args: dict[str, Any] = {"task": task, "intent": "reconcile-invoices"}
    args.update(over)
    return service.issue(INVOICE, **args)


def audit_rows(runtime: Runtime, action: str) -> list[tuple[Any, ...]]:
    with runtime.store.read() as tx:
        return tx.query(
            "SELECT subject, outcome, details_json FROM audit_events WHERE action = ? ORDER BY seq",
            (action,),
        )


@dataclass
class Clock:
    """A settable clock for the services under test."""

    now: dt.datetime

    def __call__(self) -> dt.datetime:
        return self.now

    def advance(self, **delta: float) -> dt.datetime:
        self.now += dt.timedelta(**delta)
        return self.now


PERMIT_ALL = """
@id("test.permit-all")
@reason("this test's policy permits everything")
permit (principal, action, resource);
"""
