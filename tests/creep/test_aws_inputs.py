"""AWS input loading: CLI pages, bundles, last-accessed, access keys, malformed input."""

from __future__ import annotations

import json
import time
from pathlib import Path

import pytest

from nhictl.core.errors import InputError
from nhictl.providers.aws.catalog import load_catalog
from nhictl.providers.aws.load import load_aws
from nhictl.providers.aws.snapshot import BUNDLE_FORMAT

from .conftest import allow, arn, doc, export, la_resp, role, svc_row, user


def _write(tmp: Path, name: str, data: object) -> Path:
    p = tmp / name
    p.write_text(data if isinstance(data, str) else json.dumps(data))
    return p


# -- catalog -------------------------------------------------------------------------------
def test_catalog_is_complete_and_fast() -> None:
    t0 = time.perf_counter()
    cat = load_catalog()
    elapsed = time.perf_counter() - t0
    assert len(cat) > 20000
    assert elapsed < 1.0  # ~0.07 s here; generous for a loaded CI box
    assert cat.expand("s3:Get*").bit_count() >= 50
    assert cat.expand("S3:getobject") == cat.expand("s3:GetObject")
    assert cat.level("iam:PassRole") == "Permissions management"
    assert cat.level("s3:GetObject") == "Read"
    bit = cat.index("xray:PutTraceSegments")
    assert bit is not None and not cat.scopable_mask() >> bit & 1


def test_unknown_actions_are_counted_not_dropped() -> None:
    cat = load_catalog()
    before = cat.all_mask.bit_count()
    m = cat.expand("newsvc:DoThing")
    assert m.bit_count() == 1
    assert cat.level("newsvc:DoThing") == "Unknown"
    assert cat.all_mask.bit_count() == before + 1
    assert cat.expand("newsvc:*") == m


# -- authorization details -----------------------------------------------------------------
def test_single_page(tmp_path: Path) -> None:
    p = _write(tmp_path, "a.json", export(roles=[role("r", doc(allow("s3:GetObject")))]))
    snap, keys_known = load_aws(p)
    assert list(snap.principals) == [arn("role", "r")]
    assert snap.accounts == ("111122223333",)
    assert not keys_known


def test_several_pages_array_and_concatenated(tmp_path: Path) -> None:
    p1 = export(roles=[role("a", doc(allow("s3:GetObject")))])
    p1["IsTruncated"], p1["Marker"] = True, "m1"
    p2 = export(users=[user("u")])
    arr = _write(tmp_path, "arr.json", [p1, p2])
    cat = _write(tmp_path, "cat.json", json.dumps(p1) + "\n" + json.dumps(p2) + "\n")
    for path in (arr, cat):
        snap, _ = load_aws(path)
        assert set(snap.principals) == {arn("role", "a"), arn("user", "u")}


def test_url_encoded_documents(tmp_path: Path) -> None:
    from urllib.parse import quote

    r = role("r")
    r["RolePolicyList"] = [
        {"PolicyName": "p", "PolicyDocument": quote(json.dumps(doc(allow("s3:GetObject"))))}
    ]
    r["AssumeRolePolicyDocument"] = quote(json.dumps(r["AssumeRolePolicyDocument"]))
    snap, _ = load_aws(_write(tmp_path, "a.json", export(roles=[r])))
    pol = snap.policies[arn("role", "r") + "#inline/p"]
    assert pol.statements[0].actions == ("s3:GetObject",)


def test_bundle_carries_usage_and_keys(tmp_path: Path) -> None:
    bundle = {
        "format": BUNDLE_FORMAT,
        "collectedAt": "2026-11-28T00:00:00Z",
        "authorizationDetails": [export(users=[user("u", doc(allow("s3:GetObject")))])],
        "lastAccessed": {arn("user", "u"): la_resp(svc_row("s3", "2026-11-01T00:00:00Z"))},
        "accessKeys": {
            "AccessKeyMetadata": [{"UserName": "u", "AccessKeyId": "AKIA1", "Status": "Active"}]
        },
    }
    snap, keys_known = load_aws(_write(tmp_path, "b.json", bundle))
    assert keys_known
    assert snap.usage[arn("user", "u")].services["s3"] is not None
    assert snap.credentials[0].principal_id == arn("user", "u")
    assert snap.collected_at is not None


@pytest.mark.parametrize(
    ("content", "expected"),
    [
        ("", "empty file"),
        ("{not json", "invalid JSON"),
        ("[1]", "$[0]: expected object"),
        ('{"Foo": []}', "not an authorization-details page"),
        ('{"RoleDetailList": {}}', "$.RoleDetailList: expected array"),
        ('{"RoleDetailList": [{"RoleName": "x"}]}', "$.RoleDetailList[0].Arn: missing"),
        (
            json.dumps(
                export(roles=[role("r", {"Statement": [{"Effect": "Permit", "Action": "s3:*"}]})])
            ),
            "RolePolicyList[0].PolicyDocument.Statement[0].Effect",
        ),
        (
            json.dumps(export(roles=[role("r", {"Statement": [{"Effect": "Allow"}]})])),
            "needs exactly one of Action or NotAction",
        ),
        (
            json.dumps(export(roles=[{**role("r"), "CreateDate": "yesterday"}])),
            "$.RoleDetailList[0].CreateDate: not a timestamp",
        ),
    ],
)
def test_malformed_snapshot_names_file_and_field(
    tmp_path: Path, content: str, expected: str
) -> None:
    p = _write(tmp_path, "bad.json", content)
    with pytest.raises(InputError) as err:
        load_aws(p)
    assert str(p) in str(err.value)
    assert expected in str(err.value)


def test_missing_and_non_utf8(tmp_path: Path) -> None:
    with pytest.raises(InputError, match="no such file"):
        load_aws(tmp_path / "nope.json")
    bad = tmp_path / "bin.json"
    bad.write_bytes(b"\xff\xfe{}")
    with pytest.raises(InputError, match="not UTF-8"):
        load_aws(bad)


def test_unknown_attached_policy_is_a_warning(tmp_path: Path) -> None:
    page = export(roles=[role("r", managed=("arn:aws:iam::aws:policy/SomethingNew",))])
    snap, _ = load_aws(_write(tmp_path, "a.json", page))
    assert any("SomethingNew" in w for w in snap.warnings)


# -- last accessed -------------------------------------------------------------------------
def test_last_accessed_file_and_dir(tmp_path: Path) -> None:
    snap_p = _write(tmp_path, "a.json", export(roles=[role("a"), role("b")]))
    d = tmp_path / "la"
    d.mkdir()
    _write(
        d,
        "1.json",
        {
            arn("role", "a"): la_resp(
                svc_row("s3", "2026-11-01T00:00:00Z", {"GetObject": "2026-11-01T00:00:00Z"})
            )
        },
    )
    _write(
        d,
        "2.json",
        {arn("role", "b"): [la_resp(svc_row("s3", None)), la_resp(svc_row("sqs", None))]},
    )
    snap, _ = load_aws(snap_p, last_accessed=d)
    ua = snap.usage[arn("role", "a")]
    assert ua.action_services == frozenset({"s3"})
    assert "s3:getobject" in ua.actions
    assert set(snap.usage[arn("role", "b")].services) == {"s3", "sqs"}


def test_last_accessed_in_progress_job_is_no_data(tmp_path: Path) -> None:
    snap_p = _write(tmp_path, "a.json", export(roles=[role("a")]))
    la = _write(tmp_path, "la.json", {arn("role", "a"): {"JobStatus": "IN_PROGRESS"}})
    snap, _ = load_aws(snap_p, last_accessed=la)
    assert snap.usage == {}


def test_last_accessed_malformed(tmp_path: Path) -> None:
    snap_p = _write(tmp_path, "a.json", export(roles=[role("a")]))
    la = _write(tmp_path, "la.json", {arn("role", "a"): la_resp({"ServiceName": "S3"})})
    with pytest.raises(InputError, match=r"la\.json: .*ServiceNamespace: missing"):
        load_aws(snap_p, last_accessed=la)


# -- access keys ---------------------------------------------------------------------------
def test_access_key_shapes(tmp_path: Path) -> None:
    snap_p = _write(tmp_path, "a.json", export(users=[user("u"), user("v")]))
    entry = {
        "UserName": "u",
        "AccessKeyId": "AKIA1",
        "Status": "Active",
        "CreateDate": "2020-01-01T00:00:00Z",
        "AccessKeyLastUsed": {"LastUsedDate": "2020-02-01T00:00:00Z", "ServiceName": "s3"},
    }
    for shape in ({"AccessKeyMetadata": [entry]}, [{"AccessKeyMetadata": [entry]}], [entry]):
        snap, known = load_aws(snap_p, access_keys=_write(tmp_path, "k.json", shape))
        assert known
        (c,) = snap.credentials
        assert (c.principal_id, c.last_service) == (arn("user", "u"), "s3")
    bad = _write(tmp_path, "k2.json", {"AccessKeyMetadata": [{"UserName": "u"}]})
    with pytest.raises(InputError, match=r"k2\.json: \$\.AccessKeyMetadata\[0\]\.AccessKeyId"):
        load_aws(snap_p, access_keys=bad)


def test_user_activity_comes_from_key_use(tmp_path: Path) -> None:
    snap_p = _write(tmp_path, "a.json", export(users=[user("u"), user("v")]))
    keys = _write(tmp_path, "k.json", {"AccessKeyMetadata": [
        {"UserName": "u", "AccessKeyId": "AKIA1", "Status": "Active",
         "AccessKeyLastUsed": {"LastUsedDate": "2025-01-01T00:00:00Z"}},
        {"UserName": "u", "AccessKeyId": "AKIA2", "Status": "Active",
         "AccessKeyLastUsed": {"LastUsedDate": "2026-01-01T00:00:00Z"}},
    ]})  # fmt: skip
    snap, _ = load_aws(snap_p, access_keys=keys)
    last = snap.principals[arn("user", "u")].last_used
    assert last is not None and last.year == 2026
    assert snap.principals[arn("user", "v")].last_used is None


_ROW = {"ServiceNamespace": "s3"}


def _tracked(*actions: object) -> dict[str, object]:
    return {"ServicesLastAccessed": [{**_ROW, "TrackedActionsLastAccessed": list(actions)}]}


@pytest.mark.parametrize(
    ("response", "where"),
    [
        ({"ServicesLastAccessed": ["x"]}, "ServicesLastAccessed[0]: expected object, got str"),
        (
            {"ServicesLastAccessed": [{**_ROW, "LastAuthenticated": True}]},
            "ServicesLastAccessed[0].LastAuthenticated: not a timestamp: 'True'",
        ),
        (
            {"ServicesLastAccessed": [{**_ROW, "TrackedActionsLastAccessed": {}}]},
            "ServicesLastAccessed[0].TrackedActionsLastAccessed: expected array, got object",
        ),
        (
            _tracked({"ActionName": "A"}, 5),
            "ServicesLastAccessed[0].TrackedActionsLastAccessed[1]: expected object, got int",
        ),
        (
            _tracked({"ActionName": ""}),
            "ServicesLastAccessed[0].TrackedActionsLastAccessed[0].ActionName: missing",
        ),
        (
            _tracked({"ActionName": "GetObject", "LastAccessedTime": "2026-13-01"}),
            "ServicesLastAccessed[0].TrackedActionsLastAccessed[0].LastAccessedTime: "
            "not a timestamp: '2026-13-01'",
        ),
    ],
)  # fmt: skip
def test_last_accessed_errors_name_the_field(response: dict[str, object], where: str) -> None:
    from nhictl.providers.aws.usage import usage_from_mapping

    with pytest.raises(InputError) as info:
        usage_from_mapping({"A": response}, "la.json")
    assert str(info.value) == f"la.json: $['A'].{where}"
