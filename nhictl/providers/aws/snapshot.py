"""``aws iam get-account-authorization-details`` output (or an nhictl bundle) -> ``Snapshot``.

Accepted input (documented in docs/audit-creep.md):
- one page object as the AWS CLI writes it (``UserDetailList``, ``GroupDetailList``,
  ``RoleDetailList``, ``Policies``; ``Marker``/``IsTruncated`` ignored);
- several pages: a JSON array of page objects, or page objects concatenated in one file;
- an nhictl bundle (``"format": "nhictl.snapshot.aws/v1"``, schemas/snapshot-aws.v1.schema.json),
  which also carries last-accessed data and access keys.
"""

from __future__ import annotations

from collections.abc import Iterable
from pathlib import Path
from typing import Any, NamedTuple

from nhictl.core.errors import InputError
from nhictl.core.inputfile import display_name
from nhictl.creep.model import Attachment, Policy, PolicyVersion, Principal, Snapshot, Statement
from nhictl.providers.aws.policy import account_of, digest_of, parse_statements, parse_trust
from nhictl.providers.jsonio import expect, parse_time, read_json_documents

BUNDLE_FORMAT = "nhictl.snapshot.aws/v1"
_LIST_KEYS = ("UserDetailList", "GroupDetailList", "RoleDetailList", "Policies")

# Attached AWS-managed policies are normally listed under "Policies"; when an export was
# filtered and omits this one, its meaning is still unambiguous.
_BUILTIN = {
    "arn:aws:iam::aws:policy/AdministratorAccess": (
        Statement("Allow", actions=("*",), resources=("*",)),
    ),
}


# Instance profile ARN or name -> the ARNs of the roles in it (RoleDetailList[].
# InstanceProfileList): an EC2 instance or launch template names the profile, not the role.
InstanceProfiles = dict[str, tuple[str, ...]]


class LoadedSnapshot(NamedTuple):
    snapshot: Snapshot
    bundle: dict[str, Any] | None  # the bundle object, when the file was one
    instance_profiles: InstanceProfiles


def load_snapshot_file(path: Path) -> LoadedSnapshot:
    """Load a snapshot file (CLI pages or an nhictl bundle)."""
    docs = read_json_documents(path)
    source = display_name(path)
    if len(docs) == 1 and isinstance(docs[0], dict) and docs[0].get("format") == BUNDLE_FORMAT:
        snap, profiles = parse_bundle(docs[0], source)
        return LoadedSnapshot(snap, docs[0], profiles)
    pages: list[tuple[Any, str]] = []
    for di, doc in enumerate(docs):
        base = "$" if len(docs) == 1 else f"document {di + 1}: $"
        if isinstance(doc, list):
            pages.extend((pg, f"{base}[{i}]") for i, pg in enumerate(doc))
        else:
            pages.append((doc, base))
    snap, profiles = parse_pages(pages, source)
    return LoadedSnapshot(snap, None, profiles)


def parse_bundle(bundle: dict[str, Any], source: str) -> tuple[Snapshot, InstanceProfiles]:
    """The authorization details of an nhictl bundle (usage, keys, resources: see ``load``)."""
    raw = expect(bundle.get("authorizationDetails"), list, source, "$.authorizationDetails")
    snap, profiles = parse_pages(
        [(pg, f"$.authorizationDetails[{i}]") for i, pg in enumerate(raw)], source
    )
    snap.collected_at = parse_time(bundle.get("collectedAt"), source, "$.collectedAt")
    return snap, profiles


def snapshot_from_pages(pages: Iterable[tuple[Any, str]], source: str) -> Snapshot:
    """Merge (page, JSON path) pairs and normalise them into the common model."""
    return parse_pages(pages, source)[0]


def parse_pages(pages: Iterable[tuple[Any, str]], source: str) -> tuple[Snapshot, InstanceProfiles]:
    """``snapshot_from_pages`` plus the instance profiles the roles are in."""
    merged: dict[str, list[Any]] = {k: [] for k in _LIST_KEYS}
    paths: dict[str, list[str]] = {k: [] for k in _LIST_KEYS}
    n_pages = 0
    for page, pp in pages:
        expect(page, dict, source, pp)
        if not any(k in page for k in _LIST_KEYS):
            raise InputError(
                f"{source}: {pp}: not an authorization-details page "
                f"(none of {', '.join(_LIST_KEYS)}); was it written by "
                "`aws iam get-account-authorization-details`?"
            )
        for key in _LIST_KEYS:
            items = expect(page.get(key, []), list, source, f"{pp}.{key}")
            merged[key].extend(items)
            paths[key].extend(f"{pp}.{key}[{i}]" for i in range(len(items)))
        n_pages += 1
    if n_pages == 0:
        raise InputError(f"{source}: no authorization-details pages")
    return _build(merged, paths, source)


def _field(obj: dict[str, Any], key: str, kind: type, source: str, path: str) -> Any:
    if key not in obj:
        raise InputError(f"{source}: {path}.{key}: missing")
    return expect(obj[key], kind, source, f"{path}.{key}")


def _tags(obj: dict[str, Any], source: str, path: str) -> dict[str, str]:
    tags = expect(obj.get("Tags") or [], list, source, f"{path}.Tags")
    return {str(t.get("Key")): str(t.get("Value", "")) for t in tags if isinstance(t, dict)}


def _build(
    merged: dict[str, list[Any]], paths: dict[str, list[str]], source: str
) -> tuple[Snapshot, InstanceProfiles]:
    policies: dict[str, Policy] = {}
    profiles: dict[str, list[str]] = {}
    warnings: list[str] = []

    # Managed policies: the default version is what is in force; all versions feed growth.
    for item, p in zip(merged["Policies"], paths["Policies"], strict=True):
        expect(item, dict, source, p)
        arn = _field(item, "Arn", str, source, p)
        versions: list[PolicyVersion] = []
        current: tuple[Statement, ...] | None = None
        for vi, ver in enumerate(expect(item.get("PolicyVersionList", []), list, source, p)):
            vp = f"{p}.PolicyVersionList[{vi}]"
            expect(ver, dict, source, vp)
            stmts = parse_statements(ver.get("Document"), source, f"{vp}.Document")
            is_default = bool(ver.get("IsDefaultVersion"))
            versions.append(
                PolicyVersion(
                    str(ver.get("VersionId", f"v{vi + 1}")),
                    parse_time(ver.get("CreateDate"), source, f"{vp}.CreateDate"),
                    is_default,
                    stmts,
                )
            )
            if is_default or ver.get("VersionId") == item.get("DefaultVersionId"):
                current = stmts
        if current is None:
            raise InputError(f"{source}: {p}.PolicyVersionList: no default version")
        policies[arn] = Policy(
            arn,
            str(item.get("PolicyName", arn)),
            "provider-managed" if ":aws:policy/" in arn else "managed",
            current,
            digest_of(current),
            tuple(versions),
        )

    def inline(owner: str, lst: Any, path: str, key: str) -> list[Attachment]:
        out: list[Attachment] = []
        for i, pol in enumerate(expect(lst or [], list, source, f"{path}.{key}")):
            ip = f"{path}.{key}[{i}]"
            expect(pol, dict, source, ip)
            name = _field(pol, "PolicyName", str, source, ip)
            stmts = parse_statements(pol.get("PolicyDocument"), source, f"{ip}.PolicyDocument")
            pid = f"{owner}#inline/{name}"
            policies[pid] = Policy(pid, name, "inline", stmts, digest_of(stmts))
            out.append(Attachment(pid))
        return out

    def managed(lst: Any, path: str, inherited: str | None = None) -> list[Attachment]:
        out: list[Attachment] = []
        for i, ref in enumerate(expect(lst or [], list, source, f"{path}.AttachedManagedPolicies")):
            rp = f"{path}.AttachedManagedPolicies[{i}]"
            arn = _field(expect(ref, dict, source, rp), "PolicyArn", str, source, rp)
            _ensure_policy(arn, policies, warnings)
            out.append(Attachment(arn, inherited))
        return out

    groups: dict[str, list[Attachment]] = {}
    for item, p in zip(merged["GroupDetailList"], paths["GroupDetailList"], strict=True):
        expect(item, dict, source, p)
        name = _field(item, "GroupName", str, source, p)
        arn = _field(item, "Arn", str, source, p)
        atts = inline(arn, item.get("GroupPolicyList"), p, "GroupPolicyList")
        atts += managed(item.get("AttachedManagedPolicies"), p)
        groups[name] = [Attachment(a.policy_id, arn) for a in atts]

    principals: dict[str, Principal] = {}
    accounts: set[str] = set()
    for item, p in zip(merged["RoleDetailList"], paths["RoleDetailList"], strict=True):
        expect(item, dict, source, p)
        arn = _field(item, "Arn", str, source, p)
        path = str(item.get("Path", "/"))
        trust = parse_trust(
            item.get("AssumeRolePolicyDocument"), source, f"{p}.AssumeRolePolicyDocument"
        )
        atts = inline(arn, item.get("RolePolicyList"), p, "RolePolicyList")
        atts += managed(item.get("AttachedManagedPolicies"), p)
        _add_profiles(profiles, arn, item.get("InstanceProfileList"), source, p)
        last = item.get("RoleLastUsed") or {}
        human = path.startswith("/aws-reserved/sso.amazonaws.com/") or any(
            t.kind == "federated" and ":saml-provider/" in t.value for t in trust
        )
        kind = "service-linked-role" if path.startswith("/aws-service-role/") else "role"
        acct = account_of(arn) or ""
        accounts.add(acct)
        principals[arn] = Principal(
            provider="aws",
            id=arn,
            kind=kind,
            name=_field(item, "RoleName", str, source, p),
            account=acct,
            path=path,
            tags=_tags(item, source, p),
            created=parse_time(item.get("CreateDate"), source, f"{p}.CreateDate"),
            last_used=parse_time(
                last.get("LastUsedDate") if isinstance(last, dict) else None,
                source,
                f"{p}.RoleLastUsed.LastUsedDate",
            ),
            attachments=tuple(atts),
            boundary=_boundary(item, policies, warnings),
            trust=trust,
            human=human,
        )

    for item, p in zip(merged["UserDetailList"], paths["UserDetailList"], strict=True):
        expect(item, dict, source, p)
        arn = _field(item, "Arn", str, source, p)
        atts = inline(arn, item.get("UserPolicyList"), p, "UserPolicyList")
        atts += managed(item.get("AttachedManagedPolicies"), p)
        group_names = [str(g) for g in expect(item.get("GroupList", []), list, source, p)]
        for g in group_names:
            if g not in groups:
                warnings.append(f"user {arn}: group {g!r} is not in the export")
            atts += groups.get(g, [])
        acct = account_of(arn) or ""
        accounts.add(acct)
        principals[arn] = Principal(
            provider="aws",
            id=arn,
            kind="user",
            name=_field(item, "UserName", str, source, p),
            account=acct,
            path=str(item.get("Path", "/")),
            tags=_tags(item, source, p),
            created=parse_time(item.get("CreateDate"), source, f"{p}.CreateDate"),
            attachments=tuple(atts),
            boundary=_boundary(item, policies, warnings),
            groups=tuple(group_names),
        )
    accounts.discard("")
    snap = Snapshot(
        "aws", tuple(sorted(accounts)), principals, policies, source=source, warnings=warnings
    )
    return snap, {ref: tuple(roles) for ref, roles in profiles.items()}


def _add_profiles(
    profiles: dict[str, list[str]], role_arn: str, lst: Any, source: str, path: str
) -> None:
    """Index the role under each instance profile it is in, by profile ARN and by name (a
    launch template may name the profile either way)."""
    for i, prof in enumerate(expect(lst or [], list, source, f"{path}.InstanceProfileList")):
        pp = f"{path}.InstanceProfileList[{i}]"
        expect(prof, dict, source, pp)
        for key in ("Arn", "InstanceProfileName"):
            ref = _field(prof, key, str, source, pp)
            if role_arn not in profiles.setdefault(ref, []):
                profiles[ref].append(role_arn)


def _ensure_policy(arn: str, policies: dict[str, Policy], warnings: list[str]) -> None:
    if arn in policies:
        return
    stmts = _BUILTIN.get(arn)
    if stmts is not None:
        policies[arn] = Policy(
            arn, arn.rsplit("/", 1)[-1], "provider-managed", stmts, digest_of(stmts)
        )
        return
    warnings.append(f"policy {arn} is attached but not in the export: its grants are unknown")
    policies[arn] = Policy(
        arn, arn.rsplit("/", 1)[-1], "provider-managed", (), digest_of(()), resolved=False
    )


def _boundary(item: dict[str, Any], policies: dict[str, Policy], warnings: list[str]) -> str | None:
    pb = item.get("PermissionsBoundary")
    if not isinstance(pb, dict) or not isinstance(pb.get("PermissionsBoundaryArn"), str):
        return None
    arn: str = pb["PermissionsBoundaryArn"]
    _ensure_policy(arn, policies, warnings)
    return arn
