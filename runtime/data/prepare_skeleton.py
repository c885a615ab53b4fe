"""``gaitgen prepare --skeleton-maps``: pose pickles to SkeletonGait's skeleton maps.

Input ``POSES/<id>/<type>/<view>/<pose file>`` (one file per sequence matching ``pose_file``,
default ``*.pkl``), each holding float ``[T, 17, 3]`` COCO-17 poses (x, y in pixels,
confidence), ``[T, 18, 3]`` OpenPose/AlphaPose-18 poses (``pose_format="openpose"``), or
GREW's rows ``[T, 2 + 51]``. Pickles are read with the restricted unpickler of
:mod:`.io` (nothing in them is executed).

Output ``OUT/<id>/<type>/<view>/0_heatmap.pkl``: uint8 ``[T, 2, S, S]`` maps made by
:func:`.skeleton_maps.skeleton_maps` (OpenGait's ``pretreatment_heatmap.py`` recipe). With
``silhouettes``, the sequence's silhouette file ``SIL/<id>/<type>/<view>/<one file>`` is
linked beside it as ``1_sil.pkl`` (as OpenGait's ``ln_sil_heatmap.py`` does), so the folder
holds both modalities with equal frame counts. A sequence that cannot be made (a pose file
of the wrong shape or unreadable, no or several silhouette files, frame counts that differ)
is skipped and reported in one line naming it; the others are written.
"""

from __future__ import annotations

import pickle
from collections.abc import Callable
from dataclasses import dataclass, field
from pathlib import Path

import numpy as np

from ..atomic import atomic_symlink, atomic_write_bytes
from ..errors import ConfigError, DataError
from .io import SUPPORTED_SUFFIXES, load_sequence_file
from .prepare import check_output_folder, check_prepare_options, map_in_workers
from .skeleton_maps import SkeletonMapConfig, skeleton_maps

POSE_FORMATS = ("coco", "openpose")
HEATMAP_FILE = "0_heatmap.pkl"
SILHOUETTE_LINK = "1_sil"  # + the silhouette file's suffix
GREW_ROW = 2 + 17 * 3  # GREW's pose rows: 2 leading numbers, then 17 joints (x, y, score)


@dataclass
class SkeletonResult:
    """What happened to one sequence."""

    key: tuple[str, str, str]
    frames: int = 0
    linked: bool = False
    problem: str = ""  # the one line saying why it was skipped


@dataclass
class SkeletonSummary:
    """Totals of a ``prepare --skeleton-maps`` run."""

    sequences_written: int = 0
    frames: int = 0
    linked: int = 0
    skipped: list[str] = field(default_factory=list)
    silhouettes_without_pose: int = 0
    ignored_files: int = 0


def find_pose_sequences(
    root: Path, pose_file: str = "*.pkl"
) -> tuple[dict[tuple[str, str, str], list[Path]], int]:
    """Group the files matching ``pose_file`` under ``root/<id>/<type>/<view>/``.

    Returns:
        ``({(id, type, view): sorted files}, files matching at other depths)``.
    """
    groups: dict[tuple[str, str, str], list[Path]] = {}
    ignored = 0
    for path in root.rglob(pose_file):
        parts = path.relative_to(root).parts
        if len(parts) != 4 or any(p.startswith(".") for p in parts) or not path.is_file():
            ignored += 1
            continue
        groups.setdefault((parts[0], parts[1], parts[2]), []).append(path)
    return {key: sorted(paths) for key, paths in sorted(groups.items())}, ignored


def read_pose(path: Path, pose_format: str = "coco") -> np.ndarray:
    """The float64 ``[T, V, 3]`` poses of one file (GREW rows reshaped to ``[T, 17, 3]``).

    Raises:
        DataError: unreadable or unsafe file, wrong shape or non-finite values, naming it.
    """
    pose = load_sequence_file(path)
    if pose.ndim == 2 and pose.shape[1] == GREW_ROW:
        pose = pose[:, 2:].reshape(-1, 17, 3)
    joints = 18 if pose_format == "openpose" else 17
    if pose.ndim != 3 or pose.shape[1:] != (joints, 3):
        other = 17 if joints == 18 else 18
        hint = (
            f"; [T, {other}, 3] is the {'coco' if other == 17 else 'openpose'} format: pass "
            f"--pose-format {'coco' if other == 17 else 'openpose'}"
            if pose.ndim == 3 and pose.shape[1:] == (other, 3)
            else ""
        )
        raise DataError(
            f"{path}: pose of shape {list(pose.shape)}; expected [T, {joints}, 3] (x, y, "
            f"confidence per joint) or GREW's rows [T, {GREW_ROW}]{hint}"
        )
    pose = pose.astype(np.float64)
    if not np.isfinite(pose).all():
        frame = int(np.flatnonzero(~np.isfinite(pose).all(axis=(1, 2)))[0])
        raise DataError(
            f"{path}: frame {frame} holds NaN or infinite values; mark a missing "
            "joint as (0, 0, 0)"
        )
    return pose


def _silhouette_file(folder: Path) -> Path:
    files = [p for p in sorted(folder.iterdir()) if p.suffix.lower() in SUPPORTED_SUFFIXES]
    if len(files) != 1:
        found = ", ".join(p.name for p in files[:4]) or "none"
        raise DataError(
            f"{folder}: expected one silhouette file ({'/'.join(SUPPORTED_SUFFIXES)}), found "
            f"{len(files)} ({found}); give --silhouettes the folder of prepared silhouettes"
        )
    return files[0]


def prepare_skeleton_sequence(
    key: tuple[str, str, str],
    paths: list[Path],
    out: Path,
    silhouettes: Path | None,
    pose_format: str,
    img_size: int,
) -> SkeletonResult:
    """Make, write and (with ``silhouettes``) link one sequence's skeleton maps."""
    result = SkeletonResult(key)
    name = "/".join(key)
    try:
        if len(paths) != 1:
            raise DataError(
                f"{paths[0].parent}: {len(paths)} pose files ({', '.join(p.name for p in paths[:4])}"
                "); keep one per sequence or choose it with --pose-file"
            )
        pose = read_pose(paths[0], pose_format)
        silhouette = None
        if silhouettes is not None:
            folder = silhouettes.joinpath(*key)
            if not folder.is_dir():
                raise DataError(f"{name}: no silhouette sequence {folder} for the pose {paths[0]}")
            silhouette = _silhouette_file(folder)
            frames = len(load_sequence_file(silhouette, mmap=True))
            if frames != len(pose):
                raise DataError(
                    f"{name}: the pose {paths[0]} has {len(pose)} frames but the silhouettes "
                    f"{silhouette} have {frames}; both must hold the same frames"
                )
        config = SkeletonMapConfig(out_size=img_size)
        try:
            maps = skeleton_maps(pose, openpose=pose_format == "openpose", config=config)
        except ValueError as exc:
            raise DataError(f"{paths[0]}: {exc}") from None
    except DataError as exc:
        result.problem = str(exc)
        return result
    folder = out.joinpath(*key)
    atomic_write_bytes(folder / HEATMAP_FILE, pickle.dumps(maps, protocol=4))
    if silhouette is not None:
        atomic_symlink(silhouette.resolve(), folder / f"{SILHOUETTE_LINK}{silhouette.suffix}")
        result.linked = True
    result.frames = len(maps)
    return result


def _skeleton_task(args: tuple) -> SkeletonResult:
    return prepare_skeleton_sequence(*args)


def _count_unpaired(silhouettes: Path, keys: set[tuple[str, str, str]]) -> int:
    folders = (p for p in silhouettes.glob("*/*/*") if p.is_dir())
    return sum(1 for p in folders if tuple(p.relative_to(silhouettes).parts) not in keys)


def prepare_skeleton_maps(
    poses: str | Path,
    out: str | Path,
    *,
    silhouettes: str | Path | None = None,
    pose_format: str = "coco",
    pose_file: str = "*.pkl",
    workers: int = 1,
    img_size: int = 64,
    force: bool = False,
    progress: Callable[[int], None] | None = None,
) -> SkeletonSummary:
    """Make skeleton maps for every pose sequence under ``poses`` (see the module docstring).

    Args:
        poses: the folder of ``<id>/<type>/<view>/<pose file>``.
        out: the output dataset folder.
        silhouettes: a prepared silhouette dataset to link beside the maps, or None.
        pose_format: ``coco`` (17 joints) or ``openpose`` (18, converted to COCO-17).
        pose_file: the name pattern of a sequence's pose file.
        workers: processes working in parallel.
        img_size: the maps' height and width (even, >= 8).
        force: write into a non-empty ``out``.
        progress: called with 1 after each sequence.

    Returns:
        The totals and one line per skipped sequence.

    Raises:
        ConfigError: a bad option.
        DataError: a missing folder, no pose file, a non-empty ``out``, or no sequence made.
    """
    poses, out = Path(poses).expanduser(), Path(out).expanduser()
    check_prepare_options(img_size, workers)
    if pose_format not in POSE_FORMATS:
        raise ConfigError(
            f"--pose-format: expected one of {', '.join(POSE_FORMATS)}, got " f"'{pose_format}'"
        )
    sil = Path(silhouettes).expanduser() if silhouettes is not None else None
    for folder, what in ((poses, "pose"), (sil, "silhouette")):
        if folder is not None and not folder.is_dir():
            raise DataError(
                f"{folder}: {what} folder does not exist; give the folder holding "
                f"<id>/<type>/<view>/"
            )
    groups, ignored = find_pose_sequences(poses, pose_file)
    if not groups:
        raise DataError(
            f"{poses}: no file matching '{pose_file}' at <id>/<type>/<view>/ ({ignored} at other "
            "depths); arrange the poses as POSES/<id>/<type>/<view>/<file>.pkl"
        )
    check_output_folder(out, force)
    summary = SkeletonSummary(ignored_files=ignored)
    if sil is not None:
        summary.silhouettes_without_pose = _count_unpaired(sil, set(groups))
    tasks = [(key, paths, out, sil, pose_format, img_size) for key, paths in groups.items()]
    skipped = []
    for result in map_in_workers(_skeleton_task, tasks, workers):
        if result.problem:
            skipped.append((result.key, result.problem))
        else:
            summary.sequences_written += 1
            summary.frames += result.frames
            summary.linked += result.linked
        if progress is not None:
            progress(1)
    summary.skipped = [problem for _, problem in sorted(skipped)]  # in sequence order
    if summary.sequences_written == 0:
        raise DataError(
            f"nothing was prepared: none of the {len(groups)} pose sequence(s) under {poses} "
            f"could be made; e.g. {summary.skipped[0]}"
        )
    return summary
