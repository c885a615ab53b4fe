"""``gaitgen upgrade``: take the installed gaitgen's project template into a project.

    cd mygait && git commit -am "before upgrade"
    gaitgen upgrade            # merges the template's changes with yours; conflicts inline
    git diff                   # review; resolve any <<<<<<< markers; commit

copier is imported inside the command, so ``gaitgen --help`` stays fast.
"""

from __future__ import annotations

from pathlib import Path
from typing import Annotated

import typer

from gaitgen.cli.common import echo_status, fail, handle_errors

PANEL = "Generate code"


def upgrade_command(
    project: Annotated[
        Path,
        typer.Option("--project", "-C", help="A folder inside the project (default: here)."),
    ] = Path("."),
    template: Annotated[
        Path | None,
        typer.Option(
            "--template", hidden=True, help="For template authors: a template folder to use."
        ),
    ] = None,
    template_version: Annotated[
        str | None,
        typer.Option("--template-version", hidden=True, help="For template authors: its version."),
    ] = None,
) -> None:
    """Update this project from the template it was made with to the installed one.

    Example: cd my-research && gaitgen upgrade
    """
    from gaitgen import __version__
    from gaitgen.generate.upgrade import upgrade_project

    result = upgrade_project(project, template=template, version=template_version or __version__)
    if result.up_to_date:
        typer.echo(f"{result.root}: already at template {result.new_version}; nothing to do")
        return
    typer.echo(f"upgraded {result.root} from template {result.old_version} to {result.new_version}")
    for path in result.changed:
        echo_status(result.status(path), path)
    if not result.changed:
        typer.echo("  (no file changed: the template's changes were already in the project)")
    if result.conflicts:
        raise fail(
            f"{len(result.conflicts)} file(s) with conflicts between your edits and the "
            "template's (<<<<<<< before updating ... >>>>>>> after updating): edit them, then "
            "review with git diff and commit"
        )
    typer.echo("review with 'git diff', then commit")


def register(app: typer.Typer) -> None:
    """Add this group's commands to the app."""
    app.command("upgrade", rich_help_panel=PANEL)(handle_errors(upgrade_command))
