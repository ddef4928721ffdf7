"""An issue in a long-running process decides on the agent row its previous issue was stored
against (no read first), and the guarded insert re-checks that row under the write lock. Each
test changes the agent from another connection after a first issue, as another process
would, and checks the next issue follows the stored state, with one audit event and no
credential left behind by the attempt that the guard stopped."""

from __future__ import annotations

import pytest

from nhictl.core.credentials import CredentialService, IssueDenied
from nhictl.core.runtime import Runtime
from tests.credentials.support import DEPLOYER, INVOICE, audit_rows, invoice


def other_process(runtime: Runtime, sql: str, params: tuple[object, ...]) -> None:
    """A change through a store of its own (another connection), as another process makes."""
    store = Runtime().store
    try:
        with store.write() as tx:
            tx.execute(sql, params)
    finally:
        store.close()


def test_an_agent_disabled_elsewhere_after_an_issue_is_refused(
    service: CredentialService, runtime: Runtime
) -> None:
    invoice(service, task="H-1")
    other_process(runtime, "UPDATE agents SET status = 'disabled' WHERE name = ?", (INVOICE,))
    with pytest.raises(IssueDenied) as excinfo:
        invoice(service, task="H-2")
    assert excinfo.value.reason == "agent-not-active"
    assert runtime.store.read_one("SELECT COUNT(*) FROM credentials") == (1,)
    outcomes = [
        (subject, outcome) for subject, outcome, _ in audit_rows(runtime, "credential.issue")
    ]
    assert outcomes == [(INVOICE, "issued"), (INVOICE, "denied")]


def test_a_cap_filled_elsewhere_after_an_issue_is_refused(
    service: CredentialService, runtime: Runtime
) -> None:
    service.issue(DEPLOYER, task="D-1", intent="deploy-staging")  # 1 of its 2 slots
    elsewhere = Runtime().credentials
    elsewhere.issue(DEPLOYER, task="D-2", intent="deploy-staging")  # the second slot
    elsewhere.store.close()
    with pytest.raises(IssueDenied) as excinfo:
        service.issue(DEPLOYER, task="D-3", intent="deploy-staging")
    assert excinfo.value.policy_ids == ["builtin.max-concurrent-credentials"]
    row = runtime.store.read_one("SELECT COUNT(*) FROM credentials WHERE agent = ?", (DEPLOYER,))
    assert row == (2,)


def test_a_re_enabled_agent_is_issued_again_and_the_hint_follows(
    service: CredentialService, runtime: Runtime
) -> None:
    invoice(service, task="H-1")
    other_process(runtime, "UPDATE agents SET status = 'disabled' WHERE name = ?", (INVOICE,))
    with pytest.raises(IssueDenied):
        invoice(service, task="H-2")
    other_process(runtime, "UPDATE agents SET status = 'active' WHERE name = ?", (INVOICE,))
    issued = invoice(service, task="H-3")
    assert issued.record.status == "active"
    again = invoice(service, task="H-4")  # decided on the hint the H-3 issue left
    assert again.record.agent_revision == issued.record.agent_revision
    outcomes = [outcome for _, outcome, _ in audit_rows(runtime, "credential.issue")]
    assert outcomes == ["issued", "denied", "issued", "issued"]


@pytest.mark.backends("postgresql")
def test_an_issue_on_a_known_agent_is_one_round_trip(
    service: CredentialService, runtime: Runtime
) -> None:
    """BEGIN, the lock, the guarded insert, the audit event and COMMIT in one pipeline."""
    invoice(service, task="H-1")  # the first one reads the agent and reserves indexes
    invoice(service, task="H-2")
    store = service.store
    before = store.round_trips  # type: ignore[attr-defined]
    invoice(service, task="H-3")
    assert store.round_trips - before == 1  # type: ignore[attr-defined]
