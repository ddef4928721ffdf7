"""Fixes within AWS's managed-policy size: split without changing meaning, or not expressible."""

from __future__ import annotations

import json
from pathlib import Path

from nhictl.creep.model import Declaration
from nhictl.creep.remediation.files import write_remediations
from nhictl.creep.remediation.split import policy_chars, split_policy
from nhictl.providers.aws.knowledge import aws_knowledge

from .conftest import RECENT, allow, arn, audit, doc, export, la_resp, role, svc_row

LIMIT = 6144


def _granted(files: list[dict[str, object]]) -> set[str]:
    """Every action the policy documents grant, expanded against the shipped catalog."""
    cat = aws_knowledge().catalog
    mask = 0
    for d in files:
        for st in d["Statement"]:  # type: ignore[attr-defined]
            for a in st["Action"]:
                mask |= cat.expand(a)
    return set(cat.names(mask))


def test_a_7k_fix_is_split_into_parts_within_the_limit(tmp_path: Path) -> None:
    # ec2:Describe* is 187 names (~6.5k characters); sns:Publish unused is what is removed.
    page = export(roles=[role("mon", doc(allow(["ec2:Describe*", "sns:Publish"])))])
    la = {arn("role", "mon"): la_resp(svc_row("ec2", RECENT), svc_row("sns", None))}
    rem = audit(page, last_accessed=la).remediations[arn("role", "mon")]
    assert rem["recommendation"] == "replace-policies"
    assert rem["size_chars"] > LIMIT and rem["size_limit"] == LIMIT
    assert len(rem["parts"]) == 2 and all(p["size_chars"] <= LIMIT for p in rem["parts"])
    assert rem["fits_inline"] is True and rem["inline_limit"] == 10240
    written = write_remediations(tmp_path, {arn("role", "mon"): rem})
    names = [p.name for p in written]
    assert names == ["111122223333_role_mon.json", "111122223333_role_mon.2.json", "index.json"]
    parts = [json.loads(p.read_text()) for p in written[:2]]
    # what IAM counts (no whitespace) is within the limit for each file as written
    assert all(policy_chars(d) <= LIMIT for d in parts)
    # identical effective actions: the parts together grant exactly the unsplit policy
    cat = aws_knowledge().catalog
    expected = set(cat.names(cat.expand("ec2:Describe*")))
    assert _granted(parts) == _granted([rem["policy"]]) == expected
    sids = [st["Sid"] for d in parts for st in d["Statement"]]
    assert len(sids) == len(set(sids))  # numbered across the parts
    (index,) = json.loads((tmp_path / "index.json").read_text())
    assert index["files"] == names[:2]
    assert [p["file"] for p in index["parts"]] == names[:2]
    assert "policy" not in index and "documents" not in index


def test_a_fix_needing_more_than_ten_policies_is_not_expressible(tmp_path: Path) -> None:
    page = export(roles=[role("wide", doc(allow("*")))])
    decl = Declaration("wide", arn("role", "wide"), ("*:Describe*", "*:Get*"), ())
    rem = audit(page, declarations=[decl]).remediations[arn("role", "wide")]
    assert rem["basis"] == "declared ∩ granted"
    assert rem["recommendation"] == "not-expressible"
    assert rem["parts_needed"] > 10
    assert rem["not_expressible"] == (
        f"cannot be expressed within the default quota: needs {rem['parts_needed']} managed "
        "policies of at most 6,144 characters, AWS allows 10 per role (20 with a quota "
        "increase)"
    )
    written = write_remediations(tmp_path, {arn("role", "wide"): rem})
    assert [p.name for p in written] == ["index.json"]  # no partial fix to apply
    (index,) = json.loads((tmp_path / "index.json").read_text())
    assert index["recommendation"] == "not-expressible" and "files" not in index


def test_split_cuts_resource_lists_and_refuses_a_single_oversized_grant() -> None:
    arns = [f"arn:aws:s3:::bucket-{i:04d}/*" for i in range(400)]  # ~11k characters
    st = {"Effect": "Allow", "Action": ["s3:GetObject"], "Resource": arns}
    docs = split_policy([st], LIMIT)
    assert docs is not None and len(docs) == 2
    assert all(policy_chars(d) <= LIMIT for d in docs)
    assert [r for d in docs for s in d["Statement"] for r in s["Resource"]] == arns
    assert {s["Action"][0] for d in docs for s in d["Statement"]} == {"s3:GetObject"}
    huge = {"Effect": "Allow", "Action": ["s3:GetObject"], "Resource": "arn:aws:s3:::" + "b" * 7000}
    assert split_policy([huge], LIMIT) is None


def test_small_statements_share_one_policy() -> None:
    sts = [{"Effect": "Allow", "Action": [f"s3:GetObject{i}"], "Resource": "*"} for i in range(3)]
    (only,) = split_policy(sts, LIMIT) or []
    assert [s["Sid"] for s in only["Statement"]] == [
        "NhictlLeastPrivilege1",
        "NhictlLeastPrivilege2",
        "NhictlLeastPrivilege3",
    ]
