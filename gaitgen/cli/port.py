"""Commands of the 'port' group: ``gaitgen port FILE`` (an OpenGait model file into a project)."""

from __future__ import annotations

from pathlib import Path
from typing import Annotated

import typer

from gaitgen.cli.common import echo_status, fail, handle_errors
from gaitgen.cli.completion import complete_config
from gaitgen.cli.options import DryRunOption

PANEL = "Generate code"


def port(
    source: Annotated[
        Path,
        typer.Argument(
            help="An OpenGait model file, e.g. opengait/modeling/models/gaitset.py.",
            show_default=False,
        ),
    ],
    name: Annotated[
        str | None,
        typer.Option(
            "--name", help="Rename its model class (keeps a built-in of the same name usable)."
        ),
    ] = None,
    config: Annotated[
        Path | None,
        typer.Option(
            "--config",
            help="OpenGait's config of the model, for configs/<name>.yaml [default: gaitgen's "
            "starter of the model, else the project's default config].",
            autocompletion=complete_config,
        ),
    ] = None,
    keep_unmapped: Annotated[
        bool,
        typer.Option(
            "--keep-unmapped",
            help="Write the file even when some imports cannot be mapped (they stay, marked).",
        ),
    ] = False,
    dry_run: DryRunOption = False,
    force: Annotated[bool, typer.Option("--force", help="Overwrite a file that exists.")] = False,
) -> None:
    """Copy an OpenGait model file into <package>/models/, rewriting only its imports.

    Each import from OpenGait's package (base_model, modules, backbones, utils) becomes the
    gaitgen one; anything gaitgen lacks is listed as FILE:LINE and nothing is written.
    It also writes configs/<name>.yaml and tests/test_<name>.py, so the project's pytest
    builds and trains the ported model.

    Example: gaitgen port OpenGait/opengait/modeling/models/gaitset.py
    """
    from gaitgen.generate.names import renamed_note
    from gaitgen.generate.plan import apply, plan
    from gaitgen.generate.port import port_file
    from gaitgen.generate.record import record_generated
    from gaitgen.runtime.project import editing_project

    note = renamed_note(name, "model") if name is not None else None
    if note:
        typer.echo(f"note: {note}")
    with editing_project(Path.cwd()) as project:
        result = port_file(project, source, name=name, config=config)
        for problem in result.problems:
            typer.echo(f"cannot map: {problem}", err=True)
        if result.problems and not keep_unmapped:
            raise fail(
                f"{len(result.problems)} import(s) of {source} cannot be mapped (listed "
                "above); nothing was written (fix them in the file, or --keep-unmapped to "
                "write it marked)"
            )
        apply(plan(result.files, force=force), root=project.root, dry_run=dry_run, echo=echo_status)
        if not dry_run:
            record_generated(project.root, "model", result.models[0], result.files)
    for note in result.notes:
        typer.echo(f"note: {note}")
    if dry_run:
        typer.echo("dry run: nothing was written")
        return
    models = ", ".join(result.models)
    config_path = f"configs/{result.files[0].path.stem}.yaml"
    typer.echo(f"ported {models}: gaitgen train {config_path}; pytest runs its test")


def register(app: typer.Typer) -> None:
    """Add this group's commands to the app."""
    app.command("port", rich_help_panel=PANEL)(handle_errors(port))
