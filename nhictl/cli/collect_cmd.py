"""``nhictl collect aws|gcp|azure``: live, read-only collection of what ``audit-creep`` reads:
an AWS bundle file, or for GCP and Azure a directory of raw outputs in exactly the layout the
offline loaders read. boto3, google-auth and azure-identity are imported only when a command
runs, so ``nhictl --help`` never loads them.
"""

from __future__ import annotations

import os
from pathlib import Path
from typing import TYPE_CHECKING

import click
import typer

from nhictl.cli.common import output_option
from nhictl.cli.output import check_output, emit, message, output_stream, progress

if TYPE_CHECKING:
    from nhictl.providers.rawdir import CollectResult

collect_app = typer.Typer(
    help="Collect cloud IAM data for audit-creep (read-only calls only).", no_args_is_help=True
)


AZURE_CLOUDS = ("public", "usgov", "china")
# gcp and azure write the same kind of directory (nhictl.providers.rawdir): the same two flags
DIRECTORY_OPTION = output_option(
    "Directory to write; must not exist or be empty (--force).", required=True
)
FORCE_OPTION = typer.Option(False, "--force", help="Replace a non-empty output directory.")


def _summary(result: CollectResult) -> None:
    counts = ", ".join(f"{v} {k}" for k, v in sorted(result.counts.items()))
    message(f"wrote {result.directory}/: {len(result.files)} files ({counts})")
    for skipped in result.skipped:
        message(f"note: {skipped.file} left out: {skipped.reason}")
    for note in result.notes:
        message(f"note: {note}")


def collect_aws_cmd(
    out: Path = output_option("Bundle file to write (JSON), or - for stdout.", required=True),
    profile: str | None = typer.Option(
        None, "--profile", help="AWS profile (default chain if unset)."
    ),
    role_arn: str | None = typer.Option(
        None, "--role-arn", help="Role to assume before collecting."
    ),
    external_id: str | None = typer.Option(
        None, "--external-id", help="ExternalId for --role-arn."
    ),
    region: str | None = typer.Option(None, "--region", help="Region for the STS/IAM clients."),
    resource_region: list[str] | None = typer.Option(
        None,
        "--resource-region",
        help="Region to list resources that run as a role in (Lambda, EC2, ...); repeatable. "
        "Default: every region enabled for the account.",
    ),
    no_last_accessed: bool = typer.Option(
        False, "--no-last-accessed", help="Skip the (slow) last-accessed jobs."
    ),
    concurrency: int = typer.Option(
        4, "--concurrency", help="Last-accessed jobs in flight at once (1-8)."
    ),
) -> None:
    """Collect IAM authorization details, access keys and last-accessed data into one bundle.

    Read-only API calls; paginated; throttling handled with adaptive retries. The bundle
    (schemas/snapshot-aws.v1.schema.json) is what `audit-creep --snapshot` reads.
    """
    from nhictl.core.jsonout import document
    from nhictl.providers.aws.collect import CollectOptions, collect_aws

    check_output(out)  # before minutes of API calls, not after
    opts = CollectOptions(
        profile=profile,
        role_arn=role_arn,
        external_id=external_id,
        region=region,
        resource_regions=tuple(resource_region or ()),
        last_accessed=not no_last_accessed,
        concurrency=concurrency,
    )
    bundle = collect_aws(opts, progress())
    with output_stream(out) as handle:
        emit(document(bundle), handle)
    n_roles = sum(len(p.get("RoleDetailList", [])) for p in bundle["authorizationDetails"])
    message(f"wrote {out}: {n_roles} roles, {len(bundle['lastAccessed'])} last-accessed reports")
    for note in bundle["notes"]:
        message(f"note: {note}")


def collect_gcp_cmd(
    project: str = typer.Option(..., "--project", help="Project id (or number) to collect."),
    output: Path = DIRECTORY_OPTION,
    organization: str | None = typer.Option(
        None,
        "--organization",
        help="Organization id, when the project's ancestry cannot be read.",
    ),
    impersonate: str | None = typer.Option(
        None,
        "--impersonate-service-account",
        help="Collect as this service account (short-lived tokens; needs Token Creator on it).",
    ),
    credentials_file: Path | None = typer.Option(
        None,
        "--credentials-file",
        help="Service-account key, authorized-user or workload identity federation file "
        "(default: Application Default Credentials).",
    ),
    quota_project: str | None = typer.Option(
        None, "--quota-project", help="Project billed for Recommender / Policy Analyzer calls."
    ),
    no_usage: bool = typer.Option(
        False, "--no-usage", help="Skip insights and activity (the optional usage data)."
    ),
    roles: bool = typer.Option(
        False,
        "--roles",
        help="Also write predefined-roles.json: every predefined role as Google defines it "
        "now (~2,400 roles), used by audit-creep in place of the shipped catalog.",
    ),
    concurrency: int = typer.Option(
        4, "--concurrency", help="Service accounts read at once (1-16)."
    ),
    force: bool = FORCE_OPTION,
) -> None:
    """Collect a GCP project's IAM data (read-only) into a directory of gcloud-shaped JSON.

    Files: project.json, iam-policy.json, ancestors/, service-accounts.json, keys/,
    sa-policies/, custom-roles.json, and when readable insights.json, sa-insights.json,
    activity.json, key-activity.json (and with --roles predefined-roles.json); notes.json
    says what was left out and why.

    \b
    Examples:
      nhictl collect gcp --project agents-prod -o gcp/agents-prod
      nhictl collect gcp --project agents-prod --impersonate-service-account \\
          auditor@sec-tools.iam.gserviceaccount.com -o gcp/agents-prod
    """
    from nhictl.providers.gcp.collect import GcpCollectOptions, collect_gcp

    opts = GcpCollectOptions(
        project=project,
        output=output,
        organization=organization,
        impersonate_service_account=impersonate,
        credentials_file=credentials_file,
        quota_project=quota_project,
        force=force,
        usage=not no_usage,
        roles=roles,
        concurrency=concurrency,
    )
    _summary(collect_gcp(opts, progress()))


def collect_azure_cmd(
    subscription: list[str] = typer.Option(
        ..., "--subscription", help="Subscription id to collect; repeatable (one tenant)."
    ),
    output: Path = DIRECTORY_OPTION,
    tenant: str | None = typer.Option(
        None, "--tenant", help="Tenant id or domain (default: AZURE_TENANT_ID / the sign-in's)."
    ),
    client_id: str | None = typer.Option(
        None,
        "--client-id",
        help="App (client) id to sign in as; its secret comes from AZURE_CLIENT_SECRET.",
    ),
    certificate: Path | None = typer.Option(
        None,
        "--certificate",
        help="PEM with the app's private key and certificate (password: "
        "AZURE_CLIENT_CERTIFICATE_PASSWORD).",
    ),
    federated_token_file: Path | None = typer.Option(
        None,
        "--federated-token-file",
        help="Workload identity federation: a token file exchanged for an Entra token.",
    ),
    cloud: str | None = typer.Option(
        None,
        "--cloud",
        help="Azure cloud (default: NHICTL_AZURE_CLOUD or public).",
        click_type=click.Choice(AZURE_CLOUDS),
    ),
    no_usage: bool = typer.Option(
        False, "--no-usage", help="Skip PIM instances, Activity Log and sign-in activity."
    ),
    activity_days: int = typer.Option(
        90, "--activity-days", help="Activity Log window in days (1-90)."
    ),
    force: bool = FORCE_OPTION,
) -> None:
    """Collect an Azure tenant's role assignments and workload identities (read-only) into a
    directory of az-shaped JSON.

    Files: role-assignments.json, role-definitions.json, service-principals.json,
    applications.json, and when readable pim-instances.json, activity-log.json, sign-ins.json;
    notes.json says what was left out and why.

    Sign-in: --federated-token-file, --certificate, --client-id with AZURE_CLIENT_SECRET, or
    else DefaultAzureCredential (environment, workload identity, managed identity, az login).

    \b
    Examples:
      nhictl collect azure --subscription 0b1f6471-1bf0-4dda-aec3-cb9272f09590 -o azure/
      nhictl collect azure --subscription S1 --subscription S2 --tenant contoso.onmicrosoft.com \\
          --client-id APP_ID --federated-token-file $AZURE_FEDERATED_TOKEN_FILE -o azure/
    """
    from nhictl.providers.azure.auth import AzureAuth
    from nhictl.providers.azure.collect import AzureCollectOptions, collect_azure

    env = os.environ
    explicit = bool(client_id or certificate or federated_token_file)
    auth = AzureAuth(
        tenant=tenant or (env.get("AZURE_TENANT_ID") if explicit else None),
        client_id=client_id or (env.get("AZURE_CLIENT_ID") if explicit else None),
        # a secret never comes from a flag (ps, shell history): only from the environment
        client_secret=env.get("AZURE_CLIENT_SECRET") if client_id else None,
        certificate=certificate,
        certificate_password=env.get("AZURE_CLIENT_CERTIFICATE_PASSWORD"),
        federated_token_file=federated_token_file,
    )
    opts = AzureCollectOptions(
        subscriptions=list(subscription),
        output=output,
        auth=auth,
        cloud=cloud,
        force=force,
        usage=not no_usage,
        activity_days=activity_days,
    )
    _summary(collect_azure(opts, progress()))


def register(app: typer.Typer) -> None:
    """Add the ``collect`` group (aws, gcp, azure) to the root app."""
    collect_app.command("aws")(collect_aws_cmd)
    collect_app.command("gcp")(collect_gcp_cmd)
    collect_app.command("azure")(collect_azure_cmd)
    app.add_typer(collect_app, name="collect")
