"""``nhictl audit-creep``: a thin wrapper over the providers and the creep engine."""

from __future__ import annotations

import sys
from datetime import UTC, datetime
from enum import StrEnum
from pathlib import Path

import typer

from nhictl.cli.common import DataFormat, format_option, output_option
from nhictl.cli.output import (
    STATE,
    check_output,
    console,
    emit,
    message,
    output_stream,
    progress,
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

        bundle = collect_aws(CollectOptions(profile=profile, role_arn=role_arn), progress())
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


def register(app: typer.Typer) -> None:
    app.command("audit-creep")(audit_creep)
