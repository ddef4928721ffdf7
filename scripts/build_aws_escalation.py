"""Build nhictl's AWS privilege-escalation table from the pathfinding.cloud path catalogue.

Source: https://github.com/DataDog/pathfinding.cloud, one YAML file per path under
``data/paths/<service>/<id>.yaml``. Shipped build: commit 84dd65c97fc21dee54f4587be6dfd5b7b5fe320c
(17 Dec 2025, 65 paths). Re-run against a clone (reads git objects, needs no work tree):

    git clone https://github.com/DataDog/pathfinding.cloud /tmp/pathfinding.cloud
    python scripts/build_aws_escalation.py --git-dir /tmp/pathfinding.cloud/.git            # pinned
    python scripts/build_aws_escalation.py --git-dir /tmp/pathfinding.cloud/.git --commit HEAD

It writes ``nhictl/providers/aws/data/escalation.v1.json``: per path its id, name, category,
required permissions, parent (the path it is a variant of), the page link, and -- for paths whose
gain comes from something that must already exist -- the permission that reaches that target and
pathfinding's own prerequisites for it. Paths nhictl knows and pathfinding lacks are not here;
they live in ``nhictl/providers/aws/escalation.py``.

The page link is ``https://pathfinding.cloud/paths/<id>``: the site's domain is ``docs/CNAME``
and its router (``docs/js/app.js`` ``routeFromURL``) serves ``/paths/{id}`` for every id in the
generated ``docs/paths.json``; an unknown id falls back to the list, so only catalogue ids get one.
"""

from __future__ import annotations

import argparse
import json
import re
import subprocess
from pathlib import Path
from typing import Any

import yaml

REPOSITORY = "https://github.com/DataDog/pathfinding.cloud"
PINNED = "84dd65c97fc21dee54f4587be6dfd5b7b5fe320c"
PAGE = "https://pathfinding.cloud/paths/{id}"
OUT = Path(__file__).resolve().parents[1] / "nhictl/providers/aws/data/escalation.v1.json"

# pathfinding's categories (SCHEMA.md). Every path outside "self-escalation" gains through a
# principal or resource that already exists (a role to pass or assume, a user to take over, a
# function/project/stack/instance running as a stronger role); a new category fails the build
# until someone decides which side it is on.
SELF = "self-escalation"
NEEDS_TARGET = frozenset(
    {"new-passrole", "existing-passrole", "principal-access", "credential-access"}
)
# Self-escalation paths that still pay off only through something that exists already:
# iam-013 joins a group, and only a group stronger than the caller gains it anything.
SELF_BUT_TARGET = frozenset({"iam-013"})
# Paths without usable prerequisites upstream: the target in nhictl's words.
TARGET_TEXT = {
    "iam-012": "A role more privileged than the caller must exist (its trust policy is rewritten "
    "so that the caller can assume it)",
}

# What each target-dependent path acts on, for the principal graph. A passed role's trusted
# service principals come from the prerequisites ("A role must exist that trusts
# lambda.amazonaws.com ..."); the rest by path, since pathfinding states them only in prose.
_SERVICE = r"(?:[a-z0-9-]+\.)+amazonaws\.com"
_TRUSTS = re.compile(rf"\btrusts\s+({_SERVICE}(?:\s+or\s+{_SERVICE})*)")
TARGET_KIND = {
    "apprunner-002": "apprunner-service",
    "bedrock-002": "bedrock-code-interpreter",
    "cloudformation-002": "cloudformation-stack",
    # Filed as new-passrole, but they act through an existing stack set / stack, passing no
    # role of their own choosing: a stack set is not inventoried, so its target stays unknown.
    "cloudformation-004": "cloudformation-stackset",
    "cloudformation-005": "cloudformation-stack",
    "codebuild-002": "codebuild-project",
    "codebuild-003": "codebuild-project",
    "ec2-002": "ec2-instance",
    "ec2-004": "ec2-launch-template",
    "ec2instanceconnect-003": "ec2-instance",
    "glue-002": "glue-dev-endpoint",
    "lambda-003": "lambda-function",
    "lambda-004": "lambda-function",
    "lambda-005": "lambda-function",
    "sagemaker-004": "sagemaker-notebook",
    "sagemaker-005": "sagemaker-notebook",
    "ssm-001": "ec2-instance",
    "ssm-002": "ec2-instance",
    "iam-002": "iam-user",
    "iam-003": "iam-user",
    "iam-004": "iam-user",
    "iam-006": "iam-user",
    "iam-012": "iam-role",
    "iam-013": "iam-group",
    "iam-014": "iam-role",
    "iam-015": "iam-user",
    "iam-016": "iam-role",
    "iam-017": "iam-role",
    "iam-018": "iam-user",
    "iam-019": "iam-role",
    "iam-020": "iam-role",
    "iam-021": "iam-role",
    "sts-001": "iam-role",
}

_ID = re.compile(r"[a-z0-9]+-\d{3}")
_ACTION = re.compile(r"[a-z0-9-]+:[A-Za-z0-9]+")
_KIND = re.compile(r"^Principal must be an? (user|role)\b")
# Prerequisite sentences that restate the caller's own permissions or explain a special case:
# the target is what must exist, not what the caller holds.
_NOT_TARGET = re.compile(r"^(You must have|The starting principal must|The principal must|If )")


def _git(git_dir: str, *args: str) -> str:
    return subprocess.run(
        ["git", f"--git-dir={git_dir}", *args], check=True, capture_output=True, text=True
    ).stdout


def _clean(sentence: str) -> str:
    """A prerequisite as plain text: no markdown, no "(e.g., ...)" asides, no final period."""
    s = re.sub(r"\*\*[^*]+\*\*:\s*", "", sentence.strip())  # "**Critical**: ..."
    s = s.replace("**", "").replace("`", "")
    s = re.sub(r"\s*\(e\.g\.,?[^)]*\)", "", s)
    return re.sub(r"\s+", " ", s).rstrip(".")


def _prerequisites(doc: dict[str, Any]) -> list[str]:
    """The prerequisites for the administrative outcome (the "admin" tab, or the legacy list)."""
    pre = doc.get("prerequisites") or []
    items = pre.get("admin", []) if isinstance(pre, dict) else pre
    return [str(x) for x in items]


def _target_permission(required: list[dict[str, Any]]) -> str:
    """The permission that reaches the existing target: the role passed or assumed, else the
    one whose resource constraint names the target, else the first."""
    names = [str(p["permission"]) for p in required]
    for special in ("iam:PassRole", "sts:AssumeRole"):
        if special in names:
            return special
    for p in required:
        if "target" in str(p.get("resourceConstraints") or "").lower():
            return str(p["permission"])
    return names[0]


def method(doc: dict[str, Any], path: str) -> dict[str, Any]:
    """One shipped entry from one path file; raises ValueError on a shape nhictl cannot use."""
    pid = str(doc.get("id", ""))
    if not _ID.fullmatch(pid) or Path(path).stem != pid:
        raise ValueError(f"{path}: id {pid!r} does not match the file name")
    category = str(doc.get("category", ""))
    if category != SELF and category not in NEEDS_TARGET:
        raise ValueError(f"{path}: unknown category {category!r}: classify it in this script")
    required = (doc.get("permissions") or {}).get("required") or []
    actions = [str(p.get("permission", "")) for p in required]
    if not actions or not all(_ACTION.fullmatch(a) for a in actions):
        raise ValueError(f"{path}: required permissions {actions!r}")
    entry: dict[str, Any] = {
        "id": pid,
        "name": str(doc["name"]),
        "category": category,
        "requires": actions,
        "reference": PAGE.format(id=pid),
    }
    parent = (doc.get("parent") or {}).get("id")
    if parent:
        entry["parent"] = str(parent)
    prereq = _prerequisites(doc)
    needs = TARGET_TEXT.get(pid) or "; ".join(
        _clean(s) for s in prereq if not _NOT_TARGET.match(s.strip())
    )
    if category != SELF or pid in SELF_BUT_TARGET:
        if not needs:
            raise ValueError(f"{path}: needs a target but states none: add it to TARGET_TEXT")
        entry["target"] = {"permission": _target_permission(required), "needs": needs}
        _target_of(entry, category, prereq, path)
        return entry
    kinds = sorted({m.group(1) for s in prereq if (m := _KIND.match(s.strip()))})
    if len(kinds) == 1:
        # Escalates the caller itself only when it is that kind (a role cannot hold a user's
        # inline policy); any other caller needs such a principal it can already act as.
        kind = kinds[0]
        entry["self_for"] = kinds
        entry["target"] = {
            "permission": actions[0],
            "needs": f"An existing IAM {kind} the caller can act as (the path escalates the "
            f"caller itself only when it is a {kind})",
            "kind": f"iam-{kind}",
        }
    return entry


def _target_of(entry: dict[str, Any], category: str, prereq: list[str], path: str) -> None:
    """Add what the target is: the services a passed role must trust, or the target's kind."""
    pid = entry["id"]
    if pid in TARGET_KIND:
        entry["target"]["kind"] = TARGET_KIND[pid]
    elif category == "new-passrole":
        services = sorted(
            {
                svc
                for s in prereq
                for m in _TRUSTS.finditer(_clean(s))
                for svc in re.split(r"\s+or\s+", m.group(1))
            }
        )
        if not services:
            raise ValueError(f"{path}: passes a role but names no service it must trust")
        entry["target"]["passed_to"] = services
        entry["target"]["kind"] = "iam-role"
    else:
        raise ValueError(f"{path}: target kind unknown: add {pid} to TARGET_KIND")


def build(git_dir: str, commit: str) -> dict[str, Any]:
    sha = _git(git_dir, "rev-parse", "--verify", f"{commit}^{{commit}}").strip()
    date = _git(git_dir, "show", "-s", "--format=%cs", sha).strip()
    paths = [
        p
        for p in _git(git_dir, "ls-tree", "-r", "--name-only", sha, "data/paths").split()
        if p.endswith(".yaml")
    ]
    methods = [method(yaml.safe_load(_git(git_dir, "show", f"{sha}:{p}")), p) for p in paths]
    ids = [m["id"] for m in methods]
    if len(set(ids)) != len(ids):
        raise ValueError("duplicate path ids")
    for pid in SELF_BUT_TARGET | TARGET_TEXT.keys() | TARGET_KIND.keys():
        if pid not in ids:
            raise ValueError(f"{pid} is classified here but no longer in the catalogue")
    for m in methods:
        if m.get("parent") and m["parent"] not in ids:
            raise ValueError(f"{m['id']}: parent {m['parent']} is not in the catalogue")
    return {
        "format": "nhictl-aws-escalation/v1",
        "source": {
            "repository": REPOSITORY,
            "commit": sha,
            "date": date,
            "paths": len(methods),
            "reference": PAGE,
        },
        "methods": sorted(methods, key=lambda m: m["id"]),
    }


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__.split("\n", 1)[0])
    ap.add_argument("--git-dir", required=True, help="a pathfinding.cloud clone's git directory")
    ap.add_argument("--commit", default=PINNED, help=f"commit to read (default {PINNED[:7]})")
    ap.add_argument("--out", type=Path, default=OUT)
    args = ap.parse_args()
    data = build(args.git_dir, args.commit)
    # One method per line: small, and a refresh reads as a diff of the paths that changed.
    head = json.dumps({k: v for k, v in data.items() if k != "methods"}, ensure_ascii=False)
    rows = ",\n".join(json.dumps(m, ensure_ascii=False) for m in data["methods"])
    args.out.write_text(f'{head[:-1]},\n"methods": [\n{rows}\n]}}\n', encoding="utf-8")
    print(f"wrote {args.out}: {len(data['methods'])} paths at {data['source']['commit'][:7]}")


if __name__ == "__main__":
    main()
