"""Generate a GCP estate in the raw gcloud layout ``audit_gcp`` reads, for benchmarks.

    python benchmarks/gen_gcp_estate.py 5000 out/gcp-5000 [--seed 1] [--per-project 250]

N service accounts spread over projects (``--per-project`` each, so a project's allow policy
stays far below GCP's 1,500-principal limit) under folders of one organization, as real
organisations lay them out:

- every account holds 2-4 predefined roles drawn from ~60 roles workloads commonly get, on its
  project; 2 % hold Editor, 0.5 % Owner (a tenth of those time-bound), 3 % Service Account User
  at project level, 1 % a role on their folder, and a few per folder hold a role at folder level;
- each project has 3 custom roles (20-200 permissions of the catalog) held by a fifth of its
  accounts;
- 10 % of the accounts have their own policy naming another account as Token Creator;
- 30 % have 1-2 user-managed keys (a third of them older than 90 days);
- insights cover 60 % of the bindings (exercised: a random part of the role), activity covers
  80 % of the accounts (5 % of them idle for a year), key activity most keys;
- one registration manifest (JSON) per two accounts, declaring the predefined roles it holds.

The role catalog is the shipped one (real sizes: Owner 13,568 permissions, Editor 11,979).
"""

from __future__ import annotations

import argparse
import json
import random
import sys
import zlib
from dataclasses import dataclass
from datetime import UTC, datetime, timedelta
from pathlib import Path
from typing import Any

ROOT = Path(__file__).resolve().parents[1]
if str(ROOT) not in sys.path:
    sys.path.insert(0, str(ROOT))

from nhictl.providers.gcp.catalog import load_catalog  # noqa: E402

COMMON_ROLES = [
    "roles/storage.objectViewer",
    "roles/storage.objectCreator",
    "roles/storage.objectAdmin",
    "roles/storage.admin",
    "roles/pubsub.publisher",
    "roles/pubsub.subscriber",
    "roles/pubsub.editor",
    "roles/bigquery.dataViewer",
    "roles/bigquery.dataEditor",
    "roles/bigquery.jobUser",
    "roles/bigquery.user",
    "roles/bigquery.admin",
    "roles/logging.logWriter",
    "roles/logging.viewer",
    "roles/monitoring.metricWriter",
    "roles/monitoring.viewer",
    "roles/cloudtrace.agent",
    "roles/secretmanager.secretAccessor",
    "roles/secretmanager.viewer",
    "roles/cloudsql.client",
    "roles/cloudsql.viewer",
    "roles/run.invoker",
    "roles/run.developer",
    "roles/run.admin",
    "roles/cloudfunctions.invoker",
    "roles/cloudfunctions.developer",
    "roles/artifactregistry.reader",
    "roles/artifactregistry.writer",
    "roles/datastore.user",
    "roles/datastore.viewer",
    "roles/spanner.databaseUser",
    "roles/redis.viewer",
    "roles/cloudkms.cryptoKeyEncrypterDecrypter",
    "roles/cloudkms.viewer",
    "roles/dataflow.worker",
    "roles/dataflow.developer",
    "roles/dataproc.worker",
    "roles/composer.worker",
    "roles/container.developer",
    "roles/container.viewer",
    "roles/compute.viewer",
    "roles/compute.instanceAdmin.v1",
    "roles/compute.networkViewer",
    "roles/dns.reader",
    "roles/cloudscheduler.jobRunner",
    "roles/cloudtasks.enqueuer",
    "roles/workflows.invoker",
    "roles/aiplatform.user",
    "roles/aiplatform.viewer",
    "roles/errorreporting.writer",
    "roles/cloudprofiler.agent",
    "roles/cloudbuild.builds.editor",
    "roles/source.reader",
    "roles/firebase.viewer",
    "roles/iam.serviceAccountTokenCreator",
    "roles/serviceusage.serviceUsageConsumer",
    "roles/bigquery.readSessionUser",
    "roles/bigtable.user",
    "roles/bigtable.reader",
    "roles/notebooks.viewer",
]
_UNTIL_2027 = 'request.time < timestamp("2027-01-01T00:00:00Z")'
_BASE = datetime(2026, 11, 27, 7, tzinfo=UTC)


def _stamp(rng: random.Random, days_min: int, days_max: int) -> str:
    """A time between ``days_max`` and ``days_min`` days before the estate's date."""
    when = _BASE - timedelta(days=rng.randint(days_min, days_max), hours=rng.randint(0, 23))
    return when.strftime("%Y-%m-%dT%H:%M:%SZ")


def _uid(email: str) -> str:
    return str(zlib.crc32(email.encode()) * 100003 + len(email))


@dataclass
class Estate:
    """A generated estate of ``n`` service accounts (deterministic for a seed)."""

    n: int
    seed: int = 1
    per_project: int = 250
    per_folder: int = 5  # projects per folder

    def build(self, out: Path) -> dict[str, int]:
        rng = random.Random(self.seed)
        cat = load_catalog()
        perms = list(cat.names(cat.all_mask))
        roles = [r for r in COMMON_ROLES if cat.role(r) is not None]
        n_projects = max(1, -(-self.n // self.per_project))
        (out / "snapshot").mkdir(parents=True, exist_ok=True)
        (out / "manifests").mkdir(parents=True, exist_ok=True)
        counts = {"accounts": 0, "projects": n_projects, "bindings": 0, "keys": 0, "manifests": 0}
        made = 0
        for pi in range(n_projects):
            pid = f"bench-proj-{pi:04d}"
            number = f"{700000000000 + pi}"
            folder = f"{900000 + pi // self.per_folder}"
            d = out / "snapshot" / pid
            size = min(self.per_project, self.n - made)
            emails = [f"agent-{made + i:05d}@{pid}.iam.gserviceaccount.com" for i in range(size)]
            made += size
            counts["accounts"] += size
            self._project(rng, cat, perms, roles, d, pid, number, folder, emails, counts, out)
        return counts

    def _project(
        self,
        rng: random.Random,
        cat: Any,
        perms: list[str],
        roles: list[str],
        d: Path,
        pid: str,
        number: str,
        folder: str,
        emails: list[str],
        counts: dict[str, int],
        out: Path,
    ) -> None:
        by_role: dict[tuple[str, str], list[str]] = {}  # (role, condition key) -> members
        conds: dict[str, dict[str, str]] = {}
        custom = [f"projects/{pid}/roles/custom{i}" for i in range(3)]
        custom_docs = []
        for name in custom:
            chosen = sorted(rng.sample(perms, rng.randint(20, 200)))
            custom_docs.append(
                {
                    "name": name,
                    "title": name.rsplit("/", 1)[1],
                    "includedPermissions": chosen,
                    "stage": "GA",
                }
            )
        held: dict[str, list[str]] = {}
        folder_bindings: list[dict[str, Any]] = []
        insights: list[dict[str, Any]] = []
        activity: list[dict[str, Any]] = []
        key_activity: list[dict[str, Any]] = []
        (d / "keys").mkdir(parents=True, exist_ok=True)
        (d / "sa-policies").mkdir(parents=True, exist_ok=True)
        for e in emails:
            mine = rng.sample(roles, rng.randint(2, 4))
            x = rng.random()
            if x < 0.005:
                mine.append("roles/owner")
            elif x < 0.025:
                mine.append("roles/editor")
            elif x < 0.055:
                mine.append("roles/iam.serviceAccountUser")
            if rng.random() < 0.2:
                mine.append(rng.choice(custom))
            held[e] = mine
            for r in mine:
                key = ""
                if r == "roles/owner" and rng.random() < 0.1:
                    key = "tb"
                    conds[key] = {"title": "temporary", "expression": _UNTIL_2027}
                by_role.setdefault((r, key), []).append(f"serviceAccount:{e}")
                counts["bindings"] += 1
            if rng.random() < 0.01:
                folder_bindings.append(
                    {"role": rng.choice(roles), "members": [f"serviceAccount:{e}"]}
                )
            # Usage: insights for 60 % of the bindings.
            for r in mine:
                if rng.random() >= 0.6:
                    continue
                rp = cat.role_permissions(r) or next(
                    c["includedPermissions"] for c in custom_docs if c["name"] == r
                )
                # A workload uses a few services of a role, and part of each.
                svcs = sorted({p.split(".", 1)[0] for p in rp})
                mine_svcs = set(rng.sample(svcs, min(len(svcs), rng.randint(1, 3))))
                pool = [p for p in rp if p.split(".", 1)[0] in mine_svcs]
                k = int(len(pool) * rng.random() * 0.6)
                ex = rng.sample(pool, min(k, 30))
                insights.append(
                    {
                        "content": {
                            "role": r,
                            "member": f"serviceAccount:{e}",
                            "condition": {
                                "expression": "",
                                "title": "",
                                "description": "",
                                "location": "",
                            },
                            "exercisedPermissions": [{"permission": p} for p in ex],
                            "inferredPermissions": [],
                        },
                        "lastRefreshTime": "2026-11-27T07:00:00Z",
                        "observationPeriod": "7776000s",
                        "targetResources": [
                            f"//cloudresourcemanager.googleapis.com/projects/{number}"
                        ],
                        "insightSubtype": "PERMISSIONS_USAGE",
                    }
                )
            uid = _uid(e)
            if rng.random() < 0.8:
                when = _stamp(rng, 300, 400) if rng.random() < 0.05 else _stamp(rng, 0, 30)
                full = f"//iam.googleapis.com/projects/{pid}/serviceAccounts/{e}"
                activity.append(
                    {
                        "activity": {
                            "lastAuthenticatedTime": when,
                            "serviceAccount": {"fullResourceName": full, "serviceAccountId": uid},
                        },
                        "activityType": "serviceAccountLastAuthentication",
                        "fullResourceName": full,
                    }
                )
            keys = []
            if rng.random() < 0.3:
                for ki in range(rng.randint(1, 2)):
                    kid = f"{uid}{ki:02d}"
                    created = _stamp(rng, 100, 700) if rng.random() < 0.33 else _stamp(rng, 1, 80)
                    keys.append(
                        {
                            "keyType": "USER_MANAGED",
                            "keyAlgorithm": "KEY_ALG_RSA_2048",
                            "name": f"projects/{pid}/serviceAccounts/{e}/keys/{kid}",
                            "validAfterTime": created,
                            "validBeforeTime": "9999-12-31T23:59:59Z",
                        }
                    )
                    counts["keys"] += 1
                    if rng.random() < 0.7:
                        full = f"//iam.googleapis.com/projects/{pid}/serviceAccounts/{e}/keys/{kid}"
                        key_activity.append(
                            {
                                "activity": {
                                    "lastAuthenticatedTime": _stamp(rng, 0, 200),
                                    "serviceAccountKey": {"fullResourceName": full},
                                }
                            }
                        )
            _write(d / "keys" / f"{e}.json", keys)
            if rng.random() < 0.1:
                other = rng.choice(emails)
                _write(
                    d / "sa-policies" / f"{e}.json",
                    {
                        "version": 1,
                        "bindings": [
                            {
                                "role": "roles/iam.serviceAccountTokenCreator",
                                "members": [f"serviceAccount:{other}"],
                            }
                        ],
                    },
                )
            if rng.random() < 0.5:
                declared = [r for r in held[e] if r.startswith("roles/")][:3]
                _write(
                    out / "manifests" / f"{e.split('@')[0]}.json",
                    {
                        "apiVersion": "nhictl.dev/v1",
                        "kind": "AgentRegistration",
                        "metadata": {"name": e.split("@")[0], "owner": "team-bench"},
                        "spec": {
                            "entitlements": {
                                "gcp": {"serviceAccount": e, "project": pid, "roles": declared}
                            }
                        },
                    },
                )
                counts["manifests"] += 1
        bindings = []
        for (r, key), members in sorted(by_role.items()):
            b: dict[str, Any] = {"role": r, "members": members}
            if key:
                b["condition"] = conds[key]
            bindings.append(b)
        bindings.append({"role": "roles/viewer", "members": ["group:devs@bench.example"]})
        _write(
            d / "project.json",
            {"projectId": pid, "projectNumber": number, "parent": {"type": "folder", "id": folder}},
        )
        _write(d / "iam-policy.json", {"version": 3, "etag": "x", "bindings": bindings})
        _write(d / f"ancestors/folder-{folder}.json", {"version": 3, "bindings": folder_bindings})
        _write(
            d / "ancestors/organization-100200300400.json",
            {
                "version": 3,
                "bindings": [
                    {
                        "role": "roles/resourcemanager.organizationViewer",
                        "members": ["group:all@bench.example"],
                    }
                ],
            },
        )
        _write(
            d / "service-accounts.json",
            [
                {"email": e, "displayName": e.split("@")[0], "projectId": pid, "uniqueId": _uid(e)}
                for e in emails
            ],
        )
        _write(d / "custom-roles.json", custom_docs)
        _write(d / "insights.json", insights)
        _write(d / "activity.json", activity)
        _write(d / "key-activity.json", key_activity)


def _write(path: Path, data: Any) -> None:
    path.parent.mkdir(parents=True, exist_ok=True)
    path.write_text(json.dumps(data, separators=(",", ":")), encoding="utf-8")


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("n", type=int)
    ap.add_argument("out", type=Path)
    ap.add_argument("--seed", type=int, default=1)
    ap.add_argument("--per-project", type=int, default=250)
    args = ap.parse_args()
    counts = Estate(args.n, args.seed, args.per_project).build(args.out)
    print(json.dumps(counts))


if __name__ == "__main__":
    main()
