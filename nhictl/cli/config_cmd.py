"""``nhictl config``: show the merged settings and where each value came from."""

from __future__ import annotations

from typing import Any

import typer

from nhictl.cli.common import FORMAT_OPTION, print_table, show
from nhictl.cli.output import console

app = typer.Typer(
    help="Inspect settings (flags > NHICTL_* environment > config file > defaults).",
    no_args_is_help=True,
)


@app.command("show")
def show_config(fmt: str = FORMAT_OPTION) -> None:
    """Show every setting, its value, and its source (flag, env, file or default)."""
    from nhictl.core.settings import SPECS, load_settings

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

    def table() -> None:
        rows = [[n, v["value"], v["source"], v["env"]] for n, v in data["settings"].items()]
        console().print(
            f"config file: {data['config_file']}\ndata dir:    {data['data_dir']}", markup=False
        )
        print_table(["setting", "value", "source", "env"], rows, drop=["env", "source"])

    show(data, fmt, table)
