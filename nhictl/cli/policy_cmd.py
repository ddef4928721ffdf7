"""``nhictl policy``: check policy files."""

from __future__ import annotations

from pathlib import Path

import typer

from nhictl.cli.common import FORMAT_OPTION, print_table, show
from nhictl.cli.output import message

app = typer.Typer(help="Check Cedar policy files against nhictl's schema.", no_args_is_help=True)


@app.command("validate")
def validate(
    paths: list[Path] = typer.Argument(
        None, help="Policy files or folders (default: the registry's policy folders)."
    ),
    fmt: str = FORMAT_OPTION,
) -> None:
    """Parse and type-check policies; exit 1 when any is invalid."""
    from nhictl.core.policy import default_policy_dir, validate_policy_files
    from nhictl.core.runtime import Runtime

    if not paths:
        runtime = Runtime()
        paths = runtime.policy_dirs if runtime.policy_dir.is_dir() else [default_policy_dir()]
    problems = validate_policy_files(paths)
    rows = [[str(p.file), p.line, p.policy_id, p.message] for p in problems]
    show(
        {"valid": not problems, "problems": [p.to_dict() for p in problems]},
        fmt,
        lambda: print_table(["file", "line", "policy", "problem"], rows) if rows else None,
    )
    if problems:
        raise typer.Exit(1)
    message(f"policies valid: {', '.join(str(p) for p in paths)}")
