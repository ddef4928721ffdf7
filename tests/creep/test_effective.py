"""Effective permissions: the traps the anchors fall into."""

from __future__ import annotations

from typing import Any

from nhictl.creep.effective import Effective, Expander, effective_for
from nhictl.creep.knowledge import ProviderKnowledge

from .conftest import allow, arn, deny, doc, export, group, policy, role, snapshot_of, user


def _eff(page: dict[str, Any], pid: str, knowledge: ProviderKnowledge) -> Effective:
    snap = snapshot_of(page)
    return effective_for(snap.principals[pid], snap, Expander(knowledge.catalog))


def _has(knowledge: ProviderKnowledge, mask: int, action: str) -> bool:
    bit = knowledge.catalog.index(action)
    assert bit is not None
    return bool(mask >> bit & 1)


def test_unconditional_deny_is_subtracted(knowledge: ProviderKnowledge) -> None:
    page = export(roles=[role("r", doc(allow("s3:*"), deny("s3:Delete*")))])
    eff = _eff(page, arn("role", "r"), knowledge)
    assert not _has(knowledge, eff.allowed, "s3:DeleteBucket")
    assert _has(knowledge, eff.allowed, "s3:GetObject")
    assert _has(knowledge, eff.denied, "s3:DeleteObject")


def test_deny_with_condition_removes_nothing_but_is_shown(knowledge: ProviderKnowledge) -> None:
    cond = {"Bool": {"aws:MultiFactorAuthPresent": "false"}}
    page = export(roles=[role("r", doc(allow("s3:*"), deny("s3:Delete*", Condition=cond)))])
    eff = _eff(page, arn("role", "r"), knowledge)
    assert _has(knowledge, eff.allowed, "s3:DeleteBucket")
    assert _has(knowledge, eff.denied_conditional, "s3:DeleteBucket")
    assert eff.denied == 0


def test_notaction_allow_with_deny(knowledge: ProviderKnowledge) -> None:
    page = export(
        roles=[
            role(
                "r",
                doc(
                    {"Effect": "Allow", "NotAction": ["iam:*", "organizations:*"], "Resource": "*"},
                    deny("ec2:*"),
                ),
            )
        ]
    )
    eff = _eff(page, arn("role", "r"), knowledge)
    assert not _has(knowledge, eff.allowed, "iam:CreateUser")
    assert not _has(knowledge, eff.allowed, "ec2:RunInstances")
    assert _has(knowledge, eff.allowed, "s3:GetObject")
    assert _has(knowledge, eff.allowed, "lambda:InvokeFunction")


def test_scoped_deny_only_removes_covered_grants(knowledge: ProviderKnowledge) -> None:
    page = export(
        roles=[
            role(
                "r",
                doc(
                    allow("s3:GetObject", "arn:aws:s3:::a/*"),
                    allow("s3:PutObject", "*"),
                    deny(["s3:GetObject", "s3:PutObject"], "arn:aws:s3:::a/*"),
                ),
            )
        ]
    )
    eff = _eff(page, arn("role", "r"), knowledge)
    assert not _has(knowledge, eff.allowed, "s3:GetObject")  # fully covered by the Deny
    assert _has(knowledge, eff.allowed, "s3:PutObject")  # still allowed on other buckets
    assert _has(knowledge, eff.denied_scoped, "s3:PutObject")


def test_permissions_boundary_intersects(knowledge: ProviderKnowledge) -> None:
    bnd = policy("boundary", doc(allow(["s3:GetObject", "s3:ListBucket"])))
    page = export(
        roles=[role("r", doc(allow(["s3:*", "iam:*"])), boundary=bnd["Arn"])], policies=[bnd]
    )
    eff = _eff(page, arn("role", "r"), knowledge)
    assert eff.allowed.bit_count() == 2
    assert not _has(knowledge, eff.allowed, "iam:CreateUser")
    assert _has(knowledge, eff.boundary_removed, "iam:CreateUser")


def test_boundary_with_condition_makes_grants_conditional(knowledge: ProviderKnowledge) -> None:
    bnd = policy(
        "boundary",
        doc(allow("s3:*", Condition={"StringEquals": {"aws:RequestedRegion": "eu-west-1"}})),
    )
    page = export(roles=[role("r", doc(allow("s3:GetObject")))], policies=[bnd])
    page["RoleDetailList"][0]["PermissionsBoundary"] = {"PermissionsBoundaryArn": bnd["Arn"]}
    eff = _eff(page, arn("role", "r"), knowledge)
    assert _has(knowledge, eff.allowed, "s3:GetObject")
    assert not _has(knowledge, eff.unconditional, "s3:GetObject")


def test_group_policies_apply_to_users(knowledge: ProviderKnowledge) -> None:
    mp = policy("team", doc(allow("sqs:SendMessage")))
    page = export(
        users=[user("u", groups=("g",))],
        groups=[group("g", doc(allow("s3:GetObject")), managed=(mp["Arn"],))],
        policies=[mp],
    )
    eff = _eff(page, arn("user", "u"), knowledge)
    assert _has(knowledge, eff.allowed, "s3:GetObject")
    assert _has(knowledge, eff.allowed, "sqs:SendMessage")
    assert {g.inherited_from for g in eff.grants} == {arn("group", "g")}


def test_managed_policy_uses_default_version(knowledge: ProviderKnowledge) -> None:
    mp = policy("p", doc(allow("s3:GetObject")), doc(allow("s3:*")), default=1)
    page = export(roles=[role("r", managed=(mp["Arn"],))], policies=[mp])
    eff = _eff(page, arn("role", "r"), knowledge)
    assert eff.allowed.bit_count() == 1


def test_each_distinct_document_expanded_once(knowledge: ProviderKnowledge) -> None:
    same = doc(allow(["s3:Get*", "ec2:Describe*"]))
    page = export(roles=[role(f"r{i}", same) for i in range(50)])
    snap = snapshot_of(page)
    exp = Expander(knowledge.catalog)
    for p in snap.principals.values():
        effective_for(p, snap, exp)
    assert exp.expanded_documents == 1


def test_conditional_grant_is_not_unconditional(knowledge: ProviderKnowledge) -> None:
    page = export(
        roles=[role("r", doc(allow("*", Condition={"StringEquals": {"aws:SourceVpce": "vpce-1"}})))]
    )
    eff = _eff(page, arn("role", "r"), knowledge)
    assert eff.allowed == knowledge.catalog.all_mask
    assert eff.unconditional == 0


def test_shared_action_lists_follow_actions_new_to_the_catalog(
    knowledge: ProviderKnowledge,
) -> None:
    # r1 and r3 list the same actions in different documents; r2 brings an action the catalog
    # does not know, which "s3:*" and NotAction expanded after it must include.
    page = export(
        roles=[
            role("r1", doc(allow("s3:*"), {"Effect": "Allow", "NotAction": "ec2:*"})),
            role("r2", doc(allow("s3:BrandNewAction"))),
            role("r3", doc(allow("s3:*"), {"Effect": "Allow", "NotAction": "ec2:*"}, allow("x:y"))),
        ]
    )
    snap = snapshot_of(page)
    exp = Expander(knowledge.catalog)
    effs = {p.name: effective_for(p, snap, exp) for p in snap.principals.values()}
    assert exp.expanded_documents == 3
    new = knowledge.catalog.index("s3:BrandNewAction")
    assert new is not None
    assert not effs["r1"].allowed >> new & 1  # expanded before the action was seen
    assert all(g.mask >> new & 1 for g in effs["r3"].grants[:2])
    s3_star, not_ec2 = (
        es.mask
        for es in exp.expand_statements(snap.policies[arn("role", "r1") + "#inline/p0"].statements)
    )
    assert s3_star == knowledge.catalog.service_mask("s3")
    assert not_ec2 == knowledge.catalog.all_mask & ~knowledge.catalog.service_mask("ec2")


def _per_service_by_cutting(eff: Effective, snap: Any, exp: Expander) -> dict[str, int]:
    """The grant cut by every service its Allow patterns name, in name order."""
    services: set[str] = set()
    for att in eff.principal.attachments:
        pol = snap.policies.get(att.policy_id)
        if pol is not None and pol.resolved:
            services.update(*(es.services for es in exp.statements(pol) if not es.deny))
    cut = {s: eff.allowed & exp.catalog.service_mask(s) for s in sorted(services)}
    return {s: part for s, part in cut.items() if part}


def test_per_service_from_merged_slices_matches_cutting(knowledge: ProviderKnowledge) -> None:
    # Per-service slices are merged from each statement's expansion when nothing narrows the
    # grant; they must equal the grant cut service by service, in name order.
    shared = policy("shared", doc(allow(["s3:GetObject", "sqs:SendMessage"])))
    bnd = policy("bnd", doc(allow(["s3:*"])))
    page = export(
        roles=[
            role("admin-plus", doc(allow("*"), allow("s3:GetObject"))),
            role("readonly", doc(allow(["*:Get*", "zzz:DoThing"]), allow("ec2:RunInstances"))),
            role(
                "twice", doc(allow(["s3:GetObject", "sqs:SendMessage"])), managed=(shared["Arn"],)
            ),
            role("notaction", doc({"Effect": "Allow", "NotAction": "iam:*", "Resource": "*"})),
            role("denied", doc(allow(["s3:*", "sqs:*"]), deny("sqs:*"))),
            role("bounded", doc(allow(["s3:*", "sqs:*"])), boundary=bnd["Arn"]),
            role("empty", doc(allow("nosuchservice:*"))),
        ],
        policies=[shared, bnd],
    )
    snap = snapshot_of(page)
    exp = Expander(knowledge.catalog)
    for p in snap.principals.values():
        eff = effective_for(p, snap, exp)
        expected = _per_service_by_cutting(eff, snap, exp)
        assert list(eff.per_service.items()) == list(expected.items()), p.name
        assert eff.services == frozenset(expected)


def test_per_service_when_slices_cannot_stand_for_the_mask(knowledge: ProviderKnowledge) -> None:
    # Statements whose slices do not cover their mask (None) make the grant be cut instead.
    class NoSlices(Expander):
        def _expand_actions(
            self, patterns: tuple[str, ...], negated: bool
        ) -> tuple[int, frozenset[str], dict[str, int] | None]:
            mask, services, _ = super()._expand_actions(patterns, negated)
            return mask, services, None

    page = export(roles=[role("r", doc(allow(["s3:Get*", "sqs:SendMessage"]), allow("*:List*")))])
    snap = snapshot_of(page)
    p = snap.principals[arn("role", "r")]
    merged = effective_for(p, snap, Expander(knowledge.catalog))
    cut = effective_for(p, snap, NoSlices(knowledge.catalog))
    assert all(
        es.slices is None
        for es in NoSlices(knowledge.catalog).expand_statements(
            snap.policies[p.attachments[0].policy_id].statements
        )
    )
    assert list(cut.per_service.items()) == list(merged.per_service.items())
    assert len(cut.per_service) > 100
