"""``audit-creep`` for any provider, or all of them: one request, dispatched to the provider's
own ``audit_<cloud>``, and several providers' reports combined into one.

Each provider is imported only when it is audited, so an AWS audit never loads the GCP role
catalog (and the reverse).
"""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass, field, replace
from pathlib import Path

from nhictl.core.errors import InputError
from nhictl.core.inputfile import is_stdin
from nhictl.creep.combine import combine_reports
from nhictl.creep.model import Report
from nhictl.providers.audit_inputs import AwsAuditInputs

PROVIDERS = ("aws", "gcp", "azure")

# What ``audit-creep`` asks, whatever the cloud: AWS's inputs are every provider's plus AWS's
# own usage files, so each provider's audit takes the request as it is.
AuditRequest = AwsAuditInputs


def audit(provider: str, request: AuditRequest) -> Report:
    """One provider's audit."""
    if provider == "aws":
        from nhictl.providers.aws.audit import audit_aws

        return audit_aws(_aws_folders(request))
    if request.last_accessed is not None or request.access_keys is not None:
        raise InputError(
            f"--last-accessed and --access-keys are AWS inputs; {provider} usage data is part "
            f"of its snapshot folder (docs/audit-creep.md)"
        )
    if request.resources is not None:
        raise InputError(f"--resources is an AWS input; {provider} does not read it")
    for flag, value in (("--snapshot", request.snapshot), ("--baseline", request.baseline)):
        if is_stdin(value):
            raise InputError(f"{flag} -: a {provider} snapshot is a folder; stdin cannot hold one")
    if provider == "gcp":
        from nhictl.providers.gcp.audit import audit_gcp

        return audit_gcp(request)
    if provider == "azure":
        from nhictl.providers.azure.audit import audit_azure

        return audit_azure(request)
    raise InputError(f"unknown provider {provider!r} (known: {', '.join(PROVIDERS)})")


def _aws_folders(request: AuditRequest) -> AuditRequest:
    """A folder as the AWS ``--snapshot`` or ``--baseline`` is read by its layout; files named
    by --last-accessed / --access-keys win over the folder's own."""
    from nhictl.providers.aws.layout import aws_folder

    snapshot, baseline = request.snapshot, request.baseline
    if snapshot is not None and not is_stdin(snapshot) and snapshot.is_dir():
        found = aws_folder(snapshot)
        request = replace(
            request,
            snapshot=found.snapshot,
            last_accessed=request.last_accessed or found.last_accessed,
            access_keys=request.access_keys or found.access_keys,
            resources=request.resources or found.resources,
        )
    if baseline is not None and not is_stdin(baseline) and baseline.is_dir():
        request = replace(request, baseline=aws_folder(baseline).snapshot)
    return request


def audit_snapshot_dir(root: Path, request: AuditRequest) -> Report:
    """Every provider found under ``root`` (``root/aws``, ``root/gcp``, ``root/azure``) in one
    report. ``request.baseline``, when given, is a folder of the same layout; a provider
    missing from it has no baseline."""
    if not root.is_dir():
        raise InputError(f"{root}: not a folder (expected aws/, gcp/ and azure/ inside)")
    found = [p for p in PROVIDERS if (root / p).is_dir()]
    if not found:
        raise InputError(f"{root}: holds no aws/, gcp/ or azure/ folder")
    if request.baseline is not None and not request.baseline.is_dir():
        raise InputError(f"{request.baseline}: with --snapshot-dir, --baseline is a folder too")
    reports = []
    for provider in found:
        base = None
        if request.baseline is not None and (request.baseline / provider).is_dir():
            base = request.baseline / provider
        reports.append(audit(provider, replace(request, snapshot=root / provider, baseline=base)))
    return combine_reports(reports)


@dataclass(slots=True)
class LiveSource:
    """What ``audit-creep --live`` collects from (read-only), per provider."""

    aws_profile: str | None = None
    aws_role_arn: str | None = None
    gcp_project: str | None = None
    azure_subscriptions: list[str] = field(default_factory=list)


def audit_live(
    provider: str,
    request: AuditRequest,
    source: LiveSource,
    progress: Callable[[str, int, int], None] | None = None,
) -> Report:
    """Collect now, then audit what was collected. GCP and Azure are collected into a private
    temporary folder in exactly the offline layout (removed afterwards), so a live audit and
    an offline one of the same data agree."""
    if request.snapshot is not None:
        raise InputError("use either --live or --snapshot, not both")
    if request.resources is not None:
        raise InputError("--resources goes with --snapshot; --live collects the resources itself")
    if provider == "aws":
        from nhictl.providers.aws.audit import audit_aws
        from nhictl.providers.aws.collect import CollectOptions, collect_aws
        from nhictl.providers.aws.load import snapshot_from_bundle

        opts = CollectOptions(profile=source.aws_profile, role_arn=source.aws_role_arn)
        snap, keys_known = snapshot_from_bundle(collect_aws(opts, progress), "<live>")
        # The collected snapshot carries its usage: --last-accessed / --access-keys stay unread.
        return audit_aws(request, snap, keys_known)
    import tempfile

    with tempfile.TemporaryDirectory(prefix="nhictl-live-") as tmp:
        folder = Path(tmp) / provider
        if provider == "gcp":
            from nhictl.providers.gcp.collect import GcpCollectOptions, collect_gcp

            if not source.gcp_project:
                raise InputError("--live --provider gcp needs --project")
            collect_gcp(GcpCollectOptions(project=source.gcp_project, output=folder), progress)
        elif provider == "azure":
            from nhictl.providers.azure.collect import AzureCollectOptions, collect_azure

            if not source.azure_subscriptions:
                raise InputError("--live --provider azure needs --subscription")
            opts_az = AzureCollectOptions(subscriptions=source.azure_subscriptions, output=folder)
            collect_azure(opts_az, progress)
        else:
            raise InputError(f"--live audits one provider: aws, gcp or azure, not {provider!r}")
        return audit(provider, replace(request, snapshot=folder))
