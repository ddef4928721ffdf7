"""``nhictl config``: show the merged settings and where each value came from."""

from __future__ import annotations

from enum import StrEnum
from typing import Any

import typer

from nhictl.cli.output import console, emit

app = typer.Typer(
    help="Inspect settings (flags > NHICTL_* environment > config file > defaults).",
    no_args_is_help=True,
)


class ConfigFormat(StrEnum):
    table = "table"
    json = "json"
    yaml = "yaml"


@app.command("show")
def show(
    fmt: ConfigFormat = typer.Option(ConfigFormat.table, "--format", "-f", help="Output format."),
) -> None:
    """Show every setting, its value, and its source (flag, env, file or default)."""
    from nhictl.core.settings import SPECS, load_settings
    from nhictl.render.formats import to_json, to_yaml

    settings = load_settings()
    data: dict[str, Any] = {
        "config_file": str(settings.paths.config_file),
        "data_dir": str(settings.paths.data_dir),
        "settings": {
            name: {
                "value": settings.values[name],
                "source": settings.sources[name],
                "env": SPECS[name].env,
                "help": SPECS[name].help,
            }
            for name in SPECS
        },
    }
    if fmt is ConfigFormat.json:
        emit(to_json(data))
        return
    if fmt is ConfigFormat.yaml:
        emit(to_yaml(data))
        return
    from nhictl.render.table import build_table

    rows = [(n, v["value"], v["source"], v["env"]) for n, v in data["settings"].items()]
    console().print(f"config file: {data['config_file']}\ndata dir:    {data['data_dir']}")
    console().print(build_table(["setting", "value", "source", "env"], rows))
