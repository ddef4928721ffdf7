"""Every Azure reading of a rule fires on its fixture and stays silent on a clean one."""

from __future__ import annotations

from pathlib import Path

import pytest

from nhictl.core.errors import InputError
from nhictl.render.creep import render_json, render_sarif

from .conftest import (
    MG,
    OLD,
    RECENT,
    SUB2,
    Tenant,
    app_id,
    audit,
    hits,
    manifest,
    oid,
    rg,
    sub_scope,
)
from .conftest import secret as pw

LOCKS_ROLE = "3a0c5f9e-7d6b-4e21-9f8a-1b2c3d4e5f60"
STAR_ROLE = "4b1d6a0f-8e7c-4f32-a09b-2c3d4e5f6071"


def test_clean_principal_is_silent(tmp_path: Path) -> None:
    t = Tenant()
    a = t.sp(1, "reader-agent", secrets=[pw("k1", "2026-06-01T00:00:00Z", "2026-12-01T00:00:00Z")])
    t.app(1, "reader-agent")
    t.assign(a, "Reader", rg("rg-a"))
    t.assign(a, "Storage Blob Data Reader", rg("rg-a"))
    t.sign_in(1, RECENT)
    t.event(1, "Microsoft.Storage/storageAccounts/blobServices/generateUserDelegationKey/action")
    t.pim = []
    m = manifest(tmp_path, "reader-agent", a, ["Reader", "Storage Blob Data Reader"], rg("rg-a"))
    r = audit(tmp_path, t, manifests=[m])
    assert [f.rule_id for f in r.findings] == []
    (p,) = r.principals
    assert p.creep_index == 0
    # reads and data actions: the Activity Log cannot see them, so never "unused"
    assert p.used["known"] and p.used["unused_actions"] == 0
    assert p.used["unknown_actions"] == p.granted["actions"] - 1


@pytest.mark.parametrize(
    ("role", "scope", "severity", "administers"),
    [
        ("Owner", sub_scope(), "critical", "full"),
        ("Contributor", sub_scope(), "high", "contributor"),
        ("User Access Administrator", MG, "critical", "iam"),
        ("Role Based Access Control Administrator", "/", "critical", "iam"),
    ],
)
def test_priv_admin_for_privileged_roles_at_wide_scopes(
    tmp_path: Path, role: str, scope: str, severity: str, administers: str
) -> None:
    t = Tenant()
    mi = t.sp(2, "worker-mi", kind="ManagedIdentity")
    t.assign(mi, role, scope)
    (f,) = hits(audit(tmp_path, t), "priv.admin")
    assert f.severity == severity
    (entry,) = f.evidence["assignments"]
    assert entry["administers"] == administers
    assert entry["scope_level"] in ("subscription", "management-group", "root")
    assert f.message.startswith("managed-identity worker-mi holds")


def test_priv_admin_silent_below_subscription_and_for_plain_roles(tmp_path: Path) -> None:
    t = Tenant()
    a = t.sp(1, "rg-owner")
    t.assign(a, "Owner", rg("rg-a"))
    b = t.sp(2, "reader")
    t.assign(b, "Reader", sub_scope())
    r = audit(tmp_path, t)
    assert hits(r, "priv.admin") == []
    # the RG Owner can still escalate (roleAssignments/write on its resource group)
    (esc,) = hits(r, "priv.escalation", a)
    assert esc.evidence["methods"][0]["id"] == "azure-role-assignment-write"
    assert hits(r, "priv.escalation", b) == []


def test_custom_role_with_star_is_admin_and_condition_lowers(tmp_path: Path) -> None:
    t = Tenant()
    t.custom_role(STAR_ROLE, "Everything Operator", ["*"])
    a = t.sp(1, "star")
    t.assign(a, STAR_ROLE, sub_scope())
    b = t.sp(2, "conditional-owner")
    t.assign(b, "Owner", sub_scope(), condition="@Resource[Microsoft.Storage/x] StringEquals 'y'")
    r = audit(tmp_path, t)
    (star,) = hits(r, "priv.admin", a)
    assert star.severity == "critical" and star.evidence["scope"] == "full"
    assert hits(r, "priv.escalation", a) == []  # already administrator
    (cond,) = hits(r, "priv.admin", b)
    assert cond.severity == "high" and cond.evidence["conditional"]


def test_escalation_methods_are_named_with_references(tmp_path: Path) -> None:
    t = Tenant()
    a = t.sp(1, "deployer")
    t.assign(a, "Contributor", rg("rg-app"))
    (f,) = hits(audit(tmp_path, t), "priv.escalation", a)
    ids = {m["id"] for m in f.evidence["methods"]}
    assert {"azure-mi-assign-vm", "azure-vm-run-command", "azure-web-publishxml"} <= ids
    assert "azure-role-assignment-write" not in ids  # Contributor excludes it
    assert all(
        m["reference"].startswith("https://learn.microsoft.com/") for m in f.evidence["methods"]
    )


def test_standing_assignment_with_pim_data(tmp_path: Path) -> None:
    t = Tenant()
    a = t.sp(1, "standing")
    t.assign(a, "Owner", sub_scope())
    b = t.sp(2, "jit")
    t.assign(b, "Owner", sub_scope())
    t.pim_instance(b, "Owner", sub_scope(), "2026-11-28T08:00:00Z")
    c = t.sp(3, "pim-permanent")
    t.assign(c, "User Access Administrator", rg("rg-x"))
    t.pim_instance(c, "User Access Administrator", rg("rg-x"), None)  # NoExpiration
    r = audit(tmp_path, t)
    assert hits(r, "azure.standing-privileged-assignment", a)[0].severity == "high"
    assert hits(r, "azure.standing-privileged-assignment", b) == []
    assert hits(r, "azure.standing-privileged-assignment", c)[0].severity == "medium"
    # time-bound is a mitigation: one step lower, and the end is in the evidence
    (jit,) = hits(r, "priv.admin", b)
    assert jit.severity == "high"
    assert jit.evidence["assignments"][0]["time_bound_until"].startswith("2026-11-28")


def test_standing_rule_cannot_run_without_pim(tmp_path: Path) -> None:
    t = Tenant()
    a = t.sp(1, "standing")
    t.assign(a, "Owner", sub_scope())
    r = audit(tmp_path, t)
    assert hits(r, "azure.standing-privileged-assignment") == []
    assert any(
        "azure.standing-privileged-assignment could not run" in w for w in r.summary["warnings"]
    )


def test_custom_role_administering_locks(tmp_path: Path) -> None:
    t = Tenant()
    t.custom_role(LOCKS_ROLE, "Lock Manager", ["Microsoft.Authorization/locks/*"])
    a = t.sp(1, "locker")
    t.assign(a, LOCKS_ROLE, rg("rg-core"))
    b = t.sp(2, "owner")  # built-in roles are not custom roles
    t.assign(b, "Owner", rg("rg-core"))
    r = audit(tmp_path, t)
    (f,) = hits(r, "azure.custom-role-locks")
    assert f.principal == a and f.evidence["roles"] == ["Lock Manager"]


def test_credential_findings(tmp_path: Path) -> None:
    t = Tenant()
    a = t.sp(1, "creds", secrets=[pw("sp-no-expiry", OLD, None)])
    t.app(
        1,
        "creds",
        secrets=[
            pw("expired", "2024-01-01T00:00:00Z", "2025-01-01T00:00:00Z"),
            pw("two-years", "2026-01-01T00:00:00Z", "2028-01-01T00:00:00Z"),
            pw("fine", "2026-09-01T00:00:00Z", "2027-03-01T00:00:00Z"),
        ],
    )
    t.assign(a, "Reader", rg("rg-a"))
    r = audit(tmp_path, t)
    by_key = {f.evidence["key_id"]: f for f in hits(r, "cred.stale-key")}
    assert set(by_key) == {"sp-no-expiry", "expired", "two-years"}
    assert by_key["sp-no-expiry"].severity == "high"
    assert by_key["sp-no-expiry"].evidence["origin"] == "service-principal"
    assert by_key["two-years"].evidence["lifetime_days"] == 730
    assert by_key["expired"].severity == "low"


def test_unused_credential_from_sign_ins(tmp_path: Path) -> None:
    t = Tenant()
    a = t.sp(1, "idle-app")
    t.app(1, "idle-app", secrets=[pw("k", "2026-01-01T00:00:00Z", "2026-12-31T00:00:00Z")])
    t.assign(a, "Reader", rg("rg-a"))
    t.sign_in(1, "2026-05-01T00:00:00Z")
    b = t.sp(2, "busy-app")
    t.app(2, "busy-app", secrets=[pw("k2", "2026-01-01T00:00:00Z", "2026-12-31T00:00:00Z")])
    t.assign(b, "Reader", rg("rg-a"))
    t.sign_in(2, RECENT)
    r = audit(tmp_path, t)
    (f,) = hits(r, "cred.stale-key")
    assert f.principal == a and "last signed in with a credential 2026-05-01" in f.message


def test_dormant_principal_from_sign_ins(tmp_path: Path) -> None:
    t = Tenant()
    a = t.sp(1, "dormant")
    t.app(1, "dormant")
    t.assign(a, "Contributor", rg("rg-a"))
    t.sign_in(1, "2026-03-01T00:00:00Z")
    b = t.sp(2, "not-reported")  # absent from sign-ins.json: no verdict from it
    t.assign(b, "Contributor", rg("rg-a"))
    r = audit(tmp_path, t)
    (f,) = hits(r, "creep.unused-principal")
    assert f.principal == a and f.evidence["source"] == "sign-ins"
    assert f.severity == "medium"  # its permissions-management operations are RG-scoped


def test_unused_permissions_from_the_activity_log(tmp_path: Path) -> None:
    t = Tenant()
    a = t.sp(1, "web-deployer")
    t.assign(a, "Website Contributor", rg("rg-web"))
    t.event(1, "Microsoft.Web/sites/write", by_app=True)  # caller given as the appId
    t.event(1, "Microsoft.Web/sites/config/write", when="2026-01-01T00:00:00Z")  # too old
    r = audit(tmp_path, t)
    web = [
        f
        for f in hits(r, "creep.unused-permission", a)
        if f.evidence.get("service") == "Microsoft.Web"
    ]
    (f,) = web
    assert f.evidence["granularity"] == "action" and f.evidence["used"] == 1
    (p,) = r.principals
    assert p.used["services_used"] == ["Microsoft.Web"]
    assert p.used["unknown_actions"] > 0  # its reads: unknown, not unused


def test_data_actions_are_never_unused(tmp_path: Path) -> None:
    t = Tenant()
    a = t.sp(1, "queue-worker")
    t.assign(a, "Storage Queue Data Contributor", rg("rg-q"))
    t.event(1, "Microsoft.Storage/storageAccounts/queueServices/queues/write")
    t.event(1, "Microsoft.Storage/storageAccounts/queueServices/queues/delete")
    r = audit(tmp_path, t)
    assert hits(r, "creep.unused-permission") == []
    assert hits(r, "creep.unused-principal") == []
    (p,) = r.principals
    assert p.used["unknown_actions"] == 5  # 4 data actions + queues/read


def test_no_activity_log_means_usage_unknown(tmp_path: Path) -> None:
    t = Tenant()
    a = t.sp(1, "anything")
    t.assign(a, "Contributor", rg("rg-a"))
    r = audit(tmp_path, t)
    (p,) = r.principals
    assert p.used == {
        "known": False,
        "reason": "no activity-log data for this principal",
        "last_activity": None,
    }
    assert hits(r, "creep.unused-permission") == []
    assert hits(r, "creep.unused-principal") == []


def test_data_only_principal_without_sign_ins_gets_no_idle_verdict(tmp_path: Path) -> None:
    t = Tenant()
    a = t.sp(1, "blob-reader")
    t.assign(a, "Storage Blob Data Reader", rg("rg-a"))
    t.event(2, "Microsoft.Web/sites/write")  # someone else's event: the log was collected
    r = audit(tmp_path, t)
    assert hits(r, "creep.unused-principal") == []


def test_group_assignments_are_warned_about(tmp_path: Path) -> None:
    t = Tenant()
    a = t.sp(1, "agent")
    t.assign(a, "Reader", rg("rg-a"))
    t.assign(oid(50), "Owner", sub_scope(), ptype="Group")
    t.assign(oid(51), "Owner", sub_scope(), ptype="User")
    r = audit(tmp_path, t)
    assert [p.name for p in r.principals] == ["agent"]
    assert any("to 1 group(s) were not resolved" in w for w in r.summary["warnings"])


def test_declared_drift_growth_orphan_and_unregistered(tmp_path: Path) -> None:
    base = Tenant()
    a = base.sp(1, "orders")
    base.assign(a, "Storage Queue Data Contributor", rg("rg-orders"))
    now = Tenant()
    now.sp(1, "orders")
    now.assign(a, "Storage Queue Data Contributor", rg("rg-orders"))
    now.assign(a, "Website Contributor", rg("rg-orders"))
    now.assign(a, "Storage Queue Data Contributor", sub_scope(SUB2))
    stray = now.sp(2, "stray")
    now.assign(stray, "Reader", rg("rg-x"))
    m = manifest(tmp_path, "orders", a, ["Storage Queue Data Contributor"], rg("rg-orders"))
    gone = manifest(tmp_path, "gone", oid(99), ["Reader"])
    r = audit(tmp_path, now, manifests=[m, gone], baseline=base)
    beyond = hits(r, "creep.beyond-declared", a)
    assert {("granted_resources" in f.evidence) for f in beyond} == {True, False}
    wide = next(f for f in beyond if "granted_resources" in f.evidence)
    assert wide.evidence["granted_resources"] == [f"/subscriptions/{SUB2}"]
    assert wide.location is not None and wide.location[1:] == (11, 20)  # the principalId
    (g,) = hits(r, "creep.growth", a)
    assert g.evidence["added_actions"] > 50
    assert hits(r, "creep.growth", stray) == []  # not in the baseline: nothing to compare
    assert hits(r, "inv.orphan-manifest")[0].principal == oid(99)
    (u,) = hits(r, "inv.unregistered")
    assert u.principal == stray and "spec.entitlements.azure.principalId" in u.remediation


def test_unknown_declared_role_is_an_input_error(tmp_path: Path) -> None:
    t = Tenant()
    a = t.sp(1, "x")
    t.assign(a, "Reader", rg("rg-a"))
    m = manifest(tmp_path, "x", a, ["Reeder"])
    with pytest.raises(InputError, match=r"roles\[0\]: unknown role 'Reeder'"):
        audit(tmp_path, t, manifests=[m])


def test_remediation_is_azure_shaped(tmp_path: Path) -> None:
    t = Tenant()
    a = t.sp(1, "web-deployer")
    t.assign(a, "Website Contributor", rg("rg-web"))
    t.event(1, "Microsoft.Web/sites/write")
    r = audit(tmp_path, t)
    rem = r.remediations[a]
    assert rem["recommendation"] == "replace-assignments"
    (gone,) = rem["remove_assignments"]
    assert gone["role"] == "Website Contributor" and gone["scope"] == rg("rg-web")
    role = rem["policy"]
    assert role["IsCustom"] is True
    assert "Microsoft.Web/sites/write" in role["Actions"]
    assert "Microsoft.Web/sites/delete" not in role["Actions"]  # observable, unused: cut
    assert "Microsoft.Web/sites/read" in role["Actions"]  # unobservable: kept
    assert not any("*" in x for x in role["Actions"])
    assert role["AssignableScopes"] == [rg("rg-web").lower()]


def test_reports_render_as_json_and_sarif(tmp_path: Path) -> None:
    t = Tenant()
    t.custom_role(LOCKS_ROLE, "Lock Manager", ["Microsoft.Authorization/locks/*"])
    a = t.sp(1, "locker")
    t.assign(a, LOCKS_ROLE, sub_scope())
    t.pim = []
    r = audit(tmp_path, t)
    assert r.provider == "azure"
    assert '"provider": "azure"' in render_json(r).decode()
    sarif = render_sarif(r).decode()
    assert "azure.custom-role-locks" in sarif and "azure.standing-privileged-assignment" in sarif
    assert f'"fullyQualifiedName": "{a}"' in sarif  # the object id, not the appId
    assert app_id(1) not in sarif
