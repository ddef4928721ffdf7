"""priv.reachable-admin: steps, severity table, conditions, who is left out."""

from __future__ import annotations

from typing import Any

import pytest

from nhictl.creep.rules import RULES
from nhictl.creep.rules.privilege import REACHABLE_SEVERITY

from .conftest import allow, arn, audit, doc, export, hits, role

ADMIN = doc(allow("*"))


def _trusting(name: str, body: dict[str, Any], who: str, **extra: Any) -> dict[str, Any]:
    trust = doc({"Effect": "Allow", "Principal": {"AWS": who}, "Action": "sts:AssumeRole"} | extra)
    return role(name, body, trust=trust)


def _chain(n: int) -> dict[str, Any]:
    """r0 -assume-> r1 -assume-> ... -> r{n} (admin), each trust naming the previous role."""
    roles = [role("r0", doc(allow("s3:GetObject")))]
    for i in range(1, n + 1):
        body = ADMIN if i == n else doc(allow("s3:GetObject"))
        roles.append(_trusting(f"r{i}", body, arn("role", f"r{i - 1}")))
    return export(roles=roles)


@pytest.mark.parametrize(
    ("n", "severity"), [(1, "high"), (2, "high"), (3, "medium"), (4, "medium")]
)
def test_steps_and_severity(n: int, severity: str) -> None:
    (f,) = hits(audit(_chain(n)), "priv.reachable-admin", "role/r0")
    assert f.evidence["steps"] == n
    assert f.severity == severity == REACHABLE_SEVERITY[min(n, 3) - 1]
    hops = " ".join(f"-assume-> role/r{i}" for i in range(1, n + 1))
    assert f.message == f"reaches admin in {n} step{'s' if n > 1 else ''}: role/r0 {hops} (admin)"
    assert f.evidence["paths"][0]["edges"][0]["kind"] == "assume"


def test_every_node_on_the_chain_gets_its_own_distance() -> None:
    report = audit(_chain(3))
    steps = {f.principal: f.evidence["steps"] for f in hits(report, "priv.reachable-admin")}
    assert steps == {arn("role", "r0"): 3, arn("role", "r1"): 2, arn("role", "r2"): 1}
    assert hits(report, "priv.reachable-admin", "role/r3") == []  # the admin itself


def test_conditional_paths_are_one_step_lower() -> None:
    cond = {"Condition": {"StringEquals": {"sts:ExternalId": "x"}}}
    page = export(
        roles=[
            role("a", doc(allow("s3:GetObject"))),
            _trusting("d", ADMIN, arn("role", "a"), **cond),
        ]
    )
    (f,) = hits(audit(page), "priv.reachable-admin", "role/a")
    assert f.severity == "medium" and f.evidence["conditional"] is True


def test_a_principal_that_escalates_by_itself_is_left_to_priv_escalation() -> None:
    page = export(
        roles=[
            role("a", doc(allow("iam:CreatePolicyVersion"))),
            _trusting("d", ADMIN, arn("role", "a")),
        ]
    )
    report = audit(page)
    assert hits(report, "priv.reachable-admin", "role/a") == []
    assert hits(report, "priv.escalation", "role/a")


def test_the_rule_is_registered() -> None:
    assert RULES["priv.reachable-admin"].default_severity == "high"
