"""The GCP role catalog: the shipped data against the research's figures, the level rule, role
bitsets, custom roles, unknown permissions, and the build script's reproducible output."""

from __future__ import annotations

import gzip
import json
import shutil
import subprocess
import sys
from pathlib import Path

import pytest

from nhictl.providers.gcp.catalog import DATA_FILE, GcpCatalog, catalog_metadata, load_catalog
from nhictl.providers.gcp.escalation import METHODS
from nhictl.providers.gcp.levels import level_of

ROOT = Path(__file__).resolve().parents[3]
MIRROR = Path("/work/.mirror/iann0036+iam-dataset/repo")


def test_shipped_catalog_matches_the_dataset_figures() -> None:
    meta = catalog_metadata()
    assert meta["source"]["repository"] == "iann0036/iam-dataset"
    assert meta["source"]["commit"] == "2073fa52ac008a45477aa0b1b4580cd99135bf60"
    assert meta["source"]["date"].startswith("2026-08-22")
    counts = meta["counts"]
    assert 2390 <= counts["roles"] <= 2461
    assert counts["permissions"] > 13_000
    cat = load_catalog()
    sizes = {
        r: (cat.role_mask(r) or 0).bit_count()
        for r in ("roles/owner", "roles/editor", "roles/viewer")
    }
    assert sizes == {"roles/owner": 13568, "roles/editor": 11979, "roles/viewer": 6064}
    assert (cat.role_mask("roles/iam.serviceAccountTokenCreator") or 0).bit_count() == 9
    assert (cat.role_mask("roles/iam.serviceAccountUser") or 0).bit_count() == 5
    assert len(cat) == counts["permissions"]


def test_permissions_differing_only_in_case_keep_their_own_bits() -> None:
    cat = load_catalog()
    a, b = "networkservices.httpFilters.get", "networkservices.httpfilters.get"
    assert cat.index(a) != cat.index(b)
    assert cat.expand(a) != cat.expand(b)
    assert cat.index("NETWORKSERVICES.HTTPFILTERS.GET") in (cat.index(a), cat.index(b))


def test_every_escalation_permission_is_in_the_catalog() -> None:
    cat = load_catalog()
    missing = [
        (m.id, a) for m in METHODS for group in m.requires for a in group if cat.index(a) is None
    ]
    assert missing == []
    assert len({m.id for m in METHODS}) == len(METHODS)
    assert all(m.id.startswith("gcp-") and m.reference.startswith("https://") for m in METHODS)


@pytest.mark.parametrize(
    ("perm", "level"),
    [
        ("resourcemanager.projects.get", "Read"),
        ("resourcemanager.projects.getIamPolicy", "Read"),
        ("storage.objects.list", "List"),
        ("cloudasset.assets.searchAllIamPolicies", "List"),
        ("compute.instances.create", "Write"),
        ("storage.objects.delete", "Write"),
        ("resourcemanager.projects.setIamPolicy", "Permissions management"),
        ("iam.serviceAccounts.actAs", "Permissions management"),
        ("iam.serviceAccounts.getAccessToken", "Permissions management"),
        ("iam.serviceAccounts.signBlob", "Permissions management"),
        ("iam.serviceAccounts.signJwt", "Permissions management"),
        ("iam.serviceAccounts.implicitDelegation", "Permissions management"),
        ("iam.serviceAccountKeys.create", "Permissions management"),
        ("iam.roles.create", "Permissions management"),
        ("iam.roles.update", "Permissions management"),
        ("compute.instances.setLabels", "Tagging"),
        ("compute.instances.createTagBinding", "Tagging"),
        ("compute.instances.listTagBindings", "List"),
    ],
)
def test_access_level_rule(perm: str, level: str) -> None:
    assert level_of(perm) == level
    assert load_catalog().level(perm) == level


def test_catalog_levels_services_roles_and_growth() -> None:
    perms = ["a.x.get", "a.x.list", "a.x.setIamPolicy", "b.y.create", "b.y.setLabels"]
    cat = GcpCatalog(perms, "RLPWT", [("roles/b.user", "B user", "GA", "4,1")])
    assert list(cat.services()) == ["a", "b"]
    assert cat.service_mask("a") == 0b00111 and cat.service_mask("B") == 0b11000
    assert cat.level_mask("Permissions management") == 0b00100
    assert cat.role_mask("roles/b.user") == 0b11000
    assert cat.role_permissions("roles/B.USER") == ("b.y.create", "b.y.setLabels")
    assert cat.role_mask("roles/nope") is None
    assert cat.expand("roles/b.user") == 0b11000
    assert cat.expand("a.x.*") == 0b00111 and cat.expand("*") == cat.all_mask
    assert cat.services_of("roles/b.user") == frozenset({"b"})
    assert cat.index("a:a.x.list") == 1  # usage rows are "service:permission"
    assert cat.scopable_mask() == 0
    # A custom role with a permission the catalog does not know: it gets its own bit.
    cat.add_custom_role("projects/p/roles/mine", ["a.x.get", "c.z.signJwt"])
    mine = cat.role_mask("projects/p/roles/mine") or 0
    assert mine.bit_count() == 2 and len(cat) == 6
    assert cat.level("c.z.signJwt") == "Permissions management"
    assert cat.service_mask("c") == 1 << 5 and cat.all_mask == 0b111111
    assert cat.expand("*.z.*") == 1 << 5
    assert cat.names(cat.all_mask, 2) == ["a.x.get", "a.x.list"]


def test_build_is_deterministic_on_given_roles() -> None:
    import importlib.util

    spec = importlib.util.spec_from_file_location("bgc", ROOT / "scripts/build_gcp_catalog.py")
    assert spec is not None and spec.loader is not None
    mod = importlib.util.module_from_spec(spec)
    spec.loader.exec_module(mod)
    roles = [
        {
            "name": "roles/b.user",
            "title": "B",
            "stage": "GA",
            "includedPermissions": ["b.y.create", "a.x.get"],
        },
        {
            "name": "roles/a.viewer",
            "title": "A",
            "stage": "BETA",
            "includedPermissions": ["a.x.get", "a.x.list"],
        },
        {"name": "roles/empty", "title": "E", "stage": "GA"},
    ]
    built = mod.build(roles, "c0ffee", "2026-01-01T00:00:00+00:00")
    assert built["permissions"] == ["a.x.get", "a.x.list", "b.y.create"]
    assert built["codes"] == "RLW"
    assert built["roles"] == [
        ["roles/a.viewer", "A", "BETA", "1,1"],
        ["roles/b.user", "B", "GA", "1,2"],
        ["roles/empty", "E", "GA", ""],
    ]
    assert built["counts"]["roles_without_permissions"] == 1
    assert mod.encode(built) == mod.encode(
        mod.build(list(reversed(roles)), "c0ffee", "2026-01-01T00:00:00+00:00")
    )
    cat = GcpCatalog(built["permissions"], built["codes"], built["roles"])
    assert cat.role_permissions("roles/b.user") == ("a.x.get", "b.y.create")


@pytest.mark.skipif(
    not MIRROR.is_dir() or shutil.which("git") is None, reason="iam-dataset snapshot not here"
)
def test_rebuilding_from_the_pinned_commit_gives_the_shipped_bytes(tmp_path: Path) -> None:
    out = tmp_path / "roles.json.gz"
    subprocess.run(
        [sys.executable, str(ROOT / "scripts/build_gcp_catalog.py"), "--out", str(out)],
        check=True,
        capture_output=True,
    )
    shipped = (ROOT / "nhictl/providers/gcp" / DATA_FILE).read_bytes()
    assert out.read_bytes() == shipped
    data = json.loads(gzip.decompress(shipped))
    assert data["counts"]["roles"] == len(data["roles"]) == 2461


def _build_from_roles_file(roles_file: Path, out: Path) -> subprocess.CompletedProcess[str]:
    return subprocess.run(
        [
            sys.executable,
            str(ROOT / "scripts/build_gcp_catalog.py"),
            "--roles-file",
            str(roles_file),
            "--out",
            str(out),
        ],
        capture_output=True,
        text=True,
    )


def test_build_from_a_predefined_roles_file_records_its_source(tmp_path: Path) -> None:
    import hashlib

    from nhictl.providers.gcp.predefined import catalog_label
    from tests.providers.fake_gcp_roles import NEW_PERMISSION, PREDEFINED_ROLE_PAGES

    listed = tmp_path / "predefined-roles.json"
    listed.write_text(json.dumps([r for page in PREDEFINED_ROLE_PAGES for r in page]))
    (tmp_path / "notes.json").write_text(json.dumps({"collectedAt": "2026-12-01T08:00:00Z"}))
    out = tmp_path / "roles.v1.json.gz"

    done = _build_from_roles_file(listed, out)

    assert done.returncode == 0, done.stderr
    data = json.loads(gzip.decompress(out.read_bytes()))
    assert data["source"] == {
        "file": "predefined-roles.json",
        "sha256": hashlib.sha256(listed.read_bytes()).hexdigest(),
        "date": "2026-12-01T08:00:00Z",
        "origin": "IAM v1 roles.list view=FULL (nhictl collect gcp --roles)",
    }
    assert data["counts"]["roles"] == 3
    cat = GcpCatalog(data["permissions"], data["codes"], data["roles"], data["source"])
    viewer = cat.role_permissions("roles/storage.objectViewer")
    assert viewer is not None and NEW_PERMISSION in viewer
    assert catalog_label(cat.source).startswith("predefined-roles.json sha256:")
    first = out.read_bytes()
    assert _build_from_roles_file(listed, out).returncode == 0
    assert out.read_bytes() == first  # same file, same bytes


def test_build_refuses_a_roles_file_without_permissions(tmp_path: Path) -> None:
    basic = tmp_path / "predefined-roles.json"
    basic.write_text(json.dumps([{"name": "roles/browser", "title": "Browser", "stage": "GA"}]))
    done = _build_from_roles_file(basic, tmp_path / "out.json.gz")
    assert done.returncode != 0
    assert done.stderr.strip().splitlines() == [
        f"error: {basic}: $[0].includedPermissions: missing in every role: list them with "
        "view=FULL (nhictl collect gcp --roles); gcloud iam roles list alone omits them"
    ]
    assert not (tmp_path / "out.json.gz").exists()
