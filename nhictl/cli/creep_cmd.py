"""``nhictl audit-creep`` and ``nhictl collect aws``: thin wrappers over the creep engine."""

from __future__ import annotations

import sys
from datetime import UTC, datetime
from enum import StrEnum
from pathlib import Path
from typing import Any

import typer

from nhictl.cli.common import DataFormat, format_option, output_option
from nhictl.cli.output import (
    STATE,
    check_output,
    console,
    emit,
    message,
    output_stream,
    terminal_width,
)
from nhictl.core.batchgc import cyclic_gc_paused
from nhictl.core.errors import InputError


class FailOn(StrEnum):
    low = "low"
    medium = "medium"
    high = "high"
    critical = "critical"


def _parse_now(value: str | None) -> datetime | None:
    if not value:
        return None
    try:
        dt = datetime.fromisoformat(value)
    except ValueError:
        raise InputError(f"--as-of: not an ISO 8601 date or time: {value!r}") from None
    return dt if dt.tzinfo else dt.replace(tzinfo=UTC)


def _progress() -> Any:
    """A one-line progress display on a TTY (stderr); nothing otherwise."""
    if STATE.verbosity < 0 or not sys.stderr.isatty():
        return None
    err = console("stderr")

    def show(stage: str, done: int, total: int) -> None:
        err.print(f"\r{stage}: {done}/{total}", end="", markup=False, highlight=False)
        if done >= total:
            err.print("")

    return show


def audit_creep(
    snapshot: Path | None = typer.Option(
        None,
        "--snapshot",
        help="`aws iam get-account-authorization-details` output (one or several pages) or an "
        "nhictl bundle from `nhictl collect aws`; - reads stdin.",
    ),
    last_accessed: Path | None = typer.Option(
        None,
        "--last-accessed",
        help="GetServiceLastAccessedDetails responses: JSON object ARN -> response, or a "
        "directory of such files; - reads stdin.",
    ),
    access_keys: Path | None = typer.Option(
        None,
        "--access-keys",
        help="ListAccessKeys output with AccessKeyLastUsed merged in; - reads stdin.",
    ),
    manifests: list[str] | None = typer.Option(
        None,
        "--manifests",
        help="Registration manifests (files, directories, globs, - for stdin); repeatable.",
    ),
    baseline: Path | None = typer.Option(
        None,
        "--baseline",
        help="An earlier snapshot or bundle to measure growth against; - reads stdin.",
    ),
    exclusions: Path | None = typer.Option(
        None, "--exclusions", help="Exclusions file (YAML/JSON), a reason per entry; - reads stdin."
    ),
    unused_days: int = typer.Option(90, "--unused-days", help="Usage window in days."),
    key_max_age: int = typer.Option(90, "--key-max-age", help="Access-key age limit in days."),
    fmt: str = format_option("sarif", "markdown"),
    output: Path | None = output_option("Write the report to this file instead of stdout."),
    fail_on: FailOn | None = typer.Option(
        None,
        "--fail-on",
        help="Exit 1 when an unsuppressed finding is at or above this severity.",
    ),
    remediate_out: Path | None = typer.Option(
        None,
        "--remediate-out",
        help="Write a least-privilege IAM policy per principal here (never applied).",
    ),
    as_of: str | None = typer.Option(
        None,
        "--as-of",
        help="Judge ages and windows as of this ISO date/time (default: now); for "
        "reproducible reports.",
    ),
    live: bool = typer.Option(
        False, "--live", help="Collect from AWS now (as `nhictl collect aws`), then audit."
    ),
    profile: str | None = typer.Option(None, "--profile", help="AWS profile for --live."),
    role_arn: str | None = typer.Option(None, "--role-arn", help="Role to assume for --live."),
) -> None:
    """Audit privilege creep of non-human AWS principals: declared vs granted vs used vs grown.

    Exit code 0, or 1 when --fail-on is set and an unsuppressed finding is at or above it;
    2 for unreadable or malformed input.

    \b
    Examples:
      nhictl audit-creep --snapshot authz.json --last-accessed la.json --manifests agents/
      nhictl audit-creep --snapshot bundle.json --format sarif -o creep.sarif --fail-on high
      nhictl audit-creep --live --profile audit --remediate-out fixes/
    """
    from nhictl.core.inputfile import check_one_stdin
    from nhictl.creep.engine import over_threshold
    from nhictl.creep.remediation import write_remediations
    from nhictl.providers.aws.audit import AwsAuditInputs, audit_aws
    from nhictl.render import creep as render

    check_output(output)  # before the analysis (or a live collection), not after

    if live and snapshot is not None:
        raise InputError("use either --live or --snapshot, not both")
    check_one_stdin(
        {
            "--snapshot": snapshot,
            "--last-accessed": last_accessed,
            "--access-keys": access_keys,
            "--baseline": baseline,
            "--exclusions": exclusions,
            **{f"--manifests {m}": m for m in manifests or []},
        }
    )
    inputs = AwsAuditInputs(
        snapshot=snapshot,
        last_accessed=last_accessed,
        access_keys=access_keys,
        manifests=list(manifests or []),
        baseline=baseline,
        exclusions=exclusions,
        now=_parse_now(as_of),
        unused_days=unused_days,
        key_max_age_days=key_max_age,
        remediate=remediate_out is not None,
    )
    snap = None
    keys_known = False
    if live:
        from nhictl.providers.aws.collect import CollectOptions, collect_aws
        from nhictl.providers.aws.load import snapshot_from_bundle

        bundle = collect_aws(CollectOptions(profile=profile, role_arn=role_arn), _progress())
        snap, keys_known = snapshot_from_bundle(bundle, "<live>")
    # Collection (boto3, threads) keeps the collector; the offline batch does not need it.
    with cyclic_gc_paused():
        report = audit_aws(inputs, snap, keys_known)
        if remediate_out is not None:
            written = write_remediations(remediate_out, report.remediations)
            message(f"wrote {len(written) - 1} least-privilege policies to {remediate_out}/")
        with output_stream(output) as out:
            if fmt == DataFormat.json:
                for chunk in render.iter_json(report):
                    emit(chunk, out)
            elif fmt == DataFormat.yaml:
                from nhictl.render.formats import to_yaml

                emit(to_yaml(render.report_dict(report)), out)
            elif fmt == "sarif":
                emit(render.render_sarif(report), out)
            elif fmt == "markdown":
                emit(render.render_markdown(report), out)
            elif out is sys.stdout:
                render.render_table(
                    report, console("stdout"), wide=STATE.wide, summary=STATE.verbosity >= 0
                )
            else:
                from rich.console import Console

                plain = Console(file=out, color_system=None, width=terminal_width())
                render.render_table(report, plain, wide=STATE.wide, summary=STATE.verbosity >= 0)
    raise typer.Exit(1 if over_threshold(report, fail_on.value if fail_on else None) else 0)


collect_app = typer.Typer(help="Collect cloud IAM snapshots for audit-creep.", no_args_is_help=True)


@collect_app.command("aws")
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
        last_accessed=not no_last_accessed,
        concurrency=concurrency,
    )
    bundle = collect_aws(opts, _progress())
    with output_stream(out) as handle:
        emit(document(bundle), handle)
    n_roles = sum(len(p.get("RoleDetailList", [])) for p in bundle["authorizationDetails"])
    message(f"wrote {out}: {n_roles} roles, {len(bundle['lastAccessed'])} last-accessed reports")
    for note in bundle["notes"]:
        message(f"note: {note}")


def register(app: typer.Typer) -> None:
    app.command("audit-creep")(audit_creep)
    app.add_typer(collect_app, name="collect")
