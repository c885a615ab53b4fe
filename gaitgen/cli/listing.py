"""Commands of the 'listing' group: ``gaitgen list``.

Components are found by reading the source files (no torch import), so the listing is fast
and a broken project file is reported instead of hiding the others.
"""

from __future__ import annotations

from pathlib import Path
from typing import Annotated

import typer

from gaitgen.cli.common import fail, handle_errors

PANEL = "Inspect"
KINDS = ("model", "loss", "sampler", "transform")
PLURALS = {"model": "models", "loss": "losses", "sampler": "samplers", "transform": "transforms"}


def _shown(path: Path) -> str:
    try:
        return str(path.resolve().relative_to(Path.cwd().resolve()))
    except ValueError:
        return str(path)


def list_components(
    kind: Annotated[
        str | None,
        typer.Option("--kind", help="Only this kind: model, loss, sampler or transform."),
    ] = None,
) -> None:
    """List the models, losses, samplers and transforms: built-in and the project's own."""
    from gaitgen.runtime.catalog import (
        builtin_components,
        project_components,
        unreadable_project_files,
    )
    from gaitgen.runtime.project import find_project

    if kind is not None and kind not in KINDS:
        raise fail(f"--kind {kind!r} is not one of {', '.join(KINDS)}")
    from gaitgen.runtime.zoo import MODELS, format_count

    project = find_project(Path.cwd())
    for number, current in enumerate([kind] if kind else KINDS):
        rows = [(c.name, "built-in", c.path) for c in builtin_components(current)]
        if project is not None:
            rows += [(c.name, "project", c.path) for c in project_components(project, current)]
        width = max((len(name) for name, _, _ in rows), default=0)
        typer.echo(("\n" if number else "") + f"{PLURALS[current]} ({len(rows)})")
        for name, origin, path in rows:
            size = ""
            if current == "model":  # the zoo's models: their size at OpenGait's full settings
                known = MODELS.get(name) if origin == "built-in" else None
                size = f"{format_count(known.parameters) if known else '':>9}  "
            typer.echo(f"  {name:<{width}}  {origin:<8}  {size}{_shown(path)}")
        if current == "model":
            typer.echo(
                "  (parameters at full size, gaitgen/runtime/zoo/*_casiab.yaml and the like; "
                "start from one: gaitgen new-model NAME --from MODEL)"
            )
        if project is not None:
            for path, problem in unreadable_project_files(project, current).items():
                typer.echo(f"  (unreadable: {_shown(path)}: {problem})")
    if project is None:
        typer.echo("\n(not inside a gaitgen project: built-in components only)")


def register(app: typer.Typer) -> None:
    """Add this group's commands to the app."""
    app.command("list", rich_help_panel=PANEL)(handle_errors(list_components))
