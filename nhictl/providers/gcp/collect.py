"""Live GCP collection: the raw-output directory the offline GCP loader reads, from the APIs.

Each file holds what the gcloud command beside it prints with ``--format=json`` (gcloud prints
the REST resource; list commands print the array of resources, not the list response):

- ``project.json``: ``gcloud projects describe P``; cloudresourcemanager v1 ``projects.get``.
- ``iam-policy.json``: ``gcloud projects get-iam-policy P``; v3 ``projects.getIamPolicy`` with
  ``requestedPolicyVersion: 3`` (conditional bindings kept).
- ``ancestors/folder-<id>.json``, ``ancestors/organization-<id>.json`` (optional):
  ``gcloud resource-manager folders get-iam-policy`` / ``gcloud organizations get-iam-policy``;
  v1 ``projects.getAncestry``, then v3 ``folders|organizations.getIamPolicy`` (version 3).
- ``service-accounts.json``: ``gcloud iam service-accounts list``; iam v1 ``serviceAccounts.list``.
- ``keys/<email>.json``: ``gcloud iam service-accounts keys list --iam-account E
  --managed-by=user``; ``serviceAccounts.keys.list?keyTypes=USER_MANAGED`` (system-managed keys
  are Google's, rotated by Google: nothing to judge).
- ``sa-policies/<email>.json``: ``gcloud iam service-accounts get-iam-policy E``;
  ``serviceAccounts.getIamPolicy`` (version 3).
- ``custom-roles.json``: a list of ``gcloud iam roles describe`` outputs; ``projects.roles.list``
  (and ``organizations.roles.list`` for the project's organization) with ``view=FULL``.
- ``predefined-roles.json`` (optional, ``--roles``): ``gcloud iam roles list`` with the FULL
  view; iam v1 ``roles.list``, see `nhictl.providers.gcp.collect_roles`.
- ``insights.json``, ``sa-insights.json`` (optional): ``gcloud recommender insights list
  --location=global --insight-type=google.iam.policy.Insight|google.iam.serviceAccount.Insight``;
  recommender v1 ``insights.list``.
- ``activity.json``, ``key-activity.json`` (optional): ``gcloud policy-intelligence
  query-activity --activity-type=serviceAccountLastAuthentication|
  serviceAccountKeyLastAuthentication``; policyanalyzer v1 ``activities.query``.

``project.json`` comes from v1 because that is the shape gcloud prints (``projectNumber``,
``lifecycleState``, ``parent: {type, id}``); v3 has other field names. Optional parts that fail
(403 without Security Command Center Premium or without the role, a disabled API, ...) are left
out and listed in ``notes.json``; a required part that fails stops the run with a one-line
`ProviderError` and leaves no directory behind.
"""

from __future__ import annotations

import re
from collections.abc import Callable, Mapping
from concurrent.futures import ThreadPoolExecutor, as_completed
from dataclasses import dataclass, field
from functools import partial
from pathlib import Path
from typing import Any
from urllib.parse import quote

from nhictl.core.errors import InputError, ProviderError
from nhictl.providers.collectrun import DOCS, CollectRun, Hints
from nhictl.providers.gcp.auth import (
    auth_message,
    collector_credentials,
    source_credentials,
    universe_of,
)
from nhictl.providers.gcp.collect_roles import collect_predefined_roles
from nhictl.providers.gcp.endpoints import GcpEndpoints
from nhictl.providers.rawdir import CollectResult, OutputDir, check_target, write_collection
from nhictl.providers.rest import Progress, RestClient, RetryPolicy

POLICY_V3 = {"options": {"requestedPolicyVersion": 3}}
POLICY_INSIGHT = "google.iam.policy.Insight"
SA_INSIGHT = "google.iam.serviceAccount.Insight"
SA_ACTIVITY = "serviceAccountLastAuthentication"
KEY_ACTIVITY = "serviceAccountKeyLastAuthentication"

_PROJECT = re.compile(r"^(?:[a-z0-9.-]+:)?[a-z][a-z0-9-]{4,28}[a-z0-9]$|^[0-9]{1,20}$")
_NUMBER = re.compile(r"^[0-9]{1,20}$")
# Service-account e-mails name files (keys/<email>.json): letters, digits, . _ - @ only.
_EMAIL = re.compile(r"^[A-Za-z0-9][A-Za-z0-9._-]*@[A-Za-z0-9][A-Za-z0-9.-]*$")
_Part = tuple[str, str, str, Callable[[], Any]]  # an optional file: name, what, permission, call


@dataclass(slots=True)
class GcpCollectOptions:
    """One project's collection."""

    project: str
    output: Path
    organization: str | None = None
    impersonate_service_account: str | None = None
    credentials_file: Path | None = None
    quota_project: str | None = None
    force: bool = False
    usage: bool = True  # policy / SA insights and Policy Analyzer activity (optional parts)
    roles: bool = False  # predefined-roles.json: every predefined role, FULL view (~2,400)
    concurrency: int = 4
    endpoints: Mapping[str, str] | None = None  # service -> base URL; "*" for all
    retry: RetryPolicy = field(default_factory=RetryPolicy)


def _check_options(opts: GcpCollectOptions) -> None:
    if not _PROJECT.match(opts.project):
        raise InputError(f"--project: not a GCP project id or number: {opts.project!r}")
    if opts.organization is not None and not _NUMBER.match(opts.organization):
        raise InputError(f"--organization: not a numeric organization id: {opts.organization!r}")
    sa = opts.impersonate_service_account
    if sa is not None and not _EMAIL.match(sa):
        raise InputError(f"--impersonate-service-account: not a service-account e-mail: {sa!r}")
    if not 1 <= opts.concurrency <= 16:
        raise InputError("--concurrency: between 1 and 16")


def collect_gcp(opts: GcpCollectOptions, progress: Progress | None = None) -> CollectResult:
    """Collect one project into ``opts.output`` (written whole, or not at all)."""
    _check_options(opts)
    check_target(opts.output, opts.force)
    source = source_credentials(opts.credentials_file)
    endpoints = GcpEndpoints.resolve(universe_of(source), opts.endpoints)
    creds = collector_credentials(
        source, endpoints, opts.impersonate_service_account, opts.quota_project
    )
    from google.auth.exceptions import GoogleAuthError
    from google.auth.transport.requests import AuthorizedSession

    client = RestClient(lambda: AuthorizedSession(creds), opts.retry)  # type: ignore[no-untyped-call]

    def run(out: OutputDir, result: CollectResult) -> None:
        try:
            _GcpRun(client, endpoints, opts, out, result, progress).run()
        except GoogleAuthError as exc:  # before OSError: google-auth has an OSError of its own
            raise ProviderError(
                f"GCP authentication failed: {auth_message(exc)}",
                hint="check the credentials (and, with impersonation, the Token Creator role)",
            ) from None

    target = {
        "project": opts.project,
        "organization": opts.organization,
        "impersonatedServiceAccount": opts.impersonate_service_account,
    }
    return write_collection(opts.output, opts.force, "nhictl collect gcp", target, run)


class _GcpRun(CollectRun):
    """The calls of one collection, in order."""

    CLOUD = "GCP"
    HINTS = Hints(
        unauthorized="the credentials were refused; check them "
        "(gcloud auth application-default login)",
        forbidden=f"the identity needs {{permission}} (or the API is disabled); {DOCS}",
        not_found="check the project id, and that the API is enabled in the project",
    )

    def __init__(
        self,
        client: RestClient,
        endpoints: GcpEndpoints,
        opts: GcpCollectOptions,
        out: OutputDir,
        result: CollectResult,
        progress: Progress | None,
    ) -> None:
        super().__init__(out, result, progress)
        self.client = client
        self.ep = endpoints
        self.opts = opts
        self.project = quote(opts.project, safe=":")
        self.organization: str | None = opts.organization

    def call_name(self, what: str) -> str:
        return f"GCP {what} ({self.opts.project})"

    def run(self) -> None:
        crm, iam = self.ep.cloudresourcemanager, self.ep.iam
        project = self.required(
            "projects.get",
            "resourcemanager.projects.get",
            lambda: self.client.call("GET", f"{crm}/v1/projects/{self.project}"),
        )
        self.out.write_json("project.json", project)
        policy = self.required(
            "projects.getIamPolicy",
            "resourcemanager.projects.getIamPolicy",
            lambda: self.client.call(
                "POST", f"{crm}/v3/projects/{self.project}:getIamPolicy", body=POLICY_V3
            ),
        )
        self.out.write_json("iam-policy.json", policy)
        self.step("project")
        self.ancestors()
        accounts = self.required(
            "serviceAccounts.list",
            "iam.serviceAccounts.list",
            lambda: self.client.pages_by_token(
                f"{iam}/v1/projects/{self.project}/serviceAccounts",
                "accounts",
                params={"pageSize": 100},
            ),
        )
        self.out.write_json("service-accounts.json", accounts)
        self.result.counts["serviceAccounts"] = len(accounts)
        self.per_account(accounts)
        self.out.write_json("custom-roles.json", self.custom_roles())
        if self.opts.roles:
            collect_predefined_roles(self.client, self.ep.iam, self.out, self.result)
        if self.opts.usage:
            self.usage()

    def ancestors(self) -> None:
        crm = self.ep.cloudresourcemanager
        answer = self.optional(
            "ancestors/",
            "projects.getAncestry",
            "resourcemanager.projects.get",
            lambda: self.client.call("POST", f"{crm}/v1/projects/{self.project}:getAncestry"),
        )
        chain: list[tuple[str, str]] = []
        for entry in (answer or {}).get("ancestor", []):
            rid = entry.get("resourceId", {}) if isinstance(entry, dict) else {}
            kind, ident = str(rid.get("type", "")), str(rid.get("id", ""))
            if kind in ("folder", "organization"):
                if _NUMBER.match(ident):
                    chain.append((kind, ident))
                else:
                    self.result.notes.append(
                        f"ancestor {kind} {ident!r}: not a numeric id; skipped"
                    )
        orgs = [ident for kind, ident in chain if kind == "organization"]
        given = self.opts.organization
        if given and given not in orgs:
            if answer is None:
                chain.append(("organization", given))  # ancestry unknown: trust the flag
            else:
                self.result.notes.append(
                    f"--organization {given}: the project's organization is "
                    f"{orgs[0] if orgs else 'none'}; its policies were collected instead"
                )
        self.organization = next((i for k, i in chain if k == "organization"), None)
        for n, (kind, ident) in enumerate(chain, 1):
            plural = "folders" if kind == "folder" else "organizations"
            policy = self.optional(
                f"ancestors/{kind}-{ident}.json",
                f"{plural}.getIamPolicy",
                f"resourcemanager.{plural}.getIamPolicy",
                partial(
                    self.client.call,
                    "POST",
                    f"{crm}/v3/{plural}/{ident}:getIamPolicy",
                    body=POLICY_V3,
                ),
            )
            if policy is not None:
                self.out.write_json(f"ancestors/{kind}-{ident}.json", policy)
            self.step("ancestors", n, len(chain))

    def per_account(self, accounts: list[Any]) -> None:
        emails: list[str] = []
        for account in accounts:
            email = account.get("email") if isinstance(account, dict) else None
            if isinstance(email, str) and _EMAIL.match(email):
                emails.append(email)
            else:
                self.result.notes.append(f"service account with e-mail {email!r}: skipped")
        iam = self.ep.iam

        def one(email: str) -> tuple[str, Any, Any]:
            base = f"{iam}/v1/projects/{self.project}/serviceAccounts/{quote(email, safe='@')}"
            keys = self.required(
                f"serviceAccounts.keys.list for {email}",
                "iam.serviceAccountKeys.list",
                lambda: self.client.call(
                    "GET", f"{base}/keys", params={"keyTypes": "USER_MANAGED"}
                ),
            )
            policy = self.required(
                f"serviceAccounts.getIamPolicy for {email}",
                "iam.serviceAccounts.getIamPolicy",
                lambda: self.client.call(
                    "POST", f"{base}:getIamPolicy", params={"options.requestedPolicyVersion": 3}
                ),
            )
            return email, keys.get("keys", []), policy

        keys_total = 0
        pool = ThreadPoolExecutor(
            max_workers=self.opts.concurrency, thread_name_prefix="nhictl-gcp"
        )
        try:
            futures = [pool.submit(one, email) for email in emails]
            for done, future in enumerate(as_completed(futures), 1):
                email, keys, policy = future.result()
                self.out.write_json(f"keys/{email}.json", keys)
                self.out.write_json(f"sa-policies/{email}.json", policy)
                keys_total += len(keys)
                self.step("service accounts", done, len(emails))
        finally:
            pool.shutdown(wait=True, cancel_futures=True)
        self.result.counts["userManagedKeys"] = keys_total

    def custom_roles(self) -> list[Any]:
        iam = self.ep.iam
        roles: list[Any] = self.required(
            "projects.roles.list",
            "iam.roles.list",
            lambda: self.client.pages_by_token(
                f"{iam}/v1/projects/{self.project}/roles",
                "roles",
                params={"view": "FULL", "pageSize": 1000},
            ),
        )
        if self.organization:
            org = self.organization
            more = self.optional(
                "custom-roles.json",
                f"organizations.roles.list (organizations/{org}; the project's roles are there)",
                "iam.roles.list on the organization",
                lambda: self.client.pages_by_token(
                    f"{iam}/v1/organizations/{org}/roles",
                    "roles",
                    params={"view": "FULL", "pageSize": 1000},
                ),
            )
            roles.extend(more or [])
        self.result.counts["customRoles"] = len(roles)
        self.step("custom roles")
        return roles

    def usage(self) -> None:
        parent = f"projects/{self.project}/locations/global"
        rec, pa = self.ep.recommender, self.ep.policyanalyzer

        def insights(file: str, kind: str, permission: str) -> _Part:
            url = f"{rec}/v1/{parent}/insightTypes/{kind}/insights"
            call = partial(self.client.pages_by_token, url, "insights")
            return file, f"recommender insights {kind}", permission, call

        def activities(file: str, kind: str) -> _Part:  # its permission is named after kind
            url = f"{pa}/v1/{parent}/activityTypes/{kind}/activities:query"
            call = partial(self.client.pages_by_token, url, "activities", params={"pageSize": 1000})
            return file, f"policy analyzer {kind}", f"policyanalyzer.{kind}Activities.query", call

        parts = [
            insights("insights.json", POLICY_INSIGHT, "recommender.iamPolicyInsights.list"),
            insights("sa-insights.json", SA_INSIGHT, "recommender.iamServiceAccountInsights.list"),
            activities("activity.json", SA_ACTIVITY),
            activities("key-activity.json", KEY_ACTIVITY),
        ]
        for n, (file, what, permission, call) in enumerate(parts, 1):
            items = self.optional(file, what, permission, call)
            if items is not None:
                self.out.write_json(file, items)
                self.result.counts[file.removesuffix(".json")] = len(items)
            self.step("usage", n, len(parts))
