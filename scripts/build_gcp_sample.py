"""Write sample-configs/gcp/: a small, realistic GCP export in the documented layout.

    python scripts/build_gcp_sample.py

Two projects under one folder of one organization (in sample-configs/gcp itself), the same
estate as it was before a drift (``baseline/``), registration manifests (``manifests/``) and
exclusions. Dates are fixed around the sample's audit date, 2026-11-28 (``--as-of
2026-11-28``). Exercised permissions in ``insights.json`` are taken from the shipped role
catalog, so they always belong to the role of their binding.

What the sample holds, and which rule each account makes fire:
- invoice-agent, metrics-pusher (custom role), audit-reader, data-reader: registered, using what
  they hold (clean; data-reader's project has no insights, so its usage is unknown);
- support-bot: drifted (BigQuery Data Editor and Storage Admin added since the baseline, not
  declared, barely used): creep.beyond-declared, creep.growth, creep.unused-permission;
- deploy-pipeline: Service Account User at project level, Run Admin, Service Account Admin, an
  old never-used key: gcp.project-impersonation, priv.escalation, gcp.sa-separation-of-duties,
  cred.stale-key, gcp.user-managed-key;
- legacy-etl: last authenticated in March 2025: creep.unused-principal, cred.stale-key;
- break-glass: Owner until 2026-12-31 (time-bound), excluded with a reason;
- token-broker: Token Creator on invoice-agent only (scoped escalation);
- public-demo: impersonable by allAuthenticatedUsers, never authenticated: trust.broad,
  creep.unused-principal, inv.unregistered;
- the default compute and App Engine accounts with Editor: gcp.default-sa-editor, priv.admin;
- ci-runner: Editor on the folder (inherited by both projects): priv.admin at folder level;
- test-runner: a recent, used key: gcp.user-managed-key only; unregistered;
- manifests/retired-reporter.yaml names an account that no longer exists: inv.orphan-manifest.
"""

from __future__ import annotations

import json
import shutil
import sys
from pathlib import Path
from typing import Any

ROOT = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(ROOT))

from nhictl.providers.gcp.catalog import load_catalog  # noqa: E402

OUT = ROOT / "sample-configs/gcp"
ORG = "123456789012"
FOLDER = "700100200300"
P1, N1 = "acme-agents-prod", "481516234201"
P2, N2 = "acme-data-dev", "902211334455"
REFRESH = "2026-11-27T07:00:00Z"
OBSERVED = {"startTime": "2024-11-27T07:00:00Z", "endTime": REFRESH}
_CAT = load_catalog()


def sa(name: str, project: str = P1) -> str:
    return f"{name}@{project}.iam.gserviceaccount.com"


COMPUTE = f"{N1}-compute@developer.gserviceaccount.com"
APPSPOT = f"{P2}@appspot.gserviceaccount.com"
UIDS: dict[str, str] = {}


def uid(email: str) -> str:
    return UIDS.setdefault(email, str(104_000_000_000_000_000_000 + 7919 * (len(UIDS) + 1)))


def write(path: Path, data: Any) -> None:
    path.parent.mkdir(parents=True, exist_ok=True)
    path.write_text(json.dumps(data, indent=2) + "\n", encoding="utf-8")


def binding(role: str, *members: str, condition: dict[str, str] | None = None) -> dict[str, Any]:
    b: dict[str, Any] = {"members": sorted(members), "role": role}
    if condition:
        b["condition"] = condition
    return b


def policy(*bindings: dict[str, Any]) -> dict[str, Any]:
    return {"bindings": list(bindings), "etag": "BwYnS7fG2xQ=", "version": 3}


def project_doc(pid: str, number: str) -> dict[str, Any]:
    return {
        "createTime": "2023-02-14T10:21:07.115Z",
        "lifecycleState": "ACTIVE",
        "name": pid,
        "parent": {"id": FOLDER, "type": "folder"},
        "projectId": pid,
        "projectNumber": number,
    }


def account(email: str, project: str, display: str, description: str = "") -> dict[str, Any]:
    return {
        "description": description,
        "displayName": display,
        "email": email,
        "etag": "MDEwMjE5MjA=",
        "name": f"projects/{project}/serviceAccounts/{email}",
        "oauth2ClientId": uid(email),
        "projectId": project,
        "uniqueId": uid(email),
    }


def key(email: str, project: str, key_id: str, created: str) -> dict[str, Any]:
    return {
        "keyAlgorithm": "KEY_ALG_RSA_2048",
        "keyOrigin": "GOOGLE_PROVIDED",
        "keyType": "USER_MANAGED",
        "name": f"projects/{project}/serviceAccounts/{email}/keys/{key_id}",
        "validAfterTime": created,
        "validBeforeTime": "9999-12-31T23:59:59Z",
    }


def system_key(email: str, project: str) -> dict[str, Any]:
    k = key(email, project, "9f1c0e77a1b2c3d4e5f60718293a4b5c6d7e8f90", "2026-11-01T00:00:00Z")
    k.update(keyType="SYSTEM_MANAGED", validBeforeTime="2026-11-17T00:00:00Z")
    return k


def perms(role: str, *picked: str) -> list[dict[str, str]]:
    """``picked`` permissions of ``role`` (all of them when none are named)."""
    have = _CAT.role_permissions(role) or tuple(_CUSTOM.get(role, ()))
    chosen = list(picked) if picked else list(have)
    missing = [p for p in chosen if p not in have]
    if missing:
        raise SystemExit(f"{role} does not hold {missing}")
    return [{"permission": p} for p in chosen]


_CUSTOM = {
    f"projects/{P1}/roles/metricsWriter": [
        "logging.logEntries.create",
        "monitoring.metricDescriptors.create",
        "monitoring.timeSeries.create",
    ]
}


def insight(
    n: int, number: str, email: str, role: str, exercised: list[dict[str, str]], total: int
) -> dict[str, Any]:
    used = len(exercised)
    return {
        "associatedRecommendations": [],
        "category": "SECURITY",
        "content": {
            "condition": {"description": "", "expression": "", "location": "", "title": ""},
            "currentTotalPermissionsCount": str(total),
            "exercisedPermissions": exercised,
            "inferredPermissions": [],
            "member": f"serviceAccount:{email}",
            "role": role,
        },
        "description": f"{used} of the permissions in this role binding were used in the past "
        "90 days.",
        "etag": f'"{n:016x}"',
        "insightSubtype": "PERMISSIONS_USAGE",
        "lastRefreshTime": REFRESH,
        "name": f"projects/{number}/locations/global/insightTypes/google.iam.policy.Insight/"
        f"insights/{n:08x}-5c1e-4f9b-9d7a-3e2b1c0d{n:04x}",
        "observationPeriod": "7776000s",
        "severity": "LOW",
        "stateInfo": {"state": "ACTIVE"},
        "targetResources": [f"//cloudresourcemanager.googleapis.com/projects/{number}"],
    }


def activity(email: str, project: str, number: str, when: str) -> dict[str, Any]:
    full = f"//iam.googleapis.com/projects/{project}/serviceAccounts/{uid(email)}"
    return {
        "activity": {
            "lastAuthenticatedTime": when,
            "serviceAccount": {
                "fullResourceName": full,
                "projectNumber": number,
                "serviceAccountId": uid(email),
            },
        },
        "activityType": "serviceAccountLastAuthentication",
        "fullResourceName": full,
        "observationPeriod": OBSERVED,
    }


def key_activity(email: str, project: str, number: str, key_id: str, when: str) -> dict[str, Any]:
    full = f"//iam.googleapis.com/projects/{project}/serviceAccounts/{uid(email)}/keys/{key_id}"
    return {
        "activity": {
            "lastAuthenticatedTime": when,
            "serviceAccountKey": {
                "fullResourceName": full,
                "projectNumber": number,
                "serviceAccountId": uid(email),
            },
        },
        "activityType": "serviceAccountKeyLastAuthentication",
        "fullResourceName": full,
        "observationPeriod": OBSERVED,
    }


def folder_policy() -> dict[str, Any]:
    return policy(
        binding("roles/editor", f"serviceAccount:{sa('ci-runner')}"),
        binding("roles/viewer", "group:platform-team@acme.example"),
    )


def org_policy() -> dict[str, Any]:
    return policy(
        binding("roles/iam.securityReviewer", f"serviceAccount:{sa('audit-reader')}"),
        binding("roles/resourcemanager.organizationAdmin", "user:cto@acme.example"),
    )


def project1(drifted: bool) -> dict[str, Any]:
    s = "serviceAccount:"
    bq = [binding("roles/bigquery.dataViewer", s + sa("support-bot"))]
    if drifted:
        bq += [
            binding("roles/bigquery.dataEditor", s + sa("support-bot")),
            binding("roles/storage.admin", s + sa("support-bot")),
        ]
    return policy(
        binding("roles/storage.objectViewer", s + sa("invoice-agent"), s + sa("public-demo")),
        binding("roles/pubsub.publisher", s + sa("invoice-agent")),
        *bq,
        binding("roles/bigquery.jobUser", s + sa("support-bot"), "group:data-eng@acme.example"),
        binding("roles/run.admin", s + sa("deploy-pipeline")),
        binding("roles/iam.serviceAccountUser", s + sa("deploy-pipeline")),
        binding("roles/iam.serviceAccountAdmin", s + sa("deploy-pipeline")),
        binding("roles/bigquery.admin", s + sa("legacy-etl")),
        binding(
            "roles/owner",
            s + sa("break-glass"),
            condition={
                "description": "Incident INC-4711 access, expires end of year",
                "expression": 'request.time < timestamp("2026-12-31T00:00:00Z")',
                "title": "until-2026-12-31",
            },
        ),
        binding("roles/owner", "user:alice@acme.example"),
        binding("roles/logging.logWriter", s + sa("token-broker"), s + sa("metrics-pusher")),
        binding(f"projects/{P1}/roles/metricsWriter", s + sa("metrics-pusher")),
        binding("roles/editor", s + COMPUTE),
        binding(
            "roles/pubsub.serviceAgent", f"{s}service-{N1}@gcp-sa-pubsub.iam.gserviceaccount.com"
        ),
        binding(
            "roles/storage.objectViewer",
            f"deleted:serviceAccount:{sa('old-bot')}?uid=104000000000000009999",
        ),
    )


def accounts1() -> list[dict[str, Any]]:
    return [
        account(sa("invoice-agent"), P1, "Invoice reconciliation agent"),
        account(sa("support-bot"), P1, "Support triage bot"),
        account(sa("deploy-pipeline"), P1, "Release pipeline"),
        account(sa("legacy-etl"), P1, "Legacy nightly ETL", "Replaced by Dataflow in 2025"),
        account(sa("break-glass"), P1, "Break-glass admin"),
        account(sa("token-broker"), P1, "Token broker for the invoice agent"),
        account(sa("public-demo"), P1, "Conference demo"),
        account(sa("ci-runner"), P1, "CI runner"),
        account(sa("metrics-pusher"), P1, "Metrics pusher"),
        account(sa("audit-reader"), P1, "Security audit reader"),
        account(COMPUTE, P1, "Compute Engine default service account"),
    ]


def project2() -> dict[str, Any]:
    s = "serviceAccount:"
    return policy(
        binding("roles/bigquery.dataViewer", s + sa("data-reader", P2)),
        binding("roles/storage.objectAdmin", s + sa("test-runner", P2)),
        binding("roles/editor", s + APPSPOT),
    )


def accounts2() -> list[dict[str, Any]]:
    return [
        account(sa("data-reader", P2), P2, "Analytics reader"),
        account(sa("test-runner", P2), P2, "Integration tests"),
        account(APPSPOT, P2, "App Engine default service account"),
    ]


def custom_roles() -> list[dict[str, Any]]:
    return [
        {
            "description": "Write metrics and logs",
            "etag": "BwYnS7fG2xQ=",
            "includedPermissions": _CUSTOM[f"projects/{P1}/roles/metricsWriter"],
            "name": f"projects/{P1}/roles/metricsWriter",
            "stage": "GA",
            "title": "Metrics Writer",
        }
    ]


def insights1() -> list[dict[str, Any]]:
    def n(role: str) -> int:
        return len(_CAT.role_permissions(role) or _CUSTOM[role])

    rows = [
        (sa("invoice-agent"), "roles/storage.objectViewer", perms("roles/storage.objectViewer")),
        (sa("invoice-agent"), "roles/pubsub.publisher", perms("roles/pubsub.publisher")),
        (
            sa("support-bot"),
            "roles/bigquery.dataViewer",
            perms(
                "roles/bigquery.dataViewer",
                "bigquery.datasets.get",
                "bigquery.tables.get",
                "bigquery.tables.getData",
                "bigquery.tables.list",
                "resourcemanager.projects.get",
            ),
        ),
        (
            sa("support-bot"),
            "roles/bigquery.dataEditor",
            perms("roles/bigquery.dataEditor", "bigquery.tables.updateData"),
        ),
        (sa("support-bot"), "roles/storage.admin", []),
        (
            sa("support-bot"),
            "roles/bigquery.jobUser",
            perms("roles/bigquery.jobUser", "bigquery.jobs.create"),
        ),
        (
            sa("deploy-pipeline"),
            "roles/run.admin",
            perms(
                "roles/run.admin",
                "run.services.create",
                "run.services.get",
                "run.services.update",
                "run.revisions.list",
            ),
        ),
        (
            sa("deploy-pipeline"),
            "roles/iam.serviceAccountUser",
            perms("roles/iam.serviceAccountUser", "iam.serviceAccounts.actAs"),
        ),
        (sa("deploy-pipeline"), "roles/iam.serviceAccountAdmin", []),
        (
            sa("token-broker"),
            "roles/logging.logWriter",
            perms("roles/logging.logWriter", "logging.logEntries.create"),
        ),
        (sa("metrics-pusher"), "roles/logging.logWriter", perms("roles/logging.logWriter")),
        (
            sa("metrics-pusher"),
            f"projects/{P1}/roles/metricsWriter",
            perms(f"projects/{P1}/roles/metricsWriter"),
        ),
    ]
    return [insight(i + 1, N1, e, r, ex, n(r)) for i, (e, r, ex) in enumerate(rows)]


def sa_insights1() -> list[dict[str, Any]]:
    def one(email: str, last: str | None) -> dict[str, Any]:
        content: dict[str, Any] = {"email": email, "serviceAccountId": uid(email)}
        if last:
            content["lastAuthenticatedTime"] = last
        return {
            "category": "SECURITY",
            "content": content,
            "description": f"Service account {email} was inactive.",
            "insightSubtype": "SERVICE_ACCOUNT_USAGE",
            "lastRefreshTime": REFRESH,
            "name": f"projects/{N1}/locations/global/insightTypes/"
            f"google.iam.serviceAccount.Insight/insights/{uid(email)}",
            "observationPeriod": "19008000s",
            "severity": "LOW",
            "stateInfo": {"state": "ACTIVE"},
            "targetResources": [f"//cloudresourcemanager.googleapis.com/projects/{N1}"],
        }

    return [one(sa("legacy-etl"), "2025-03-02T04:10:00Z"), one(sa("public-demo"), None)]


def build() -> None:
    # The project folders sit in sample-configs/gcp itself, so the folder is what
    # `--snapshot` and `--snapshot-dir DIR` (DIR/gcp) take; baseline/ holds the earlier state.
    if OUT.exists():
        for sub in (P1, P2, "baseline"):
            shutil.rmtree(OUT / sub, ignore_errors=True)
    for kind in ("current", "baseline"):
        drifted = kind == "current"
        base = OUT if drifted else OUT / kind
        d1, d2 = base / P1, base / P2
        for d, pid, num in ((d1, P1, N1), (d2, P2, N2)):
            write(d / "project.json", project_doc(pid, num))
            write(d / f"ancestors/folder-{FOLDER}.json", folder_policy())
            write(d / f"ancestors/organization-{ORG}.json", org_policy())
        write(d1 / "iam-policy.json", project1(drifted))
        write(d1 / "service-accounts.json", accounts1())
        write(d1 / "custom-roles.json", custom_roles())
        write(d2 / "iam-policy.json", project2())
        write(d2 / "service-accounts.json", accounts2())
        write(d2 / "custom-roles.json", [])
        s = "serviceAccount:"
        write(
            d1 / f"sa-policies/{sa('invoice-agent')}.json",
            policy(binding("roles/iam.serviceAccountTokenCreator", s + sa("token-broker"))),
        )
        if not drifted:
            continue
        write(
            d1 / f"sa-policies/{sa('public-demo')}.json",
            policy(binding("roles/iam.serviceAccountTokenCreator", "allAuthenticatedUsers")),
        )
        write(
            d1 / f"sa-policies/{sa('deploy-pipeline')}.json",
            policy(binding("roles/iam.serviceAccountUser", "group:release-managers@acme.example")),
        )
        for email in (sa("invoice-agent"), sa("support-bot"), sa("metrics-pusher")):
            write(d1 / f"keys/{email}.json", [system_key(email, P1)])
        dk = "6f0c2a9e41d3b7a85c2e1f0d9b8a7c6e5d4f3a21"
        lk = "0c9d8e7f6a5b4c3d2e1f0a9b8c7d6e5f4a3b2c1d"
        write(
            d1 / f"keys/{sa('deploy-pipeline')}.json",
            [key(sa("deploy-pipeline"), P1, dk, "2024-02-10T09:00:00Z")],
        )
        write(
            d1 / f"keys/{sa('legacy-etl')}.json",
            [key(sa("legacy-etl"), P1, lk, "2023-05-01T12:00:00Z")],
        )
        tk = "a1b2c3d4e5f60718293a4b5c6d7e8f9001122334"
        write(
            d2 / f"keys/{sa('test-runner', P2)}.json",
            [key(sa("test-runner", P2), P2, tk, "2026-10-01T08:00:00Z")],
        )
        write(d2 / f"keys/{sa('data-reader', P2)}.json", [])
        write(d1 / "insights.json", insights1())
        write(d1 / "sa-insights.json", sa_insights1())
        recent = "2026-11-27T06:00:00Z"
        write(
            d1 / "activity.json",
            [
                activity(sa("invoice-agent"), P1, N1, recent),
                activity(sa("support-bot"), P1, N1, recent),
                activity(sa("deploy-pipeline"), P1, N1, "2026-11-26T18:00:00Z"),
                activity(sa("legacy-etl"), P1, N1, "2025-03-02T04:10:00Z"),
                activity(sa("break-glass"), P1, N1, "2026-06-01T02:00:00Z"),
                activity(sa("token-broker"), P1, N1, "2026-11-25T10:00:00Z"),
                activity(sa("ci-runner"), P1, N1, "2026-11-20T10:00:00Z"),
                activity(sa("metrics-pusher"), P1, N1, recent),
                activity(sa("audit-reader"), P1, N1, "2026-11-02T10:00:00Z"),
                activity(COMPUTE, P1, N1, recent),
            ],
        )
        write(
            d1 / "key-activity.json",
            [key_activity(sa("legacy-etl"), P1, N1, lk, "2025-03-02T04:10:00Z")],
        )
        write(
            d2 / "activity.json",
            [
                activity(sa("data-reader", P2), P2, N2, "2026-11-26T09:00:00Z"),
                activity(sa("test-runner", P2), P2, N2, "2026-11-20T08:00:00Z"),
                activity(APPSPOT, P2, N2, recent),
            ],
        )
        write(
            d2 / "key-activity.json",
            [key_activity(sa("test-runner", P2), P2, N2, tk, "2026-11-20T08:00:00Z")],
        )
    print(f"wrote the projects under {OUT}/ and {OUT}/baseline/")


if __name__ == "__main__":
    build()
