"""Existing AWS resources that run as a role -> ``Snapshot.resources`` / ``Snapshot.inventory``.

Whoever can change or start a Lambda function, a CodeBuild project, a stack with a service role
(and so on) acts with that role's permissions; the principal graph needs to know which exist.
Each kind is one optional input in the AWS CLI's own output shape (``RESOURCE_FILES``): a file
``<stem>.json`` in the snapshot folder, a key ``<stem>`` of the bundle's ``resources`` object, or
of the JSON object ``--resources FILE`` holds. A file may hold one page, several pages
concatenated, or a JSON array of pages. A kind that was read, even empty, is "listed" (none
exist beyond those); a kind not read stays "unknown".
"""

from __future__ import annotations

import re
from collections.abc import Callable, Iterable, Mapping
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from nhictl.core.errors import InputError
from nhictl.core.inputfile import display_name, is_stdin
from nhictl.core.suggest import did_you_mean
from nhictl.creep.model import Resource, Snapshot
from nhictl.providers.aws.snapshot import InstanceProfiles
from nhictl.providers.jsonio import expect, read_json_documents

Pages = list[tuple[Any, str]]  # (page object, its JSON path)


@dataclass(frozen=True, slots=True)
class RawListing:
    """One kind's pages as read, before parsing: where from, and the pages."""

    source: str  # file name, for messages
    pages: Pages


@dataclass(slots=True)
class _Entry:
    """One resource as parsed; its ARN is built once the region and account are known."""

    kind: str
    name: str
    runs_as: tuple[str, ...]
    arn: str = ""  # as the API gave it; else built from the parts below
    service: str = ""
    resource: str = ""
    region: str = ""
    account: str = ""


@dataclass(slots=True)
class _Context:
    source: str
    profiles: InstanceProfiles
    unknown_profiles: list[str] = field(default_factory=list)

    def text(self, item: dict[str, Any], key: str, path: str, required: bool = True) -> str:
        """A string field; a missing optional one is ""."""
        if key not in item or item[key] is None:
            if required:
                raise InputError(f"{self.source}: {path}.{key}: missing")
            return ""
        value: str = expect(item[key], str, self.source, f"{path}.{key}")
        if required and not value:
            raise InputError(f"{self.source}: {path}.{key}: empty")
        return value

    def obj(self, item: dict[str, Any], key: str, path: str) -> dict[str, Any]:
        """An optional object field ({} when absent)."""
        value = item.get(key)
        if value is None:
            return {}
        out: dict[str, Any] = expect(value, dict, self.source, f"{path}.{key}")
        return out

    def profile_roles(self, ref: str) -> tuple[str, ...]:
        """The roles in an instance profile (ARN or name); () and noted when it is unknown."""
        roles = self.profiles.get(ref)
        if roles is None:
            self.unknown_profiles.append(ref)
            return ()
        return roles


Parser = Callable[[dict[str, Any], str, _Context], list[_Entry]]


@dataclass(frozen=True, slots=True)
class ResourceFile:
    """One kind's input: file stem, model kind, the list key of a page, and the command."""

    stem: str
    kind: str
    list_key: str
    command: str
    parse: Parser


def _lambda(item: dict[str, Any], path: str, ctx: _Context) -> list[_Entry]:
    role = ctx.text(item, "Role", path)
    arn = ctx.text(item, "FunctionArn", path)
    name = ctx.text(item, "FunctionName", path, required=False)
    return [_Entry("lambda-function", name, (role,), arn=arn)]


def _codebuild(item: dict[str, Any], path: str, ctx: _Context) -> list[_Entry]:
    arn = ctx.text(item, "arn", path)
    role = ctx.text(item, "serviceRole", path)
    return [_Entry("codebuild-project", ctx.text(item, "name", path, False), (role,), arn=arn)]


def _stack(item: dict[str, Any], path: str, ctx: _Context) -> list[_Entry]:
    arn = ctx.text(item, "StackId", path)
    name = ctx.text(item, "StackName", path, required=False)
    role = ctx.text(item, "RoleARN", path, required=False)
    # Without a service role a stack acts with the credentials of whoever updates it: no edge.
    return [_Entry("cloudformation-stack", name, (role,), arn=arn)] if role else []


def _apprunner(item: dict[str, Any], path: str, ctx: _Context) -> list[_Entry]:
    arn = ctx.text(item, "ServiceArn", path)
    name = ctx.text(item, "ServiceName", path, required=False)
    conf = ctx.obj(item, "InstanceConfiguration", path)
    role = ctx.text(conf, "InstanceRoleArn", f"{path}.InstanceConfiguration", required=False)
    return [_Entry("apprunner-service", name, (role,), arn=arn)] if role else []


def _profile_ref(item: dict[str, Any], path: str, ctx: _Context, keys: tuple[str, ...]) -> str:
    """The instance profile an instance or template names ("" for none)."""
    prof = item.get("IamInstanceProfile")
    if prof is None:
        return ""
    pp = f"{path}.IamInstanceProfile"
    expect(prof, dict, ctx.source, pp)
    for key in keys:
        if prof.get(key):
            return ctx.text(prof, key, pp)
    raise InputError(f"{ctx.source}: {pp}: names no profile (expected {' or '.join(keys)})")


def _reservation(item: dict[str, Any], path: str, ctx: _Context) -> list[_Entry]:
    owner = ctx.text(item, "OwnerId", path, required=False)
    out: list[_Entry] = []
    for i, inst in enumerate(expect(item.get("Instances", []), list, ctx.source, path)):
        ip = f"{path}.Instances[{i}]"
        expect(inst, dict, ctx.source, ip)
        instance_id = ctx.text(inst, "InstanceId", ip)
        state = ctx.obj(inst, "State", ip)
        if state.get("Name") == "terminated":  # gone for good: nothing can start it again
            continue
        ref = _profile_ref(inst, ip, ctx, ("Arn",))
        roles = ctx.profile_roles(ref) if ref else ()
        if not roles:
            continue
        placement = ctx.obj(inst, "Placement", ip)
        zone = _REGION_OF_ZONE.match(str(placement.get("AvailabilityZone") or ""))
        out.append(
            _Entry(
                "ec2-instance",
                _name_tag(inst) or instance_id,
                roles,
                service="ec2",
                resource=f"instance/{instance_id}",
                region=zone.group(0) if zone else "",
                account=owner or _account(ref),
            )
        )
    return out


# us-east-1a, us-west-2-lax-1a (a Local Zone), us-gov-west-1a -> the region before the zone
_REGION_OF_ZONE = re.compile(r"[a-z]{2}(?:-[a-z]+)+-\d+")


def _name_tag(item: dict[str, Any]) -> str:
    tags = item.get("Tags") or []
    names = [t.get("Value") for t in tags if isinstance(t, dict) and t.get("Key") == "Name"]
    return str(names[0]) if names and names[0] else ""


def _launch_template(item: dict[str, Any], path: str, ctx: _Context) -> list[_Entry]:
    template_id = ctx.text(item, "LaunchTemplateId", path)
    name = ctx.text(item, "LaunchTemplateName", path, required=False) or template_id
    version = item.get("VersionNumber")
    data = ctx.obj(item, "LaunchTemplateData", path)
    ref = _profile_ref(data, f"{path}.LaunchTemplateData", ctx, ("Arn", "Name"))
    roles = ctx.profile_roles(ref) if ref else ()
    if not roles:
        return []
    created_by = ctx.text(item, "CreatedBy", path, required=False)
    return [
        _Entry(
            "ec2-launch-template",
            f"{name}:{version}" if version is not None else name,
            roles,
            service="ec2",
            resource=f"launch-template/{template_id}",
            account=_account(created_by) or _account(ref),
        )
    ]


def _glue(item: dict[str, Any], path: str, ctx: _Context) -> list[_Entry]:
    name = ctx.text(item, "EndpointName", path)
    role = ctx.text(item, "RoleArn", path)
    return [
        _Entry(
            "glue-dev-endpoint",
            name,
            (role,),
            service="glue",
            resource=f"devEndpoint/{name}",
            account=_account(role),  # Glue runs a dev endpoint only as a role of its account
        )
    ]


def _notebook(item: dict[str, Any], path: str, ctx: _Context) -> list[_Entry]:
    arn = ctx.text(item, "NotebookInstanceArn", path)
    role = ctx.text(item, "RoleArn", path)
    name = ctx.text(item, "NotebookInstanceName", path, required=False)
    return [_Entry("sagemaker-notebook", name, (role,), arn=arn)]


RESOURCE_FILES: tuple[ResourceFile, ...] = (
    ResourceFile(
        "lambda-functions", "lambda-function", "Functions", "aws lambda list-functions", _lambda
    ),
    ResourceFile(
        "codebuild-projects",
        "codebuild-project",
        "projects",
        "aws codebuild batch-get-projects",
        _codebuild,
    ),
    ResourceFile(
        "cloudformation-stacks",
        "cloudformation-stack",
        "Stacks",
        "aws cloudformation describe-stacks",
        _stack,
    ),
    ResourceFile(
        "apprunner-services",
        "apprunner-service",
        "Services",
        "aws apprunner describe-service (each Service in a Services list)",
        _apprunner,
    ),
    ResourceFile(
        "ec2-instances", "ec2-instance", "Reservations", "aws ec2 describe-instances", _reservation
    ),
    ResourceFile(
        "ec2-launch-templates",
        "ec2-launch-template",
        "LaunchTemplateVersions",
        "aws ec2 describe-launch-template-versions",
        _launch_template,
    ),
    ResourceFile(
        "glue-dev-endpoints",
        "glue-dev-endpoint",
        "DevEndpoints",
        "aws glue get-dev-endpoints",
        _glue,
    ),
    ResourceFile(
        "sagemaker-notebooks",
        "sagemaker-notebook",
        "NotebookInstances",
        "aws sagemaker describe-notebook-instance (each in a NotebookInstances list)",
        _notebook,
    ),
)
BY_STEM = {f.stem: f for f in RESOURCE_FILES}


def _account(arn: str) -> str:
    parts = arn.split(":")
    return parts[4] if len(parts) > 5 and parts[0] == "arn" else ""


def _pages_of(value: Any, source: str, path: str) -> Pages:
    """A page object, or a JSON array of pages."""
    if isinstance(value, list):
        return [(pg, f"{path}[{i}]") for i, pg in enumerate(value)]
    return [(value, path)]


def listings_from_mapping(obj: Any, source: str, path: str) -> dict[str, RawListing]:
    """A JSON object keyed by file stem (the bundle's ``resources``, or a ``--resources``
    file) -> the listings it holds."""
    expect(obj, dict, source, path)
    out: dict[str, RawListing] = {}
    for stem, value in obj.items():
        if stem not in BY_STEM:
            near = did_you_mean(stem, BY_STEM)
            hint = f"{near} " if near else ""
            raise InputError(
                f"{source}: {path}.{stem}: not a resource listing ({hint}known: "
                f"{', '.join(BY_STEM)})"
            )
        out[stem] = RawListing(source, _pages_of(value, source, f"{path}.{stem}"))
    return out


def listing_from_file(path: Path) -> RawListing:
    """One ``<stem>.json`` file: one page, concatenated pages, or an array of pages."""
    docs = read_json_documents(path)
    pages: Pages = []
    for di, doc in enumerate(docs):
        pages += _pages_of(
            doc, display_name(path), "$" if len(docs) == 1 else f"document {di + 1}: $"
        )
    return RawListing(display_name(path), pages)


def resource_files_in(folder: Path) -> dict[str, Path]:
    """The resource listings a folder holds, by stem."""
    return {s: folder / f"{s}.json" for s in BY_STEM if (folder / f"{s}.json").is_file()}


def read_resources(path: Path) -> dict[str, RawListing]:
    """``--resources PATH``: a folder of ``<stem>.json`` files, or one JSON object keyed by
    stem (a file, or ``-`` for stdin)."""
    if not is_stdin(path) and path.is_dir():
        found = resource_files_in(path)
        if not found:
            raise InputError(
                f"{path}: no resource listings in this folder (expected some of "
                f"{', '.join(f'{s}.json' for s in BY_STEM)})"
            )
        return {stem: listing_from_file(p) for stem, p in found.items()}
    docs = read_json_documents(path)
    if len(docs) != 1:
        raise InputError(
            f"{display_name(path)}: expected one JSON object keyed by "
            f"{', '.join(BY_STEM)}, got {len(docs)} documents"
        )
    return listings_from_mapping(docs[0], display_name(path), "$")


def add_resources(
    snap: Snapshot, listings: Mapping[str, RawListing], profiles: InstanceProfiles
) -> None:
    """Parse the listings into ``snap.resources``, mark their kinds listed in
    ``snap.inventory``, and warn (once per file) about roles or profiles the snapshot lacks."""
    parsed: list[tuple[RawListing, _Context, list[_Entry]]] = []
    for stem, listing in listings.items():
        spec = BY_STEM[stem]
        ctx = _Context(listing.source, profiles)
        parsed.append((listing, ctx, list(_parse(spec, listing, ctx))))
    region, account = _defaults(snap, [e for _, _, es in parsed for e in es])
    seen = {(r.kind, r.id, r.runs_as) for r in snap.resources}
    for listing, ctx, entries in parsed:
        missing: list[str] = []
        for e in entries:
            arn = e.arn or _build_arn(e, region, account)
            for role in e.runs_as:
                if role not in snap.principals and role not in missing:
                    missing.append(role)
                if (e.kind, arn, role) in seen:  # one launch template, many versions
                    continue
                seen.add((e.kind, arn, role))
                acct = _account(arn) or e.account or account
                snap.resources.append(Resource(e.kind, arn, role, acct, e.name))
        _warn(snap, listing.source, missing, ctx.unknown_profiles)
    snap.inventory = snap.inventory | {BY_STEM[s].kind for s in listings}


def _parse(spec: ResourceFile, listing: RawListing, ctx: _Context) -> Iterable[_Entry]:
    for page, pp in listing.pages:
        expect(page, dict, listing.source, pp)
        if spec.list_key not in page:
            raise InputError(
                f"{listing.source}: {pp}: no {spec.list_key!r} list; expected the output of "
                f"`{spec.command}`"
            )
        items = expect(page[spec.list_key], list, listing.source, f"{pp}.{spec.list_key}")
        for i, item in enumerate(items):
            ip = f"{pp}.{spec.list_key}[{i}]"
            yield from spec.parse(expect(item, dict, listing.source, ip), ip, ctx)


def _defaults(snap: Snapshot, entries: list[_Entry]) -> tuple[str, str]:
    """The region and account to build an ARN with when the API did not say: the one region
    (account) every ARN in the input shares, else "" (not knowable)."""
    arns = [e.arn for e in entries if e.arn]
    regions = {a.split(":")[3] for a in arns if a.count(":") >= 5} | {
        e.region for e in entries if e.region
    }
    regions.discard("")
    accounts = {_account(a) for a in arns} | set(snap.accounts)
    accounts.discard("")
    return (
        next(iter(regions)) if len(regions) == 1 else "",
        next(iter(accounts)) if len(accounts) == 1 else "",
    )


def _build_arn(e: _Entry, region: str, account: str) -> str:
    partition = next((r.split(":")[1] for r in e.runs_as if r.startswith("arn:")), "aws")
    return f"arn:{partition}:{e.service}:{e.region or region}:{e.account or account}:{e.resource}"


def _warn(snap: Snapshot, source: str, roles: list[str], profiles: list[str]) -> None:
    if roles:
        more = f" and {len(roles) - 1} more" if len(roles) > 1 else ""
        snap.warnings.append(
            f"{source}: resources run as {len(roles)} role(s) not in the snapshot ({roles[0]}"
            f"{more}): kept, but what those roles may do is unknown"
        )
    if profiles:
        uniq = sorted(set(profiles))
        more = f" and {len(uniq) - 1} more" if len(uniq) > 1 else ""
        snap.warnings.append(
            f"{source}: {len(uniq)} instance profile(s) not in the authorization details "
            f"({uniq[0]}{more}): the role they run as is unknown, so they are left out"
        )
