"""The GCP loader: layout, multi-project parents, inherited and conditional bindings, trust,
warnings, and one-line errors naming file and field for malformed input."""

from __future__ import annotations

import json
from pathlib import Path

import pytest

from nhictl.core.errors import InputError
from nhictl.creep.effective import Expander, effective_for
from nhictl.providers.gcp.catalog import load_catalog
from nhictl.providers.gcp.snapshot import load_snapshot_dir
from tests.creep.gcp.conftest import (
    NOW,
    Project,
    audit,
    binding,
    hits,
    member,
    result,
    sa,
    until,
)

VIEWER = "roles/storage.objectViewer"


def load(path: Path):  # type: ignore[no-untyped-def]
    return load_snapshot_dir(path, load_catalog(), NOW)


def test_parent_folder_with_several_projects_and_shared_ancestors(tmp_path: Path) -> None:
    folder = {"folder-7": [binding("roles/viewer", member("ci", "proj-a"))]}
    a = Project(
        id="proj-a",
        number="1",
        accounts=[sa("ci", "proj-a")],
        bindings=[binding(VIEWER, member("ci", "proj-a"))],
        ancestors=folder,
    )
    b = Project(
        id="proj-b",
        number="2",
        accounts=[sa("job", "proj-b")],
        # An account of proj-a bound in proj-b: one principal, grants from both projects.
        bindings=[
            binding("roles/pubsub.publisher", member("ci", "proj-a"), member("job", "proj-b"))
        ],
        ancestors=folder,
    )
    a.write(tmp_path)
    b.write(tmp_path)
    snap = load(tmp_path)
    assert snap.accounts == ("proj-a", "proj-b")
    ci = snap.principals[sa("ci", "proj-a")]
    assert ci.account == "proj-a" and ci.kind == "service-account" and ci.name == "Ci"
    atts = {a.policy_id: a.inherited_from for a in ci.attachments}
    assert atts == {
        f"projects/proj-a#{VIEWER}": None,
        "projects/proj-b#roles/pubsub.publisher": None,
        "folders/7#roles/viewer": "folders/7",  # once, though both projects list the folder
    }
    assert snap.principals[sa("job", "proj-b")].account == "proj-b"
    # A project folder itself works as well.
    assert load(tmp_path / "proj-b").accounts == ("proj-b",)


def test_roles_are_expanded_once_and_shared(tmp_path: Path) -> None:
    accounts = [sa(f"a{i}") for i in range(30)]
    pr = Project(
        accounts=accounts,
        bindings=[binding("roles/owner", *(f"serviceAccount:{e}" for e in accounts))],
    )
    report = audit(pr.write(tmp_path))
    assert report.summary["policy_documents"] == 1
    assert report.summary["expanded_documents"] == 1
    cat = load_catalog()
    snap = load_snapshot_dir(tmp_path, cat, NOW)
    assert next(iter(snap.policies.values())).statements[0].actions is cat.role_permissions(
        "roles/owner"
    )


def test_conditions_are_kept_and_distinguish_policies(tmp_path: Path) -> None:
    pr = Project(
        accounts=[sa("a")],
        bindings=[
            binding(VIEWER, member("a"), condition=until("2027-01-01T00:00:00Z")),
            binding(VIEWER, member("a")),
        ],
    )
    snap = load(pr.write(tmp_path))
    p = snap.principals[sa("a")]
    assert len(p.attachments) == 2
    conds = sorted(str(snap.policies[a.policy_id].statements[0].condition) for a in p.attachments)
    assert conds[0] == "None" and "request.time" in conds[1]
    eff = effective_for(p, snap, Expander(load_catalog()))
    assert eff.unconditional == eff.allowed  # the unconditional binding grants it all anyway


def test_trust_and_sa_scoped_grants_from_account_policies(tmp_path: Path) -> None:
    pr = Project(
        accounts=[sa("target"), sa("broker")],
        sa_policies={
            sa("target"): [
                binding("roles/iam.serviceAccountTokenCreator", member("broker"), "user:u@x.com"),
                binding("roles/iam.serviceAccountUser", "allAuthenticatedUsers"),
            ]
        },
    )
    snap = load(pr.write(tmp_path))
    trust = snap.principals[sa("target")].trust
    assert [(t.kind, t.value) for t in trust] == [
        ("principal", member("broker")),
        ("principal", "user:u@x.com"),
        ("any", "allAuthenticatedUsers"),
    ]
    assert "iam.serviceAccounts.getAccessToken" in trust[0].actions
    assert trust[0].account == "proj-a"
    (att,) = snap.principals[sa("broker")].attachments
    pol = snap.policies[att.policy_id]
    assert pol.statements[0].resources == (f"projects/proj-a/serviceAccounts/{sa('target')}",)


def test_non_workload_members_warn_and_are_not_principals(tmp_path: Path) -> None:
    pr = Project(
        accounts=[sa("a"), "service-1@gcp-sa-pubsub.iam.gserviceaccount.com"],
        bindings=[
            binding("roles/editor", "group:devs@x.com", "user:u@x.com", "domain:x.com"),
            binding(VIEWER, f"deleted:serviceAccount:{sa('old')}?uid=1"),
            binding(
                "roles/pubsub.serviceAgent",
                "serviceAccount:service-1@gcp-sa-pubsub.iam.gserviceaccount.com",
            ),
            binding(
                VIEWER,
                "principalSet://iam.googleapis.com/projects/1/locations/global/workloadIdentityPools/p/*",
            ),
            binding("roles/unknown.role", member("a")),
            binding(VIEWER, member("elsewhere", "proj-z")),
        ],
    )
    snap = load(pr.write(tmp_path))
    assert set(snap.principals) == {sa("a"), sa("elsewhere", "proj-z")}
    assert snap.principals[sa("elsewhere", "proj-z")].account == "proj-z"
    text = "\n".join(snap.warnings)
    assert "devs@x.com" in text and "cannot be resolved offline" in text
    assert "deleted members" in text and "old@" in text
    assert "federated principals" in text
    assert "roles/unknown.role" in text
    assert "service agent" in text
    assert "elsewhere@proj-z" in text
    (att,) = snap.principals[sa("a")].attachments
    assert snap.policies[att.policy_id].resolved is False


def test_missing_optional_files_narrow_and_say_so(tmp_path: Path) -> None:
    pr = Project(accounts=[sa("a")], bindings=[binding(VIEWER, member("a"))], keys=None)
    d = pr.write(tmp_path)
    (d / "service-accounts.json").unlink()
    (d / "project.json").unlink()
    report = audit(d)
    text = "\n".join(report.summary["warnings"])
    assert "no keys/ folder" in text and "cred.stale-key" in text
    assert "no service-accounts.json" in text and "no project.json" in text
    assert result(report, sa("a")).name == "a"


def _bad(tmp_path: Path, rel: str, text: str) -> str:
    pr = Project(accounts=[sa("a")], bindings=[binding(VIEWER, member("a"))], raw={rel: text})
    d = pr.write(tmp_path)
    with pytest.raises(InputError) as exc:
        audit(d)
    msg = str(exc.value)
    assert "\n" not in msg
    return msg


@pytest.mark.parametrize(
    ("rel", "text", "expect"),
    [
        ("iam-policy.json", '{"bindings": [{"role": "roles/x", "mem', "iam-policy.json:1:"),
        ("iam-policy.json", "", "empty file"),
        ("iam-policy.json", '{"bindings": {}}', "$.bindings: expected array, got object"),
        ("iam-policy.json", '{"bindings": [{"members": []}]}', "$.bindings[0].role: missing"),
        (
            "iam-policy.json",
            '{"bindings": [{"role": "roles/x", "members": [3]}]}',
            "$.bindings[0].members[0]: expected string",
        ),
        (
            "iam-policy.json",
            '{"bindings": [{"role": "roles/x", "members": [], "condition": {"title": "t"}}]}',
            "$.bindings[0].condition.expression: missing",
        ),
        (
            "iam-policy.json",
            '{"version": 1, "bindings": [{"role": "roles/x_withcond_1a2b", "members": []}]}',
            "version 3",
        ),
        ("iam-policy.json", "{} {}", "expected one JSON document, found 2"),
        ("project.json", '{"name": "x"}', "project.json: $.projectId: missing"),
        ("service-accounts.json", '[{"displayName": "x"}]', "$[0].email: missing"),
        (
            f"keys/{sa('a')}.json",
            '[{"name": "k", "validAfterTime": "yesterday"}]',
            "$[0].validAfterTime: not a timestamp",
        ),
        ("keys/not-an-email.json", "[]", "not a service-account e-mail"),
        ("ancestors/team-9.json", "{}", "ancestors/folder-<id>.json"),
        ("custom-roles.json", '[{"name": "x"}]', "$[0].name: expected projects/P/roles/R"),
        ("insights.json", '[{"content": []}]', "insights.json: $[0].content: expected object"),
        (
            "insights.json",
            '[{"content": {"role": "r", "member": "serviceAccount:a@b", '
            '"exercisedPermissions": [{}]}, "targetResources": ["//x/projects/1"]}]',
            "$[0].content.exercisedPermissions[0].permission: missing",
        ),
        (
            "activity.json",
            '{"activities": [{"activity": {}}]}',
            "$.activities[0].activity.serviceAccount",
        ),
        (
            "key-activity.json",
            '[{"activity": {"lastAuthenticatedTime": "2026-01-01T00:00:00Z", '
            '"serviceAccountKey": {"fullResourceName": "nope"}}}]',
            "not a key name",
        ),
    ],
)
def test_malformed_input_is_one_line_naming_file_and_field(
    tmp_path: Path, rel: str, text: str, expect: str
) -> None:
    msg = _bad(tmp_path, rel, text)
    assert expect in msg
    assert Path(rel).name in msg or "proj-a" in msg


def test_not_a_project_folder(tmp_path: Path) -> None:
    with pytest.raises(InputError, match="no project folder"):
        audit(tmp_path)
    with pytest.raises(InputError, match="no such directory"):
        audit(tmp_path / "missing")
    f = tmp_path / "file.json"
    f.write_text("{}")
    with pytest.raises(InputError, match="expected a directory"):
        audit(f)
    with pytest.raises(InputError, match="at least 1"):
        audit(tmp_path, unused_days=0)


def test_the_same_project_twice_is_refused(tmp_path: Path) -> None:
    Project(id="proj-a").write(tmp_path / "one")
    d = Project(id="proj-a").write(tmp_path / "two")
    (tmp_path / "both").mkdir()
    (tmp_path / "one" / "proj-a").rename(tmp_path / "both" / "x")
    d.rename(tmp_path / "both" / "y")
    with pytest.raises(InputError, match="also in"):
        audit(tmp_path / "both")


def test_rest_shapes_are_accepted(tmp_path: Path) -> None:
    pr = Project(accounts=[], bindings=[binding(VIEWER, member("a"))])
    d = pr.write(tmp_path)
    (d / "service-accounts.json").write_text(json.dumps({"accounts": [{"email": sa("a")}]}))
    (d / "keys" / f"{sa('a')}.json").write_text(
        json.dumps(
            {
                "keys": [
                    {
                        "name": "projects/p/serviceAccounts/a/keys/k1",
                        "validAfterTime": "2020-01-01T00:00:00Z",
                    }
                ]
            }
        )
    )
    (d / "project.json").write_text(json.dumps({"projectId": "proj-a", "name": "projects/42"}))
    report = audit(d)
    assert [f.principal for f in hits(report, "cred.stale-key")] == [sa("a")]
