"""No fix file for a principal with nothing to remove, none for an excluded principal."""

from __future__ import annotations

import json
from pathlib import Path

from nhictl.creep.exclusions import parse_exclusions
from nhictl.creep.remediation.files import write_remediations

from .conftest import RECENT, allow, arn, audit, doc, export, la_resp, role, svc_row

BUCKET = "arn:aws:s3:::invoices/*"


def _page() -> dict[str, object]:
    return export(
        roles=[
            # everything it holds is used and already scoped: nothing to remove
            role("tidy", doc(allow(["s3:GetObject", "s3:PutObject"], BUCKET))),
            # holds s3:* and iam:* and uses one action: a fix would cut the rest
            role("admin", doc(allow(["s3:*", "iam:*"]))),
        ]
    )


def _usage() -> dict[str, object]:
    return {
        arn("role", "tidy"): la_resp(
            svc_row("s3", RECENT, {"GetObject": RECENT, "PutObject": RECENT})
        ),
        arn("role", "admin"): la_resp(
            svc_row("s3", RECENT, {"GetObject": RECENT}), svc_row("iam", None)
        ),
    }


def test_nothing_to_remove_gets_an_entry_and_no_file(tmp_path: Path) -> None:
    report = audit(_page(), last_accessed=_usage())
    tidy = report.remediations[arn("role", "tidy")]
    assert tidy["skipped"] == "nothing to remove"
    assert tidy["actions_before"] == tidy["actions_after"] == 2
    written = write_remediations(tmp_path, report.remediations)
    assert sorted(p.name for p in written) == ["111122223333_role_admin.json", "index.json"]
    index = {e["principal"]: e for e in json.loads((tmp_path / "index.json").read_text())}
    assert index[arn("role", "tidy")]["skipped"] == "nothing to remove"
    assert "file" not in index[arn("role", "tidy")]


def test_an_excluded_principal_gets_no_file(tmp_path: Path) -> None:
    ex = parse_exclusions(
        {"exclusions": [{"principal": "admin", "reason": "break glass (SEC-1)"}]}, "ex.yaml"
    )
    report = audit(_page(), last_accessed=_usage(), exclusions=ex)
    assert report.remediations[arn("role", "admin")] == {
        "principal": arn("role", "admin"),
        "skipped": "excluded: break glass (SEC-1)",
    }
    written = write_remediations(tmp_path, report.remediations)
    assert [p.name for p in written] == ["index.json"]


def test_a_principal_excluded_from_some_rules_only_still_gets_its_fix() -> None:
    # priv.* suppressed, creep.unused-permission active: the fix still addresses it
    ex = parse_exclusions(
        {"exclusions": [{"principal": "admin", "rules": ["priv.*"], "reason": "reviewed"}]},
        "ex.yaml",
    )
    rem = audit(_page(), last_accessed=_usage(), exclusions=ex).remediations[arn("role", "admin")]
    assert "skipped" not in rem and rem["recommendation"] == "replace-policies"
    # iam unused: removed; s3 used (its untracked actions count as used by default)
    assert [st["Action"] for st in rem["policy"]["Statement"]] == [["s3:*"]]


def test_a_rerun_removes_the_fix_files_of_the_previous_run(tmp_path: Path) -> None:
    out = tmp_path / "fixes"
    first = audit(_page(), last_accessed=_usage())
    write_remediations(out, first.remediations)
    assert (out / "111122223333_role_admin.json").exists()
    (out / "notes.txt").write_text("mine")  # not listed in the index: left alone
    ex = parse_exclusions({"exclusions": [{"principal": "admin", "reason": "r"}]}, "ex.yaml")
    second = audit(_page(), last_accessed=_usage(), exclusions=ex)
    write_remediations(out, second.remediations)
    assert sorted(p.name for p in out.iterdir()) == ["index.json", "notes.txt"]
