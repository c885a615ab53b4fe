"""Commands of the 'listing' group: ``gaitgen list [KIND]``.

Every kind of the component table is listed from the source files (no torch import), so the
listing is fast and a broken project file is reported instead of hiding the others.
"""

from __future__ import annotations

from pathlib import Path
from typing import Annotated

import typer

from gaitgen.cli.common import handle_errors

PANEL = "Inspect"
#: ``gaitgen list modules``: the building blocks, which no config names (not a component kind)
MODULE_KINDS = ("module", "modules")


def _shown(path: Path | None, module: str) -> str:
    if path is None:
        return module
    try:  # the folder resolved, not the file: a symbolic link is shown as itself (even a loop)
        return str((path.parent.resolve() / path.name).relative_to(Path.cwd().resolve()))
    except ValueError:
        return str(path)


def list_components(
    kind: Annotated[
        str | None,
        typer.Argument(
            help="Only this kind (model, loss, backbone, sampler, ..., or modules: the building "
            "blocks a model file imports).",
            show_default=False,
        ),
    ] = None,
    kind_option: Annotated[
        str | None, typer.Option("--kind", help="The same as the KIND argument.", hidden=True)
    ] = None,
) -> None:
    """List every component a config can name, by kind: built-in and the project's own; then
    the building blocks (modules) a model file imports.

    Example: gaitgen list model
    """
    from gaitgen.runtime.components import KINDS, available, kind_of, unreadable_files
    from gaitgen.runtime.project import find_project
    from gaitgen.runtime.zoo import MODELS, format_count

    wanted = kind or kind_option
    if wanted in MODULE_KINDS:
        _list_building_blocks(first=True)
        return
    if wanted is not None:
        wanted = kind_of(wanted, "KIND" if kind else "--kind").name
    project = find_project(Path.cwd())
    for number, current in enumerate([wanted] if wanted else list(KINDS)):
        spec = KINDS[current]
        rows = available(current, project)
        width = max((len(c.name) for c in rows), default=0)
        typer.echo(("\n" if number else "") + f"{spec.plural} ({len(rows)})  [{spec.config_key}]")
        for component in rows:
            origin = "built-in" if component.builtin else "project"
            size = ""
            if current == "model":  # the zoo's models: their size at OpenGait's full settings
                known = MODELS.get(component.name) if component.builtin else None
                size = f"{format_count(known.parameters) if known else '':>9}  "
            where = component.module if spec.namespace else _shown(component.path, component.module)
            typer.echo(f"  {component.name:<{width}}  {origin:<8}  {size}{where}")
        if current == "model":
            typer.echo(
                "  (parameters at full size, gaitgen/runtime/zoo/*_casiab.yaml and the like; "
                "start from one: gaitgen new-model NAME --from MODEL)"
            )
        for path, problem in unreadable_files(project, current).items():
            typer.echo(f"  (unreadable: {_shown(path, '')}: {problem})")
    if wanted is None:
        _list_building_blocks(first=False)
    if project is None:
        typer.echo("\n(not inside a gaitgen project: built-in components only)")


def _list_building_blocks(first: bool) -> None:
    """OpenGait's building blocks a model file imports (``gaitgen list modules``)."""
    from gaitgen.runtime.modules import building_blocks

    blocks = building_blocks()
    width = max(len(name) for name in blocks)
    header = f"modules ({len(blocks)})  [from gaitgen.runtime.modules import NAME, in a model file]"
    typer.echo(("" if first else "\n") + header)
    for name, module in blocks.items():
        typer.echo(f"  {name:<{width}}  built-in  {module}")


def register(app: typer.Typer) -> None:
    """Add this group's commands to the app."""
    app.command("list", rich_help_panel=PANEL)(handle_errors(list_components))
