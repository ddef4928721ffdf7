"""Live collection with boto3 into one bundle (schemas/snapshot-aws.v1.schema.json).

What it gathers (read-only calls only):
- ``GetAccountAuthorizationDetails`` (every page, all entity types, all policy versions);
- ``ListAccessKeys`` + ``GetAccessKeyLastUsed`` for every user;
- ``GenerateServiceLastAccessedDetails`` (ACTION_LEVEL) + ``GetServiceLastAccessedDetails``
  for every role and user, several jobs in flight at once (``concurrency``, default 4);
- the existing resources that run as a role (``RESOURCE_LISTERS``: list / batch-get / describe
  calls only) in each of ``resource_regions`` (default: every region enabled for the account,
  as ec2:DescribeRegions says, where botocore knows the service exists), stored in the CLI's own
  shapes under ``resources`` (nhictl.providers.aws.resources reads them). A kind that cannot be
  listed is left out (unknown to the audit, never "none") with a note naming the permission.

Throttling: botocore's adaptive retry mode (client-side rate limiting plus exponential backoff
with jitter, up to 10 attempts) on every client; job polling backs off from 0.5 s to 5 s.
boto3 is imported here only, so no other command pays for it. Endpoints follow botocore's
standard configuration (profiles, ``AWS_ENDPOINT_URL_IAM``...), which is how tests point it at
a local moto server.
"""

from __future__ import annotations

import time
from collections.abc import Callable
from concurrent.futures import ThreadPoolExecutor, as_completed
from dataclasses import dataclass
from datetime import UTC, date, datetime
from typing import Any

from nhictl.core.errors import InputError, ProviderError
from nhictl.providers.aws.snapshot import BUNDLE_FORMAT

Progress = Callable[[str, int, int], None]  # (stage, done, total)

_FILTERS = ["User", "Role", "Group", "LocalManagedPolicy", "AWSManagedPolicy"]


@dataclass(slots=True)
class CollectOptions:
    """Knobs for one collection."""

    profile: str | None = None
    role_arn: str | None = None
    external_id: str | None = None
    region: str | None = None
    last_accessed: bool = True
    concurrency: int = 4
    job_timeout_s: float = 300.0
    poll_initial_s: float = 0.5
    poll_max_s: float = 5.0
    resources: bool = True
    resource_regions: tuple[str, ...] = ()  # () -> every region enabled for the account


def _jsonable(value: Any) -> Any:
    """boto3 returns datetimes; the bundle stores ISO 8601 strings, like the AWS CLI."""
    if isinstance(value, datetime):
        return (value if value.tzinfo else value.replace(tzinfo=UTC)).isoformat()
    if isinstance(value, date):
        return value.isoformat()
    if isinstance(value, dict):
        return {k: _jsonable(v) for k, v in value.items() if k != "ResponseMetadata"}
    if isinstance(value, list):
        return [_jsonable(v) for v in value]
    return value


def _session(opts: CollectOptions) -> Any:
    try:
        import boto3  # type: ignore[import-untyped]
        from botocore.exceptions import (  # type: ignore[import-untyped]
            BotoCoreError,
            ClientError,
        )
    except ImportError:  # pragma: no cover - depends on the install
        raise InputError(
            "live AWS collection needs boto3", hint="pip install 'nhictl[aws]'"
        ) from None
    try:
        session = boto3.Session(profile_name=opts.profile, region_name=opts.region or "us-east-1")
        if session.get_credentials() is None:
            raise _no_credentials(opts)
        if opts.role_arn:
            sts = session.client("sts", config=_probe_config())
            kwargs: dict[str, Any] = {"RoleArn": opts.role_arn, "RoleSessionName": "nhictl-collect"}
            if opts.external_id:
                kwargs["ExternalId"] = opts.external_id
            creds = sts.assume_role(**kwargs)["Credentials"]
            session = boto3.Session(
                aws_access_key_id=creds["AccessKeyId"],
                aws_secret_access_key=creds["SecretAccessKey"],
                aws_session_token=creds["SessionToken"],
                region_name=session.region_name,
            )
    except (BotoCoreError, ClientError) as exc:
        raise _provider_error("AWS session", exc, opts) from None
    return session


_CREDENTIALS_HINT = (
    "set AWS_PROFILE or pass --profile (a profile in ~/.aws/config), "
    "or export AWS_ACCESS_KEY_ID and AWS_SECRET_ACCESS_KEY"
)


def _no_credentials(opts: CollectOptions) -> ProviderError:
    where = f"for profile {opts.profile!r}" if opts.profile else "in the environment"
    return ProviderError(
        f"no AWS credentials found {where} (looked at AWS_* variables, the shared credentials "
        "and config files, SSO, and container/instance metadata)",
        hint=_CREDENTIALS_HINT,
    )


def _provider_error(step: str, exc: Exception, opts: CollectOptions) -> ProviderError:
    """One line for a failed AWS call: no credentials, no connection, rejected credentials."""
    from botocore.exceptions import (
        ConnectTimeoutError,
        EndpointConnectionError,
        NoCredentialsError,
        PartialCredentialsError,
        ProfileNotFound,
        ReadTimeoutError,
    )

    if isinstance(exc, NoCredentialsError | PartialCredentialsError):
        return _no_credentials(opts)
    if isinstance(exc, ProfileNotFound):
        return ProviderError(
            f"{step}: {exc}", hint="`aws configure list-profiles` shows the profiles there are"
        )
    if isinstance(exc, EndpointConnectionError | ConnectTimeoutError | ReadTimeoutError):
        return ProviderError(
            f"{step}: cannot reach AWS: {exc}",
            hint="check the network or proxy, the region, and AWS_ENDPOINT_URL if it is set",
        )
    code = getattr(exc, "response", {}).get("Error", {}).get("Code", "")
    if code in _REJECTED_CREDENTIALS:
        return ProviderError(
            f"{step}: AWS rejected the credentials: {_describe(exc)}",
            hint="refresh them (e.g. `aws sso login`) or pick another profile; "
            + _CREDENTIALS_HINT,
        )
    return ProviderError(f"{step}: {_describe(exc)}")


_REJECTED_CREDENTIALS = {
    "ExpiredToken",
    "ExpiredTokenException",
    "InvalidClientTokenId",
    "SignatureDoesNotMatch",
    "UnrecognizedClientException",
    "AuthFailure",
}


def _probe_config() -> Any:
    """The first call: one attempt, short connect timeout, so missing credentials or an
    unreachable endpoint fail in a second instead of after ten adaptive retries."""
    from botocore.config import Config  # type: ignore[import-untyped]

    return Config(
        retries={"mode": "standard", "max_attempts": 1},
        connect_timeout=5,
        read_timeout=30,
        user_agent_extra="nhictl-collect",
    )


def _config() -> Any:
    from botocore.config import Config

    return Config(
        retries={"mode": "adaptive", "max_attempts": 10},
        connect_timeout=10,
        read_timeout=60,
        user_agent_extra="nhictl-collect",
    )


def _describe(exc: Exception) -> str:
    """A one-line error without request ids or credentials."""
    resp = getattr(exc, "response", None)
    if isinstance(resp, dict):
        err = resp.get("Error", {})
        return f"{err.get('Code', 'Error')}: {err.get('Message', '')}".strip()
    return type(exc).__name__ + (f": {exc}" if str(exc) else "")


def collect_aws(opts: CollectOptions, progress: Progress | None = None) -> dict[str, Any]:
    """Collect everything ``audit-creep`` needs and return the bundle object."""
    from botocore.exceptions import BotoCoreError, ClientError

    session = _session(opts)
    try:
        account = session.client("sts", config=_probe_config()).get_caller_identity().get("Account")
    except (BotoCoreError, ClientError) as exc:
        raise _provider_error("GetCallerIdentity", exc, opts) from None
    iam = session.client("iam", config=_config())
    notes: list[str] = []
    try:
        pages = [
            _jsonable(page)
            for page in iam.get_paginator("get_account_authorization_details").paginate(
                Filter=_FILTERS
            )
        ]
    except (BotoCoreError, ClientError) as exc:
        raise _provider_error("GetAccountAuthorizationDetails", exc, opts) from None
    users = [u["UserName"] for p in pages for u in p.get("UserDetailList", [])]
    arns = [r["Arn"] for p in pages for r in p.get("RoleDetailList", [])]
    arns += [u["Arn"] for p in pages for u in p.get("UserDetailList", [])]
    if progress:
        progress("authorization details", 1, 1)

    keys: list[dict[str, Any]] = []
    for i, user in enumerate(users, 1):
        try:
            for page in iam.get_paginator("list_access_keys").paginate(UserName=user):
                for key in page.get("AccessKeyMetadata", []):
                    entry = _jsonable(key)
                    last = iam.get_access_key_last_used(AccessKeyId=key["AccessKeyId"])
                    entry["AccessKeyLastUsed"] = _jsonable(last.get("AccessKeyLastUsed", {}))
                    keys.append(entry)
        except (BotoCoreError, ClientError) as exc:
            notes.append(f"access keys of {user}: {_describe(exc)}")
        if progress:
            progress("access keys", i, len(users))

    last_accessed: dict[str, Any] = {}
    if opts.last_accessed and arns:
        last_accessed = _last_accessed(iam, arns, opts, notes, progress)

    resources: dict[str, Any] = {}
    if opts.resources:
        regions = opts.resource_regions or _enabled_regions(session, notes)
        resources = _resources(session, regions, opts, notes, progress)

    return {
        "format": BUNDLE_FORMAT,
        "collectedAt": datetime.now(UTC).isoformat(),
        "account": account,
        "collector": {"tool": "nhictl", "profile": opts.profile, "roleArn": opts.role_arn},
        "authorizationDetails": pages,
        "accessKeys": {"AccessKeyMetadata": keys},
        "lastAccessed": last_accessed,
        "resources": resources,
        "notes": notes,
    }


def _pages(client: Any, operation: str, key: str, **kwargs: Any) -> list[dict[str, Any]]:
    """Every page of a paginated call, each cut to its list (``key``) as the CLI prints it."""
    pages = [
        {key: _jsonable(page.get(key, []))}
        for page in client.get_paginator(operation).paginate(**kwargs)
    ]
    return pages or [{key: []}]


def _codebuild(client: Any) -> list[dict[str, Any]]:
    names = [n for page in _pages(client, "list_projects", "projects") for n in page["projects"]]
    found = [
        p for i in range(0, len(names), 100)  # BatchGetProjects takes at most 100 names
        for p in client.batch_get_projects(names=names[i : i + 100]).get("projects", [])
    ]  # fmt: skip
    return [{"projects": _jsonable(found)}]


def _apprunner(client: Any) -> list[dict[str, Any]]:
    arns: list[str] = []
    kwargs: dict[str, Any] = {}
    while True:  # botocore has no paginator for ListServices
        resp = client.list_services(**kwargs)
        arns += [s["ServiceArn"] for s in resp.get("ServiceSummaryList", [])]
        if not resp.get("NextToken"):
            break
        kwargs["NextToken"] = resp["NextToken"]
    services = [client.describe_service(ServiceArn=a)["Service"] for a in arns]
    return [{"Services": _jsonable(services)}]


def _launch_templates(client: Any) -> list[dict[str, Any]]:
    ids = [
        t["LaunchTemplateId"]
        for page in _pages(client, "describe_launch_templates", "LaunchTemplates")
        for t in page["LaunchTemplates"]
    ]
    pages = [
        page
        for lt in ids  # every version: any of them can be launched
        for page in _pages(
            client, "describe_launch_template_versions", "LaunchTemplateVersions",
            LaunchTemplateId=lt,
        )
    ]  # fmt: skip
    return pages or [{"LaunchTemplateVersions": []}]


def _notebooks(client: Any) -> list[dict[str, Any]]:
    names = [
        n["NotebookInstanceName"]
        for page in _pages(client, "list_notebook_instances", "NotebookInstances")
        for n in page["NotebookInstances"]
    ]
    found = [client.describe_notebook_instance(NotebookInstanceName=n) for n in names]
    return [{"NotebookInstances": _jsonable(found)}]


# File stem (nhictl.providers.aws.resources) -> boto3 client (also the IAM action prefix) and
# the calls that list it. The permissions are those of docs/audit-creep.md, "Resource inventory".
RESOURCE_LISTERS: dict[str, tuple[str, Callable[[Any], list[dict[str, Any]]]]] = {
    "lambda-functions": ("lambda", lambda c: _pages(c, "list_functions", "Functions")),
    "codebuild-projects": ("codebuild", _codebuild),
    "cloudformation-stacks": ("cloudformation", lambda c: _pages(c, "describe_stacks", "Stacks")),
    "apprunner-services": ("apprunner", _apprunner),
    "ec2-instances": ("ec2", lambda c: _pages(c, "describe_instances", "Reservations")),
    "ec2-launch-templates": ("ec2", _launch_templates),
    "glue-dev-endpoints": ("glue", lambda c: _pages(c, "get_dev_endpoints", "DevEndpoints")),
    "sagemaker-notebooks": ("sagemaker", _notebooks),
}

_DENIED = {
    "AccessDenied",
    "AccessDeniedException",
    "UnauthorizedOperation",
    "UnauthorizedException",
    "AuthorizationError",
}


def _enabled_regions(session: Any, notes: list[str]) -> tuple[str, ...]:
    """The regions the account can have resources in; the session's alone (and said so) when
    they cannot be listed."""
    from botocore.exceptions import BotoCoreError, ClientError

    try:
        resp = session.client("ec2", config=_config()).describe_regions(AllRegions=False)
        return tuple(sorted(r["RegionName"] for r in resp.get("Regions", [])))
    except (BotoCoreError, ClientError) as exc:
        notes.append(
            f"resources: listed in {session.region_name} only (ec2:DescribeRegions: "
            f"{_describe(exc)}); pass --resource-region for the others"
        )
        return (session.region_name,)


def _resources(
    session: Any,
    regions: tuple[str, ...],
    opts: CollectOptions,
    notes: list[str],
    progress: Progress | None,
) -> dict[str, Any]:
    """Each kind in every region, or not at all: a kind missing one region's listing would
    read as "none there"."""
    from botocore.exceptions import BotoCoreError, ClientError

    out: dict[str, Any] = {}
    clients: dict[tuple[str, str], Any] = {}
    for done, (stem, (service, fetch)) in enumerate(RESOURCE_LISTERS.items(), 1):
        pages: list[dict[str, Any]] = []
        known = set(session.get_available_regions(service)) or set(regions)
        try:
            for region in (r for r in regions if r in known):
                if (service, region) not in clients:
                    clients[service, region] = session.client(
                        service, region_name=region, config=_config()
                    )
                pages += fetch(clients[service, region])
        except ClientError as exc:
            code = exc.response.get("Error", {}).get("Code", "")
            if code in _REJECTED_CREDENTIALS:
                raise _provider_error(f"{service} {exc.operation_name}", exc, opts) from None
            action = f"{service}:{exc.operation_name}"
            why = (
                f"{action} was denied: add {action} to the collecting identity's policy"
                if code in _DENIED
                else f"{action}: {_describe(exc)}"
            )
            notes.append(f"resources: {stem} left out (unknown to the audit): {why}")
        except BotoCoreError as exc:
            notes.append(f"resources: {stem} left out (unknown to the audit): {_describe(exc)}")
        else:
            out[stem] = pages
        if progress:
            progress("resources", done, len(RESOURCE_LISTERS))
    return out


def _last_accessed(
    iam: Any, arns: list[str], opts: CollectOptions, notes: list[str], progress: Progress | None
) -> dict[str, Any]:
    """One ACTION_LEVEL job per principal, ``concurrency`` at a time (the API throttles)."""
    from botocore.exceptions import BotoCoreError, ClientError

    def one(arn: str) -> list[dict[str, Any]] | None:
        job = iam.generate_service_last_accessed_details(Arn=arn, Granularity="ACTION_LEVEL")
        job_id = job["JobId"]
        delay, waited = opts.poll_initial_s, 0.0
        while True:
            resp = iam.get_service_last_accessed_details(JobId=job_id)
            status = resp.get("JobStatus")
            if status == "COMPLETED":
                break
            if status == "FAILED":
                err = resp.get("Error", {})
                notes.append(f"last-accessed job for {arn} failed: {err.get('Message', '')}")
                return None
            if waited >= opts.job_timeout_s:
                notes.append(f"last-accessed job for {arn} did not finish in time")
                return None
            time.sleep(delay)
            waited += delay
            delay = min(opts.poll_max_s, delay * 2)
        pages = [_jsonable(resp)]
        while resp.get("IsTruncated"):
            resp = iam.get_service_last_accessed_details(JobId=job_id, Marker=resp["Marker"])
            pages.append(_jsonable(resp))
        return pages

    out: dict[str, Any] = {}
    workers = max(1, min(opts.concurrency, 8))
    with ThreadPoolExecutor(max_workers=workers, thread_name_prefix="nhictl-la") as pool:
        futures = {pool.submit(one, arn): arn for arn in arns}
        for done, fut in enumerate(as_completed(futures), 1):
            arn = futures[fut]
            try:
                pages = fut.result()
            except (BotoCoreError, ClientError) as exc:
                notes.append(f"last-accessed for {arn}: {_describe(exc)}")
                pages = None
            if pages is not None:
                out[arn] = pages if len(pages) > 1 else pages[0]
            if progress:
                progress("last accessed", done, len(arns))
    return dict(sorted(out.items()))
