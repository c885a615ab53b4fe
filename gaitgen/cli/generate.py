"""Commands of the 'generate' group: ``gaitgen init``, ``new-model`` and ``new-loss``.

Each renders every file in memory, formats Python with black, prints one status line per
file (create, identical, conflict, overwrite, update) and writes all files or none. Heavy
imports (jinja2, black, copier) happen inside the commands.
"""

from __future__ import annotations

import sys
from pathlib import Path
from typing import Annotated

import typer

from gaitgen.cli.common import echo_status, handle_errors
from gaitgen.cli.completion import complete_config, complete_model_name
from gaitgen.cli.options import DryRunOption
from gaitgen.runtime.errors import GenerateError

PANEL = "Generate code"
ModalityOption = Annotated[
    str | None,
    typer.Option(
        "--modality",
        help="The body representation the model reads: silhouette, pose, skeleton, parsing, "
        "smpl or silhouette+skeleton [default: silhouette].",
    ),
]


def init(
    dest: Annotated[
        Path,
        typer.Argument(help="Folder of the new project (created if missing).", show_default=False),
    ],
    package: Annotated[
        str | None,
        typer.Option(
            "--package", help="Python package of the models and losses [default: from DEST]."
        ),
    ] = None,
    name: Annotated[
        str | None,
        typer.Option("--name", help="Distribution name in pyproject.toml [default: DEST's name]."),
    ] = None,
    description: Annotated[
        str | None,
        typer.Option("--description", help="One line for pyproject.toml and the README."),
    ] = None,
    defaults: Annotated[
        bool,
        typer.Option(
            "--defaults", help="Ask nothing: take the default for every unanswered question."
        ),
    ] = False,
    force: Annotated[
        bool,
        typer.Option(
            "--force", help="Write into a non-empty DEST, overwriting files of the same name."
        ),
    ] = False,
    modality: ModalityOption = None,
    no_git: Annotated[
        bool,
        typer.Option("--no-git", help="Do not make DEST a git repository with a first commit."),
    ] = False,
) -> None:
    """Create a research project in DEST: configs, models, losses, tests, a working config.

    Asks its questions interactively unless --defaults or an answer flag is given. With
    --modality (other than silhouette) the project also gets a starter model that reads
    that body representation, its config on SynthGait data of it, and its test.

    Example: gaitgen init my-research --defaults
    """
    from gaitgen.generate.project import init_project, make_repository

    answered = any(value is not None for value in (package, name, description))
    interactive = not (defaults or answered) and sys.stdin.isatty()
    result = init_project(
        dest,
        name=name,
        package=package,
        description=description,
        interactive=interactive,
        force=force,
        modality=modality,
    )
    for path in result.files:
        echo_status("create", str(dest / path))
    if not no_git:
        typer.echo(make_repository(dest))
    starter = result.starter_config
    what = (
        "GaitBase on the synthetic SynthGait data"
        if starter == "configs/baseline.yaml"
        else f"{result.starter_model} on SynthGait's {result.modality_summary}"
    )
    typer.echo(
        f"\nProject ready in {dest} (package {result.package}). Next:\n"
        f"  cd {dest}\n"
        f"  pytest                                 # the project's tests\n"
        f"  gaitgen train {starter:<24}  # {what}\n"
        f"  gaitgen new-model MyGait               # add a model, its config and its test"
    )


def new_model(
    name: Annotated[
        str, typer.Argument(help="Class name of the model, e.g. MyGait.", show_default=False)
    ],
    base: Annotated[
        str | None,
        typer.Option(
            "--from",
            metavar="MODEL",
            autocompletion=complete_model_name,
            help="Start from this model (GaitGL, GaitSet, ... or one of the project's): a "
            "subclass of it and a config derived from its starter config.",
        ),
    ] = None,
    modality: ModalityOption = None,
    dry_run: DryRunOption = False,
    force: Annotated[bool, typer.Option("--force", help="Overwrite files that exist.")] = False,
) -> None:
    """Add a model: <package>/models/<name>.py, configs/<name>.yaml, tests/test_<name>.py.

    With --modality the model reads that body representation and its config trains on
    SynthGait data of it (unless the project's data holds it). With --from BASE the model
    subclasses BASE (equal to it until you change it) and its config is BASE's starter
    config on the project's data.

    Example: gaitgen new-model MyGL --from GaitGL
    """
    from gaitgen.generate.names import module_name, renamed_note, validate_class_name
    from gaitgen.generate.plan import apply, plan
    from gaitgen.generate.record import record_generated
    from gaitgen.runtime.project import editing_project

    if base is not None and modality is not None:
        raise GenerateError(
            f"--from {base} and --modality {modality}: a model derived from {base} reads what "
            f"{base} reads; give one of the two"
        )
    note = renamed_note(name, "model")
    if note:
        typer.echo(f"note: {note}")
    with editing_project(Path.cwd()) as project:
        if base is None:
            from gaitgen.generate.model import model_files

            files = model_files(project, name, modality=modality or "silhouette", force=force)
        else:
            from gaitgen.generate.derived import derived_model_files

            files = derived_model_files(project, name, base, force=force)
        apply(plan(files, force=force), root=project.root, dry_run=dry_run, echo=echo_status)
        if not dry_run:
            class_name = validate_class_name(name, "model")
            record_generated(project.root, "model", class_name, files)
    if dry_run:
        typer.echo("dry run: nothing was written")
        return
    typer.echo(f"next: gaitgen train configs/{module_name(name)}.yaml")


def new_loss(
    name: Annotated[
        str, typer.Argument(help="Class name of the loss, e.g. MyLoss.", show_default=False)
    ],
    pairwise: Annotated[
        bool,
        typer.Option(
            "--pairwise/--no-pairwise",
            help="Compare samples across the batch (takes embeddings, gathered across "
            "processes) or score each sample alone (takes logits).",
        ),
    ] = True,
    config: Annotated[
        Path | None,
        typer.Option(
            "--config",
            help="Add the loss to this config's loss_cfg (comments are kept).",
            autocompletion=complete_config,
        ),
    ] = None,
    prefix: Annotated[
        str | None,
        typer.Option(
            "--prefix",
            help="The loss's log_prefix (its training_feat key) [default: name lowercased].",
        ),
    ] = None,
    dry_run: DryRunOption = False,
    force: Annotated[bool, typer.Option("--force", help="Overwrite files that exist.")] = False,
) -> None:
    """Add a loss: <package>/losses/<name>.py and tests/test_<name>.py; with --config, use it.

    Example: gaitgen new-loss MyLoss --config configs/mygait.yaml --prefix myloss
    """
    from gaitgen.generate import yaml_edit
    from gaitgen.generate.loss import loss_files
    from gaitgen.generate.names import renamed_note, validate_class_name
    from gaitgen.generate.plan import apply, plan
    from gaitgen.generate.record import record_generated
    from gaitgen.runtime.project import editing_project

    note = renamed_note(name, "loss")
    if note:
        typer.echo(f"note: {note}")
    with editing_project(Path.cwd()) as project:
        result = loss_files(
            project, name, pairwise=pairwise, prefix=prefix, config=config, force=force
        )
        apply(plan(result.files, force=force), root=project.root, dry_run=dry_run, echo=echo_status)
        if not dry_run:
            entries = [
                {
                    "config": f.path.relative_to(project.root.resolve()).as_posix(),
                    "entry": result.entry,
                }
                for f in result.files
                if f.edit
            ]
            record_generated(
                project.root, "loss", validate_class_name(name, "loss"), result.files, entries
            )
    entry_text = "".join(yaml_edit.mapping_lines(result.entry, 2, list_item=True))
    prefix_used = result.entry["log_prefix"]
    if config is None:
        source = result.entry["inputs_from"]
        typer.echo(
            f"\nadd to loss_cfg in your config:\n{entry_text}"
            f"(inputs_from: {source} gives it the {result.model_input} and labels the model "
            f"returns for the {source!r} loss, as gaitgen's and OpenGait's models do; or drop "
            f'inputs_from and have the model return training_feat["{prefix_used}"] = '
            f'{{"{result.model_input}": ..., "labels": labs}})'
        )
    for note in result.notes:
        typer.echo(f"note: {note}")
    if dry_run:
        typer.echo("dry run: nothing was written")


def destroy(
    kind: Annotated[
        str,
        typer.Argument(help="What to remove: model or loss.", show_default=False, metavar="KIND"),
    ],
    name: Annotated[str, typer.Argument(help="Its class name, e.g. MyGait.", show_default=False)],
    dry_run: DryRunOption = False,
    force: Annotated[
        bool,
        typer.Option("--force", help="Remove files even if you edited them since."),
    ] = False,
) -> None:
    """Undo new-model, new-loss or port: remove the files and loss_cfg entries they wrote.

    A file you edited since it was generated is kept (and nothing is removed) unless
    --force. Example: gaitgen destroy model MyGait --dry-run
    """
    from gaitgen.generate.destroy import apply_destroy, other_uses, plan_destroy
    from gaitgen.runtime.project import editing_project

    with editing_project(Path.cwd()) as project:
        result = plan_destroy(project, kind, name, force=force)
        apply_destroy(project, kind, result, dry_run=dry_run, echo=echo_status)
        skip = {path.resolve() for path, _ in result.files}
        notes = result.notes + other_uses(project, kind, result.class_name, skip)
    for note in notes:
        typer.echo(f"note: {note}")
    if dry_run:
        typer.echo("dry run: nothing was removed")


def register(app: typer.Typer) -> None:
    """Add this group's commands to the app."""
    app.command("init", rich_help_panel=PANEL)(handle_errors(init))
    app.command("new-model", rich_help_panel=PANEL)(handle_errors(new_model))
    app.command("new-loss", rich_help_panel=PANEL)(handle_errors(new_loss))
    app.command("destroy", rich_help_panel=PANEL)(handle_errors(destroy))
