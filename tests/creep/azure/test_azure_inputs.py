"""Azure inputs: the documented shapes load; bad input is one line naming file and field."""

from __future__ import annotations

import json
from pathlib import Path

import pytest

from nhictl.core.errors import InputError
from nhictl.providers.azure.catalog import load_catalog
from nhictl.providers.azure.knowledge import prepare_catalog
from nhictl.providers.azure.load import load_azure

from .conftest import SUB, Tenant, rg, sub_scope


def _tenant() -> Tenant:
    t = Tenant()
    agent = t.sp(1, "agent")
    t.assign(agent, "Reader", rg("rg-a"))
    return t


def _load(d: Path) -> object:
    return load_azure(d, prepare_catalog(load_catalog()))


def test_documented_layout_loads(tmp_path: Path) -> None:
    snap, inv = load_azure(_tenant().write(tmp_path), prepare_catalog(load_catalog()))
    (p,) = snap.principals.values()
    assert (p.kind, p.name, p.account) == ("service-principal", "agent", SUB)
    (pol,) = snap.policies.values()
    assert pol.statements[0].resources == (f"/subscriptions/{SUB}/resourcegroups/rg-a",)
    assert not pol.statements[0].account_wide
    assert inv.pim is None
    assert any("pim-instances.json not given" in w for w in snap.warnings)
    assert any("activity-log.json not given" in w for w in snap.warnings)


def test_raw_arm_shapes_and_concatenated_pages(tmp_path: Path) -> None:
    d = _tenant().write(tmp_path)
    arm = {
        "value": [
            {
                "id": f"{sub_scope()}/providers/Microsoft.Authorization/roleAssignments/x",
                "name": "x",
                "type": "Microsoft.Authorization/roleAssignments",
                "properties": {
                    "principalId": "00000001-aaaa-4000-8000-000000000001",
                    "principalType": "ServicePrincipal",
                    "roleDefinitionId": "/providers/Microsoft.Authorization/roleDefinitions/"
                    "b24988ac-6180-42a0-ab88-20f7382dd24c",
                    "scope": sub_scope(),
                },
            }
        ]
    }
    first = (d / "role-assignments.json").read_text()
    (d / "role-assignments.json").write_text(first + "\n" + json.dumps(arm))
    snap, _ = load_azure(d, prepare_catalog(load_catalog()))
    (p,) = snap.principals.values()
    assert len(p.attachments) == 2


@pytest.mark.parametrize(
    ("file", "content", "message"),
    [
        (
            "role-assignments.json",
            '[{"principalId": "x", ',
            r"role-assignments\.json:1:\d+: invalid JSON",
        ),
        ("role-assignments.json", "", r"role-assignments\.json: empty file"),
        (
            "role-assignments.json",
            '{"a": 1}',
            r"role-assignments\.json: \$: expected array, got object",
        ),
        (
            "role-assignments.json",
            '[{"principalId": "x", "scope": "/"}]',
            r"\$\[0\]\.roleDefinitionId: missing",
        ),
        (
            "role-assignments.json",
            '[{"principalId": 7, "scope": "/", "roleDefinitionId": "r"}]',
            r"\$\[0\]\.principalId: expected string, got int",
        ),
        (
            "role-assignments.json",
            '[{"principalId": "x", "scope": "/", "roleDefinitionId": "r", '
            '"createdOn": "yesterday"}]',
            r"\$\[0\]\.createdOn: not a timestamp",
        ),
        (
            "service-principals.json",
            '[{"displayName": "x"}]',
            r"service-principals\.json: \$\[0\]\.id: missing",
        ),
        (
            "service-principals.json",
            '[{"id": "x", "passwordCredentials": {}}]',
            r"\$\[0\]\.passwordCredentials: expected array",
        ),
        (
            "role-definitions.json",
            '[{"name": "g", "roleName": "r", "permissions": [{"actions": "*"}]}]',
            r"\$\[0\]\.permissions\[0\]\.actions: expected array",
        ),
        ("applications.json", '[{"id": "x"}]', r"applications\.json: \$\[0\]\.appId: missing"),
        (
            "sign-ins.json",
            '{"value": [{"lastSignInActivity": {}}]}',
            r"sign-ins\.json: \$\.value\[0\]\.appId: missing",
        ),
        (
            "sign-ins.json",
            '{"value": [{"appId": "a", "lastSignInActivity": {"lastSignInDateTime": "soon"}}]}',
            r"\$\.value\[0\]\.lastSignInActivity\.lastSignInDateTime: not a timestamp",
        ),
        (
            "activity-log.json",
            '[{"caller": "x", "eventTimestamp": "2026-11-01T00:00:00Z"}]',
            r"activity-log\.json: \$\[0\]\.operationName\.value: missing",
        ),
        (
            "activity-log.json",
            '[{"operationName": {"value": "Microsoft.Web/sites/write"}}]',
            r"\$\[0\]\.eventTimestamp: missing",
        ),
        (
            "pim-instances.json",
            '{"value": [{"properties": {"principalId": "p", "scope": "/"}}]}',
            r"pim-instances\.json: \$\.value\[0\]\.properties\.roleDefinitionId: missing",
        ),
        (
            "pim-instances.json",
            '{"value": [{"properties": {"principalId": "p", "scope": "/", "roleDefinitionId": "r"',
            r"pim-instances\.json:1:\d+: invalid JSON",
        ),
    ],
)
def test_malformed_input_names_file_and_field(
    tmp_path: Path, file: str, content: str, message: str
) -> None:
    d = _tenant().write(tmp_path)
    (d / file).write_text(content)
    with pytest.raises(InputError, match=message) as err:
        _load(d)
    assert "\n" not in str(err.value)


def test_missing_required_file_and_not_a_directory(tmp_path: Path) -> None:
    d = _tenant().write(tmp_path)
    (d / "service-principals.json").unlink()
    with pytest.raises(InputError, match=r"service-principals\.json: missing"):
        _load(d)
    with pytest.raises(InputError, match="not a directory"):
        _load(d / "role-assignments.json")


def test_not_utf8(tmp_path: Path) -> None:
    d = _tenant().write(tmp_path)
    (d / "role-assignments.json").write_bytes(b"[\xff]")
    with pytest.raises(InputError, match=r"role-assignments\.json: not UTF-8"):
        _load(d)
