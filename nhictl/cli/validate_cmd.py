"""``nhictl validate``: check registration manifests against the schema and the semantic rules."""

from __future__ import annotations

import sys
from pathlib import Path

import typer

from nhictl.cli.common import FormatChoice, output_option
from nhictl.cli.output import STATE, color_enabled, emit, message, output_stream


def validate(
    paths: list[str] = typer.Argument(
        ...,
        help="Manifest files, directories (searched for *.yaml, *.yml, *.json), globs, "
        "or - for stdin.",
        show_default=False,
    ),
    fmt: str = typer.Option(
        "table",
        "--format",
        "-f",
        help="Output format (NHICTL_FORMAT sets the default).",
        envvar="NHICTL_FORMAT",
        click_type=FormatChoice(["table", "json", "yaml", "sarif"]),
    ),
    strict: bool = typer.Option(False, "--strict", help="Fail (exit 1) on warnings too."),
    ttl_ceiling: str = typer.Option(
        None,
        "--ttl-ceiling",
        help="Longest maxTtl a manifest may declare, e.g. 30m. [default: 1h, or "
        "NHICTL_TTL_CEILING / config]",
        show_default=False,
    ),
    max_file_size: str = typer.Option(
        None,
        "--max-file-size",
        help="Refuse larger input files, e.g. 2MiB. [default: 1MiB]",
        show_default=False,
    ),
    output: Path | None = output_option("Write the report to this file instead of stdout."),
) -> None:
    """Validate agent registration manifests (YAML or JSON, several documents per file).

    Each problem is reported as FILE:LINE:COL: severity: $.json.path: message [check].
    Exit code 0 when every document is valid (warnings allowed unless --strict), 1 when any
    is invalid, 2 when an input cannot be read or parsed at all.

    \b
    Examples:
      nhictl validate agents/
      nhictl validate 'agents/**/*.yaml' --format sarif -o nhictl.sarif
      cat agent.yaml | nhictl validate -
    """
    from nhictl.core.durations import parse_duration
    from nhictl.core.manifest import ManifestValidator, Summary, ValidateOptions
    from nhictl.core.settings import SPECS, load_settings
    from nhictl.render.formats import OutputFormat
    from nhictl.render.validation import make_renderer

    flags = {
        "ttl_ceiling": parse_duration(ttl_ceiling) if ttl_ceiling else None,
        "max_file_size": SPECS["max_file_size"].parse(max_file_size) if max_file_size else None,
    }
    settings = load_settings(flags)
    validator = ManifestValidator(
        ValidateOptions(
            ttl_ceiling_seconds=settings.ttl_ceiling_seconds,
            max_bytes=settings.max_file_size,
            cache_dir=settings.paths.cache_dir,
        )
    )
    renderer = make_renderer(
        OutputFormat(fmt),
        strict=strict,
        verbose=STATE.verbosity > 0,
        color=output is None and color_enabled(),
        quiet=STATE.verbosity < 0,
    )
    summary = Summary()
    with output_stream(output) as out:
        emit(renderer.begin(), out)
        for result in validator.validate_paths(paths, stdin=sys.stdin.buffer, strict=strict):
            if result.skipped:
                message(result.issues[0].message)
            summary.add(result, strict=strict)
            emit(renderer.result(result), out)
        emit(renderer.end(summary), out)
    raise typer.Exit(summary.exit_code)


def register(app: typer.Typer) -> None:
    app.command("validate")(validate)
