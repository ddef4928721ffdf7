"""``predefined-roles.json`` in a GCP folder: Google's roles as they are now replace the shipped
catalog's copies of the same names (and their new permissions join the catalog)."""

from __future__ import annotations

import json
from pathlib import Path
from typing import Any

import pytest

from nhictl.core.errors import InputError
from nhictl.providers.gcp.catalog import load_catalog
from nhictl.providers.gcp.snapshot import load_snapshot_dir
from tests.providers.fake_gcp_roles import NEW_PERMISSION, PREDEFINED_ROLE_PAGES

from .conftest import NOW, Project, audit, binding, hits, insight, member, result, sa

VIEWER = "roles/storage.objectViewer"
AGENT = sa("reader")
LISTED = [role for page in PREDEFINED_ROLE_PAGES for role in page]


def _project(**kw: Any) -> Project:
    return Project(
        accounts=[AGENT],
        bindings=[binding(VIEWER, member("reader"))],
        usage={"insights.json": [insight(AGENT, VIEWER, ["storage.objects.get"])]},
        **kw,
    )


def _shipped_viewer() -> tuple[str, ...]:
    perms = load_catalog().role_permissions(VIEWER)
    assert perms is not None and NEW_PERMISSION not in perms
    return perms


def test_a_refreshed_role_grants_its_new_permission(tmp_path: Path) -> None:
    shipped = _shipped_viewer()
    folder = _project(raw={"predefined-roles.json": json.dumps(LISTED)}).write(tmp_path)

    report = audit(folder)

    r = result(report, AGENT)
    assert r.granted["actions"] == len(shipped) + 1
    storage = [
        f for f in hits(report, "creep.unused-permission") if f.evidence.get("service") == "storage"
    ]
    (unused,) = storage
    assert NEW_PERMISSION in unused.evidence["sample"]
    inputs = report.summary["inputs"]
    assert inputs["predefined_roles"]["source"] == "files"
    assert inputs["predefined_roles"]["files"] == [str(folder / "predefined-roles.json")]
    assert inputs["predefined_roles"]["roles"] == len(LISTED)
    assert inputs["role_catalog"].startswith("iann0036/iam-dataset@2073fa5")
    (note,) = [w for w in report.summary["warnings"] if w.startswith("predefined roles:")]
    assert f"{len(LISTED)} role(s) as {folder / 'predefined-roles.json'} defines them" in note
    assert "1 changed, 0 new, 1 new permission(s)" in note
    assert "iann0036/iam-dataset@2073fa5 (2026-08-22)" in note


def test_without_the_file_the_shipped_definition_is_used(tmp_path: Path) -> None:
    report = audit(_project().write(tmp_path))
    assert result(report, AGENT).granted["actions"] == len(_shipped_viewer())
    assert report.summary["inputs"]["predefined_roles"] == {
        "source": "shipped",
        "catalog": report.summary["inputs"]["role_catalog"],
    }
    assert not any(w.startswith("predefined roles:") for w in report.summary["warnings"])


def test_the_parent_folder_file_and_rest_pages_apply_to_every_project(tmp_path: Path) -> None:
    a = _project()
    b = Project(id="proj-b", number="2", accounts=[sa("job", "proj-b")])
    b.bindings = [binding(VIEWER, member("job", "proj-b"))]
    a.write(tmp_path)
    b.write(tmp_path)
    pages = [
        {"roles": page, "nextPageToken": f"t{n}"} for n, page in enumerate(PREDEFINED_ROLE_PAGES)
    ]
    (tmp_path / "predefined-roles.json").write_text("\n".join(map(json.dumps, pages)))

    snap = load_snapshot_dir(tmp_path, load_catalog(), NOW)

    for email in (AGENT, sa("job", "proj-b")):
        (att,) = snap.principals[email].attachments
        assert NEW_PERMISSION in snap.policies[att.policy_id].statements[0].actions
    assert snap.warnings[0].startswith(f"predefined roles: {len(LISTED)} role(s) as {tmp_path}")


def test_a_baseline_keeps_todays_roles(tmp_path: Path) -> None:
    now = _project(raw={"predefined-roles.json": json.dumps(LISTED)}).write(tmp_path / "now")
    old = [dict(r, includedPermissions=["storage.objects.get"]) for r in LISTED]
    then = _project(raw={"predefined-roles.json": json.dumps(old)}).write(tmp_path / "then")
    report = audit(now, baseline=then)
    # the baseline's file is not read: both sides are judged with today's definitions
    assert hits(report, "creep.growth") == []
    assert result(report, AGENT).granted["actions"] == len(_shipped_viewer()) + 1


@pytest.mark.parametrize(
    ("text", "message"),
    [
        ('[{"name": "roles/browser", "includedPermissions": [', r":1:\d+: invalid JSON"),
        ('{"roles": {"name": "roles/browser"}}', r": \$\.roles: expected array, got object"),
        ("[]", r": \$: no predefined role"),
        (
            '[{"name": "roles/browser", "title": "Browser"}]',
            r": \$\[0\]\.includedPermissions: missing in every role: list them with view=FULL",
        ),
        (
            '[{"name": "projects/p/roles/x", "includedPermissions": []}]',
            r": \$\[0\]\.name: projects/p/roles/x is not a predefined role",
        ),
        (
            '[{"name": "roles/a", "includedPermissions": ["a.b.get", 7]}]',
            r": \$\[0\]\.includedPermissions\[1\]: expected a permission",
        ),
        (
            '[{"name": "roles/a", "includedPermissions": ["a.b.get"]},'
            ' {"name": "roles/a", "includedPermissions": ["a.b.list"]}]',
            r": \$\[1\]\.name: roles/a is listed twice, differently",
        ),
        ('[{"includedPermissions": []}]', r": \$\[0\]\.name: missing"),
    ],
)
def test_malformed_files_are_one_line_naming_file_and_path(
    tmp_path: Path, text: str, message: str
) -> None:
    folder = _project(raw={"predefined-roles.json": text}).write(tmp_path)
    with pytest.raises(InputError, match="predefined-roles.json" + message) as info:
        audit(folder)
    assert "\n" not in str(info.value)


def test_deleted_roles_are_left_out(tmp_path: Path) -> None:
    listed = [*LISTED, dict(LISTED[0], name="roles/gone", deleted=True)]
    folder = _project(raw={"predefined-roles.json": json.dumps(listed)}).write(tmp_path)
    catalog = load_catalog()
    load_snapshot_dir(folder, catalog, NOW)
    assert catalog.role("roles/gone") is None
    assert sorted(catalog.refreshed) == sorted(r["name"] for r in LISTED)
