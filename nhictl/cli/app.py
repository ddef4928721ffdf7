"""The ``nhictl`` command: the Typer app, global flags, and the one place errors become exit codes.

Exit codes: 0 success; 1 a negative answer (invalid manifest, denied, invalid token, findings at
or above --fail-on); 2 usage or input error; 3 an internal error (a bug: please report it).
"""

from __future__ import annotations

import io
import sys
import traceback

import click
import typer

from nhictl import __version__
from nhictl.cli import (
    collect_cmd,
    config_cmd,
    credentials_cmd,
    creep_cmd,
    db_cmd,
    demo_cmd,
    keys_cmd,
    log_cmd,
    policy_cmd,
    registry_cmd,
    schema_cmd,
    serve_cmd,
    token_cmd,
    validate_cmd,
)
from nhictl.cli.conventions import apply_conventions
from nhictl.cli.output import STATE, apply_global_options, error, reset_consoles
from nhictl.core.errors import NhictlError

EXIT_INTERNAL = 3

app = typer.Typer(
    name="nhictl",
    help="Governance for non-human identities and AI agents: validate manifests, register "
    "agents, issue just-in-time credentials, audit privilege creep.",
    no_args_is_help=True,
    add_completion=True,
    pretty_exceptions_enable=False,
    # Plain click help: rich's help renderer imports markdown-it and costs ~100 ms per call.
    rich_markup_mode=None,
    context_settings={"help_option_names": ["-h", "--help"]},
)


def _version(value: bool) -> None:
    if value:
        print(f"nhictl {__version__}")
        raise typer.Exit()


@app.callback()
def root(
    verbose: int = typer.Option(
        0,
        "--verbose",
        "-v",
        count=True,
        show_default=False,
        help="More detail; -vv also shows tracebacks.",
    ),
    quiet: int = typer.Option(
        0,
        "--quiet",
        "-q",
        count=True,
        show_default=False,
        help="Only errors on stderr: no summaries or progress.",
    ),
    color: str = typer.Option(
        None,
        "--color",
        help="Colour: auto (only on a terminal), always or never. NO_COLOR is honoured.",
        click_type=click.Choice(["auto", "always", "never"]),
        show_default=False,
    ),
    wide: bool = typer.Option(
        False, "--wide", help="Tables: show every column, whatever the terminal width."
    ),
    version: bool = typer.Option(
        False, "--version", callback=_version, is_eager=True, help="Print the version and exit."
    ),
) -> None:
    """Global options (also accepted after the command: `nhictl validate -q ...`)."""
    apply_global_options(verbose=verbose, quiet=quiet, color=color, wide=wide)


validate_cmd.register(app)
registry_cmd.register_commands(app)
app.add_typer(log_cmd.app, name="log")
app.add_typer(db_cmd.app, name="db")
app.add_typer(keys_cmd.app, name="keys")
app.add_typer(policy_cmd.app, name="policy")
app.add_typer(schema_cmd.app, name="schema")
app.add_typer(config_cmd.app, name="config")
app.add_typer(demo_cmd.app, name="demo")
credentials_cmd.register(app)
creep_cmd.register(app)
serve_cmd.register_commands(app)
token_cmd.register(app)
collect_cmd.register(app)

_command: click.Command | None = None


def command() -> click.Command:
    """The click tree, built once per process, with the shared conventions applied."""
    global _command
    if _command is None:
        _command = apply_conventions(typer.main.get_command(app))
    return _command


def _scrub(text: str) -> str:
    """The last net before stderr: token- and key-shaped text becomes ``[redacted]``."""
    from nhictl.core.redact import redact

    return redact(text)


def _traceback() -> None:
    """The traceback behind -vv, scrubbed like every other error text."""
    sys.stderr.write(_scrub(traceback.format_exc()))


def _click_error(exc: click.ClickException) -> None:
    """click's usage error (usage line, hint, message), scrubbed: click echoes bad values."""
    buffer = io.StringIO()
    exc.show(file=buffer)
    sys.stderr.write(_scrub(buffer.getvalue()))


def main(argv: list[str] | None = None) -> int:
    """Run the CLI; return (and, as a console script, exit with) the exit code."""
    reset_consoles()  # streams may differ between in-process calls (tests)
    try:
        result = command().main(args=argv, prog_name="nhictl", standalone_mode=False)
        code = result if isinstance(result, int) else 0
    except click.exceptions.Exit as exc:
        code = exc.exit_code
    except click.exceptions.Abort:
        error("aborted")
        code = 130
    except click.ClickException as exc:
        _click_error(exc)
        code = 2
    except NhictlError as exc:
        error(_scrub(exc.message), _scrub(exc.hint) if exc.hint else None)
        if STATE.verbosity >= 2:
            _traceback()
        code = exc.exit_code
    except KeyboardInterrupt:
        error("interrupted")
        code = 130
    except BrokenPipeError:
        code = 0
    except Exception as exc:  # a bug: say so plainly, keep the traceback behind -vv
        error(
            _scrub(f"internal error: {type(exc).__name__}: {exc}"),
            "this is a bug in nhictl; rerun with -vv for the traceback and report it",
        )
        if STATE.verbosity >= 2:
            _traceback()
        code = EXIT_INTERNAL
    return code


def run() -> None:
    """Console-script entry point."""
    sys.exit(main())
