"""``POST /tasks/{id}/complete|fail`` through a real ``nhictl serve``: the agent ends its own task
and the task's tokens die; nobody else's task, and no state from a refusal."""

from __future__ import annotations

from typing import Any

import pytest

from tests.credentials.support import INVOICE_ID, SUPPORT_ID
from tests.serve.conftest import Service
from tests.serve.test_token_service import exchange_form, introspect

SPIFFE_ASSERTION = "urn:ietf:params:oauth:client-assertion-type:jwt-spiffe"


def token_for(service: Service, task: str) -> str:
    with service.client() as http:
        reply = http.post(
            "/token", data=exchange_form(service.idp.mint(INVOICE_ID, "nhictl"), task)
        )
    assert reply.status_code == 200, reply.text
    return str(reply.json()["access_token"])


def bearer(service: Service, spiffe_id: str = INVOICE_ID) -> dict[str, str]:
    return {"Authorization": f"Bearer {service.idp.mint(spiffe_id, 'nhictl')}"}


def live_count(service: Service, task: str) -> int:
    rt = service.runtime()
    try:
        return len(rt.credentials.list(task=task, active=True))
    finally:
        rt.store.close()


def test_agent_completes_its_task_and_the_token_dies(service: Service) -> None:
    access = token_for(service, "TASK-1")
    assert introspect(service, access)["active"]
    with service.client() as http:
        reply = http.post("/tasks/TASK-1/complete", headers=bearer(service))
    assert reply.status_code == 200, reply.text
    body = reply.json()
    assert (body["task"], body["outcome"], body["revoked"]) == ("TASK-1", "completed", 1)
    assert introspect(service, access) == {"active": False}
    rt = service.runtime()
    try:  # what `nhictl task complete` records
        row = rt.store.read_one(
            "SELECT revoked_reason FROM credentials WHERE task = ?", ("TASK-1",)
        )
    finally:
        rt.store.close()
    assert row is not None and row[0] == "task completed"


def test_agent_fails_its_task_with_a_spiffe_client_assertion(service: Service) -> None:
    access = token_for(service, "TASK-2")
    form = {
        "client_assertion_type": SPIFFE_ASSERTION,
        "client_assertion": service.idp.mint(INVOICE_ID, "nhictl"),
        "reason": "upstream ledger unavailable",
    }
    with service.client() as http:
        reply = http.post("/tasks/TASK-2/fail", data=form)
    assert reply.status_code == 200, reply.text
    assert reply.json()["outcome"] == "failed" and reply.json()["revoked"] == 1
    assert introspect(service, access) == {"active": False}


REFUSALS: dict[str, tuple[str, dict[str, Any], int, str]] = {
    # case: (path, request kwargs maker key, status, error)
    "no-auth": ("/tasks/TASK-3/complete", {}, 401, "invalid_token"),
    "other-agent": ("/tasks/TASK-3/complete", {"who": SUPPORT_ID}, 404, "not_found"),
    "unknown-task": ("/tasks/NOPE-9/complete", {"who": INVOICE_ID}, 404, "not_found"),
    "fail-without-reason": ("/tasks/TASK-3/fail", {"who": INVOICE_ID}, 400, "invalid_request"),
    "bad-task-id": ("/tasks/bad%20id/complete", {"who": INVOICE_ID}, 400, "invalid_request"),
    "basic-auth": ("/tasks/TASK-3/complete", {"basic": True}, 401, "invalid_token"),
    "forged-bearer": ("/tasks/TASK-3/complete", {"forged": True}, 401, "invalid_token"),
}


@pytest.mark.parametrize("case", sorted(REFUSALS))
def test_refusals_revoke_nothing(service: Service, case: str, tmp_path: Any) -> None:
    if live_count(service, "TASK-3") == 0:
        token_for(service, "TASK-3")
    path, how, status, error = REFUSALS[case]
    headers: dict[str, str] = {}
    if "who" in how:
        headers = bearer(service, how["who"])
    elif how.get("basic"):
        headers = {"Authorization": "Basic aW52b2ljZTpzZWNyZXQ="}
    elif how.get("forged"):
        from nhictl.core.identity.demo_idp import DemoSpiffeIdp
        from tests.credentials.support import TRUST_DOMAIN

        forger = DemoSpiffeIdp(tmp_path / "forger", TRUST_DOMAIN)
        headers = {"Authorization": f"Bearer {forger.mint(INVOICE_ID, 'nhictl')}"}
    with service.client() as http:
        reply = http.post(path, headers=headers)
    assert reply.status_code == status, reply.text
    assert reply.json()["error"] == error
    assert live_count(service, "TASK-3") == 1


def test_a_task_shared_with_another_agent_is_an_engineers_call(service: Service) -> None:
    token_for(service, "TASK-4")
    rt = service.runtime()
    try:
        rt.credentials.issue(
            "support-summarizer", task="TASK-4", intent="summarize-ticket", environment="dev"
        )
    finally:
        rt.store.close()
    with service.client() as http:
        reply = http.post("/tasks/TASK-4/complete", headers=bearer(service))
    assert reply.status_code == 403 and reply.json()["error"] == "access_denied"
    assert live_count(service, "TASK-4") == 2
