"""Every GCP rule fires on its fixture and stays silent on a clean one."""

from __future__ import annotations

from pathlib import Path

from nhictl.providers.gcp.catalog import load_catalog
from tests.creep.gcp.conftest import (
    NUM,
    OLD,
    RECENT,
    Project,
    audit,
    audit_project,
    auth,
    binding,
    hits,
    insight,
    key,
    key_auth,
    manifest,
    member,
    result,
    sa,
    until,
)

AGENT = sa("agent")
VIEWER = "roles/storage.objectViewer"
VIEWER_PERMS = [
    "resourcemanager.projects.get",
    "resourcemanager.projects.list",
    "storage.folders.get",
    "storage.folders.list",
    "storage.managedFolders.get",
    "storage.managedFolders.list",
    "storage.objects.get",
    "storage.objects.list",
]


def clean_project() -> Project:
    """A registered agent using all of a small role, a recent key-less identity."""
    return Project(
        accounts=[AGENT],
        bindings=[binding(VIEWER, member("agent"))],
        usage={
            "insights.json": [insight(AGENT, VIEWER, VIEWER_PERMS)],
            "activity.json": [auth(AGENT, RECENT)],
        },
    )


def test_clean_project_has_no_findings(tmp_path: Path) -> None:
    pr = clean_project()
    snap = pr.write(tmp_path / "snap")
    mdir = manifest(tmp_path, "agent", AGENT, [VIEWER])
    report = audit(snap, manifests=[str(mdir)], baseline=snap)
    assert report.findings == []
    r = result(report, AGENT)
    assert r.used["known"] is True and r.used["unused_actions"] == 0
    assert r.granted["actions"] == len(VIEWER_PERMS)
    assert r.creep_index == 0
    assert report.summary["warnings"] == []
    # listed in the index with the reason, no fix file
    assert {pid: rem["skipped"] for pid, rem in report.remediations.items()} == {
        AGENT: "nothing to remove"
    }


def test_basic_roles_are_admin_at_every_level_and_say_which(tmp_path: Path) -> None:
    pr = Project(
        accounts=[sa("p-editor"), sa("f-editor"), sa("owner")],
        bindings=[
            binding("roles/editor", member("p-editor")),
            binding("roles/owner", member("owner")),
        ],
        ancestors={"folder-42": [binding("roles/editor", member("f-editor"))]},
    )
    report = audit_project(tmp_path, pr)
    (p_ed,) = hits(report, "priv.admin", sa("p-editor"))
    assert (p_ed.severity, p_ed.evidence["level"]) == ("high", "project")
    (f_ed,) = hits(report, "priv.admin", sa("f-editor"))
    assert (f_ed.severity, f_ed.evidence["level"]) == ("critical", "folder")
    assert f_ed.evidence["bindings"][0]["inherited_from"] == "folders/42"
    # Owner holds ~98 % of every permission: the shared rule reports it, with the level added.
    (own,) = hits(report, "priv.admin", sa("owner"))
    assert own.evidence["scope"] == "full" and own.severity == "critical"
    assert own.evidence["level"] == "project"
    assert own.evidence["bindings"][0]["role"] == "roles/owner"


def test_time_bound_owner_is_one_step_lower_and_says_until(tmp_path: Path) -> None:
    pr = Project(
        accounts=[sa("bg"), sa("ed")],
        bindings=[
            binding("roles/owner", member("bg"), condition=until("2026-12-31T00:00:00Z")),
            binding("roles/editor", member("ed"), condition=until("2026-12-31T00:00:00Z")),
        ],
    )
    report = audit_project(tmp_path, pr)
    (own,) = hits(report, "priv.admin", sa("bg"))
    assert own.severity == "high" and own.evidence["conditional"] is True
    assert own.evidence["time_bound"] == {"until": "2026-12-31T00:00:00+00:00"}
    (ed,) = hits(report, "priv.admin", sa("ed"))
    assert ed.severity == "medium" and "time-bound, until 2026-12-31" in ed.message
    assert result(report, sa("bg")).granted["unconditional_actions"] == 0


def test_default_accounts_with_editor(tmp_path: Path) -> None:
    compute = f"{NUM}-compute@developer.gserviceaccount.com"
    appspot = "proj-a@appspot.gserviceaccount.com"
    pr = Project(
        accounts=[compute, appspot, sa("other")],
        bindings=[
            binding("roles/editor", f"serviceAccount:{compute}", member("other")),
            binding("roles/owner", f"serviceAccount:{appspot}"),
        ],
    )
    report = audit_project(tmp_path, pr)
    found = {f.principal: f for f in hits(report, "gcp.default-sa-editor")}
    assert set(found) == {compute, appspot}
    assert found[compute].evidence["default_account"] == "compute"
    assert found[appspot].evidence["default_account"] == "app-engine"
    # A default account with a narrow role is fine.
    pr2 = Project(accounts=[compute], bindings=[binding(VIEWER, f"serviceAccount:{compute}")])
    assert hits(audit_project(tmp_path / "2", pr2), "gcp.default-sa-editor") == []


def test_impersonation_roles_at_project_level_reach_every_account(tmp_path: Path) -> None:
    pr = Project(
        accounts=[sa("deployer"), sa("x"), sa("y"), sa("scoped")],
        bindings=[binding("roles/iam.serviceAccountUser", member("deployer"))],
        sa_policies={sa("x"): [binding("roles/iam.serviceAccountTokenCreator", member("scoped"))]},
    )
    report = audit_project(tmp_path, pr)
    (f,) = hits(report, "gcp.project-impersonation")
    assert f.principal == sa("deployer") and f.severity == "high"
    assert f.evidence["accounts_in_reach"] == 4
    # Token Creator on one account: an escalation limited to it, not a project-wide grant.
    (esc,) = hits(report, "priv.escalation", sa("scoped"))
    assert esc.severity == "medium"
    assert {m["scope"] for m in esc.evidence["methods"]} == {"scoped resources"}
    assert "gcp-sa-get-access-token" in {m["id"] for m in esc.evidence["methods"]}
    assert hits(report, "gcp.project-impersonation", sa("scoped")) == []


def test_escalation_methods_name_their_ids_and_references(tmp_path: Path) -> None:
    pr = Project(
        accounts=[sa("runner"), sa("iam"), sa("keys")],
        bindings=[
            binding("roles/run.admin", member("runner")),
            binding("roles/iam.serviceAccountUser", member("runner")),
            binding("roles/resourcemanager.projectIamAdmin", member("iam")),
            binding("roles/iam.serviceAccountKeyAdmin", member("keys")),
        ],
    )
    report = audit_project(tmp_path, pr)
    run = {m["id"]: m for m in hits(report, "priv.escalation", sa("runner"))[0].evidence["methods"]}
    assert "gcp-run-create" in run and run["gcp-run-create"]["split_across_policies"] is True
    assert run["gcp-run-create"]["reference"].startswith("https://rhinosecuritylabs.com/gcp/")
    # Setting the project's policy is all of IAM: the shared priv.admin says so, and the
    # escalation rule stays silent (every method would only restate it; see privilege.py).
    (adm,) = hits(report, "priv.admin", sa("iam"))
    assert adm.evidence["scope"] == "iam"
    assert hits(report, "priv.escalation", sa("iam")) == []
    keys = {m["id"] for m in hits(report, "priv.escalation", sa("keys"))[0].evidence["methods"]}
    assert "gcp-sa-key-create" in keys


def test_separation_of_duties(tmp_path: Path) -> None:
    pr = Project(
        accounts=[sa("both"), sa("admin-only")],
        bindings=[
            binding("roles/iam.serviceAccountAdmin", member("both"), member("admin-only")),
            binding("roles/iam.serviceAccountUser", member("both")),
        ],
    )
    report = audit_project(tmp_path, pr)
    assert [f.principal for f in hits(report, "gcp.sa-separation-of-duties")] == [sa("both")]


def test_keys_present_old_and_unused(tmp_path: Path) -> None:
    pr = Project(
        accounts=[sa("old"), sa("fresh"), sa("unused"), sa("sys")],
        bindings=[binding(VIEWER, member("old"), member("fresh"), member("unused"))],
        keys={
            sa("old"): [key(sa("old"), "k-old", OLD)],
            sa("fresh"): [key(sa("fresh"), "k-fresh", "2026-11-01T00:00:00Z")],
            sa("unused"): [key(sa("unused"), "k-unused", "2026-06-01T00:00:00Z")],
            sa("sys"): [{**key(sa("sys"), "k-sys", OLD), "keyType": "SYSTEM_MANAGED"}],
        },
        usage={
            "key-activity.json": [
                key_auth(sa("old"), "k-old", RECENT),
                key_auth(sa("fresh"), "k-fresh", RECENT),
            ]
        },
    )
    report = audit_project(tmp_path, pr)
    assert {f.principal for f in hits(report, "gcp.user-managed-key")} == {
        sa("old"),
        sa("fresh"),
        sa("unused"),
    }
    stale = {f.principal: f for f in hits(report, "cred.stale-key")}
    assert set(stale) == {sa("old"), sa("unused")}
    assert stale[sa("old")].severity == "medium"  # old, but used recently
    assert stale[sa("old")].evidence["last_used"] == "2026-11-20T00:00:00+00:00"
    assert stale[sa("unused")].severity == "high"  # old and never used
    assert stale[sa("unused")].message.startswith("user-managed key k-unused")
    # A key used recently makes the account recently active.
    assert result(report, sa("old")).used["last_activity"] == "2026-11-20T00:00:00+00:00"
    # Shorter limit, the fresh key too.
    report = audit(tmp_path / "snap", key_max_age_days=10)
    assert sa("fresh") in {f.principal for f in hits(report, "cred.stale-key")}


def test_disabled_and_expired_keys_are_not_active(tmp_path: Path) -> None:
    expired = {**key(sa("a"), "k1", OLD), "validBeforeTime": "2025-01-01T00:00:00Z"}
    disabled = {**key(sa("a"), "k2", OLD), "disabled": True}
    pr = Project(accounts=[sa("a")], keys={sa("a"): [expired, disabled]})
    report = audit_project(tmp_path, pr)
    assert hits(report, "cred.stale-key") == [] and hits(report, "gcp.user-managed-key") == []


def test_broad_trust_on_the_accounts_own_policy(tmp_path: Path) -> None:
    pr = Project(
        accounts=[sa("public"), sa("pool"), sa("named")],
        sa_policies={
            sa("public"): [binding("roles/iam.serviceAccountTokenCreator", "allUsers")],
            sa("pool"): [
                binding(
                    "roles/iam.workloadIdentityUser",
                    "principalSet://iam.googleapis.com/projects/1/locations/global/"
                    "workloadIdentityPools/github/*",
                )
            ],
            sa("named"): [
                binding("roles/iam.serviceAccountTokenCreator", member("public")),
                binding("roles/iam.serviceAccountViewer", "allUsers"),  # no impersonation
            ],
        },
    )
    report = audit_project(tmp_path, pr)
    found = {f.principal: f for f in hits(report, "trust.broad")}
    assert set(found) == {sa("public"), sa("pool")}
    assert found[sa("public")].severity == "critical"
    assert found[sa("public")].evidence["kind"] == "any"
    assert found[sa("pool")].severity == "high"


def test_insights_give_action_level_usage_inferred_kept(tmp_path: Path) -> None:
    email = AGENT
    pr = Project(
        accounts=[email],
        bindings=[binding(VIEWER, member("agent"))],
        usage={
            "insights.json": [
                insight(
                    email,
                    VIEWER,
                    ["storage.objects.get", "resourcemanager.projects.get"],
                    inferred=("storage.objects.list",),
                )
            ]
        },
    )
    report = audit_project(tmp_path, pr)
    r = result(report, email)
    assert r.used["known"] is True and r.used["granularity"] == "action"
    assert r.used["actions"] == 3  # exercised + inferred
    unused = {f.evidence.get("service"): f for f in hits(report, "creep.unused-permission")}
    assert unused["storage"].evidence["unused_actions"] == 4
    assert "storage.objects.list" not in unused["storage"].evidence["sample"]
    assert unused["resourcemanager"].evidence["unused_actions"] == 1


def test_binding_without_insight_is_not_judged(tmp_path: Path) -> None:
    email = AGENT
    pr = Project(
        accounts=[email],
        bindings=[
            binding(VIEWER, member("agent")),
            binding("roles/pubsub.publisher", member("agent")),
        ],
        usage={"insights.json": [insight(email, VIEWER, VIEWER_PERMS)]},
    )
    report = audit_project(tmp_path, pr)
    assert hits(report, "creep.unused-permission") == []
    assert hits(report, "creep.unused-principal") == []


def test_no_usage_data_is_unknown_not_unused(tmp_path: Path) -> None:
    pr = Project(accounts=[AGENT], bindings=[binding("roles/storage.admin", member("agent"))])
    report = audit_project(tmp_path, pr)
    r = result(report, AGENT)
    assert r.used["known"] is False
    assert "insights" in r.used["reason"]
    assert hits(report, "creep.unused-permission") == []
    assert hits(report, "creep.unused-principal") == []
    assert report.remediations == {}  # nothing to base a proposal on


def test_unused_principal_from_activity_and_from_account_insights(tmp_path: Path) -> None:
    pr = Project(
        accounts=[sa("idle"), sa("never"), sa("busy")],
        bindings=[binding(VIEWER, member("idle"), member("never"), member("busy"))],
        usage={
            "activity.json": [
                auth(sa("idle"), "2025-02-01T00:00:00Z", uid=f"uid-{sa('idle')}"),
                auth(sa("busy"), RECENT),
            ],
            "sa-insights.json": [
                {"content": {"email": sa("never"), "serviceAccountId": "9"}},
            ],
        },
    )
    report = audit_project(tmp_path, pr)
    found = {f.principal: f for f in hits(report, "creep.unused-principal")}
    assert set(found) == {sa("idle"), sa("never")}
    assert found[sa("idle")].evidence["source"] == "activity"
    assert found[sa("idle")].evidence["last_activity"] == "2025-02-01T00:00:00+00:00"
    assert "never used" in found[sa("never")].message
    assert result(report, sa("busy")).used["known"] is False  # activity alone: no verdict


def test_declarations_expand_roles_and_take_permissions_literally(tmp_path: Path) -> None:
    pr = Project(
        accounts=[AGENT, sa("extra")],
        bindings=[
            binding(VIEWER, member("agent")),
            binding("roles/storage.objectAdmin", member("extra")),
        ],
    )
    snap = pr.write(tmp_path / "snap")
    manifest(tmp_path, "agent", AGENT, [VIEWER])
    manifest(tmp_path, "extra", sa("extra"), [VIEWER], ("storage.objects.create",))
    mdir = manifest(tmp_path, "gone", sa("gone"), [VIEWER])
    report = audit(snap, manifests=[str(mdir)])
    assert hits(report, "creep.beyond-declared", AGENT) == []
    (over,) = hits(report, "creep.beyond-declared", sa("extra"))
    cat = load_catalog()
    admin = set(cat.role_permissions("roles/storage.objectAdmin") or ())
    expected = admin - set(VIEWER_PERMS) - {"storage.objects.create"}
    assert "storage.objects.delete" in expected
    assert over.evidence["undeclared_actions"] == len(expected)
    assert "storage.objects.create" not in over.evidence["sample"]
    assert over.location is not None and over.location[1] == 1  # JSON manifest: line 1
    (orphan,) = hits(report, "inv.orphan-manifest")
    assert orphan.principal == sa("gone")
    assert "serviceAccount" in orphan.remediation


def test_unregistered_only_when_manifests_are_given(tmp_path: Path) -> None:
    pr = Project(accounts=[AGENT, sa("rogue")], bindings=[binding(VIEWER, member("rogue"))])
    snap = pr.write(tmp_path / "snap")
    assert hits(audit(snap), "inv.unregistered") == []
    mdir = manifest(tmp_path, "agent", AGENT, [VIEWER])
    found = hits(audit(snap, manifests=[str(mdir)]), "inv.unregistered")
    assert [f.principal for f in found] == [sa("rogue")]
    assert "spec.entitlements.gcp.serviceAccount" in found[0].remediation


def test_growth_against_a_baseline(tmp_path: Path) -> None:
    before = Project(accounts=[AGENT], bindings=[binding(VIEWER, member("agent"))])
    after = Project(
        accounts=[AGENT],
        bindings=[
            binding(VIEWER, member("agent")),
            binding("roles/storage.objectAdmin", member("agent")),
        ],
    )
    base = before.write(tmp_path / "base")
    report = audit(after.write(tmp_path / "now"), baseline=base)
    (g,) = hits(report, "creep.growth", AGENT)
    assert g.evidence["against"] == "baseline" and g.evidence["added_actions"] > 0
    assert hits(audit(base, baseline=base), "creep.growth") == []


def test_custom_role_growth_counts(tmp_path: Path) -> None:
    role = "projects/proj-a/roles/agentRole"

    def with_perms(*perms: str) -> Project:
        return Project(
            accounts=[AGENT],
            bindings=[binding(role, member("agent"))],
            custom_roles=[{"name": role, "title": "Agent", "includedPermissions": list(perms)}],
        )

    base = with_perms("storage.objects.get").write(tmp_path / "base")
    now = with_perms("storage.objects.get", "storage.objects.delete").write(tmp_path / "now")
    report = audit(now, baseline=base)
    (g,) = hits(report, "creep.growth", AGENT)
    assert g.evidence["sample"] == ["storage.objects.delete"]


def test_exclusions_suppress(tmp_path: Path) -> None:
    pr = Project(accounts=[sa("bg")], bindings=[binding("roles/owner", member("bg"))])
    snap = pr.write(tmp_path / "snap")
    exc = tmp_path / "exc.yaml"
    exc.write_text(f"exclusions:\n  - principal: {sa('bg')}\n    reason: break glass\n")
    report = audit(snap, exclusions=exc)
    (adm,) = hits(report, "priv.admin")
    assert adm.suppressed == "break glass"
    assert report.summary["findings"] == 0


def test_remediation_removes_and_replaces_roles(tmp_path: Path) -> None:
    pr = Project(
        accounts=[AGENT],
        bindings=[
            binding("roles/storage.admin", member("agent")),
            binding("roles/pubsub.editor", member("agent")),
        ],
        usage={
            "insights.json": [
                insight(AGENT, "roles/storage.admin", ["storage.objects.get"]),
                insight(AGENT, "roles/pubsub.editor", []),
            ]
        },
    )
    report = audit_project(tmp_path, pr)
    rem = report.remediations[AGENT]
    ops = {o["role"]: o for o in rem["policy"]["operations"]}
    assert ops["roles/pubsub.editor"]["subtype"] == "REMOVE_ROLE"
    replace = ops["roles/storage.admin"]
    assert replace["subtype"] == "REPLACE_ROLE" and replace["addedRoles"]
    assert rem["policy"]["customRole"]["includedPermissions"] == ["storage.objects.get"]
    assert rem["actions_after"] == 1 and rem["recommendation"] == "replace-roles"
