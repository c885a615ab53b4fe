"""Commands of the 'synth' group: ``gaitgen synth`` writes a SynthGait dataset.

Nothing heavy is imported at module level: numpy and the generator load inside the command.
"""

from __future__ import annotations

from pathlib import Path
from typing import Annotated

import typer

from gaitgen.cli.common import handle_errors
from gaitgen.cli.options import QuietOption
from gaitgen.runtime.synth.layouts import LAYOUTS

PANEL = "Data"

# one line per layout, from the table (runtime/synth/layouts.py imports nothing heavy)
LAYOUT_HELP = "; ".join(
    f"{name} ({layout.dataset_name}, {layout.eval_func})" for name, layout in LAYOUTS.items()
)


def synth(
    out: Annotated[
        Path,
        typer.Argument(help="Dataset folder to create (OpenGait layout).", show_default=False),
    ],
    subjects: Annotated[
        int | None,
        typer.Option("--subjects", "-n", help="Number of identities (default 40); 60% train."),
    ] = None,
    views: Annotated[
        str | None,
        typer.Option(
            "--views",
            help="Comma-separated view angles, e.g. 000,090,180 (default: 11 views).",
        ),
    ] = None,
    frames: Annotated[
        int | None, typer.Option("--frames", "-t", help="Frames per sequence (default 32).")
    ] = None,
    seed: Annotated[
        int, typer.Option("--seed", help="Seed: the same seed gives the same bytes.")
    ] = 0,
    workers: Annotated[
        int, typer.Option("--workers", "-w", help="Processes to generate with.")
    ] = 1,
    modalities: Annotated[
        str | None,
        typer.Option(
            "--modalities",
            help="What to write, comma-separated: silhouette,pose,skeleton,parsing,smpl, or "
            "all (default: silhouette). File names: see the README's data section.",
        ),
    ] = None,
    pose_format: Annotated[
        str,
        typer.Option(
            "--pose-format",
            help="Joint order of the 2-D poses (and of the skeleton maps' poses): coco "
            "(COCO-17) or openpose (OpenPose/AlphaPose 18).",
        ),
    ] = "coco",
    layout: Annotated[
        str | None,
        typer.Option(
            "--layout",
            help="Which evaluation's type/view naming and partition to write (default "
            "casia-b): " + LAYOUT_HELP,
        ),
    ] = None,
    preview: Annotated[
        bool,
        typer.Option(
            "--preview",
            help="Also write OUT/preview.png (frames x views per condition, every modality "
            "side by side).",
        ),
    ] = False,
    force: Annotated[
        bool, typer.Option("--force", help="Replace OUT if it exists and is not empty.")
    ] = False,
    quiet: QuietOption = False,
) -> None:
    """Generate SynthGait, a synthetic gait dataset (CASIA-B's nm/bg/cl x 11 views, or another
    evaluation's layout with --layout).

    Example: gaitgen synth data/synthgait --subjects 40 --preview
    """
    from gaitgen.runtime.synth import DEFAULT_FRAMES, DEFAULT_SUBJECTS, parse_views
    from gaitgen.runtime.synth.layouts import get_layout
    from gaitgen.runtime.synth.spec import check_count, check_pose_format, parse_modalities

    subjects = check_count("--subjects", DEFAULT_SUBJECTS if subjects is None else subjects)
    frames = check_count("--frames", DEFAULT_FRAMES if frames is None else frames)
    check_count("--workers", workers)
    check_count("--seed", seed, minimum=0)
    chosen = get_layout(layout)
    view_names = None if views is None else parse_views(views)
    modality_names = parse_modalities(modalities)
    check_pose_format(pose_format)

    from gaitgen.runtime.synth import generate_dataset, write_preview

    partition = generate_dataset(
        out,
        subjects=subjects,
        views=view_names,
        frames=frames,
        seed=seed,
        workers=workers,
        progress=True,  # a bar unless --quiet silenced it (gaitgen/cli/options.py)
        overwrite=force,
        modalities=modality_names,
        pose_format=pose_format,
        layout=chosen.name,
    )
    sequences = sum(1 for folder in out.glob("*/*/*") if folder.is_dir())
    typer.echo(f"wrote {sequences} sequences of {subjects} subjects to {out}")
    typer.echo(f"partition: {partition}")
    if layout is not None:
        typer.echo(
            f"configs: data_cfg.dataset_name and test_dataset_name: {chosen.dataset_name}; "
            f"evaluator_cfg.eval_func: {chosen.eval_func}"
        )
    if preview:
        sheet = write_preview(
            out / "preview.png",
            seed=seed,
            views=view_names or chosen.views or None,
            frames=frames,
            modalities=modality_names,
            pose_format=pose_format,
        )
        typer.echo(f"preview: {sheet}")


def register(app: typer.Typer) -> None:
    """Add this group's commands to the app."""
    app.command("synth", rich_help_panel=PANEL)(handle_errors(synth))
