"""Builders for small GCP project folders (the documented raw layout) and one-call audits."""

from __future__ import annotations

import json
from dataclasses import dataclass, field
from datetime import UTC, datetime
from pathlib import Path
from typing import Any

from nhictl.creep.model import Finding, Report
from nhictl.providers.gcp.audit import GcpAuditInputs, audit_gcp

NOW = datetime(2026, 11, 28, tzinfo=UTC)
P = "proj-a"
NUM = "111111111111"
OLD = "2024-01-01T00:00:00Z"
RECENT = "2026-11-20T00:00:00Z"


def sa(name: str, project: str = P) -> str:
    return f"{name}@{project}.iam.gserviceaccount.com"


def member(name: str, project: str = P) -> str:
    return f"serviceAccount:{sa(name, project)}"


def binding(role: str, *members: str, condition: dict[str, str] | None = None) -> dict[str, Any]:
    b: dict[str, Any] = {"role": role, "members": list(members)}
    if condition is not None:
        b["condition"] = condition
    return b


def until(when: str) -> dict[str, str]:
    return {"title": "temporary", "expression": f'request.time < timestamp("{when}")'}


def key(email: str, key_id: str, created: str, *, project: str = P) -> dict[str, Any]:
    return {
        "keyType": "USER_MANAGED",
        "name": f"projects/{project}/serviceAccounts/{email}/keys/{key_id}",
        "validAfterTime": created,
        "validBeforeTime": "9999-12-31T23:59:59Z",
    }


def insight(
    email: str,
    role: str,
    exercised: list[str],
    inferred: tuple[str, ...] = (),
    number: str = NUM,
    refreshed: str = "2026-11-27T00:00:00Z",
) -> dict[str, Any]:
    return {
        "content": {
            "role": role,
            "member": f"serviceAccount:{email}",
            "condition": {"expression": "", "title": "", "description": "", "location": ""},
            "exercisedPermissions": [{"permission": p} for p in exercised],
            "inferredPermissions": [{"permission": p} for p in inferred],
        },
        "lastRefreshTime": refreshed,
        "observationPeriod": "7776000s",
        "targetResources": [f"//cloudresourcemanager.googleapis.com/projects/{number}"],
        "insightSubtype": "PERMISSIONS_USAGE",
    }


def auth(email: str, when: str, uid: str | None = None) -> dict[str, Any]:
    full = f"//iam.googleapis.com/projects/{P}/serviceAccounts/{uid or email}"
    target: dict[str, Any] = {"fullResourceName": full}
    if uid:
        target["serviceAccountId"] = uid
    return {
        "activity": {"lastAuthenticatedTime": when, "serviceAccount": target},
        "activityType": "serviceAccountLastAuthentication",
        "fullResourceName": full,
    }


def key_auth(email: str, key_id: str, when: str) -> dict[str, Any]:
    full = f"//iam.googleapis.com/projects/{P}/serviceAccounts/{email}/keys/{key_id}"
    return {
        "activity": {"lastAuthenticatedTime": when, "serviceAccountKey": {"fullResourceName": full}}
    }


@dataclass
class Project:
    """One project folder; ``write`` lays it out under a directory."""

    id: str = P
    number: str = NUM
    accounts: list[str] = field(default_factory=list)  # e-mails
    bindings: list[dict[str, Any]] = field(default_factory=list)
    ancestors: dict[str, list[dict[str, Any]]] = field(default_factory=dict)  # folder-N: [...]
    keys: dict[str, list[dict[str, Any]]] | None = field(default_factory=dict)
    sa_policies: dict[str, list[dict[str, Any]]] = field(default_factory=dict)
    custom_roles: list[dict[str, Any]] = field(default_factory=list)
    usage: dict[str, Any] = field(default_factory=dict)  # file name -> document
    raw: dict[str, str] = field(default_factory=dict)  # relative path -> text (overrides)

    def write(self, root: Path) -> Path:
        d = root / self.id
        files: dict[str, Any] = {
            "project.json": {"projectId": self.id, "projectNumber": self.number, "name": self.id},
            "iam-policy.json": {"version": 3, "etag": "x", "bindings": self.bindings},
            "service-accounts.json": [
                {
                    "email": e,
                    "displayName": e.split("@")[0].title(),
                    "uniqueId": f"uid-{e}",
                    "projectId": self.id,
                }
                for e in self.accounts
            ],
            "custom-roles.json": self.custom_roles,
        }
        for name, bs in self.ancestors.items():
            files[f"ancestors/{name}.json"] = {"version": 3, "bindings": bs}
        if self.keys is not None:
            (d / "keys").mkdir(parents=True, exist_ok=True)
            for email, ks in self.keys.items():
                files[f"keys/{email}.json"] = ks
        for email, bs in self.sa_policies.items():
            files[f"sa-policies/{email}.json"] = {"version": 1, "bindings": bs}
        files.update(self.usage)
        for rel, data in files.items():
            path = d / rel
            path.parent.mkdir(parents=True, exist_ok=True)
            path.write_text(json.dumps(data), encoding="utf-8")
        for rel, text in self.raw.items():
            path = d / rel
            path.parent.mkdir(parents=True, exist_ok=True)
            path.write_text(text, encoding="utf-8")
        return d


def manifest(
    tmp: Path, name: str, email: str, roles: list[str], perms: tuple[str, ...] = ()
) -> Path:
    d = tmp / "manifests"
    d.mkdir(exist_ok=True)
    ent: dict[str, Any] = {"serviceAccount": email, "roles": roles}
    if perms:
        ent["permissions"] = list(perms)
    doc = {
        "apiVersion": "nhictl.dev/v1",
        "kind": "AgentRegistration",
        "metadata": {"name": name, "owner": "team-a"},
        "spec": {"entitlements": {"gcp": ent}},
    }
    path = d / f"{name}.json"
    path.write_text(json.dumps(doc), encoding="utf-8")
    return d


def audit(
    snapshot: Path,
    *,
    manifests: list[str] | None = None,
    baseline: Path | None = None,
    exclusions: Path | None = None,
    remediate: bool = True,
    **kw: Any,
) -> Report:
    return audit_gcp(
        GcpAuditInputs(
            snapshot=snapshot,
            manifests=manifests or [],
            baseline=baseline,
            exclusions=exclusions,
            now=NOW,
            remediate=remediate,
            **kw,
        )
    )


def audit_project(tmp: Path, project: Project, **kw: Any) -> Report:
    return audit(project.write(tmp / "snap"), **kw)


def hits(report: Report, rule: str, principal: str | None = None) -> list[Finding]:
    return [
        f
        for f in report.findings
        if f.rule_id == rule and (principal is None or f.principal == principal)
    ]


def result(report: Report, principal: str) -> Any:
    return next(p for p in report.principals if p.id == principal)
