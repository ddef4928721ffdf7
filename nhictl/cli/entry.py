"""The ``nhictl`` console script and ``python -m nhictl``: start-up without garbage collection.

Importing the CLI (click, typer, every command module) and building its command tree creates
~100k long-lived objects and no garbage worth collecting, yet allocation counts trigger
collections that re-scan them all: ~10 % of ``nhictl --help``. So the cyclic collector is
paused while the CLI is imported, what was built is frozen (never scanned again), and the
collector runs as usual for the command itself.
"""

from __future__ import annotations

import gc


def run() -> None:
    """Console-script entry point (see ``nhictl.cli.app.run``)."""
    was_enabled = gc.isenabled()
    gc.disable()
    try:
        from nhictl.cli.app import run as run_app
    finally:
        gc.freeze()
        if was_enabled:
            gc.enable()
    run_app()
