"""The habits every command shares, applied once to the built click tree.

- Global options (``-v``, ``-q``, ``--color``, ``--wide``) are accepted after the command too:
  each leaf command gets its own copy, which updates the same ``STATE`` the root does.
- Legacy spellings (``--out``, ``--lifetime``) keep working but are hidden from ``--help``.

Commands are written as plain Typer functions; nothing here is imported by them.
"""

from __future__ import annotations

import inspect
from collections.abc import Callable, Iterator
from typing import Any

import click

from nhictl.cli.output import apply_global_options

# Old spelling -> the spelling ``--help`` shows. Both parse; only the new one is documented.
LEGACY_ALIASES = {"--out": "--output", "--lifetime": "--ttl"}

COLOR_CHOICES = ("auto", "always", "never")


def _folds_into(name: str) -> Callable[[click.Context, click.Parameter, Any], None]:
    """A callback that folds the option's value into the global state as ``name``."""

    def callback(ctx: click.Context, _param: click.Parameter, value: Any) -> None:
        if value and not ctx.resilient_parsing:
            apply_global_options(**{name: value})

    return callback


def global_options() -> list[click.Option]:
    """Fresh copies of the global options, for one leaf command (values never reach it)."""

    def option(decls: list[str], name: str, help: str, **kind: Any) -> click.Option:
        return click.Option(
            decls, expose_value=False, callback=_folds_into(name), help=help, **kind
        )

    return [
        option(
            ["-v", "--verbose"], "verbose", "More detail; -vv also shows tracebacks.", count=True
        ),
        option(
            ["-q", "--quiet"],
            "quiet",
            "Only errors on stderr: no summaries or progress.",
            count=True,
        ),
        option(
            ["--color"],
            "color",
            "Colour: auto (only on a terminal), always or never. NO_COLOR is honoured.",
            type=click.Choice(COLOR_CHOICES),
        ),
        option(
            ["--wide"],
            "wide",
            "Tables: show every column, whatever the terminal width.",
            is_flag=True,
        ),
    ]


def _hide_legacy_aliases(option: click.Option) -> None:
    """Keep old spellings parseable but out of ``--help``."""
    hidden = {
        old for old, new in LEGACY_ALIASES.items() if old in option.opts and new in option.opts
    }
    if not hidden:
        return
    original = option.get_help_record

    def help_record(ctx: click.Context) -> tuple[str, str] | None:
        opts = option.opts
        option.opts = [name for name in opts if name not in hidden]
        try:
            return original(ctx)
        finally:
            option.opts = opts

    option.get_help_record = help_record  # type: ignore[method-assign]


def leaf_commands(command: click.Command, path: tuple[str, ...] = ()) -> Iterator[Any]:
    """Every runnable command with its path, e.g. (("credentials", "list"), <Command>)."""
    if isinstance(command, click.Group):
        for name, sub in sorted(command.commands.items()):
            yield from leaf_commands(sub, (*path, name))
    else:
        yield path, command


def _restore_argument_help(command: click.Command) -> None:
    """typer 0.25 sets an argument's help, then click 8.5's ``Argument.__init__`` resets it to
    None: take it back from the command function's ``typer.Argument(help=...)``."""
    function = getattr(command.callback, "__wrapped__", None)
    if function is None:
        return
    declared = inspect.signature(function).parameters
    for param in command.params:
        if isinstance(param, click.Argument) and not getattr(param, "help", None):
            info = declared.get(param.name or "")
            text = getattr(info.default, "help", None) if info is not None else None
            if text:
                param.help = text


def _no_second_arguments_section(ctx: click.Context, formatter: click.HelpFormatter) -> None:
    """click 8.5.1 writes its own "Positional arguments" section; typer's options formatter
    already lists them under "Arguments", so the help showed every argument twice."""


def apply_conventions(root: click.Command) -> click.Command:
    """Add the global options to every leaf, show argument help and hide legacy aliases;
    return ``root``."""
    for _path, command in leaf_commands(root):
        _restore_argument_help(command)
        if hasattr(command, "format_arguments"):
            command.format_arguments = _no_second_arguments_section
        for param in command.params:
            if isinstance(param, click.Option):
                _hide_legacy_aliases(param)
        command.params.extend(global_options())
    return root
