"""`facegate --version`, and help pages without type noise on flags (registered by cli.py)."""

from __future__ import annotations

from collections.abc import Iterator
from typing import Annotated, Any

import typer
from typer.core import TyperGroup

from facegate import __version__


def _print_version(value: bool) -> None:
    """Print the version and stop, when --version was given."""
    if value:
        typer.echo(f"facegate {__version__}")
        raise typer.Exit()


def register_version(app: typer.Typer) -> None:
    """Add the eager `--version` option to the top-level command."""

    @app.callback()
    def root(
        version: Annotated[
            bool,
            typer.Option(
                "--version",
                callback=_print_version,
                is_eager=True,
                help="Print facegate's version and exit.",
            ),
        ] = False,
    ) -> None:
        """Run a facegate command."""


def commands(command: Any, path: tuple[str, ...] = ()) -> Iterator[tuple[tuple[str, ...], Any]]:
    """Yield (name path, command) for every command under a click group, groups included."""
    yield path, command
    for name, sub in getattr(command, "commands", {}).items():
        yield from commands(sub, (*path, name))


def tidy_help(command: Any) -> Any:
    """Return the click command with flags shown without a type (no `<bool>` in any --help)."""
    for _, each in commands(command):
        help_option = each.get_help_option(typer.Context(each))
        for param in [*each.params, help_option]:
            if param is not None and getattr(param, "is_flag", False):
                param.metavar = ""
    return command


class TidyGroup(TyperGroup):
    """The `facegate` group: tidies every command's help (see tidy_help) before it runs."""

    def main(self, *args: Any, **kwargs: Any) -> Any:
        """Run the command line with tidied help pages."""
        tidy_help(self)
        return super().main(*args, **kwargs)
