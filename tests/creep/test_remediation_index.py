"""What index.json says about each fix; the document built from a SafeTarget; unknown use."""

from __future__ import annotations

import json
from pathlib import Path

from nhictl.creep.activity import Activity
from nhictl.creep.context import AuditOptions, Context
from nhictl.creep.effective import Effective, Expander, effective_for
from nhictl.creep.engine import analyse
from nhictl.creep.fix_safety import SafeTarget
from nhictl.creep.remediation.document import build_document
from nhictl.creep.remediation.plan import iam_fix, kept_set
from nhictl.providers.aws.knowledge import aws_knowledge
from nhictl.providers.azure.catalog import load_catalog as load_azure_catalog
from nhictl.providers.azure.knowledge import azure_knowledge, prepare_catalog
from nhictl.providers.azure.load import load_azure
from tests.conftest import CliRunner

from .azure.conftest import NOW as AZ_NOW
from .azure.conftest import Tenant, rg
from .conftest import NOW, allow, arn, doc, export, role, snapshot_of
from .test_cli_creep import BASE

PASSED = "arn:aws:iam::111122223333:role/app-runtime"
PASS_BODY = {
    "Resource": PASSED,
    "Condition": {"StringEquals": {"iam:PassedToService": "lambda.amazonaws.com"}},
}


def test_index_says_what_each_sample_fix_changes(cli: CliRunner, tmp_path: Path) -> None:
    fixes = tmp_path / "fixes"
    result = cli(
        *BASE, "--format", "json", "-o", str(tmp_path / "r.json"), "--remediate-out", str(fixes)
    )
    assert result.code == 0, result.stderr
    assert "see index.json" in result.stderr
    # release-copilot: ci-deployer's trust names it, so its own fix cannot close its path
    assert "1 principal(s) keep a path to admin that no fix of their own policies closes" in (
        " ".join(result.stderr.split())
    )
    index = {
        e["principal"].rsplit("/", 1)[-1]: e for e in json.loads((fixes / "index.json").read_text())
    }
    triage = index["support-triage"]
    assert triage["basis"] == "used ∩ declared"
    assert (triage["actions_before"], triage["actions_after"]) == (99, 5)
    assert triage["actions_removed"]["count"] == 94
    assert len(triage["actions_removed"]["sample"]) == 10
    # dynamodb:GetItem, dynamodb:Query: "*" -> the table; sqs:ReceiveMessage, sqs:DeleteMessage:
    # the grant's queue/support-* -> the manifest's support-inbox
    assert triage["resources_narrowed"] == 4
    assert [u["service"] for u in triage["unscoped"]] == ["bedrock"]
    assert triage["unknown_use"]["treated_as"] == "used"
    assert triage["parts"] == [{"size_chars": triage["size_chars"], "file": triage["file"]}]
    assert triage["size_limit"] == 6144 and triage["escalations_removed"] == []
    # the excluded break-glass role: no detach-all file, the exclusion's reason instead
    glass = index["break-glass-admin"]
    assert glass["skipped"].startswith("excluded: Break-glass administrator")
    assert "file" not in glass and "recommendation" not in glass
    # fixes that would change nothing are listed as such, without a file
    for name in ("invoice-reconciler", "research-sandbox", "metrics-pusher"):
        assert index[name]["skipped"] == "nothing to remove" and "file" not in index[name]
    vendor = index["vendor-monitoring"]
    assert len(vendor["files"]) == 2 and all(p["size_chars"] <= 6144 for p in vendor["parts"])
    on_disk = sorted(p.name for p in fixes.iterdir())
    listed = ["index.json", *(f for e in index.values() for f in e.get("files", ()))]
    assert on_disk == sorted(listed)


def test_remediate_out_on_a_file_is_an_input_error(cli: CliRunner, tmp_path: Path) -> None:
    taken = tmp_path / "fixes"
    taken.write_text("not a folder")
    result = cli(*BASE, "-o", str(tmp_path / "r.txt"), "--remediate-out", str(taken))
    assert result.code == 2
    assert f"{taken}: cannot create remediation directory" in result.stderr
    assert "Traceback" not in result.stderr
    assert taken.read_text() == "not a folder"


def _deployer() -> tuple[Context, Effective]:
    page = export(
        roles=[
            role(
                "deployer",
                doc(allow(["iam:PassRole", "lambda:UpdateFunctionCode", "lambda:CreateFunction"])),
            )
        ]
    )
    snap = snapshot_of(page)
    knowledge = aws_knowledge()
    ctx = Context(
        snap, knowledge, AuditOptions(now=NOW, remediate=True), Expander(knowledge.catalog), {}
    )
    eff = effective_for(snap.principals[arn("role", "deployer")], snap, ctx.expander)
    return ctx, eff


def test_document_from_a_safe_target_scopes_and_lists_for_review() -> None:
    ctx, eff = _deployer()
    cat = ctx.catalog
    bit = {
        a: 1 << (cat.index(a) or 0)
        for a in ("iam:PassRole", "lambda:UpdateFunctionCode", "lambda:CreateFunction")
    }
    act = Activity(
        True,
        used=bit["iam:PassRole"] | bit["lambda:UpdateFunctionCode"] | bit["lambda:CreateFunction"],
    )
    kept = kept_set(eff, act, None, "used")
    assert kept is not None
    review = {
        "action": "lambda:CreateFunction",
        "methods": ["lambda-001"],
        "reason": "creates a function as any role",
    }
    safe = SafeTarget(
        keep=bit["lambda:UpdateFunctionCode"],
        scoped={"iam:PassRole": PASS_BODY},
        review=[review],
        removed=["lambda-001"],
    )
    fix = iam_fix(ctx, eff, kept, safe, build_document(cat, eff, safe, {}))
    sts = fix["policy"]["Statement"]
    assert [(s["Action"], s["Resource"]) for s in sts] == [
        (["lambda:UpdateFunctionCode"], "*"),
        (["iam:PassRole"], PASSED),  # its own statement, with the body it was given
    ]
    assert sts[1]["Condition"] == PASS_BODY["Condition"]
    assert "lambda:CreateFunction" not in json.dumps(fix["policy"])  # for review: not granted
    assert fix["review"] == [review] and fix["escalations_removed"] == ["lambda-001"]
    assert fix["escalations_scoped"] == ["iam:PassRole"]
    assert (fix["actions_after"], fix["actions_removed"]["count"]) == (2, 1)
    assert fix["actions_removed"]["sample"] == ["lambda:CreateFunction"]
    # only UpdateFunctionCode is still on "*" although it takes a resource; PassRole is scoped
    assert [u["actions"] for u in fix["unscoped"]] == [["lambda:UpdateFunctionCode"]]


def test_an_escalation_scoped_is_a_change_even_when_every_action_stays() -> None:
    ctx, eff = _deployer()
    cat = ctx.catalog
    act = Activity(True, used=eff.allowed)
    kept = kept_set(eff, act, None, "used")
    assert kept is not None
    everything = SafeTarget(kept.target)
    same = iam_fix(ctx, eff, kept, everything, build_document(cat, eff, everything, {}))
    assert same["skipped"] == "nothing to remove"
    pass_bit = 1 << (cat.index("iam:PassRole") or 0)
    scoped = SafeTarget(kept.target & ~pass_bit, scoped={"iam:PassRole": PASS_BODY})
    fix = iam_fix(ctx, eff, kept, scoped, build_document(cat, eff, scoped, {}))
    assert "skipped" not in fix and fix["actions_after"] == 3


def test_treat_untracked_decides_what_the_fix_keeps() -> None:
    ctx, eff = _deployer()
    cat = ctx.catalog
    seen = 1 << (cat.index("lambda:UpdateFunctionCode") or 0)
    unknown = 1 << (cat.index("lambda:CreateFunction") or 0)
    act = Activity(True, used=seen, unknown=unknown)
    as_used = kept_set(eff, act, None, "used")
    as_unused = kept_set(eff, act, None, "unused")
    assert as_used is not None and as_unused is not None
    assert cat.names(as_used.target) == ["lambda:CreateFunction", "lambda:UpdateFunctionCode"]
    assert cat.names(as_unused.target) == ["lambda:UpdateFunctionCode"]
    assert (as_used.unknown_kept.bit_count(), as_unused.unknown_kept.bit_count()) == (1, 0)
    assert as_used.seen_used == as_unused.seen_used == seen  # what secure_target is told
    # no usage data: nothing is "unknown", the manifest alone decides
    declared = kept_set(eff, Activity(False), unknown, "unused")
    assert declared is not None and declared.basis == "declared ∩ granted"
    assert declared.target == unknown


def test_azure_unobserved_reads_follow_treat_untracked(tmp_path: Path) -> None:
    t = Tenant()
    a = t.sp(1, "web-deployer")
    t.assign(a, "Website Contributor", rg("rg-web"))
    t.event(1, "Microsoft.Web/sites/write")
    kept: dict[str, list[str]] = {}
    for treat in ("used", "unused"):
        catalog = prepare_catalog(load_azure_catalog())
        snapshot, inventory = load_azure(t.write(tmp_path / treat), catalog)
        opts = AuditOptions(now=AZ_NOW, remediate=True, treat_untracked=treat)
        rem = analyse(snapshot, azure_knowledge(inventory), opts).remediations[a]
        kept[treat] = rem["policy"]["Actions"]
        assert rem["unknown_use"]["treated_as"] == treat
        assert rem["unknown_use"]["kept"] == (
            rem["unknown_use"]["actions"] if treat == "used" else 0
        )
    assert "Microsoft.Web/sites/read" in kept["used"]  # the Activity Log cannot see reads
    assert "Microsoft.Web/sites/read" not in kept["unused"]
    assert "Microsoft.Web/sites/write" in kept["unused"]  # seen used: always kept
