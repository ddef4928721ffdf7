"""Ground truth for every rule: fires on its fixture, silent on the clean one."""

from __future__ import annotations

from typing import Any

from nhictl.creep.model import Declaration

from .conftest import (
    OLD,
    RECENT,
    allow,
    arn,
    audit,
    deny,
    doc,
    export,
    group,
    hits,
    la_resp,
    policy,
    role,
    svc_row,
    user,
)

READ = doc(allow(["s3:GetObject", "s3:ListBucket"], ["arn:aws:s3:::b", "arn:aws:s3:::b/*"]))


def test_clean_role_is_silent() -> None:
    page = export(roles=[role("clean", READ)])
    la = {
        arn("role", "clean"): la_resp(
            svc_row("s3", RECENT, {"GetObject": RECENT, "ListBucket": RECENT})
        )
    }
    decl = Declaration(
        "clean",
        arn("role", "clean"),
        ("s3:GetObject", "s3:ListBucket"),
        ("arn:aws:s3:::b", "arn:aws:s3:::b/*"),
    )
    report = audit(page, last_accessed=la, declarations=[decl])
    assert report.findings == []
    assert report.principals[0].creep_index == 0


# -- creep.unused-permission ---------------------------------------------------------------
def test_unused_permission_action_level() -> None:
    page = export(roles=[role("r", doc(allow(["s3:GetObject", "s3:DeleteObject"])))])
    la = {
        arn("role", "r"): la_resp(
            svc_row("s3", RECENT, {"GetObject": RECENT, "DeleteObject": None})
        )
    }
    (f,) = hits(audit(page, last_accessed=la), "creep.unused-permission")
    assert f.evidence["granularity"] == "action"
    assert f.evidence["sample"] == ["s3:DeleteObject"]
    assert "action-level" in f.message


def test_unused_permission_service_level() -> None:
    page = export(roles=[role("r", doc(allow(["s3:GetObject", "dynamodb:GetItem"])))])
    la = {arn("role", "r"): la_resp(svc_row("s3", RECENT), svc_row("dynamodb", OLD))}
    (f,) = hits(audit(page, last_accessed=la), "creep.unused-permission")
    assert f.evidence["granularity"] == "service"
    assert list(f.evidence["services"]) == ["dynamodb"]
    assert "service-level" in f.message


def test_untracked_actions_fall_back_to_service_level() -> None:
    # s3:GetObject has no action row: the service was used, so it is not called unused.
    page = export(roles=[role("r", doc(allow(["s3:GetObject", "s3:PutObject"])))])
    la = {arn("role", "r"): la_resp(svc_row("s3", RECENT, {"PutObject": RECENT}))}
    assert hits(audit(page, last_accessed=la), "creep.unused-permission") == []


def test_no_usage_data_means_no_unused_verdict() -> None:
    page = export(roles=[role("r", doc(allow("s3:*")))])
    report = audit(page)
    assert hits(report, "creep.unused-permission") == []
    assert report.principals[0].used["known"] is False


def test_new_principal_gets_grace() -> None:
    page = export(roles=[role("r", doc(allow("s3:*")), created="2026-11-01T00:00:00Z")])
    la = {arn("role", "r"): la_resp(svc_row("s3", None))}
    report = audit(page, last_accessed=la)
    assert hits(report, "creep.unused-permission") == []
    assert hits(report, "creep.unused-principal") == []


# -- creep.unused-principal ----------------------------------------------------------------
def test_unused_principal_from_role_last_used() -> None:
    page = export(roles=[role("idle", READ, last_used="2025-01-01T00:00:00Z"), role("busy", READ)])
    report = audit(page)
    assert [f.principal for f in hits(report, "creep.unused-principal")] == [arn("role", "idle")]


def test_unused_principal_from_last_accessed() -> None:
    page = export(roles=[role("idle", READ, last_used=None)])
    la = {arn("role", "idle"): la_resp(svc_row("s3", None))}
    report = audit(page, last_accessed=la)
    assert len(hits(report, "creep.unused-principal")) == 1
    # the whole grant is one unused-principal finding, not repeated per service
    assert hits(report, "creep.unused-permission") == []


# -- creep.beyond-declared -----------------------------------------------------------------
def test_beyond_declared_actions_and_resources() -> None:
    page = export(
        roles=[
            role(
                "agent",
                doc(allow(["s3:GetObject", "s3:PutObject"]), allow("xray:PutTraceSegments")),
            )
        ]
    )
    decl = Declaration(
        "agent",
        arn("role", "agent"),
        ("s3:GetObject", "xray:PutTraceSegments"),
        ("arn:aws:s3:::b/*",),
        "m.yaml",
        7,
        16,
    )
    found = hits(audit(page, declarations=[decl]), "creep.beyond-declared")
    assert len(found) == 2
    actions, resources = found
    assert actions.evidence["sample"] == ["s3:PutObject"]
    assert actions.location == ("m.yaml", 7, 16)
    # xray:PutTraceSegments cannot take a resource: "*" is not a resource violation for it
    assert resources.evidence["actions"] == ["s3:GetObject"]


def test_beyond_declared_silent_when_within() -> None:
    page = export(roles=[role("agent", doc(allow("s3:GetObject", "arn:aws:s3:::b/x")))])
    decl = Declaration("agent", arn("role", "agent"), ("s3:Get*",), ("arn:aws:s3:::b/*",))
    assert hits(audit(page, declarations=[decl]), "creep.beyond-declared") == []


# -- creep.growth --------------------------------------------------------------------------
def test_growth_against_baseline() -> None:
    before = export(roles=[role("r", READ)])
    after = export(roles=[role("r", READ, doc(allow("iam:PassRole")))])
    (f,) = hits(audit(after, baseline=before), "creep.growth")
    assert f.evidence["against"] == "baseline"
    assert f.evidence["sample"] == ["iam:PassRole"]
    assert f.severity == "high"  # permissions management
    assert hits(audit(before, baseline=before), "creep.growth") == []


def test_growth_across_policy_versions() -> None:
    mp = policy("grown", doc(allow("s3:GetObject")), doc(allow(["s3:GetObject", "s3:PutObject"])))
    page = export(roles=[role("r", managed=(mp["Arn"],))], policies=[mp])
    (f,) = hits(audit(page), "creep.growth")
    assert (f.evidence["from_version"], f.evidence["to_version"]) == ("v1", "v2")
    assert f.evidence["sample"] == ["s3:PutObject"]


# -- priv.admin ----------------------------------------------------------------------------
def test_admin_full_and_iam() -> None:
    page = export(
        roles=[role("full", doc(allow("*"))), role("iam", doc(allow("iam:*"))), role("ro", READ)]
    )
    report = audit(page)
    found = {f.principal: f for f in hits(report, "priv.admin")}
    assert set(found) == {arn("role", "full"), arn("role", "iam")}
    assert found[arn("role", "full")].severity == "critical"
    assert found[arn("role", "iam")].evidence["scope"] == "iam"


def test_admin_only_conditional_is_not_critical() -> None:
    page = export(
        roles=[role("c", doc(allow("*", Condition={"IpAddress": {"aws:SourceIp": "10.0.0.0/8"}})))]
    )
    (f,) = hits(audit(page), "priv.admin")
    assert f.severity == "high"
    assert f.evidence["conditional"] is True
    assert "only under a condition" in f.message


def test_admin_via_aws_managed_policy() -> None:
    admin = "arn:aws:iam::aws:policy/AdministratorAccess"  # not in Policies: builtin meaning
    (f,) = hits(audit(export(roles=[role("a", managed=(admin,))])), "priv.admin")
    assert f.severity == "critical"


# -- priv.wildcard -------------------------------------------------------------------------
def test_wildcard_patterns() -> None:
    page = export(roles=[role("w", doc(allow("s3:*", "arn:aws:s3:::b/*")))])
    (f,) = hits(audit(page), "priv.wildcard")
    assert "s3:*" in f.evidence["patterns"]


def test_unscoped_actions_are_not_resource_wildcards() -> None:
    page = export(
        roles=[
            role(
                "telemetry",
                doc(
                    allow(
                        [
                            "xray:PutTraceSegments",
                            "xray:PutTelemetryRecords",
                            "cloudwatch:PutMetricData",
                        ]
                    )
                ),
            )
        ]
    )
    assert hits(audit(page), "priv.wildcard") == []


def test_scopable_write_on_star_is_flagged() -> None:
    page = export(roles=[role("w", doc(allow("s3:PutObject")))])
    (f,) = hits(audit(page), "priv.wildcard")
    assert f.evidence["resource"] == "*"


def test_wildcard_judged_per_surviving_mask() -> None:
    # The same statement, cut down by a boundary for one principal only: the verdict per
    # grant is shared between principals, but only for the same surviving actions.
    bnd = policy("bnd", doc(allow(["s3:GetObject", "s3:PutObject"])))
    s3_all = doc(allow("s3:*", "arn:aws:s3:::b/*"))
    page = export(
        roles=[role("a", s3_all), role("b", s3_all, boundary=bnd["Arn"]), role("c", s3_all)],
        policies=[bnd],
    )
    found = {f.principal for f in hits(audit(page), "priv.wildcard")}
    assert found == {arn("role", "a"), arn("role", "c")}


def test_wildcard_verdict_follows_catalog_growth() -> None:
    # "newsvc:*" held in full by "a" while the catalog knows one newsvc action; once "b"
    # adds two more unknown newsvc actions, the same expansion reused by "c" covers a
    # third of the service and is no service-wide grant any more.
    same = doc(allow(["newsvc:DoA", "newsvc:*"], "arn:aws:newsvc:::x"))
    page = export(
        roles=[
            role("a", same),
            role("b", doc(allow(["newsvc:DoB", "newsvc:DoC"], "arn:aws:newsvc:::x"))),
            role("c", same),
        ]
    )
    found = {f.principal for f in hits(audit(page), "priv.wildcard")}
    # The graph's first pass expands every document before any rule runs, so the verdict is
    # the final catalog's for every principal: "newsvc:*" grants all three actions.
    assert found == {arn("role", "a"), arn("role", "c")}


# -- priv.escalation -----------------------------------------------------------------------
# A role an EC2 instance or a Lambda function may run as, with every action: the target that
# makes iam:PassRole + ec2:RunInstances (or lambda:CreateFunction) an escalation path.
STRONG = role(
    "strong",
    doc(allow("*")),
    trust=doc(
        {
            "Effect": "Allow",
            "Principal": {"Service": ["ec2.amazonaws.com", "lambda.amazonaws.com"]},
            "Action": "sts:AssumeRole",
        }
    ),
)


def test_escalation_split_across_policies() -> None:
    pass_role = policy("pass", doc(allow("iam:PassRole")))
    run = policy("run", doc(allow(["ec2:RunInstances"])))
    page = export(
        roles=[role("e", managed=(pass_role["Arn"], run["Arn"])), STRONG],
        policies=[pass_role, run],
    )
    (f,) = hits(audit(page), "priv.escalation")
    (m,) = [m for m in f.evidence["methods"] if m["id"] == "ec2-001"]
    assert m["split_across_policies"] is True
    assert "ec2-001" in f.message


def test_escalation_matches_are_shared_but_policies_are_per_principal() -> None:
    # Same escalation actions, different policies: the method match is computed once, the
    # evidence still names each principal's own policies.
    pass_role = policy("pass", doc(allow("iam:PassRole")))
    run = policy("run", doc(allow(["ec2:RunInstances"])))
    page = export(
        roles=[
            role("split", managed=(pass_role["Arn"], run["Arn"])),
            role("inline", doc(allow(["iam:PassRole", "ec2:RunInstances"]))),
            STRONG,
        ],
        policies=[pass_role, run],
    )
    found = {f.principal: f for f in hits(audit(page), "priv.escalation")}
    split = next(m for m in found[arn("role", "split")].evidence["methods"] if m["id"] == "ec2-001")
    inline = next(
        m for m in found[arn("role", "inline")].evidence["methods"] if m["id"] == "ec2-001"
    )
    assert split["actions"]["iam:PassRole"] == [pass_role["Arn"]]
    assert split["split_across_policies"] is True
    assert inline["actions"]["iam:PassRole"] == [arn("role", "inline") + "#inline/p0"]
    assert inline["split_across_policies"] is False


def test_escalation_names_only_the_policies_behind_chosen_actions() -> None:
    both = policy("both", doc(allow(["iam:PassRole", "ec2:RunInstances"])))
    again = policy("again", doc(allow("iam:PassRole")))
    other = policy("other", doc(allow("s3:GetObject")))
    page = export(
        roles=[
            role("one", managed=(both["Arn"], other["Arn"])),
            role("two", managed=(both["Arn"], again["Arn"], other["Arn"])),
            STRONG,
        ],
        policies=[both, again, other],
    )
    found = {f.principal: f for f in hits(audit(page), "priv.escalation")}
    one, two = found[arn("role", "one")], found[arn("role", "two")]
    assert one.evidence["policies"] == [both["Arn"]]
    (m,) = [m for m in one.evidence["methods"] if m["id"] == "ec2-001"]
    assert m["split_across_policies"] is False
    assert two.evidence["policies"] == sorted([both["Arn"], again["Arn"]])
    (m,) = [m for m in two.evidence["methods"] if m["id"] == "ec2-001"]
    assert m["actions"]["iam:PassRole"] == sorted([both["Arn"], again["Arn"]])
    assert m["actions"]["ec2:RunInstances"] == [both["Arn"]]
    assert m["split_across_policies"] is True
    assert "1 method(s) combine actions" not in one.message


def test_held_bits_beyond_the_mask_are_not_held() -> None:
    from nhictl.creep.catalog import held_bits

    assert held_bits(0b101, {0, 1, 2, 100}) == {0, 2}
    assert held_bits(1 << 200 | 1 << 7, {7, 8, 199, 200, 201, 4000}) == {7, 200}
    assert held_bits(0, {0, 5}) == set()


def test_escalation_needs_every_action() -> None:
    page = export(roles=[role("e", doc(allow("ec2:RunInstances")))])
    assert hits(audit(page), "priv.escalation") == []


def test_escalation_blocked_by_deny() -> None:
    page = export(
        roles=[role("e", doc(allow(["iam:PassRole", "ec2:RunInstances"]), deny("iam:PassRole")))]
    )
    assert hits(audit(page), "priv.escalation") == []


def test_escalation_via_group_policy() -> None:
    page = export(
        users=[user("u", doc(allow("iam:PassRole")), groups=("ops",))],
        groups=[group("ops", doc(allow(["lambda:CreateFunction", "lambda:InvokeFunction"])))],
        roles=[STRONG],
    )
    (f,) = hits(audit(page), "priv.escalation")
    assert any(m["id"] == "lambda-001" for m in f.evidence["methods"])


# -- cred.stale-key ------------------------------------------------------------------------
def test_stale_keys() -> None:
    page = export(users=[user("u", READ)])
    keys = {
        "AccessKeyMetadata": [
            {
                "UserName": "u",
                "AccessKeyId": "AKIAOLD",
                "Status": "Active",
                "CreateDate": OLD,
                "AccessKeyLastUsed": {"LastUsedDate": RECENT},
            },
            {
                "UserName": "u",
                "AccessKeyId": "AKIANEW",
                "Status": "Active",
                "CreateDate": "2026-11-01T00:00:00Z",
                "AccessKeyLastUsed": {"LastUsedDate": RECENT},
            },
            {"UserName": "u", "AccessKeyId": "AKIAOFF", "Status": "Inactive", "CreateDate": OLD},
            {
                "UserName": "u",
                "AccessKeyId": "AKIAIDLE",
                "Status": "Active",
                "CreateDate": OLD,
                "AccessKeyLastUsed": {"ServiceName": "N/A"},
            },
        ]
    }
    found = {f.evidence["key_id"]: f for f in hits(audit(page, keys=keys), "cred.stale-key")}
    assert set(found) == {"AKIAOLD", "AKIAIDLE"}
    assert found["AKIAIDLE"].severity == "high"  # old and never used


# -- inventory -----------------------------------------------------------------------------
def test_unregistered_and_orphan() -> None:
    page = export(roles=[role("known", READ), role("stranger", READ)])
    decls = [
        Declaration("known", arn("role", "known"), ("s3:*",), ()),
        Declaration("ghost", arn("role", "ghost"), ("s3:GetObject",), (), "g.yaml", 3, 5),
    ]
    report = audit(page, declarations=decls)
    assert [f.principal for f in hits(report, "inv.unregistered")] == [arn("role", "stranger")]
    (o,) = hits(report, "inv.orphan-manifest")
    assert o.principal == arn("role", "ghost")
    assert o.location == ("g.yaml", 3, 5)


def test_unregistered_needs_manifests_and_skips_humans() -> None:
    sso = role("AWSReservedSSO_Admin", READ)
    sso["Path"] = "/aws-reserved/sso.amazonaws.com/"
    page = export(roles=[role("stranger", READ), sso])
    assert hits(audit(page), "inv.unregistered") == []  # no --manifests: nothing to compare
    report = audit(page, manifests_given=True)
    assert [f.principal for f in hits(report, "inv.unregistered")] == [arn("role", "stranger")]
    assert all(p.kind == "role" and "SSO" not in p.id for p in report.principals)


# -- trust.broad ---------------------------------------------------------------------------
def _trust(
    principal: object, cond: object = None, action: str = "sts:AssumeRole"
) -> dict[str, Any]:
    st: dict[str, Any] = {"Effect": "Allow", "Principal": principal, "Action": action}
    if cond:
        st["Condition"] = cond
    return doc(st)


def test_trust_broad_cases() -> None:
    page = export(
        roles=[
            role("anyone", READ, trust=_trust("*")),
            role(
                "anyone-cond",
                READ,
                trust=_trust({"AWS": "*"}, {"StringEquals": {"aws:PrincipalOrgID": "o-1"}}),
            ),
            role("vendor", READ, trust=_trust({"AWS": "arn:aws:iam::999988887777:root"})),
            role(
                "vendor-ok",
                READ,
                trust=_trust(
                    {"AWS": "arn:aws:iam::999988887777:root"},
                    {"StringEquals": {"sts:ExternalId": "x"}},
                ),
            ),
            role(
                "same-acct",
                READ,
                trust=_trust({"AWS": arn("root", "x").replace(":root/x", ":root")}),
            ),
            role(
                "gha",
                READ,
                trust=_trust(
                    {"Federated": arn("oidc-provider", "token.actions.githubusercontent.com")},
                    {
                        "StringEquals": {
                            "token.actions.githubusercontent.com:aud": "sts.amazonaws.com"
                        }
                    },
                    "sts:AssumeRoleWithWebIdentity",
                ),
            ),
            role(
                "gha-ok",
                READ,
                trust=_trust(
                    {"Federated": arn("oidc-provider", "token.actions.githubusercontent.com")},
                    {"StringLike": {"token.actions.githubusercontent.com:sub": "repo:acme/x:*"}},
                    "sts:AssumeRoleWithWebIdentity",
                ),
            ),
        ]
    )
    found = {f.principal.rsplit("/", 1)[-1]: f.severity for f in hits(audit(page), "trust.broad")}
    assert found == {"anyone": "critical", "vendor": "high", "gha": "high"}
