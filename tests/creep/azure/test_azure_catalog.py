"""The shipped Azure catalog: provenance, pattern semantics, roles, run-time growth."""

from __future__ import annotations

import gzip
import json
import subprocess
import sys
from importlib import resources
from pathlib import Path

import pytest

from nhictl.providers.azure.catalog import (
    AzureCatalog,
    RoleDefinition,
    RolePermission,
    load_catalog,
)
from nhictl.providers.azure.levels import access_level, scopable

ROOT = Path(__file__).resolve().parents[3]
MIRROR = Path("/work/.mirror/iann0036+iam-dataset/repo")
COMMIT = "2073fa52ac008a45477aa0b1b4580cd99135bf60"


@pytest.fixture(scope="module")
def cat() -> AzureCatalog:
    return load_catalog()


def _shipped() -> bytes:
    return resources.files("nhictl.providers.azure").joinpath("data/roles.v1.json.gz").read_bytes()


def test_metadata_records_source_and_operations_fallback() -> None:
    data = json.loads(gzip.decompress(_shipped()))
    src = data["source"]
    assert src["repository"] == "iann0036/iam-dataset"
    assert src["commit"] == COMMIT
    assert src["date"].startswith("2026-08-22")
    assert src["operations_complete"] is False
    assert "union of the concrete operations named in the built-in roles" in src["operations"]
    assert len(data["roles"]) == 928


def test_builtin_roles_expand_with_their_exclusions(cat: AzureCatalog) -> None:
    owner = cat.expand("role:Owner")
    contributor = cat.expand("role:b24988ac-6180-42a0-ab88-20f7382dd24c")
    write = cat.index("Microsoft.Authorization/roleAssignments/write")
    assert write is not None
    assert owner >> write & 1
    assert not contributor >> write & 1  # notActions: Microsoft.Authorization/*/Write
    assert contributor & ~owner == 0
    reader = cat.expand("role:reader")  # names match case-insensitively
    assert reader == cat.expand("*/read")
    assert all(n.lower().endswith("/read") for n in cat.names(reader))


def test_actions_wildcards_never_reach_data_actions(cat: AzureCatalog) -> None:
    everything = cat.expand("*")
    assert everything & cat.data_mask == 0  # Owner cannot read blobs
    blob = cat.expand("data:Microsoft.Storage/storageAccounts/blobServices/containers/blobs/read")
    assert blob and blob & cat.data_mask == blob
    assert cat.expand("data:*") == cat.data_mask
    sbdr = cat.expand("role:Storage Blob Data Reader")
    assert sbdr & blob == blob


def test_namespace_and_infix_wildcards_are_case_insensitive(cat: AzureCatalog) -> None:
    compute = cat.expand("Microsoft.Compute/*")
    assert compute == cat.expand("microsoft.compute/*")
    assert compute == cat.service_mask("Microsoft.Compute") & ~cat.data_mask
    vm_reads = cat.expand("Microsoft.Compute/virtualMachines/*/read")
    names = cat.names(vm_reads)
    assert names and all(n.lower().startswith("microsoft.compute/virtualmachines/") for n in names)
    assert cat.services_of("*/read") == frozenset(cat.services())
    assert cat.services_of("microsoft.compute/*") == frozenset({"Microsoft.Compute"})


def test_unknown_operations_join_and_wildcards_see_them(cat: AzureCatalog) -> None:
    fresh = load_catalog()
    before = fresh.expand("Microsoft.Compute/*").bit_count()
    bit = fresh.ensure("Microsoft.Compute/virtualMachines/hibernateNow/action")
    assert fresh.expand("Microsoft.Compute/*").bit_count() == before + 1
    assert fresh.level("Microsoft.Compute/virtualMachines/hibernateNow/action") == "Write"
    assert fresh.index("Microsoft.Compute:virtualmachines/hibernatenow/action") == bit
    assert fresh.expand("garbage") == 0  # malformed: matches nothing


def test_custom_roles_register_and_teach_their_operations() -> None:
    fresh = load_catalog()
    role = RoleDefinition(
        "3a0c5f9e-7d6b-4e21-9f8a-1b2c3d4e5f60",
        "Widget Operator",
        (RolePermission(("Contoso.Widgets/widgets/spin/action", "*/read"), ("*/secrets/read",)),),
        builtin=False,
    )
    fresh.register_role(role)
    mask = fresh.expand("role:Widget Operator")
    assert "Contoso.Widgets/widgets/spin/action" in fresh.names(mask)
    assert fresh.expand("Contoso.Widgets/*").bit_count() == 1
    assert fresh.role("widget operator") is role


@pytest.mark.parametrize(
    ("name", "data", "level"),
    [
        ("Microsoft.Compute/virtualMachines/read", False, "Read"),
        ("Microsoft.Compute/virtualMachines/write", False, "Write"),
        ("Microsoft.Compute/virtualMachines/start/action", False, "Write"),
        ("Microsoft.Storage/storageAccounts/listKeys/action", False, "Permissions management"),
        ("Microsoft.Web/sites/publishxml/action", False, "Permissions management"),
        ("Microsoft.Authorization/roleAssignments/write", False, "Permissions management"),
        ("Microsoft.Authorization/locks/delete", False, "Permissions management"),
        (
            "Microsoft.ManagedIdentity/userAssignedIdentities/assign/action",
            False,
            "Permissions management",
        ),
        ("Microsoft.Resources/tags/write", False, "Tagging"),
        ("Microsoft.Storage/checkNameAvailability/read", False, "Read"),
        ("Microsoft.KeyVault/vaults/secrets/getSecret/action", True, "Read"),
        ("Microsoft.Storage/storageAccounts/blobServices/containers/blobs/write", True, "Write"),
    ],
)
def test_derived_access_levels(name: str, data: bool, level: str) -> None:
    assert access_level(name, data) == level


def test_provider_wide_operations_cannot_be_scoped() -> None:
    assert not scopable("Microsoft.Compute/register/action")
    assert not scopable("Microsoft.Compute/locations/usages/read")
    assert scopable("Microsoft.Compute/virtualMachines/write")


@pytest.mark.skipif(not MIRROR.is_dir(), reason="iam-dataset mirror not on this machine")
def test_build_script_reproduces_the_shipped_file(tmp_path: Path) -> None:
    out = ROOT / "nhictl/providers/azure/data/roles.v1.json.gz"
    before = out.read_bytes()
    try:
        subprocess.run(
            [
                sys.executable,
                str(ROOT / "scripts/build_azure_catalog.py"),
                "--dataset",
                str(MIRROR),
                "--commit",
                COMMIT,
            ],
            check=True,
            capture_output=True,
        )
        assert out.read_bytes() == before
    finally:
        out.write_bytes(before)


@pytest.mark.skipif(not MIRROR.is_dir(), reason="iam-dataset mirror not on this machine")
def test_build_script_ships_a_full_operation_list_when_given_one(tmp_path: Path) -> None:
    from nhictl.providers.azure.catalog import roles_from_raw
    from nhictl.providers.azure.operations import az_provider
    from tests.providers.fake_azure_operations import (
        NEW_COMPUTE_OPERATIONS,
        PROVIDER_OPERATION_PAGES,
    )

    ops = tmp_path / "provider-operations.json"
    ops.write_text(json.dumps([az_provider(p) for pg in PROVIDER_OPERATION_PAGES for p in pg]))
    out = tmp_path / "roles.v1.json.gz"
    subprocess.run(
        [
            sys.executable,
            str(ROOT / "scripts/build_azure_catalog.py"),
            "--dataset",
            str(MIRROR),
            "--commit",
            COMMIT,
            "--operations",
            str(ops),
            "--out",
            str(out),
        ],
        check=True,
        capture_output=True,
    )
    data = json.loads(gzip.decompress(out.read_bytes()))
    assert data["source"]["operations_complete"] is True
    assert "provider-operations.json" in data["source"]["operations"]
    cat = AzureCatalog(data["services"], roles_from_raw(data["roles"]), data["source"])
    assert cat.operations_complete
    reached = set(cat.names(cat.expand("Microsoft.Compute/*")))
    assert set(NEW_COMPUTE_OPERATIONS) <= reached
    assert cat.index("data:Microsoft.Compute/virtualMachines/login/action") is not None
