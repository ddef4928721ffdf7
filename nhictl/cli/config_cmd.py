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
    """Show every setting as written (1h, 1MiB), where it came from, and the config file read.

    JSON/YAML: `value` is the text as written, `parsed` what nhictl uses (seconds, bytes,
    lists); `config_file` is null when no config file exists (`config_path` says where nhictl
    looks for one: NHICTL_CONFIG, else the XDG config folder or NHICTL_HOME).
    """
    from nhictl.core.settings import SPECS, load_settings

    settings = load_settings()
    read = settings.config_file
    data: dict[str, Any] = {
        "config_file": str(read) if read else None,
        "config_path": str(settings.config_path or settings.paths.config_file),
        "data_dir": str(settings.paths.data_dir),
        "settings": {
            name: {
                "value": settings.texts[name],
                "parsed": settings.shown(name),
                "source": settings.sources[name],
                "env": SPECS[name].env,
                "help": SPECS[name].help,
            }
            for name in SPECS
        },
    }

    def table() -> None:
        rows = [[n, v["value"], v["source"], v["env"]] for n, v in data["settings"].items()]
        where = read if read else f"none (no config file; nhictl looks for {data['config_path']})"
        console().print(f"config file: {where}\ndata dir:    {data['data_dir']}", markup=False)
        print_table(["setting", "value", "source", "env"], rows, drop=["env", "source"])

    show(data, fmt, table)
