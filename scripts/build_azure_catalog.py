"""Build nhictl's compact Azure catalog: built-in role definitions and the operations they name.

Source: iann0036/iam-dataset (https://github.com/iann0036/iam-dataset), commit
2073fa52ac008a45477aa0b1b4580cd99135bf60 (22 Aug 2026), file ``azure/built-in-roles-raw.json``:
the 928 built-in role definitions in the exact ``az role definition list`` shape.

Operations: the full provider-operations list (``az provider operation list``, iam-dataset's
``azure/provider-operations.json``) was not available to this build: every public copy found is
4 MiB or larger and was absent from the snapshots that could be fetched (iann0036/iam-dataset
and its fork ari1988/iam-dataset over their whole history, vjirovsky/azure-rbac-least-calculator's
``public/permissions.json``); Microsoft's per-category pages
(MicrosoftDocs/azure-docs ``articles/role-based-access-control/permissions/*.md``) live in a
26 GB repository. So the operations are the **union of the concrete operations named in the
built-in roles** (actions, notActions, dataActions, notDataActions): about 3,200 control-plane
and 850 data-plane operations. Wildcards (``*``, ``Microsoft.Compute/*``, ``*/read``) expand over
that set; at run time the catalog also learns the concrete operations of the tenant's custom
roles and of its Activity Log, and the expansion code is the same whichever list is shipped.
Point ``--operations`` at an ``az provider operation list -o json`` output (or the
``provider-operations.json`` that ``nhictl collect azure`` writes) to ship the full list; it is
read by ``nhictl.providers.azure.operations``, the parser the offline loader uses for the same
file in a snapshot folder.

Run again (from the repository root, with the dataset fetched as a git mirror)::

    python scripts/build_azure_catalog.py \
        --dataset /work/.mirror/iann0036+iam-dataset/repo \
        --commit 2073fa52ac008a45477aa0b1b4580cd99135bf60 \
        [--operations provider-operations.json] [--out roles.v1.json.gz]

Output: ``nhictl/providers/azure/data/roles.v1.json.gz`` (gzip JSON, byte-identical across
rebuilds of the same input).
"""

from __future__ import annotations

import argparse
import json
import subprocess
from collections import Counter, defaultdict
from pathlib import Path
from typing import Any

from nhictl.providers import catalog_file
from nhictl.providers.azure.levels import access_level, scopable
from nhictl.providers.azure.operations import read_provider_operations

OUT = Path(__file__).resolve().parents[1] / "nhictl/providers/azure/data/roles.v1.json.gz"
REPO = "iann0036/iam-dataset"
ROLES_FILE = "azure/built-in-roles-raw.json"
LEVEL_CODES = {**catalog_file.LEVEL_CODES, "Unknown": "U"}  # Azure's own levels can be Unknown
# Namespaces most workloads are granted come first: permission sets are ints used as bitsets,
# so keeping them at the low end keeps a typical principal's sets small.
POPULAR = [
    "Microsoft.Authorization",
    "Microsoft.Resources",
    "Microsoft.Storage",
    "Microsoft.KeyVault",
    "Microsoft.ManagedIdentity",
    "Microsoft.Insights",
    "Microsoft.OperationalInsights",
    "Microsoft.Web",
    "Microsoft.Compute",
    "Microsoft.Network",
    "Microsoft.ContainerRegistry",
    "Microsoft.ContainerService",
    "Microsoft.Sql",
    "Microsoft.DocumentDB",
    "Microsoft.EventHub",
    "Microsoft.ServiceBus",
    "Microsoft.CognitiveServices",
    "Microsoft.App",
]


def _git_show(dataset: Path, commit: str, path: str) -> tuple[bytes, str]:
    blob = subprocess.run(
        ["git", "-C", str(dataset), "show", f"{commit}:{path}"], check=True, capture_output=True
    ).stdout
    date = subprocess.run(
        ["git", "-C", str(dataset), "log", "-1", "--format=%cI", commit],
        check=True,
        capture_output=True,
        text=True,
    ).stdout.strip()
    return blob, date


def build(dataset: Path, commit: str, operations: Path | None = None) -> dict[str, Any]:
    blob, date = _git_show(dataset, commit, ROLES_FILE)
    roles_raw = json.loads(blob)
    # Every concrete operation named, per plane, with the spellings seen (Azure matches names
    # case-insensitively; the catalog shows the most common spelling).
    spellings: dict[tuple[str, bool], Counter[str]] = defaultdict(Counter)
    roles: list[list[Any]] = []
    for role in sorted(roles_raw, key=lambda r: str(r["name"])):
        blocks = []
        for perm in role.get("permissions") or []:
            lists = [list(perm.get(k) or []) for k in _PERMISSION_KEYS]
            for key, patterns in zip(_PERMISSION_KEYS, lists, strict=True):
                data = key.endswith("ataActions")
                for pat in map(str.strip, patterns):
                    if "*" not in pat and "/" in pat.rstrip("/"):
                        spellings[(pat.lower(), data)][pat] += 1
            blocks.append([*lists, perm.get("condition")])
        roles.append([str(role["name"]), str(role["roleName"]), blocks])
    if operations is not None:
        ops, _ = read_provider_operations(operations)  # the loader's reader: one parser
        for name, data in ops:
            spellings[(name.lower(), data)][name] += 1
        ops_source = f"az provider operation list output {operations.name}"
    else:
        ops_source = (
            f"union of the concrete operations named in the built-in roles of {REPO} "
            f"{ROLES_FILE} (the full provider-operations list was not available)"
        )
    namespaces: dict[str, Counter[str]] = defaultdict(Counter)
    for names in spellings.values():
        for spelled, n in names.items():
            ns = spelled.split("/", 1)[0]
            namespaces[ns.lower()][ns] += n
    canonical = {low: _best(c) for low, c in namespaces.items()}
    by_service: dict[str, list[tuple[str, str]]] = defaultdict(list)
    for (low, data), names in sorted(spellings.items()):
        name = _best(names)
        svc = canonical[low.split("/", 1)[0]]
        rest = name.split("/", 1)[1]
        code = LEVEL_CODES[access_level(name, data)]
        code += "d" if data else ""
        code += "s" if scopable(name, data) else ""
        by_service[svc].append((rest, code))
    popular = [s for s in POPULAR if s in by_service]
    ordered = popular + sorted((s for s in by_service if s not in POPULAR), key=str.lower)
    # Per namespace: [operation without the namespace, code] pairs in bit order. The code is
    # the level letter, "d" for a data action, "s" when it can be scoped below a subscription.
    services = {s: [list(op) for op in sorted(by_service[s], key=_op_order)] for s in ordered}
    return {
        "format": "nhictl-azure-roles/v1",
        "source": {
            "repository": REPO,
            "commit": commit,
            "date": date,
            "roles_file": ROLES_FILE,
            "operations": ops_source,
            "operations_complete": operations is not None,
        },
        "levels": {v: k for k, v in LEVEL_CODES.items()},
        "services": services,
        "roles": roles,
    }


_PERMISSION_KEYS = ("actions", "notActions", "dataActions", "notDataActions")


def _best(spellings: Counter[str]) -> str:
    """The spelling to show: mixed case first ("Microsoft.HDInsight" over "MICROSOFT.HDINSIGHT"
    and "microsoft.insights"), then the most common, then the one with the most capitals."""
    return max(
        spellings.items(),
        key=lambda kv: (
            not kv[0].isupper() and not kv[0].islower(),
            kv[1],
            sum(c.isupper() for c in kv[0]),
            kv[0],
        ),
    )[0]


def _op_order(item: tuple[str, str]) -> tuple[bool, str]:
    rest, code = item
    return ("d" in code, rest.lower())  # control plane first, then data plane


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__.split("\n", 1)[0])
    ap.add_argument("--dataset", type=Path, required=True, help="git mirror of iam-dataset")
    ap.add_argument("--commit", required=True)
    ap.add_argument("--operations", type=Path, help="az provider operation list -o json output")
    ap.add_argument("--out", type=Path, default=OUT)
    args = ap.parse_args()
    catalog = build(args.dataset, args.commit, args.operations)
    out: Path = args.out
    out.parent.mkdir(parents=True, exist_ok=True)
    out.write_bytes(catalog_file.pack(catalog))  # keys not sorted: "services" is in bit order
    print(f"wrote {out} ({out.stat().st_size} bytes)")


if __name__ == "__main__":
    main()
