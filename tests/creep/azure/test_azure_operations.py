"""``provider-operations.json`` in an Azure folder: the catalog learns Azure's full operation
list before roles are expanded, so wildcards reach operations no built-in role names."""

from __future__ import annotations

import json
from pathlib import Path
from typing import Any

import pytest

from nhictl.core.errors import InputError
from nhictl.creep.model import Report
from nhictl.providers.azure.audit import AzureAuditInputs, audit_azure
from nhictl.providers.azure.catalog import AzureCatalog, load_catalog
from nhictl.providers.azure.knowledge import prepare_catalog
from nhictl.providers.azure.load import load_azure
from nhictl.providers.azure.operations import az_provider, read_provider_operations
from tests.providers.fake_azure_operations import NEW_COMPUTE_OPERATIONS, PROVIDER_OPERATION_PAGES

from .conftest import NOW, Tenant, hits, rg

VM_ROLE = "5c2e7b1a-0000-4000-8000-00000000c0de"
AZ_LIST = [az_provider(p) for page in PROVIDER_OPERATION_PAGES for p in page]


def _tenant() -> Tenant:
    t = Tenant()
    a = t.sp(1, "vm-agent")
    t.custom_role(VM_ROLE, "VM operator", ["Microsoft.Compute/*"])
    t.assign(a, VM_ROLE, rg("rg-vm"))
    t.event(1, "Microsoft.Compute/virtualMachines/start/action")
    return t


def _folder(tmp: Path, operations: Any | None) -> Path:
    d = _tenant().write(tmp / "now")
    if operations is not None:
        text = operations if isinstance(operations, str) else json.dumps(operations)
        (d / "provider-operations.json").write_text(text, encoding="utf-8")
    return d


def _audit(folder: Path) -> Report:
    return audit_azure(AzureAuditInputs(snapshot=folder, now=NOW))


def _compute_wildcard(folder: Path) -> tuple[AzureCatalog, set[str]]:
    cat = prepare_catalog(load_catalog())
    load_azure(folder, cat)
    return cat, set(cat.names(cat.expand("Microsoft.Compute/*")))


def test_the_shipped_catalog_lacks_the_fixture_operations() -> None:
    cat = prepare_catalog(load_catalog())
    assert all(cat.index(op) is None for op in NEW_COMPUTE_OPERATIONS)
    assert cat.operations_complete is False


def test_a_full_list_makes_wildcards_reach_operations_no_builtin_role_names(
    tmp_path: Path,
) -> None:
    cat, with_list = _compute_wildcard(_folder(tmp_path / "with", AZ_LIST))
    assert set(NEW_COMPUTE_OPERATIONS) <= with_list
    assert cat.operations_complete and cat.operation_lists == [
        str(tmp_path / "with/now/provider-operations.json")
    ]
    # an actions wildcard still never reaches a data action of the list
    assert "Microsoft.Compute/virtualMachines/login/action" not in with_list
    login = cat.index("data:Microsoft.Compute/virtualMachines/login/action")
    assert login is not None and cat.expand("data:Microsoft.Compute/*") >> login & 1

    _, without = _compute_wildcard(_folder(tmp_path / "without", None))
    assert not set(NEW_COMPUTE_OPERATIONS) & without
    assert with_list - without == set(NEW_COMPUTE_OPERATIONS)


def test_the_report_counts_them_and_says_whether_the_list_is_complete(tmp_path: Path) -> None:
    folder = _folder(tmp_path / "full", AZ_LIST)
    report = _audit(folder)
    partial = _audit(_folder(tmp_path / "partial", None))
    (p,) = report.principals
    (q,) = partial.principals
    assert p.granted["actions"] - q.granted["actions"] == len(NEW_COMPUTE_OPERATIONS)
    (unused,) = hits(report, "creep.unused-permission")
    (unused_partial,) = hits(partial, "creep.unused-permission")
    assert unused.evidence["granted"] - unused_partial.evidence["granted"] == len(
        NEW_COMPUTE_OPERATIONS
    )

    info = report.summary["inputs"]["operation_list"]
    assert info["complete"] is True and info["files"] == [str(folder / "provider-operations.json")]
    assert not any(w.startswith("operation list incomplete") for w in report.summary["warnings"])
    info = partial.summary["inputs"]["operation_list"]
    assert info["complete"] is False and info["files"] == []
    assert "built-in roles" in info["shipped"]
    assert any(w.startswith("operation list incomplete") for w in partial.summary["warnings"])


def test_the_arm_page_shape_and_concatenated_pages_are_read(tmp_path: Path) -> None:
    pages = "\n".join(json.dumps({"value": page}) for page in PROVIDER_OPERATION_PAGES)
    _, names = _compute_wildcard(_folder(tmp_path, pages))
    assert set(NEW_COMPUTE_OPERATIONS) <= names
    ops, providers = read_provider_operations(tmp_path / "now/provider-operations.json")
    assert providers == 3
    assert ("Microsoft.Storage/storageAccounts/blobServices/containers/blobs/read", True) in ops


@pytest.mark.parametrize(
    ("text", "message"),
    [
        ('[{"name": "Microsoft.Compute", "operations": [', r":1:\d+: invalid JSON"),
        ("{}", r": \$: expected array, got object"),
        ("[]", r": \$: no resource provider"),
        ('["Microsoft.Compute"]', r": \$\[0\]: expected object, got str"),
        (
            '[{"resourceTypes": [{"operations": [{"name": "a/b"}, {"displayName": "x"}]}]}]',
            r": \$\[0\]\.resourceTypes\[0\]\.operations\[1\]\.name: missing",
        ),
        (
            '[{"operations": [{"name": "Microsoft.A/b/read", "isDataAction": "no"}]}]',
            r": \$\[0\]\.operations\[0\]\.isDataAction: expected true or false",
        ),
        ('[{"resourceTypes": {"name": "x"}}]', r": \$\[0\]\.resourceTypes: expected array"),
    ],
)
def test_malformed_lists_are_one_line_naming_file_and_path(
    tmp_path: Path, text: str, message: str
) -> None:
    folder = _folder(tmp_path, text)
    with pytest.raises(InputError, match="provider-operations.json" + message) as info:
        _compute_wildcard(folder)
    assert "\n" not in str(info.value)
