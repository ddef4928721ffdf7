"""``nhictl schema``: the published JSON Schemas, for IDEs and other tools."""

from __future__ import annotations

from pathlib import Path

import typer

from nhictl.cli.common import FORMAT_OPTION, format_option, output_option, print_table, show
from nhictl.cli.output import emit, output_stream

app = typer.Typer(
    help="List and print the JSON Schemas nhictl validates against.", no_args_is_help=True
)


@app.command("list")
def list_schemas(fmt: str = FORMAT_OPTION) -> None:
    """List bundled schema names (use them with `nhictl schema show`)."""
    from nhictl.core.schemas import load_schema, schema_names

    data = [{"name": name, "id": load_schema(name).get("$id")} for name in schema_names()]
    rows = [[d["name"], d["id"]] for d in data]
    show(data, fmt, lambda: print_table(["name", "id"], rows, drop=["id"]))


@app.command("show")
def show_schema(
    name: str = typer.Argument(..., help="Schema name from `nhictl schema list`."),
    fmt: str = format_option(default="json", help="Output format (table prints the JSON too)."),
    output: Path | None = output_option(
        "Write to this file (replaced atomically) instead of stdout."
    ),
) -> None:
    """Print a schema as JSON (or YAML), e.g. to save it for your editor's language server."""
    from nhictl.core.schemas import load_schema, schema_text
    from nhictl.render.formats import to_yaml

    text = to_yaml(load_schema(name)) if fmt == "yaml" else schema_text(name)
    with output_stream(output) as out:
        emit(text, out)
