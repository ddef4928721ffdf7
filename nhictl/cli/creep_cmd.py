"""``nhictl audit-creep``: a thin wrapper over the providers and the creep engine."""

from __future__ import annotations

import sys
from datetime import UTC, datetime
from enum import StrEnum
from pathlib import Path

import click
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


class TreatUntracked(StrEnum):
    used = "used"
    unused = "unused"


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
    provider: str = typer.Option(
        "aws",
        "--provider",
        help="Cloud to audit; all: every provider found under --snapshot-dir, in one report.",
        click_type=click.Choice(["aws", "gcp", "azure", "all"]),
    ),
    snapshot: Path | None = typer.Option(
        None,
        "--snapshot",
        help="AWS: `aws iam get-account-authorization-details` output (one or several pages), "
        "an nhictl bundle from `nhictl collect aws`, or a folder holding them; - reads stdin. "
        "GCP: a project folder of gcloud outputs, or a folder of project folders. Azure: a "
        "tenant folder of az outputs (docs/audit-creep.md lists the files).",
    ),
    snapshot_dir: Path | None = typer.Option(
        None,
        "--snapshot-dir",
        help="With --provider all: a folder holding aws/, gcp/ and azure/ snapshots.",
    ),
    last_accessed: Path | None = typer.Option(
        None,
        "--last-accessed",
        help="AWS: GetServiceLastAccessedDetails responses: JSON object ARN -> response, or a "
        "directory of such files; - reads stdin.",
    ),
    access_keys: Path | None = typer.Option(
        None,
        "--access-keys",
        help="AWS: ListAccessKeys output with AccessKeyLastUsed merged in; - reads stdin.",
    ),
    resources: Path | None = typer.Option(
        None,
        "--resources",
        help="AWS: existing resources that run as a role (lambda-functions.json, "
        "ec2-instances.json, ...: AWS CLI output): a folder of such files, or one JSON object "
        "keyed by their names without .json; - reads stdin. A --snapshot folder's own are "
        "read without it (docs/audit-creep.md, Resource inventory).",
    ),
    manifests: list[str] | None = typer.Option(
        None,
        "--manifests",
        help="Registration manifests (files, directories, globs, - for stdin); repeatable.",
    ),
    baseline: Path | None = typer.Option(
        None,
        "--baseline",
        help="An earlier snapshot of the same kind to measure growth against (with "
        "--snapshot-dir: a folder of the same layout); - reads stdin (AWS).",
    ),
    exclusions: Path | None = typer.Option(
        None, "--exclusions", help="Exclusions file (YAML/JSON), a reason per entry; - reads stdin."
    ),
    unused_days: int = typer.Option(90, "--unused-days", help="Usage window in days."),
    key_max_age: int = typer.Option(
        90, "--key-max-age", help="Age limit in days of access keys, SA keys and client secrets."
    ),
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
        help="Write least-privilege policies (AWS) or custom roles here, never applied: one per "
        "principal with "
        "something to remove (split into NAME.2.json ... to fit AWS's 6,144-character limit), "
        "none for excluded principals; index.json says per principal what its fix removes, "
        "scopes, leaves for review or cannot close, or why there is no file.",
    ),
    treat_untracked: TreatUntracked = typer.Option(
        TreatUntracked.used,
        "--treat-untracked-as",
        help="What --remediate-out keeps of actions whose use is unknown (AWS tracks only some "
        "actions of a service; Azure's log cannot see reads): used keeps them so the fix does "
        "not break the workload (default); unused drops them. The report shows them as unknown "
        "either way.",
        case_sensitive=False,
    ),
    as_of: str | None = typer.Option(
        None,
        "--as-of",
        help="Judge ages and windows as of this ISO date/time (default: now); for "
        "reproducible reports.",
    ),
    live: bool = typer.Option(
        False,
        "--live",
        help="Collect now (as `nhictl collect PROVIDER`, read-only), then audit.",
    ),
    profile: str | None = typer.Option(None, "--profile", help="AWS profile for --live."),
    role_arn: str | None = typer.Option(None, "--role-arn", help="Role to assume for --live."),
    project: str | None = typer.Option(None, "--project", help="GCP project for --live."),
    subscription: list[str] | None = typer.Option(
        None, "--subscription", help="Azure subscription for --live; repeatable."
    ),
) -> None:
    """Audit privilege creep of non-human principals in AWS, GCP and Azure: declared vs
    granted vs used (used / unknown / unused) vs grown. Principals are ranked by risk (the
    worst active finding, then reach, then the creep index, which stays a separate 0-100
    number); escalation paths across principals (assume, PassRole, existing resources) are
    named hop by hop. Details: docs/audit-creep.md.

    Exit code 0, or 1 when --fail-on is set and an unsuppressed finding is at or above it;
    2 for unreadable or malformed input.

    \b
    Examples:
      nhictl audit-creep --snapshot authz.json --last-accessed la.json --manifests agents/
      nhictl audit-creep --snapshot bundle.json --format sarif -o creep.sarif --fail-on high
      nhictl audit-creep --provider gcp --snapshot gcp/ --manifests agents/
      nhictl audit-creep --provider all --snapshot-dir exports/ --manifests agents/
      nhictl audit-creep --snapshot sample-configs/aws --remediate-out fixes/
      nhictl audit-creep --live --profile audit --remediate-out fixes/
    """
    from nhictl.core.inputfile import check_one_stdin
    from nhictl.creep.engine import over_threshold
    from nhictl.creep.remediation.files import fix_files, write_remediations
    from nhictl.providers.audit import (
        AuditRequest,
        LiveSource,
        audit,
        audit_live,
        audit_snapshot_dir,
    )
    from nhictl.render import creep as render

    check_output(output)  # before the analysis (or a live collection), not after
    check_one_stdin(
        {
            "--snapshot": snapshot,
            "--last-accessed": last_accessed,
            "--access-keys": access_keys,
            "--resources": resources,
            "--baseline": baseline,
            "--exclusions": exclusions,
            **{f"--manifests {m}": m for m in manifests or []},
        }
    )
    if provider == "all":
        if snapshot_dir is None:
            raise InputError("--provider all needs --snapshot-dir DIR (with aws/, gcp/, azure/)")
        if snapshot is not None or live:
            raise InputError("--provider all reads --snapshot-dir only, not --snapshot or --live")
        if last_accessed is not None or access_keys is not None or resources is not None:
            raise InputError(
                "with --snapshot-dir, AWS usage and resource files go in DIR/aws "
                "(docs/audit-creep.md)"
            )
    elif snapshot_dir is not None:
        raise InputError("--snapshot-dir goes with --provider all; use --snapshot for one provider")
    request = AuditRequest(
        snapshot=snapshot,
        manifests=list(manifests or []),
        baseline=baseline,
        exclusions=exclusions,
        now=_parse_now(as_of),
        unused_days=unused_days,
        key_max_age_days=key_max_age,
        remediate=remediate_out is not None,
        treat_untracked="unused" if treat_untracked is TreatUntracked.unused else "used",
        last_accessed=last_accessed,
        access_keys=access_keys,
        resources=resources,
    )
    report = None
    if live:
        source = LiveSource(profile, role_arn, project, list(subscription or []))
        # Collection (threads, SDKs) keeps the cyclic collector; the offline batch does not.
        report = audit_live(provider, request, source, progress())
    with cyclic_gc_paused():
        if report is None:  # not collected and audited live
            if snapshot_dir is not None:
                report = audit_snapshot_dir(snapshot_dir, request)
            else:
                report = audit(provider, request)
        if remediate_out is not None:
            written = write_remediations(remediate_out, report.remediations)
            skipped = sum(1 for rem in report.remediations.values() if "skipped" in rem)
            message(
                f"wrote {fix_files(written)} least-privilege policy files to {remediate_out}/ "
                f"({len(report.remediations) - skipped} principals with a fix, {skipped} "
                "without: see index.json)"
            )
            still = sum(1 for rem in report.remediations.values() if rem.get("remaining"))
            if still:
                message(
                    f"{still} principal(s) keep a path to admin that no fix of their own "
                    "policies closes (another role's trust names them): see 'remaining' in "
                    "index.json"
                )
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
