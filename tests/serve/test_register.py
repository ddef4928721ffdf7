"""``POST /register`` through a real ``nhictl serve``: an agent with only its JWT-SVID registers,
an engineer approves it, a changed manifest is a new revision with its diff; every refusal
stores no agent and no revision."""

from __future__ import annotations

import copy
import json
from pathlib import Path
from typing import Any

import pytest

from nhictl.core.identity.demo_idp import DemoSpiffeIdp
from tests.credentials.support import INVOICE, INVOICE_ID, SUPPORT, TRUST_DOMAIN, sample
from tests.serve.conftest import Service
from tests.serve.test_token_service import exchange_form

NEW_ID = f"spiffe://{TRUST_DOMAIN}/ns/support/sa/triage"


def manifest(base: str, name: str, spiffe_id: str) -> dict[str, Any]:
    doc = sample(base)
    doc["metadata"]["name"] = name
    doc["spec"]["workloadIdentity"] = {
        "type": "spiffe",
        "spiffeId": spiffe_id,
        "audience": "nhictl",
    }
    return doc


def registry_rows(service: Service) -> tuple[int, int]:
    rt = service.runtime()
    try:
        agents = rt.store.read_one("SELECT COUNT(*) FROM agents")
        revisions = rt.store.read_one("SELECT COUNT(*) FROM agent_revisions")
        assert agents is not None and revisions is not None
        return int(agents[0]), int(revisions[0])
    finally:
        rt.store.close()


def post(service: Service, doc: Any, svid: str | None, **headers: str) -> Any:
    sent = {"Content-Type": "application/json", **headers}
    if svid is not None:
        sent["Authorization"] = f"Bearer {svid}"
    body = doc if isinstance(doc, str) else json.dumps(doc)
    with service.client() as http:
        return http.post("/register", content=body, headers=sent)


def test_agent_registers_itself_and_re_registers_with_a_diff(service: Service) -> None:
    doc = manifest(SUPPORT, "support-triage", NEW_ID)
    svid = service.idp.mint(NEW_ID, "nhictl")
    first = post(service, {"client_name": "support-triage", "nhictl_manifest": doc}, svid)
    assert first.status_code == 201, first.text
    body = first.json()
    assert body["client_id"] == "support-triage" and body["revision"] == 1
    assert body["status"] in ("active", "pending-approval") and body["changes"] == []
    assert first.headers["cache-control"] == "no-store"

    same = post(service, {"nhictl_manifest": doc}, svid)
    assert same.status_code == 200 and same.json()["outcome"] == "unchanged"

    wider = copy.deepcopy(doc)
    wider["spec"]["intents"][0]["scopes"].append("tickets:write")
    again = post(service, {"nhictl_manifest": wider}, service.idp.mint(NEW_ID, "nhictl"))
    assert again.status_code == 201, again.text
    reply = again.json()
    assert (reply["revision"], reply["previous_revision"]) == (2, 1)
    assert any("tickets:write" in json.dumps(c) for c in reply["changes"]), reply["changes"]
    rt = service.runtime()
    try:
        assert [r.revision for r in rt.registry.revisions("support-triage")] == [1, 2]
    finally:
        rt.store.close()


def test_pending_until_an_engineer_approves_then_tokens_flow(service: Service) -> None:
    spiffe_id = f"spiffe://{TRUST_DOMAIN}/ns/finance/sa/reconciler-3"
    doc = manifest(INVOICE, "reconciler-3", spiffe_id)
    reply = post(service, {"nhictl_manifest": doc}, service.idp.mint(spiffe_id, "nhictl"))
    assert reply.status_code == 201, reply.text
    assert reply.json()["status"] == "pending-approval"
    with service.client() as http:
        early = http.post("/token", data=exchange_form(service.idp.mint(spiffe_id, "nhictl"), "R3"))
    assert early.status_code == 400 and early.json()["error"] == "access_denied"
    rt = service.runtime()
    try:  # the engineer: `nhictl agents approve reconciler-3`
        rt.registry.approve("reconciler-3", by="carol@example.com")
    finally:
        rt.store.close()
    with service.client() as http:
        later = http.post("/token", data=exchange_form(service.idp.mint(spiffe_id, "nhictl"), "R3"))
    assert later.status_code == 200, later.text


def forged_svid(tmp_path: Path) -> str:
    return DemoSpiffeIdp(tmp_path / "forger", TRUST_DOMAIN).mint(REFUSED_ID, "nhictl")


REFUSED_ID = f"spiffe://{TRUST_DOMAIN}/ns/support/sa/refused"
GOOD = {"nhictl_manifest": manifest(SUPPORT, "support-refused", REFUSED_ID)}
REFUSALS: dict[str, tuple[Any, Any, int, str, str]] = {
    # case: (body, svid maker, status, error, words)
    "no-bearer": (GOOD, None, 401, "invalid_token", "Bearer"),
    "other-identity": (
        GOOD,
        lambda s, t: s.idp.mint(f"spiffe://{TRUST_DOMAIN}/ns/x/sa/other", "nhictl"),
        401,
        "invalid_token",
        "SPIFFE ID",
    ),
    "forged": (GOOD, lambda s, t: forged_svid(t), 401, "invalid_token", "not verified"),
    "wrong-audience": (
        GOOD,
        lambda s, t: s.idp.mint(REFUSED_ID, "elsewhere"),
        401,
        "invalid_token",
        "aud",
    ),
    "no-manifest": ({"client_name": "x"}, None, 400, "invalid_client_metadata", "nhictl_manifest"),
    "invalid-manifest": (None, None, 400, "invalid_client_metadata", "invalid"),
    "client-name": (
        {**GOOD, "client_name": "someone-else"},
        None,
        400,
        "invalid_client_metadata",
        "client_name",
    ),
    "auth-method": (
        {**GOOD, "token_endpoint_auth_method": "client_secret_basic"},
        None,
        400,
        "invalid_client_metadata",
        "token_endpoint_auth_method",
    ),
    "not-json": ("{nope", None, 400, "invalid_client_metadata", "not JSON"),
    "policy-denied": (None, None, 400, "invalid_client_metadata", "register.review-not-expired"),
    # A valid SVID may not take over another agent's name, nor claim its identity twice.
    "takeover": (
        {"nhictl_manifest": manifest(INVOICE, INVOICE, REFUSED_ID)},
        None,
        400,
        "invalid_client_metadata",
        "another workload identity",
    ),
    "identity-claimed": (
        {"nhictl_manifest": manifest(SUPPORT, "support-twin", INVOICE_ID)},
        lambda s, t: s.idp.mint(INVOICE_ID, "nhictl"),
        400,
        "invalid_client_metadata",
        "already registered as agent",
    ),
}


@pytest.mark.parametrize("case", sorted(REFUSALS))
def test_refusals_store_no_agent(service: Service, tmp_path: Path, case: str) -> None:
    body, make_svid, status, error, words = REFUSALS[case]
    if case == "invalid-manifest":
        doc = manifest(SUPPORT, "support-broken", REFUSED_ID)
        doc["spec"]["dataSensitivity"] = "galactic"
        body = {"nhictl_manifest": doc}
    if case == "policy-denied":
        doc = manifest(SUPPORT, "support-stale", REFUSED_ID)
        doc["spec"]["review"]["expires"] = "2020-01-01"
        body = {"nhictl_manifest": doc}
    svid = make_svid(service, tmp_path) if make_svid else service.idp.mint(REFUSED_ID, "nhictl")
    if case == "no-bearer":
        svid = None
    before = registry_rows(service)
    reply = post(service, body, svid)
    assert reply.status_code == status, reply.text
    assert reply.json()["error"] == error and words in reply.json()["error_description"]
    if status == 401:
        assert reply.headers["www-authenticate"] == 'Bearer error="invalid_token"'
    assert registry_rows(service) == before


def test_strict_content_type(service: Service) -> None:
    reply = post(
        service, GOOD, service.idp.mint(REFUSED_ID, "nhictl"), **{"Content-Type": "text/plain"}
    )
    assert reply.status_code == 415


def test_metadata_names_the_registration_endpoint(service: Service) -> None:
    with service.client() as http:
        meta = http.get("/.well-known/oauth-authorization-server").json()
    assert meta["registration_endpoint"] == f"{service.url}/register"
    assert INVOICE  # the sample the pending case copies


def test_a_refusal_is_audited_with_the_callers_address(service: Service) -> None:
    body = {"nhictl_manifest": manifest(INVOICE, INVOICE, REFUSED_ID)}
    assert post(service, body, service.idp.mint(REFUSED_ID, "nhictl")).status_code == 400
    rt = service.runtime()
    try:
        with rt.store.read() as tx:
            rows = tx.query(
                "SELECT outcome, actor, details_json FROM audit_events WHERE action = ? "
                "ORDER BY seq",
                ("serve.register",),
            )
    finally:
        rt.store.close()
    outcome, actor, details = rows[-1]
    assert outcome == "denied" and actor == f"nhictl-serve:{REFUSED_ID}@127.0.0.1"
    assert json.loads(details)["reason"] == "identity-change"
