"""Azure inputs (already parsed) -> the common model, plus what the Azure rules need beside it.

- A principal is a service principal (``kind`` "service-principal") or managed identity
  ("managed-identity") of the tenant: every one holding a role assignment, every managed
  identity, and the service principal of every application registered in the tenant. Its id is
  the service principal's object id, its name the display name.
- One ``Policy`` per (role definition, scope, condition), shared by every principal assigned it;
  its statements are the role's permission blocks with the assignment scope as ``resources``
  (canonical, lowercase) and ``account_wide`` at subscription scope or above. Role patterns are
  expanded once per distinct list (the engine's expander caches them), whatever the scope.
- ``account``: the subscription of the principal's assignments; the tenant when they span
  several subscriptions or sit at management-group or root scope.
- ``created``: the application's creation time, else the earliest assignment's ``createdOn``
  (the principal existed by then), else unknown.
- Assignments to groups are not resolved (membership is not an input): a warning says so.
"""

from __future__ import annotations

import hashlib
from collections import Counter
from collections.abc import Iterable
from dataclasses import dataclass, field
from datetime import datetime

from nhictl.creep.model import Attachment, Credential, Policy, Principal, Snapshot, Statement, Usage
from nhictl.providers.azure import scopes
from nhictl.providers.azure.catalog import DATA, AzureCatalog, RoleDefinition
from nhictl.providers.azure.directory import App, Identity, Secret
from nhictl.providers.azure.rbac import Assignment
from nhictl.providers.azure.usage import Event, ScheduleInstance, SignIn

PROVIDER = "azure"


@dataclass(frozen=True, slots=True)
class PolicyInfo:
    """What a Policy stands for: a role at a scope, maybe under a condition."""

    role_id: str
    role_name: str
    scope: str  # canonical
    level: scopes.ScopeLevel
    condition: str | None
    builtin: bool


@dataclass(slots=True)
class AzureInventory:
    """The Azure facts the provider's own rules read beside the common model."""

    tenant: str
    catalog: AzureCatalog
    policies: dict[str, PolicyInfo] = field(default_factory=dict)
    # (principal id, policy id) -> the assignments behind that attachment
    assignments: dict[tuple[str, str], list[Assignment]] = field(default_factory=dict)
    pim: list[ScheduleInstance] | None = None  # None: pim-instances.json not given
    secrets: dict[str, Secret] = field(default_factory=dict)  # key id -> secret
    sign_ins_given: bool = False
    sign_in_apps: set[str] = field(default_factory=set)  # appIds sign-ins.json reports
    activity_given: bool = False


@dataclass(slots=True)
class RawInputs:
    """Every parsed input file (None: not given)."""

    assignments: list[Assignment]
    roles: list[RoleDefinition]
    identities: list[Identity]
    sp_secrets: list[Secret]
    apps: list[App] | None = None
    app_secrets: list[Secret] = field(default_factory=list)
    sign_ins: dict[str, SignIn] | None = None
    events: list[Event] | None = None
    pim: list[ScheduleInstance] | None = None


def policy_id(role_id: str, scope: str, condition: str | None) -> str:
    base = "" if scope == "/" else scope
    pid = f"{base}/providers/Microsoft.Authorization/roleDefinitions/{role_id}"
    if condition:
        pid += "#condition-" + hashlib.sha256(condition.encode()).hexdigest()[:12]
    return pid


def statements_for(
    role: RoleDefinition, scope: str, condition: str | None
) -> tuple[Statement, ...]:
    """A role's permission blocks at a scope. A block's notActions only narrow its actions."""
    wide = scopes.account_wide(scope)
    cond = {"azure:condition": condition} if condition else None
    out: list[Statement] = []
    for perm in role.permissions:
        if perm.actions:
            out.append(
                Statement(
                    "Allow",
                    actions=perm.actions,
                    not_actions=perm.not_actions,
                    resources=(scope,),
                    condition=cond,
                    account_wide=wide,
                )
            )
        if perm.data_actions:
            out.append(
                Statement(
                    "Allow",
                    actions=tuple(DATA + a for a in perm.data_actions),
                    not_actions=tuple(DATA + a for a in perm.not_data_actions),
                    resources=(scope,),
                    condition=cond,
                    account_wide=wide,
                )
            )
    return tuple(out)


def _digest(statements: Iterable[Statement]) -> str:
    h = hashlib.sha256()
    for st in statements:
        h.update(repr((st.actions, st.not_actions, st.resources, st.condition)).encode())
    return h.hexdigest()


def build_snapshot(
    raw: RawInputs, catalog: AzureCatalog, source: str
) -> tuple[Snapshot, AzureInventory]:
    warnings: list[str] = []
    for role in raw.roles:
        catalog.register_role(role)
    identities = {i.object_id: i for i in raw.identities}
    by_app = {i.app_id: i for i in raw.identities if i.app_id}
    apps = {a.app_id: a for a in raw.apps or []}
    tenant = _tenant(raw.identities, apps)
    inv = AzureInventory(tenant, catalog, pim=raw.pim)
    inv.sign_ins_given = raw.sign_ins is not None
    inv.sign_in_apps = set(raw.sign_ins or ())
    inv.activity_given = raw.events is not None

    policies: dict[str, Policy] = {}
    held: dict[str, list[str]] = {}  # principal -> policy ids, in assignment order
    held_scopes: dict[str, list[str]] = {}
    first_seen: dict[str, datetime] = {}
    names: dict[str, str] = {}
    groups: Counter[str] = Counter()
    missing_roles: set[str] = set()
    for a in raw.assignments:
        kind = a.principal_type.lower()
        if kind in ("group", "foreigngroup"):
            groups[a.principal_id] += 1
            continue
        if kind != "serviceprincipal" and a.principal_id not in identities:
            continue  # users: human access, not audited here
        scope = scopes.canonical(a.scope)
        pid = policy_id(a.role_id, scope, a.condition)
        if pid not in policies:
            found = catalog.role(a.role_id)
            if found is None:
                missing_roles.add(a.role_id)
                name = a.role_name or a.role_id
                policies[pid] = Policy(
                    pid, f"{name} at {scope}", "managed", (), _digest(()), resolved=False
                )
                inv.policies[pid] = PolicyInfo(
                    a.role_id, name, scope, scopes.level(scope), a.condition, False
                )
            else:
                role = found
                stmts = statements_for(role, scope, a.condition)
                policies[pid] = Policy(
                    pid,
                    f"{role.name} at {scope}",
                    "provider-managed" if role.builtin else "managed",
                    stmts,
                    _digest(stmts),
                )
                inv.policies[pid] = PolicyInfo(
                    role.id, role.name, scope, scopes.level(scope), a.condition, role.builtin
                )
        if pid not in held.setdefault(a.principal_id, []):
            held[a.principal_id].append(pid)
        held_scopes.setdefault(a.principal_id, []).append(scope)
        inv.assignments.setdefault((a.principal_id, pid), []).append(a)
        if a.created is not None:
            prev = first_seen.get(a.principal_id)
            first_seen[a.principal_id] = a.created if prev is None else min(prev, a.created)
        if a.principal_name:
            names.setdefault(a.principal_id, a.principal_name)
    warnings += [
        f"role definition {rid} is assigned but neither built in nor in "
        "role-definitions.json: its grants are unknown"
        for rid in sorted(missing_roles)
    ]
    if groups:
        warnings.append(
            f"{sum(groups.values())} role assignment(s) to {len(groups)} group(s) were not "
            "resolved (group membership is not an input): service principals in those groups "
            "may hold more than reported"
        )

    principals: dict[str, Principal] = {}
    wanted = set(held)
    wanted |= {i.object_id for i in raw.identities if i.sp_type == "ManagedIdentity"}
    wanted |= {by_app[a].object_id for a in apps if a in by_app}
    accounts: set[str] = set()
    for oid in sorted(wanted):
        ident = identities.get(oid)
        if ident is None:
            warnings.append(
                f"service principal {oid} holds role assignments but is not in "
                "service-principals.json"
            )
        app = apps.get(ident.app_id) if ident else None
        account = _account(held_scopes.get(oid, []), ident, tenant)
        accounts.add(account)
        created = app.created if app and app.created else first_seen.get(oid)
        p = Principal(
            provider=PROVIDER,
            id=oid,
            kind="managed-identity"
            if ident and ident.sp_type == "ManagedIdentity"
            else "service-principal",
            name=ident.name if ident else names.get(oid, oid),
            account=account,
            path=_resource_path(ident),
            tags=dict(ident.tags) if ident else {},
            created=created,
            attachments=tuple(Attachment(pid) for pid in held.get(oid, ())),
        )
        if raw.sign_ins is not None and ident is not None:
            seen = raw.sign_ins.get(ident.app_id)
            if seen is not None:  # absent from the report: no verdict from it
                p.last_used = seen.last_client
                p.last_used_source = "sign-ins"
        principals[oid] = p

    credentials = _credentials(raw, by_app, apps, inv)
    snap = Snapshot(
        PROVIDER,
        tuple(sorted(accounts)),
        principals,
        policies,
        credentials=credentials,
        source=source,
        warnings=warnings,
    )
    if raw.events is not None:
        snap.usage = _usage(raw.events, principals, by_app, catalog, held_scopes, warnings)
    if raw.pim is None:
        warnings.append(
            "pim-instances.json not given: azure.standing-privileged-assignment could not run"
        )
    if raw.events is None:
        warnings.append(
            "activity-log.json not given: creep.unused-permission could not run (usage unknown)"
        )
    return snap, inv


def _tenant(identities: list[Identity], apps: dict[str, App]) -> str:
    """The tenant id: the owner organisation of the tenant's own applications' principals."""
    owners = Counter(i.owner_tenant for i in identities if i.app_id in apps and i.owner_tenant)
    return owners.most_common(1)[0][0] if owners else "tenant"


def _account(scope_list: list[str], ident: Identity | None, tenant: str) -> str:
    subs = {scopes.subscription(s) for s in scope_list}
    if len(subs) == 1 and None not in subs:
        return str(next(iter(subs)))
    if not scope_list and ident is not None:
        for alt in ident.alternative_names:  # a managed identity's ARM resource id
            sub = scopes.subscription(alt) if alt.startswith("/subscriptions/") else None
            if sub:
                return sub
    return tenant


def _resource_path(ident: Identity | None) -> str:
    if ident is None:
        return "/"
    for alt in ident.alternative_names:
        if alt.startswith("/subscriptions/"):
            return alt
    return "/"


def _credentials(
    raw: RawInputs, by_app: dict[str, Identity], apps: dict[str, App], inv: AzureInventory
) -> list[Credential]:
    out: list[Credential] = []
    for s in [*raw.app_secrets, *raw.sp_secrets]:
        sp = by_app.get(s.app_id)
        if s.origin == "service-principal":
            owner = s.owner
        else:
            owner = sp.object_id if sp else f"application/{s.owner}"
        seen = raw.sign_ins.get(s.app_id) if raw.sign_ins is not None else None
        inv.secrets[s.key_id] = s
        out.append(
            Credential(
                principal_id=owner,
                kind=s.kind,
                id=s.key_id,
                status="Active",
                created=s.start,
                last_used=seen.last_credential if seen else None,
                expires=s.end,
            )
        )
    return out


def _usage(
    events: list[Event],
    principals: dict[str, Principal],
    by_app: dict[str, Identity],
    catalog: AzureCatalog,
    held_scopes: dict[str, list[str]],
    warnings: list[str],
) -> dict[str, Usage]:
    """Activity Log events -> action-level, exhaustive usage for every principal."""
    services: dict[str, dict[str, datetime]] = {pid: {} for pid in principals}
    actions: dict[str, dict[str, datetime]] = {pid: {} for pid in principals}
    logged: set[str] = set()
    for ev in events:
        if ev.subscription:
            logged.add(ev.subscription)
        pid = next(
            (
                c if c in principals else by_app[c].object_id
                for c in ev.callers
                if c in principals or (c in by_app and by_app[c].object_id in principals)
            ),
            None,
        )
        if pid is None:
            continue
        catalog.ensure(ev.operation)
        ns, _, rest = ev.operation.partition("/")
        svc = catalog.canonical_service(ns)
        key = f"{svc}:{rest.lower()}"
        for seen, k in ((actions[pid], key), (services[pid], svc)):
            prev = seen.get(k)
            if prev is None or ev.when > prev:
                seen[k] = ev.when
    if logged:
        assigned = {
            sub for lst in held_scopes.values() for s in lst if (sub := scopes.subscription(s))
        }
        warnings += [
            f"activity-log.json has no event of subscription {sub}: if its log was not "
            "collected, unused verdicts for grants there are wrong"
            for sub in sorted(assigned - logged)
        ]
    return {
        pid: Usage(
            pid,
            dict(services[pid]),
            dict(actions[pid]),
            frozenset(services[pid]),
            exhaustive=True,
        )
        for pid in principals
    }
