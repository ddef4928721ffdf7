"""Live Azure collection: the raw-output directory the offline Azure loader reads, from the APIs.

One tenant, one or more subscriptions. Each file holds what the az command beside it prints
with ``-o json`` (see `nhictl.providers.azure.azcli` for the flattening az applies):

- ``role-assignments.json``: ``az role assignment list --all --include-inherited``; ARM
  ``roleAssignments`` of each subscription (api 2022-04-01), names from Graph
  ``directoryObjects/getByIds``.
- ``role-definitions.json``: ``az role definition list``; ARM ``roleDefinitions`` (2022-04-01).
- ``service-principals.json``: ``az ad sp list --all``; Graph ``GET /v1.0/servicePrincipals``.
- ``applications.json``: ``az ad app list --all``; Graph ``GET /v1.0/applications``.
- ``pim-instances.json`` (optional): ``{"value": [...]}`` of ARM
  ``roleAssignmentScheduleInstances`` (2020-10-01).
- ``activity-log.json`` (optional): ``az monitor activity-log list --offset 90d``; ARM
  ``Microsoft.Insights/eventtypes/management/values`` (2015-04-01), every page.
- ``sign-ins.json`` (optional): ``{"value": [...]}`` of Graph
  ``GET /beta/reports/servicePrincipalSignInActivities``.
- ``provider-operations.json`` (optional): ``az provider operation list``; ARM
  ``providerOperations`` (2022-04-01), see `nhictl.providers.azure.collect_operations`.

Several subscriptions: their lists are concatenated, entries seen twice (assignments inherited
from a management group, built-in role definitions) kept once. An optional file is written only
when every subscription answered, so a partial usage picture never looks like "unused". Failed
optional parts are listed in ``notes.json``; a failed required part stops the run with a
one-line `ProviderError` and leaves no directory behind.
"""

from __future__ import annotations

import re
from collections.abc import Callable
from dataclasses import dataclass, field
from datetime import UTC, datetime, timedelta
from functools import partial
from pathlib import Path
from typing import Any

from nhictl.core.errors import InputError, ProviderError
from nhictl.providers.azure import azcli
from nhictl.providers.azure.auth import (
    AzureAuth,
    BearerAuth,
    auth_message,
    make_credential,
    session_factory,
)
from nhictl.providers.azure.collect_operations import collect_provider_operations
from nhictl.providers.azure.endpoints import AzureEndpoints
from nhictl.providers.collectrun import DOCS, CollectRun, Hints
from nhictl.providers.rawdir import CollectResult, OutputDir, check_target, write_collection
from nhictl.providers.rest import Progress, RestClient, RetryPolicy

AUTHZ_API = "2022-04-01"
PIM_API = "2020-10-01"
ACTIVITY_API = "2015-04-01"
GRAPH_PAGE = 999  # Graph's largest $top for these collections
BY_IDS_CHUNK = 1000  # directoryObjects/getByIds takes at most 1,000 ids

_GUID = re.compile(r"^[0-9a-fA-F]{8}-[0-9a-fA-F]{4}-[0-9a-fA-F]{4}-[0-9a-fA-F]{4}-[0-9a-fA-F]{12}$")
_TENANT = re.compile(r"^[A-Za-z0-9][A-Za-z0-9.-]{0,253}$")


@dataclass(slots=True)
class AzureCollectOptions:
    """One tenant's collection."""

    subscriptions: list[str]
    output: Path
    auth: AzureAuth = field(default_factory=AzureAuth)
    cloud: str | None = None
    authority_host: str | None = None
    arm_url: str | None = None
    graph_url: str | None = None
    force: bool = False
    usage: bool = True  # PIM instances, Activity Log, sign-in activity (optional parts)
    activity_days: int = 90
    operations: bool = True  # provider-operations.json: Azure's full operation list (optional)
    retry: RetryPolicy = field(default_factory=RetryPolicy)


def _check_options(opts: AzureCollectOptions) -> None:
    if not opts.subscriptions:
        raise InputError("--subscription: at least one subscription id")
    for sub in opts.subscriptions:
        if not _GUID.match(sub):
            raise InputError(f"--subscription: not a subscription id (a GUID): {sub!r}")
    tenant = opts.auth.tenant
    if tenant is not None and not _TENANT.match(tenant):
        raise InputError(f"--tenant: not a tenant id or domain: {tenant!r}")
    if not 1 <= opts.activity_days <= 90:
        raise InputError("--activity-days: between 1 and 90 (the Activity Log keeps 90 days)")


def collect_azure(opts: AzureCollectOptions, progress: Progress | None = None) -> CollectResult:
    """Collect one tenant's subscriptions into ``opts.output`` (written whole, or not at all)."""
    _check_options(opts)
    check_target(opts.output, opts.force)
    endpoints = AzureEndpoints.resolve(
        opts.cloud, opts.authority_host, opts.arm_url, opts.graph_url
    )
    credential = make_credential(opts.auth, endpoints)
    from azure.core.exceptions import ClientAuthenticationError

    tenant = opts.auth.tenant
    arm = RestClient(
        session_factory(BearerAuth(credential, endpoints.arm_scope, tenant)), opts.retry
    )
    graph = RestClient(
        session_factory(BearerAuth(credential, endpoints.graph_scope, tenant)), opts.retry
    )

    def run(out: OutputDir, result: CollectResult) -> None:
        try:
            _AzureRun(arm, graph, endpoints, opts, out, result, progress).run()
        except ClientAuthenticationError as exc:
            raise ProviderError(
                f"Azure authentication failed: {auth_message(exc)}",
                hint="check --tenant and the credentials (az login, AZURE_CLIENT_ID, ...)",
            ) from None

    target = {"tenant": tenant, "subscriptions": list(opts.subscriptions)}
    try:
        return write_collection(opts.output, opts.force, "nhictl collect azure", target, run)
    finally:
        close = getattr(credential, "close", None)
        if close is not None:
            close()


class _AzureRun(CollectRun):
    """The calls of one collection, in order."""

    CLOUD = "Azure"
    HINTS = Hints(
        unauthorized="the token was refused; check the tenant and the credentials",
        forbidden=f"the identity needs {{permission}}; {DOCS}",
        not_found="check the subscription id (and that it belongs to the tenant)",
    )

    def __init__(
        self,
        arm: RestClient,
        graph: RestClient,
        endpoints: AzureEndpoints,
        opts: AzureCollectOptions,
        out: OutputDir,
        result: CollectResult,
        progress: Progress | None,
    ) -> None:
        super().__init__(out, result, progress)
        self.arm = arm
        self.graph = graph
        self.ep = endpoints
        self.opts = opts

    def arm_list(
        self, sub: str, path: str, api: str, params: dict[str, str] | None = None
    ) -> Callable[[], list[Any]]:
        url = f"{self.ep.arm}/subscriptions/{sub}/providers/{path}"
        return lambda: self.arm.pages_by_link(url, params={"api-version": api, **(params or {})})

    def graph_list(self, path: str) -> Callable[[], list[Any]]:
        url = f"{self.ep.graph}/{path}"
        return lambda: self.graph.pages_by_link(
            url, link_key="@odata.nextLink", params={"$top": str(GRAPH_PAGE)}
        )

    def run(self) -> None:
        assignments: dict[str, Any] = {}
        definitions: dict[str, Any] = {}
        role_names: dict[str, str] = {}
        subs = self.opts.subscriptions
        for n, sub in enumerate(subs, 1):
            for raw in self.required(
                f"role assignments of subscription {sub}",
                "Microsoft.Authorization/roleAssignments/read (Reader)",
                self.arm_list(sub, "Microsoft.Authorization/roleAssignments", AUTHZ_API),
            ):
                assignments.setdefault(str(raw.get("id")), raw)
            for raw in self.required(
                f"role definitions of subscription {sub}",
                "Microsoft.Authorization/roleDefinitions/read (Reader)",
                self.arm_list(sub, "Microsoft.Authorization/roleDefinitions", AUTHZ_API),
            ):
                flat = azcli.role_definition(raw)
                definitions.setdefault(str(flat.get("name")), flat)
                if flat.get("id") and flat.get("roleName"):
                    role_names[str(flat["id"]).lower()] = str(flat["roleName"])
            self.step("subscriptions", n, len(subs))
        principals = self.required(
            "Graph servicePrincipals",
            "the Graph application permission Application.Read.All",
            self.graph_list("v1.0/servicePrincipals"),
        )
        self.out.write_json("service-principals.json", principals)
        applications = self.required(
            "Graph applications",
            "the Graph application permission Application.Read.All",
            self.graph_list("v1.0/applications"),
        )
        self.out.write_json("applications.json", applications)
        self.step("directory")
        names = self.principal_names(list(assignments.values()), principals)
        self.out.write_json(
            "role-assignments.json",
            [azcli.role_assignment(a, role_names, names) for a in assignments.values()],
        )
        self.out.write_json("role-definitions.json", list(definitions.values()))
        self.result.counts.update(
            roleAssignments=len(assignments),
            roleDefinitions=len(definitions),
            servicePrincipals=len(principals),
            applications=len(applications),
        )
        if self.opts.usage:
            self.usage()
        if self.opts.operations:
            collect_provider_operations(self.arm, self.ep.arm, self.out, self.result)

    def principal_names(self, assignments: list[Any], principals: list[Any]) -> dict[str, str]:
        """principalId -> az's principalName; service principals from the list we have."""
        names = {str(p.get("id")): azcli.displayable_name(p) for p in principals}
        wanted = sorted(
            {
                str(pid)
                for a in assignments
                if (pid := (a.get("properties") or {}).get("principalId"))
            }
            - set(names)
        )
        by_ids = f"{self.ep.graph}/v1.0/directoryObjects/getByIds"
        for start in range(0, len(wanted), BY_IDS_CHUNK):
            chunk = wanted[start : start + BY_IDS_CHUNK]
            answer = self.optional(
                "role-assignments.json",
                "Graph directoryObjects/getByIds (principalName of users and groups left empty)",
                "the Graph permission Directory.Read.All",
                partial(self.graph.call, "POST", by_ids, body={"ids": chunk}),
            )
            if answer is None:
                break
            for obj in answer.get("value", []):
                names[str(obj.get("id"))] = azcli.displayable_name(obj)
        return names

    def every_subscription(
        self,
        file: str,
        what: str,
        permission: str,
        path: str,
        api: str,
        params: dict[str, str] | None = None,
    ) -> list[Any] | None:
        """An optional list from every subscription, or None when one of them failed: a file
        with some subscriptions only would make the others look unused (or standing)."""
        items: list[Any] = []
        for sub in self.opts.subscriptions:
            got = self.optional(
                file,
                f"{what} of subscription {sub}",
                permission,
                self.arm_list(sub, path, api, params),
            )
            if got is None:
                return None
            items.extend(got)
        return items

    def usage(self) -> None:
        pim = self.every_subscription(
            "pim-instances.json",
            "roleAssignmentScheduleInstances",
            "Microsoft.Authorization/roleAssignmentScheduleInstances/read (and Entra ID P2)",
            "Microsoft.Authorization/roleAssignmentScheduleInstances",
            PIM_API,
        )
        if pim is not None:
            self.out.write_json("pim-instances.json", {"value": pim})
            self.result.counts["pimInstances"] = len(pim)
        self.step("usage", 1, 3)

        end = datetime.now(UTC).replace(microsecond=0)
        start = end - timedelta(days=self.opts.activity_days)
        window = (
            f"eventTimestamp ge '{start.strftime('%Y-%m-%dT%H:%M:%SZ')}' and "
            f"eventTimestamp le '{end.strftime('%Y-%m-%dT%H:%M:%SZ')}'"
        )
        raw = self.every_subscription(
            "activity-log.json",
            "Activity Log",
            "Microsoft.Insights/eventtypes/values/read (Reader)",
            "Microsoft.Insights/eventtypes/management/values",
            ACTIVITY_API,
            {"$filter": window},
        )
        if raw is not None:
            events = [azcli.activity_event(e) for e in raw]
            self.out.write_json("activity-log.json", events)
            self.result.counts["activityEvents"] = len(events)
        self.step("usage", 2, 3)

        sign_ins = self.optional(
            "sign-ins.json",
            "Graph beta reports/servicePrincipalSignInActivities",
            "the Graph permission AuditLog.Read.All (and Entra ID P1)",
            lambda: self.graph.pages_by_link(
                f"{self.ep.graph}/beta/reports/servicePrincipalSignInActivities",
                link_key="@odata.nextLink",
            ),
        )
        if sign_ins is not None:
            self.out.write_json("sign-ins.json", {"value": sign_ins})
            self.result.counts["signInActivities"] = len(sign_ins)
        self.step("usage", 3, 3)
