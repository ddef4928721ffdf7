"""Raw gcloud outputs of one or several projects -> a ``Snapshot`` of the common model.

- Principals: the service accounts of ``service-accounts.json`` (id = e-mail, kind
  ``service-account``, name = display name or the e-mail's local part, account = project id),
  plus accounts of other projects bound here. Google-managed service agents are skipped (as
  AWS service-linked roles are); users, groups, domains and federated principals are not
  workloads and are not audited -- a group's binding may reach service accounts that cannot be
  resolved offline, and the snapshot warns about it.
- Policies: one per distinct (resource, role, condition), its statement listing the role's
  permissions (one tuple per role, shared by every binding of it). Project bindings apply to
  every resource of the project (Resource ``*``); folder and organization bindings too, and
  their attachment names the ancestor in ``inherited_from``; a binding on a service account
  (``sa-policies/``) is scoped to that account's resource name.
- Trust: who may act as each account (members of its own policy holding an impersonation
  permission); ``allUsers`` / ``allAuthenticatedUsers`` -> kind ``any``.
- Credentials: user-managed keys only (Google-managed keys rotate themselves).
- Usage: see ``nhictl.providers.gcp.usage``; a principal with no insight about any of its
  bindings has no usage data (its usage is "unknown", never "unused").
"""

from __future__ import annotations

import hashlib
from collections import Counter
from collections.abc import Iterable, Mapping
from dataclasses import dataclass, field
from datetime import datetime
from pathlib import Path
from typing import Any, Literal

from nhictl.core.errors import InputError
from nhictl.creep.model import (
    Attachment,
    Credential,
    Policy,
    Principal,
    Snapshot,
    Statement,
    TrustEntry,
    Usage,
)
from nhictl.providers.gcp.bindings import policy_id, sa_resource
from nhictl.providers.gcp.catalog import GcpCatalog
from nhictl.providers.gcp.inputs import Doc, ProjectInputs, read_snapshot_dir
from nhictl.providers.gcp.levels import service_of
from nhictl.providers.gcp.members import home_project, is_service_agent, parse_member
from nhictl.providers.gcp.predefined import refresh_predefined_roles
from nhictl.providers.gcp.usage import (
    BindingUsage,
    binding_usage,
    inactive_accounts,
    last_authentications,
)
from nhictl.providers.jsonio import expect, parse_time

# Permissions that let the holder act as the account they are granted on.
IMPERSONATION = frozenset(
    {
        "iam.serviceAccounts.actAs",
        "iam.serviceAccounts.getAccessToken",
        "iam.serviceAccounts.getOpenIdToken",
        "iam.serviceAccounts.signBlob",
        "iam.serviceAccounts.signJwt",
        "iam.serviceAccounts.implicitDelegation",
        "iam.serviceAccountKeys.create",
        "iam.serviceAccounts.setIamPolicy",
    }
)
_NO_EXPIRY_YEAR = 9000  # user-managed keys say 9999-12-31 when they never expire
_MAX_LISTED = 5  # names listed in one aggregated warning
_TrustKind = Literal["any", "account", "principal", "service", "federated"]
_TRUST_KIND: dict[str, _TrustKind] = {
    "public": "any",
    "federated": "federated",
    "domain": "account",
}


def load_snapshot_dir(
    path: Path, catalog: GcpCatalog, now: datetime | None = None, register: bool = True
) -> Snapshot:
    """Read ``path`` (a project folder, or a folder of them) into a snapshot.

    ``register``: add the custom roles to ``catalog`` (so declarations can name them), and
    the predefined roles of any ``predefined-roles.json`` in place of the shipped ones; off
    for a baseline, whose roles may differ from today's.
    """
    projects = read_snapshot_dir(path)
    refresh = refresh_predefined_roles(path, catalog) if register else None
    snap = build_snapshot(projects, catalog, str(path), now, register)
    if refresh is not None:
        snap.warnings.insert(0, refresh.warning())
    return snap


def build_snapshot(
    projects: list[ProjectInputs],
    catalog: GcpCatalog,
    source: str,
    now: datetime | None = None,
    register: bool = True,
) -> Snapshot:
    b = _Builder(catalog, now)
    for pr in projects:
        b.project(pr)
    for pr in projects:
        b.custom_roles(pr, register)
    for pr in projects:
        b.accounts(pr)
    for pr in projects:
        b.bindings(pr)
    for pr in projects:
        b.keys(pr)
    b.usage(projects)
    return b.finish(source)


@dataclass(slots=True)
class _Project:
    id: str
    number: str | None
    folder: str


@dataclass(slots=True)
class _Builder:
    catalog: GcpCatalog
    now: datetime | None
    projects: dict[str, _Project] = field(default_factory=dict)  # folder -> project
    by_number: dict[str, str] = field(default_factory=dict)
    custom: dict[str, tuple[tuple[str, ...], str]] = field(default_factory=dict)
    principals: dict[str, Principal] = field(default_factory=dict)
    unlisted: set[str] = field(default_factory=set)  # bound here, listed in no project
    attachments: dict[str, dict[str, str | None]] = field(default_factory=dict)
    trust: dict[str, list[TrustEntry]] = field(default_factory=dict)
    policies: dict[str, Policy] = field(default_factory=dict)
    credentials: list[Credential] = field(default_factory=list)
    usage_of: dict[str, Usage] = field(default_factory=dict)
    by_uid: dict[str, str] = field(default_factory=dict)
    warnings: list[str] = field(default_factory=list)
    groups: Counter[str] = field(default_factory=Counter)
    federated: Counter[str] = field(default_factory=Counter)
    deleted: Counter[str] = field(default_factory=Counter)
    agents: set[str] = field(default_factory=set)
    unknown_roles: dict[str, str] = field(default_factory=dict)
    seen_ancestors: set[str] = field(default_factory=set)
    key_accounts: set[str] = field(default_factory=set)  # projects whose keys/ was read

    # -- projects and roles ------------------------------------------------------------------
    def project(self, pr: ProjectInputs) -> None:
        pid = number = None
        if pr.project is not None:
            d = expect(pr.project.data, dict, pr.project.source, "$")
            pid = d.get("projectId")
            if not isinstance(pid, str) or not pid:
                raise InputError(f"{pr.project.source}: $.projectId: missing")
            raw_num = d.get("projectNumber")
            if raw_num is None and isinstance(d.get("name"), str):  # v3 shape: name projects/N
                raw_num = str(d["name"]).removeprefix("projects/")
            number = str(raw_num) if raw_num is not None else None
        else:
            pid = Path(pr.folder).name
            self.warnings.append(f"{pr.folder}: no project.json: project id taken from the folder")
        for other in self.projects.values():
            if other.id == pid:
                raise InputError(f"{pr.folder}: project {pid} is also in {other.folder}")
        self.projects[pr.folder] = _Project(pid, number, pr.folder)
        if number:
            self.by_number[number] = pid

    def custom_roles(self, pr: ProjectInputs, register: bool) -> None:
        doc = pr.custom_roles
        if doc is None:
            return
        data = doc.data
        items = data.get("roles", []) if isinstance(data, dict) else data
        expect(items, list, doc.source, "$.roles" if isinstance(data, dict) else "$")
        for i, r in enumerate(items):
            p = f"$[{i}]"
            expect(r, dict, doc.source, p)
            name = r.get("name")
            if not isinstance(name, str) or "/roles/" not in name:
                raise InputError(
                    f"{doc.source}: {p}.name: expected projects/P/roles/R or "
                    "organizations/O/roles/R"
                )
            perms = expect(
                r.get("includedPermissions", []), list, doc.source, f"{p}.includedPermissions"
            )
            if not all(isinstance(x, str) for x in perms):
                raise InputError(f"{doc.source}: {p}.includedPermissions: expected strings")
            if r.get("deleted"):
                continue
            stmts = tuple(sorted(set(perms)))
            digest = hashlib.blake2b("\n".join(stmts).encode(), digest_size=8).hexdigest()
            self.custom[name] = (stmts, digest)
            if register:
                self.catalog.add_custom_role(
                    name, stmts, str(r.get("title", "")), str(r.get("stage", ""))
                )

    # -- service accounts --------------------------------------------------------------------
    def accounts(self, pr: ProjectInputs) -> None:
        proj = self.projects[pr.folder]
        doc = pr.service_accounts
        if doc is None:
            self.warnings.append(
                f"{pr.folder}: no service-accounts.json: only accounts named in bindings are "
                "audited, without display names"
            )
            return
        data = doc.data
        key = "accounts"
        items = data.get(key, []) if isinstance(data, dict) else data
        expect(items, list, doc.source, f"$.{key}" if isinstance(data, dict) else "$")
        for i, sa in enumerate(items):
            p = f"$[{i}]"
            expect(sa, dict, doc.source, p)
            email = sa.get("email")
            if not isinstance(email, str) or "@" not in email:
                raise InputError(f"{doc.source}: {p}.email: missing")
            email = email.lower()
            if is_service_agent(email):
                self.agents.add(email)
                continue
            tags: dict[str, str] = {}
            uid = sa.get("uniqueId")
            if isinstance(uid, str) and uid:
                tags["uniqueId"] = uid
                self.by_uid[uid] = email
            if sa.get("disabled"):
                tags["disabled"] = "true"
            display = sa.get("displayName")
            self.principals[email] = Principal(
                provider="gcp",
                id=email,
                kind="service-account",
                name=display if isinstance(display, str) and display else email.split("@")[0],
                account=str(sa.get("projectId") or proj.id),
                tags=tags,
            )

    def _principal(self, email: str) -> Principal | None:
        """The account (created when bound here but listed nowhere); None for agents."""
        p = self.principals.get(email)
        if p is not None:
            return p
        if is_service_agent(email):
            self.agents.add(email)
            return None
        p = Principal(
            provider="gcp",
            id=email,
            kind="service-account",
            name=email.split("@")[0],
            account=home_project(email, self.by_number) or "",
        )
        self.principals[email] = p
        self.unlisted.add(email)
        return p

    # -- bindings ----------------------------------------------------------------------------
    def bindings(self, pr: ProjectInputs) -> None:
        proj = self.projects[pr.folder]
        resource = f"projects/{proj.id}"
        self._policy_doc(pr.iam_policy, resource, None)
        for anc, doc in pr.ancestors:
            if anc in self.seen_ancestors:
                continue  # the same folder above several projects: its bindings count once
            self.seen_ancestors.add(anc)
            self._policy_doc(doc, anc, anc)
        for email, doc in pr.sa_policies.items():
            target = self.principals.get(email)
            home = target.account if target and target.account else proj.id
            self._policy_doc(doc, sa_resource(home, email), None, target=email)

    def _policy_doc(
        self, doc: Doc, resource: str, inherited: str | None, target: str | None = None
    ) -> None:
        src = doc.source
        data = expect(doc.data, dict, src, "$")
        raw = expect(data.get("bindings", []), list, src, "$.bindings")
        version = data.get("version", 1)
        for i, b in enumerate(raw):
            p = f"$.bindings[{i}]"
            expect(b, dict, src, p)
            role = b.get("role")
            if not isinstance(role, str) or not role:
                raise InputError(f"{src}: {p}.role: missing")
            members = expect(b.get("members", []), list, src, f"{p}.members")
            cond = b.get("condition")
            if cond is not None:
                expect(cond, dict, src, f"{p}.condition")
                if not isinstance(cond.get("expression"), str):
                    raise InputError(f"{src}: {p}.condition.expression: missing")
            if "_withcond_" in role:
                raise InputError(
                    f"{src}: {p}.role: {role} is how a version-{version} policy hides a "
                    "conditional binding; export with policy version 3 (gcloud does by default "
                    "from get-iam-policy --format=json)"
                )
            for j, m in enumerate(members):
                if not isinstance(m, str):
                    raise InputError(f"{src}: {p}.members[{j}]: expected string")
                self._member(m, role, resource, inherited, cond, target)

    def _member(
        self,
        raw: str,
        role: str,
        resource: str,
        inherited: str | None,
        cond: Mapping[str, Any] | None,
        target: str | None,
    ) -> None:
        m = parse_member(raw)
        if target is not None:
            self._trust(target, m.kind, raw, role, cond)
        if m.kind == "group":
            self.groups[m.value] += 1
        elif m.kind == "federated":
            self.federated[role] += 1
        elif m.kind == "deleted":
            self.deleted[m.value.split("?")[0]] += 1
        if m.kind != "service-account":
            return
        p = self._principal(m.value)
        if p is None:
            return
        pol = self._policy(resource, role, cond)
        self.attachments.setdefault(p.id, {}).setdefault(pol.id, inherited)

    def _policy(self, resource: str, role: str, cond: Mapping[str, Any] | None) -> Policy:
        pid = policy_id(resource, role, cond)
        hit = self.policies.get(pid)
        if hit is not None:
            return hit
        resources = ("*",) if "/serviceAccounts/" not in resource else (resource,)
        condition = dict(cond) if cond else None
        custom = self.custom.get(role)
        if custom is not None:
            actions, content = custom
        else:
            perms = self.catalog.role_permissions(role) if role.startswith("roles/") else None
            actions = perms or ()
            content = str(self.catalog.source.get("commit", "")) if perms is not None else ""
        resolved = custom is not None or bool(content)
        if not resolved:
            self.unknown_roles.setdefault(role, resource)
        canon = repr((role, content, resources, sorted((condition or {}).items())))
        pol = Policy(
            pid,
            role,
            "managed" if custom is not None else "provider-managed",
            (Statement("Allow", actions=actions, resources=resources, condition=condition),),
            hashlib.blake2b(canon.encode(), digest_size=16).hexdigest(),
            resolved=resolved,
        )
        self.policies[pid] = pol
        return pol

    def _trust(
        self, target: str, kind: str, raw: str, role: str, cond: Mapping[str, Any] | None
    ) -> None:
        custom = self.custom.get(role)
        perms = custom[0] if custom else (self.catalog.role_permissions(role) or ())
        acts = tuple(sorted(IMPERSONATION.intersection(perms)))
        if not acts or kind == "deleted":
            return
        tk = _TRUST_KIND.get(kind, "principal")
        account = None
        if kind == "service-account":
            account = home_project(raw.partition(":")[2].lower(), self.by_number)
        entry = TrustEntry(tk, raw, account, dict(cond) if cond else None, acts)
        self.trust.setdefault(target, []).append(entry)

    # -- keys --------------------------------------------------------------------------------
    def keys(self, pr: ProjectInputs) -> None:
        if pr.keys_dir:
            self.key_accounts.add(self.projects[pr.folder].id)
        for email, doc in pr.keys.items():
            data = doc.data
            items = data.get("keys", []) if isinstance(data, dict) else data
            expect(items, list, doc.source, "$.keys" if isinstance(data, dict) else "$")
            for i, k in enumerate(items):
                p = f"$[{i}]"
                expect(k, dict, doc.source, p)
                if k.get("keyType", "USER_MANAGED") != "USER_MANAGED":
                    continue
                name = k.get("name")
                if not isinstance(name, str) or not name:
                    raise InputError(f"{doc.source}: {p}.name: missing")
                created = parse_time(k.get("validAfterTime"), doc.source, f"{p}.validAfterTime")
                expires = parse_time(k.get("validBeforeTime"), doc.source, f"{p}.validBeforeTime")
                status = "Inactive" if k.get("disabled") else "Active"
                if expires is not None and self.now is not None and expires <= self.now:
                    status = "Expired"
                if expires is not None and expires.year >= _NO_EXPIRY_YEAR:
                    expires = None
                self.credentials.append(
                    Credential(
                        email, "sa-key", name.rsplit("/", 1)[-1], status, created, expires=expires
                    )
                )

    # -- usage -------------------------------------------------------------------------------
    def usage(self, projects: list[ProjectInputs]) -> None:
        insights: dict[tuple[str, str, str, str], BindingUsage] = {}
        inactive: dict[str, datetime | None] = {}
        last_auth: dict[str, datetime] = {}
        key_auth: dict[str, datetime] = {}
        for pr in projects:
            u = pr.usage
            if "insights.json" in u:
                for bu in binding_usage(u["insights.json"]):
                    res = self._resource_name(bu.resource)
                    insights[(res, bu.role, bu.member, bu.condition)] = bu
            if "sa-insights.json" in u:
                inactive.update(inactive_accounts(u["sa-insights.json"]))
            if "activity.json" in u:
                _latest(last_auth, last_authentications(u["activity.json"], "serviceAccount"))
            if "key-activity.json" in u:
                _latest(key_auth, last_authentications(u["key-activity.json"], "serviceAccountKey"))
        creds = []
        for c in self.credentials:
            used = key_auth.get(c.id)
            creds.append(c if used is None else _with_last_used(c, used))
        self.credentials = creds
        for email, p in self.principals.items():
            stamps = [last_auth.get(email), inactive.get(email)]
            uid = p.tags.get("uniqueId")
            if uid:
                stamps.append(last_auth.get(uid))
            stamps += [c.last_used for c in self.credentials if c.principal_id == email]
            known = [s for s in stamps if s is not None]
            p.last_used = max(known) if known else None
        if insights:
            for email in self.principals:
                usage = self._binding_usage(email, insights)
                if usage is not None:
                    self.usage_of[email] = usage
        for email, when in inactive.items():
            if when is None and email in self.principals and email not in self.usage_of:
                # Never authenticated, by Google's own account insight: nothing was used.
                self.usage_of[email] = Usage(email, {})

    def _resource_name(self, res: str) -> str:
        if res.startswith("projects/"):
            head, _, rest = res[len("projects/") :].partition("/")
            pid = self.by_number.get(head, head)
            return f"projects/{pid}" + (f"/{rest}" if rest else "")
        return res

    def _binding_usage(
        self, email: str, insights: dict[tuple[str, str, str, str], BindingUsage]
    ) -> Usage | None:
        atts = self.attachments.get(email)
        if not atts:
            return None
        cat = self.catalog
        matched: list[tuple[Policy, BindingUsage]] = []
        unjudged: list[Policy] = []
        for pid in atts:
            pol = self.policies[pid]
            resource, _, _ = pid.partition("#")
            cond = pol.statements[0].condition or {}
            bu = insights.get((resource, pol.name, email, str(cond.get("expression") or "")))
            if bu is None:
                unjudged.append(pol)
            else:
                matched.append((pol, bu))
        if not matched:
            return None
        ref = max((bu.refreshed for _, bu in matched if bu.refreshed), default=None)
        used: dict[str, datetime | None] = {}
        judged = 0
        for pol, bu in matched:
            judged |= _mask(cat, pol)
            for perm in bu.keep:
                prev = used.get(perm)
                if prev is None or (bu.refreshed is not None and bu.refreshed > prev):
                    used[perm] = bu.refreshed
        # Bindings no insight covers are not judged: their permissions are unknown (never
        # reported unused for lack of data), under a service stamp of the newest insight.
        loose = 0
        loose_services: set[str] = set()
        for pol in unjudged:
            loose |= _mask(cat, pol)
            loose_services |= _services(cat, pol)
        used_bits = 0
        used_by_svc: dict[str, list[tuple[str, datetime | None]]] = {}
        for perm, when in used.items():
            bit = cat.index(perm)
            if bit is not None:
                used_bits |= 1 << bit
            used_by_svc.setdefault(service_of(perm), []).append((perm, when))
        services: dict[str, datetime | None] = {}
        actions: dict[str, datetime | None] = {}
        for svc in sorted(set(used_by_svc) | loose_services):
            smask = cat.service_mask(svc)
            loose_here = loose & smask
            rows = used_by_svc.get(svc, [])
            newest = max((w for _, w in rows if w is not None), default=None)
            if not loose_here:
                # Only judged permissions: rows for the used ones, the rest of the service is
                # unused (service stamp None), whatever its size.
                services[svc] = None
                for perm, when in rows:
                    actions[f"{svc}:{perm.lower()}"] = when
                continue
            if not judged & smask:
                services[svc] = ref  # nothing judged here: the whole service is unknown
                continue
            # Mixed: rows for the used and the idle judged permissions, the service used. The
            # unjudged ones get no row, so the engine reports them unknown (neither used nor
            # unused) rather than following the service's stamp.
            idle = judged & smask & ~used_bits & ~loose
            services[svc] = newest if newest is not None and ref and newest > ref else ref
            for perm, when in rows:
                actions[f"{svc}:{perm.lower()}"] = when
            for name in cat.names(idle) if idle else ():
                actions[f"{svc}:{name.lower()}"] = None
        tracked = frozenset(services)
        return Usage(email, services, actions, tracked)

    # -- result ------------------------------------------------------------------------------
    def finish(self, source: str) -> Snapshot:
        policies = self.policies
        for email, p in self.principals.items():
            atts = self.attachments.get(email, {})
            p.attachments = tuple(Attachment(pid, inh) for pid, inh in atts.items())
            p.trust = tuple(self.trust.get(email, ()))
        self._warn()
        accounts = sorted({p.id for p in self.projects.values()})
        return Snapshot(
            "gcp",
            tuple(accounts),
            self.principals,
            policies,
            usage=self.usage_of,
            credentials=self.credentials,
            source=source,
            warnings=self.warnings,
        )

    def _warn(self) -> None:
        w = self.warnings
        if self.groups:
            w.append(
                f"{len(self.groups)} group(s) hold {sum(self.groups.values())} role binding(s) "
                f"({_some(self.groups)}): their members "
                "cannot be resolved offline, and service accounts among them are not audited "
                "for these grants"
            )
        if self.federated:
            w.append(
                f"{sum(self.federated.values())} binding(s) to federated principals "
                "(principal:// or principalSet://) are not audited"
            )
        if self.deleted:
            w.append(
                f"{sum(self.deleted.values())} binding(s) still name deleted members "
                f"({_some(self.deleted)}): "
                "remove them"
            )
        for role, res in sorted(self.unknown_roles.items()):
            w.append(
                f"role {role} (bound on {res}) is in neither the predefined-role catalog nor "
                "custom-roles.json: its permissions are unknown"
            )
        if self.unlisted:
            w.append(
                f"{len(self.unlisted)} service account(s) hold bindings here but are in no "
                f"service-accounts.json read ({_some(self.unlisted)})"
            )
        if self.agents:
            w.append(f"{len(self.agents)} Google-managed service agent(s) are not audited")
        for pr in self.projects.values():
            if pr.id not in self.key_accounts:
                w.append(
                    f"{pr.folder}: no keys/ folder: cred.stale-key and gcp.user-managed-key "
                    "could not run for its accounts"
                )


def _mask(cat: GcpCatalog, pol: Policy) -> int:
    m = cat.role_mask(pol.name)
    if m is not None:
        return m
    out = 0
    for a in pol.statements[0].actions:
        out |= cat.expand(a)
    return out


def _some(names: Iterable[str]) -> str:
    ordered = sorted(names)
    more = " ..." if len(ordered) > _MAX_LISTED else ""
    return ", ".join(ordered[:_MAX_LISTED]) + more


def _services(cat: GcpCatalog, pol: Policy) -> set[str]:
    if cat.role(pol.name) is not None:
        return set(cat.services_of(pol.name))  # cached per role
    return {service_of(a) for a in pol.statements[0].actions}


def _latest(into: dict[str, datetime], new: dict[str, datetime]) -> None:
    for k, v in new.items():
        if k not in into or v > into[k]:
            into[k] = v


def _with_last_used(c: Credential, used: datetime) -> Credential:
    return Credential(
        c.principal_id, c.kind, c.id, c.status, c.created, used, c.last_service, c.expires
    )
