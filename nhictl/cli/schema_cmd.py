"""``nhictl schema``: the published JSON Schemas, for IDEs and other tools."""

from __future__ import annotations

import typer

app = typer.Typer(
    help="List and print the JSON Schemas nhictl validates against.", no_args_is_help=True
)


@app.command("list")
def list_schemas() -> None:
    """List bundled schema names (use them with `nhictl schema show`)."""
    from nhictl.core.schemas import schema_names

    for name in schema_names():
        print(name)


@app.command("show")
def show_schema(
    name: str = typer.Argument(..., help="Schema name from `nhictl schema list`."),
) -> None:
    """Print a schema as JSON, e.g. to save it for your editor's YAML language server."""
    from nhictl.core.schemas import schema_text

    print(schema_text(name), end="")
