"""Commands of the 'data' group: ``gaitgen prepare`` and ``gaitgen check-data``.

numpy, Pillow and the runtime's data modules are imported inside the command bodies, so
``gaitgen --help`` stays fast.
"""

from __future__ import annotations

from pathlib import Path
from typing import Annotated

import typer

from gaitgen.cli.common import handle_errors
from gaitgen.cli.options import QuietOption

PANEL = "Data"


def prepare(
    raw: Annotated[
        Path,
        typer.Argument(
            help="Raw silhouettes: RAW/<id>/<type>/<view>/*.png (with --skeleton-maps: "
            "poses, RAW/<id>/<type>/<view>/<pose>.pkl).",
            show_default=False,
        ),
    ],
    out: Annotated[
        Path,
        typer.Argument(help="Output dataset folder (OpenGait layout, .pkl).", show_default=False),
    ],
    workers: Annotated[
        int, typer.Option("--workers", "-w", help="Processes working in parallel.")
    ] = 4,
    img_size: Annotated[
        int, typer.Option("--img-size", help="Output frame size (square, even).")
    ] = 64,
    force: Annotated[bool, typer.Option("--force", help="Write into a non-empty OUT.")] = False,
    skeleton_maps: Annotated[
        bool,
        typer.Option(
            "--skeleton-maps",
            help="RAW holds 2-D poses: make SkeletonGait's skeleton maps (0_heatmap.pkl) with "
            "OpenGait's pretreatment_heatmap.py recipe.",
        ),
    ] = False,
    silhouettes: Annotated[
        Path | None,
        typer.Option(
            "--silhouettes",
            help="With --skeleton-maps: a prepared silhouette dataset; each sequence's file is "
            "linked beside its maps as 1_sil.pkl (frame counts must match).",
            show_default=False,
        ),
    ] = None,
    pose_format: Annotated[
        str,
        typer.Option(
            "--pose-format",
            help="With --skeleton-maps: coco (17 joints) or openpose (18, OpenPose/AlphaPose "
            "order, as OU-MVLP and CCPG ship).",
        ),
    ] = "coco",
    pose_file: Annotated[
        str,
        typer.Option(
            "--pose-file",
            help="With --skeleton-maps: the name pattern of a sequence's pose file "
            "(e.g. '03*.pkl' for SUSTech1K).",
        ),
    ] = "*.pkl",
    quiet: QuietOption = False,
) -> None:
    """Turn raw silhouette PNGs into OpenGait's layout (crop, resize, centre, pickle), or
    poses into skeleton maps (--skeleton-maps).

    Example: gaitgen prepare raw_pngs/ data/mydataset --workers 4
    """
    from gaitgen.runtime.errors import ConfigError

    if skeleton_maps:
        _prepare_skeleton_maps(
            raw, out, silhouettes, pose_format, pose_file, workers, img_size, force
        )
        return
    given = [
        name
        for name, value, default in (
            ("--silhouettes", silhouettes, None),
            ("--pose-format", pose_format, "coco"),
            ("--pose-file", pose_file, "*.pkl"),
        )
        if value != default
    ]
    if given:
        raise ConfigError(f"{given[0]} applies to poses only; add --skeleton-maps")
    _prepare_silhouettes(raw, out, workers, img_size, force)


def _prepare_silhouettes(raw: Path, out: Path, workers: int, img_size: int, force: bool) -> None:
    from gaitgen.runtime.data.prepare import find_raw_sequences, prepare_dataset
    from gaitgen.runtime.errors import DataError
    from gaitgen.runtime.progress import ProgressBar

    if not raw.is_dir():
        raise DataError(
            f"{raw}: raw folder does not exist; give the folder holding <id>/<type>/<view>/*.png"
        )
    total = len(find_raw_sequences(raw)[0])
    with ProgressBar(total, "preparing", unit="seq") as bar:
        summary = prepare_dataset(
            raw, out, workers=workers, img_size=img_size, force=force, progress=bar.update
        )
    dropped = sum(summary.dropped_frames.values())
    reasons = ", ".join(f"{n} {r}" for r, n in sorted(summary.dropped_frames.items()))
    typer.echo(
        f"wrote {summary.sequences_written} sequences ({summary.frames_kept:,} of "
        f"{summary.frames_in:,} frames) to {out}"
    )
    typer.echo(f"dropped frames: {dropped}" + (f" ({reasons})" if reasons else ""))
    if summary.dropped_sequences:
        typer.echo(f"dropped sequences (no frame left): {len(summary.dropped_sequences)}")
        for name in summary.dropped_sequences:
            typer.echo(f"  {name}")
    if summary.short_sequences:
        typer.echo(f"sequences with fewer than 5 frames: {len(summary.short_sequences)}")
        for name, frames in summary.short_sequences:
            typer.echo(f"  {name}: {frames} frame(s)")
    for line in summary.unreadable:
        typer.echo(f"unreadable: {line}", err=True)
    if summary.ignored_files:
        typer.echo(f"ignored {summary.ignored_files} PNG(s) not at RAW/<id>/<type>/<view>/*.png")


def _prepare_skeleton_maps(
    poses: Path,
    out: Path,
    silhouettes: Path | None,
    pose_format: str,
    pose_file: str,
    workers: int,
    img_size: int,
    force: bool,
) -> None:
    from gaitgen.runtime.data.prepare_skeleton import find_pose_sequences, prepare_skeleton_maps
    from gaitgen.runtime.errors import DataError
    from gaitgen.runtime.progress import ProgressBar

    if not poses.is_dir():
        raise DataError(
            f"{poses}: pose folder does not exist; give the folder holding <id>/<type>/<view>/"
        )
    total = len(find_pose_sequences(poses, pose_file)[0])
    with ProgressBar(total, "skeleton maps", unit="seq") as bar:
        summary = prepare_skeleton_maps(
            poses,
            out,
            silhouettes=silhouettes,
            pose_format=pose_format,
            pose_file=pose_file,
            workers=workers,
            img_size=img_size,
            force=force,
            progress=bar.update,
        )
    typer.echo(
        f"wrote skeleton maps of {summary.sequences_written} sequences "
        f"({summary.frames:,} frames) to {out}"
    )
    if silhouettes is not None:
        typer.echo(f"linked {summary.linked} with their silhouettes from {silhouettes}")
        if summary.silhouettes_without_pose:
            typer.echo(
                f"{summary.silhouettes_without_pose} silhouette sequence(s) have no pose file"
            )
    if summary.skipped:
        typer.echo(f"skipped sequences: {len(summary.skipped)}", err=True)
        for line in summary.skipped:
            typer.echo(f"skipped: {line}", err=True)
    if summary.ignored_files:
        typer.echo(
            f"ignored {summary.ignored_files} file(s) matching '{pose_file}' not at "
            "RAW/<id>/<type>/<view>/"
        )


def check_data(
    root: Annotated[
        Path,
        typer.Argument(help="Dataset folder: ROOT/<id>/<type>/<view>/<files>.", show_default=False),
    ],
    partition: Annotated[
        Path | None, typer.Option("--partition", "-p", help="Partition JSON to check.")
    ] = None,
    quiet: QuietOption = False,
) -> None:
    """Count ids, sequences and frames, and list every problem (exit code 1 if any).

    Example: gaitgen check-data data/synthgait --partition data/synthgait/partition.json
    """
    from gaitgen.runtime.data.check import check_dataset, count_sequence_folders, format_report
    from gaitgen.runtime.data.layout import require_root
    from gaitgen.runtime.progress import ProgressBar

    total = count_sequence_folders(require_root(root, key="ROOT"))
    with ProgressBar(total, "checking", unit="seq") as bar:
        report = check_dataset(root, partition, progress=bar.update)
    typer.echo(format_report(report))
    if not report.ok:
        raise typer.Exit(code=1)


def register(app: typer.Typer) -> None:
    """Add this group's commands to the app."""
    app.command("prepare", rich_help_panel=PANEL)(handle_errors(prepare))
    app.command("check-data", rich_help_panel=PANEL)(handle_errors(check_data))
