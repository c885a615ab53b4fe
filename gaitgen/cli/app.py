"""The ``gaitgen`` Typer application.

Each command group is a module of this package with a ``register(app)`` function; modules
import heavy libraries (torch, copier) inside command bodies only, so ``gaitgen --help``
stays fast. ``tests/test_cli_imports.py`` checks that.
"""

from __future__ import annotations

import importlib
from typing import Annotated

import typer

from gaitgen import __version__
from gaitgen.cli.common import STATE
from gaitgen.cli.help import GaitgenGroup
from gaitgen.cli.options import DebugOption

# command-group modules, in the order their panels appear in --help
COMMAND_MODULES = (
    "generate",
    "port",
    "run",
    "check",
    "features",
    "evaluate",
    "compare",
    "synth",
    "data",
    "listing",
    "upgrade",
)

app = typer.Typer(
    name="gaitgen",
    cls=GaitgenGroup,  # how help and usage errors read (gaitgen/cli/help.py)
    invoke_without_command=True,  # bare gaitgen: the help, exit code 0
    add_completion=True,  # --install-completion / --show-completion (gaitgen/cli/completion.py)
    pretty_exceptions_enable=False,
    context_settings={"help_option_names": ["-h", "--help"]},
)


def _version(value: bool) -> None:
    if value:
        typer.echo(f"gaitgen {__version__}")
        raise typer.Exit()


@app.callback()
def _root(
    ctx: typer.Context,
    debug: DebugOption = False,
    version: Annotated[
        bool,
        typer.Option(
            "--version", callback=_version, is_eager=True, help="Print the version and exit."
        ),
    ] = False,
) -> None:
    """Generate, train and evaluate gait-recognition models (OpenGait-compatible).

    Example: gaitgen init my-research && cd my-research && gaitgen train configs/baseline.yaml
    """
    STATE.debug = debug
    if ctx.invoked_subcommand is None:
        typer.echo(ctx.get_help())
        raise typer.Exit()


for _name in COMMAND_MODULES:
    importlib.import_module(f"gaitgen.cli.{_name}").register(app)


def main() -> None:
    """Console-script entry point."""
    app()
