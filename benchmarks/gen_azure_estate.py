"""Generate a large Azure tenant export in the documented raw-output layout, for benchmarks.

Writes into OUT_DIR the files ``audit_azure`` reads (docs/audit-creep.md, Azure section):
``role-assignments.json`` (N principals, 1-4 assignments each, over ~N/250 subscriptions and
their resource groups, a few at management-group scope), ``role-definitions.json`` (N/50 custom
roles), ``service-principals.json`` (80 % applications, 20 % managed identities),
``applications.json`` (1-2 secrets or certificates each), ``sign-ins.json``,
``activity-log.json`` (control-plane writes of ~70 % of the principals), ``pim-instances.json``
and ``manifests/`` (half the principals). Real built-in roles, real operation names.

``--pad-operations M`` also writes ``provider-operations.json`` (as ``az provider operation
list -o json`` prints it): the shipped catalog's operations plus M synthetic ones spread over
its namespaces. The loader learns that list before roles expand, which brings the catalog to
the size of Azure's full provider-operations list (~25,000) that the shipped catalog lacks, so
``*`` and ``Microsoft.X/*`` grants are measured at real width, file reading included.

Deterministic for a given N, seed and padding.
Usage: ``python benchmarks/gen_azure_estate.py 5000 OUT [--pad-operations 21000]``.
"""

from __future__ import annotations

import argparse
import json
import random
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from nhictl.providers.azure.catalog import AzureCatalog, load_catalog

TENANT = "7f3c1a2e-5b4d-4c8e-9a01-2b3c4d5e6f70"
AUTHZ = "/providers/Microsoft.Authorization"
# Built-in roles workloads are commonly given, with a weight each.
ROLES = [
    ("acdd72a7-3385-48ef-bd42-f606fba81ae7", "Reader", 20),
    ("ba92f5b4-2d11-453d-a403-e96b0029c9fe", "Storage Blob Data Contributor", 14),
    ("2a2b9908-6ea1-4ae2-8e65-a410df84e7d1", "Storage Blob Data Reader", 10),
    ("974c5e8b-45b9-4653-ba55-5f855dd0fb88", "Storage Queue Data Contributor", 6),
    ("4633458b-17de-408a-b874-0445c86b69e6", "Key Vault Secrets User", 10),
    ("de139f84-1756-47ae-9be6-808fbbe84772", "Website Contributor", 6),
    ("749f88d5-cbae-40b8-bcfc-e573ddc772fa", "Monitoring Contributor", 5),
    ("17d1049b-9a84-46fb-8f53-869881c3d3ab", "Storage Account Contributor", 4),
    ("b24988ac-6180-42a0-ab88-20f7382dd24c", "Contributor", 5),
    ("8e3af657-a8ff-443c-a75c-2fe8c4bcb635", "Owner", 1),
    ("f58310d9-a9f6-439a-9e8d-f62e7b41a168", "Role Based Access Control Administrator", 1),
]
DAYS_RECENT = [f"2026-11-{d:02d}T0{d % 10}:00:00Z" for d in range(1, 28)]
DAYS_OLD = [f"2026-0{m}-15T12:00:00Z" for m in range(1, 8)]


def _guid(kind: int, n: int) -> str:
    return f"{n:08x}-{kind:04x}-4000-8000-{n:012x}"


def _provider_operations(cat: AzureCatalog, pad: int) -> list[dict[str, Any]]:
    """``az provider operation list`` of the catalog's operations plus ``pad`` synthetic ones
    spread over its namespaces: the size of Azure's full list, which the shipped catalog lacks."""
    namespaces = sorted(cat.services())
    verbs = ("read", "write", "delete", "start/action")
    ops: dict[str, list[tuple[str, bool]]] = {ns: [] for ns in namespaces}
    for ns in namespaces:
        mask = cat.service_mask(ns)
        for name in cat.names(mask & ~cat.data_mask):
            ops[ns].append((name, False))
        for name in cat.names(mask & cat.data_mask):
            ops[ns].append((name, True))
    for j in range(pad):
        ns = namespaces[j % len(namespaces)]
        ops[ns].append((f"{ns}/synthetic{j // 4:05d}/{verbs[j % 4]}", False))

    def op(name: str, data: bool) -> dict[str, Any]:
        words = name.split("/", 1)[1].replace("/", " ")
        return {
            "name": name,
            "displayName": words.title(),
            "description": f"Lets you {words} ({name}).",
            "origin": "user,system",
            "properties": None,
            "isDataAction": data,
        }

    return [
        {
            "id": f"{AUTHZ}/providerOperations/{ns}",
            "name": ns,
            "type": "Microsoft.Authorization/providerOperations",
            "displayName": ns.replace(".", " "),
            "operations": [op(n, d) for n, d in ops[ns]],
            "resourceTypes": [],
        }
        for ns in namespaces
    ]


@dataclass
class AzureEstate:
    n: int
    seed: int = 7
    pad_operations: int = 0

    def build(self, out: Path) -> None:
        rnd = random.Random(self.seed)
        cat = load_catalog()
        writes = [
            name
            for name in cat.names(cat.all_mask & ~cat.data_mask)
            if name.lower().endswith(("/write", "/delete", "/action"))
        ]
        subs = [_guid(0x5B, i) for i in range(max(2, self.n // 250))]
        groups = {
            s: [f"/subscriptions/{s}/resourceGroups/rg-{j:03d}" for j in range(20)] for s in subs
        }
        mgs = [f"/providers/Microsoft.Management/managementGroups/mg-{j}" for j in range(3)]
        customs = []
        for i in range(max(5, self.n // 50)):
            picks = rnd.sample(writes, rnd.randint(5, 40))
            if i % 10 == 0:
                picks.append("Microsoft.Authorization/locks/*")
            customs.append(
                {
                    "name": _guid(0xC0, i),
                    "roleName": f"custom-role-{i:04d}",
                    "roleType": "CustomRole",
                    "assignableScopes": [f"/subscriptions/{rnd.choice(subs)}"],
                    "permissions": [
                        {
                            "actions": [*picks, "*/read"] if i % 3 == 0 else picks,
                            "notActions": [],
                            "dataActions": [],
                            "notDataActions": [],
                        }
                    ],
                }
            )
        providers = _provider_operations(cat, self.pad_operations) if self.pad_operations else None
        weights = [w for _, _, w in ROLES] + [2]
        sps, apps, assignments, sign_ins, events, pim = [], [], [], [], [], []
        manifests: list[tuple[str, str, list[str], str]] = []
        k = 0
        for i in range(self.n):
            oid, app_id = _guid(0xA0, i), _guid(0xB0, i)
            mi = i % 5 == 4
            name = f"{'mi' if mi else 'app'}-{i:05d}"
            sub = rnd.choice(subs)
            sps.append(
                {
                    "id": oid,
                    "appId": app_id,
                    "displayName": name,
                    "servicePrincipalType": "ManagedIdentity" if mi else "Application",
                    "accountEnabled": True,
                    "appOwnerOrganizationId": None if mi else TENANT,
                    "alternativeNames": [
                        f"/subscriptions/{sub}/resourcegroups/rg-000/providers/"
                        f"Microsoft.ManagedIdentity/userAssignedIdentities/{name}"
                    ]
                    if mi
                    else [],
                    "passwordCredentials": [],
                    "keyCredentials": [],
                    "tags": [],
                }
            )
            if not mi:
                start = rnd.choice(
                    ["2024-01-01T00:00:00Z", "2025-06-01T00:00:00Z", "2026-06-01T00:00:00Z"]
                )
                end = rnd.choice([None, "2026-12-01T00:00:00Z", "2028-06-01T00:00:00Z"])
                apps.append(
                    {
                        "id": _guid(0xD0, i),
                        "appId": app_id,
                        "displayName": name,
                        "createdDateTime": "2024-01-01T00:00:00Z",
                        "passwordCredentials": [
                            {
                                "keyId": _guid(0xE0, i),
                                "displayName": "ci",
                                "startDateTime": start,
                                "endDateTime": end,
                            }
                        ],
                        "keyCredentials": [],
                    }
                )
            held: list[str] = []
            for _ in range(rnd.randint(1, 4)):
                pick = rnd.choices(range(len(weights)), weights)[0]
                if pick < len(ROLES):
                    rid, rname, _ = ROLES[pick]
                else:
                    c = rnd.choice(customs[: max(5, self.n // 50)])
                    rid, rname = str(c["name"]), str(c["roleName"])
                roll = rnd.random()
                scope = (
                    rnd.choice(groups[sub])
                    if roll < 0.7
                    else f"/subscriptions/{sub}"
                    if roll < 0.96
                    else rnd.choice(mgs)
                )
                k += 1
                assignments.append(
                    {
                        "id": f"{scope}{AUTHZ}/roleAssignments/{_guid(0xF0, k)}",
                        "principalId": oid,
                        "principalName": app_id,
                        "principalType": "ServicePrincipal",
                        "roleDefinitionId": f"{AUTHZ}/roleDefinitions/{rid}",
                        "roleDefinitionName": rname,
                        "scope": scope,
                        "condition": None,
                        "createdOn": "2025-01-01T00:00:00Z",
                    }
                )
                held.append(rname)
                if rname in ("Owner", "Contributor") and rnd.random() < 0.3:
                    pim.append(
                        {
                            "properties": {
                                "principalId": oid,
                                "roleDefinitionId": f"{scope}{AUTHZ}/roleDefinitions/{rid}",
                                "scope": scope,
                                "startDateTime": "2026-11-27T00:00:00Z",
                                "endDateTime": "2026-11-28T08:00:00Z",
                                "assignmentType": "Activated",
                            }
                        }
                    )
            if rnd.random() < 0.9:
                last = rnd.choice(DAYS_RECENT if rnd.random() < 0.85 else DAYS_OLD)
                sign_ins.append(
                    {
                        "appId": app_id,
                        "lastSignInActivity": {"lastSignInDateTime": last},
                        "applicationAuthenticationClientSignInActivity": {
                            "lastSignInDateTime": last
                        },
                    }
                )
            if rnd.random() < 0.7:
                events += [
                    {
                        "caller": oid if rnd.random() < 0.5 else app_id,
                        "claims": {"appid": app_id},
                        "operationName": {"value": op, "localizedValue": op},
                        "eventTimestamp": rnd.choice(DAYS_RECENT),
                        "subscriptionId": sub,
                        "status": {"value": "Succeeded"},
                    }
                    for op in rnd.sample(writes, rnd.randint(1, 8))
                ]
            if i % 2 == 0:
                manifests.append((name, oid, sorted(set(held))[:2], f"/subscriptions/{sub}"))

        out.mkdir(parents=True, exist_ok=True)

        def put(name: str, data: Any) -> None:
            (out / name).write_text(json.dumps(data), encoding="utf-8")

        put("role-assignments.json", assignments)
        put("role-definitions.json", customs)
        put("service-principals.json", sps)
        put("applications.json", apps)
        put("sign-ins.json", {"value": sign_ins})
        put("activity-log.json", events)
        put("pim-instances.json", {"value": pim})
        if providers is not None:
            put("provider-operations.json", providers)
        mdir = out / "manifests"
        mdir.mkdir(exist_ok=True)
        for name, oid, roles, scope in manifests:
            (mdir / f"{name}.yaml").write_text(
                "apiVersion: nhictl.dev/v1\nkind: AgentRegistration\n"
                f"metadata:\n  name: {name}\n  owner: team-{name[-2:]}\n  sponsor: a@example.com\n"
                "spec:\n  description: generated agent\n  entitlements:\n    azure:\n"
                f"      principalId: {oid}\n      scope: {scope}\n"
                f"      roles: [{', '.join(roles)}]\n",
                encoding="utf-8",
            )


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__.split("\n", 1)[0])
    ap.add_argument("n", type=int)
    ap.add_argument("out", type=Path)
    ap.add_argument("--seed", type=int, default=7)
    ap.add_argument("--pad-operations", type=int, default=0)
    args = ap.parse_args()
    AzureEstate(args.n, args.seed, args.pad_operations).build(args.out)


if __name__ == "__main__":
    main()
