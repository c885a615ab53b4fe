"""``gaitgen prepare``: raw silhouette PNGs to OpenGait's layout, with OpenGait's rules.

Input ``RAW/<id>/<type>/<view>/*.png``; output ``OUT/<id>/<type>/<view>/<view>.pkl``, one
uint8 array ``[T, img_size, img_size]`` per sequence. Each frame, as OpenGait's
pretreatment does: dropped when nearly empty (pixel sum <= 10000); cropped to the rows that
hold the body; resized to ``img_size`` rows keeping the aspect ratio (bicubic); centred on
the column that splits the body's mass in half; padded with zeros and cut to ``img_size``
columns. Sequences with no frame left are not written; fewer than 5 frames are reported.
Sequences are processed in parallel (``workers`` processes). numpy and Pillow only.
"""

from __future__ import annotations

import pickle
from collections.abc import Callable, Iterator
from dataclasses import dataclass, field
from multiprocessing import get_context
from pathlib import Path
from typing import TypeVar

import numpy as np

from ..atomic import atomic_path
from ..errors import ConfigError, DataError

EMPTY_FRAME_SUM = 10000  # OpenGait: a frame whose pixel sum is at most this holds no person
SHORT_SEQUENCE = 5  # fewer frames than this left is reported
R = TypeVar("R")


@dataclass
class SequenceResult:
    """What happened to one sequence."""

    key: tuple[str, str, str]
    frames_in: int
    frames_kept: int
    dropped: dict[str, int] = field(default_factory=dict)  # reason -> frames
    unreadable: list[str] = field(default_factory=list)


@dataclass
class PrepareSummary:
    """Totals of a ``prepare`` run."""

    sequences_written: int = 0
    frames_in: int = 0
    frames_kept: int = 0
    dropped_frames: dict[str, int] = field(default_factory=dict)
    dropped_sequences: list[str] = field(default_factory=list)
    short_sequences: list[tuple[str, int]] = field(default_factory=list)
    unreadable: list[str] = field(default_factory=list)
    ignored_files: int = 0


def find_raw_sequences(raw: Path) -> tuple[dict[tuple[str, str, str], list[Path]], int]:
    """Group ``RAW/<id>/<type>/<view>/*.png`` by sequence; count PNGs at other depths."""
    groups: dict[tuple[str, str, str], list[Path]] = {}
    ignored = 0
    for png in raw.rglob("*.png"):
        parts = png.relative_to(raw).parts
        if len(parts) != 4 or any(p.startswith(".") for p in parts):
            ignored += 1
            continue
        groups.setdefault((parts[0], parts[1], parts[2]), []).append(png)
    return {key: sorted(paths) for key, paths in sorted(groups.items())}, ignored


def normalise_frame(image: np.ndarray, img_size: int) -> tuple[np.ndarray | None, str]:
    """Crop, resize and centre one grey frame ``[H, W]``; ``(None, reason)`` if dropped."""
    from PIL import Image

    if int(image.sum(dtype=np.int64)) <= EMPTY_FRAME_SUM:
        return None, "near-empty"
    rows = np.flatnonzero(image.sum(axis=1))
    image = image[rows[0] : rows[-1] + 1]  # the rows that hold the body
    width = max(1, int(img_size * image.shape[1] / image.shape[0]))
    image = np.asarray(Image.fromarray(image).resize((width, img_size), Image.BICUBIC))
    column_mass = image.sum(axis=0, dtype=np.int64).cumsum()
    if column_mass[-1] == 0:
        return None, "no centre"
    centre = int(np.argmax(column_mass > column_mass[-1] / 2))
    half = img_size // 2
    left, right = centre - half, centre + half
    if left < 0 or right > image.shape[1]:
        image = np.pad(image, ((0, 0), (half, half)))
        left, right = left + half, right + half
    return np.ascontiguousarray(image[:, left:right], dtype=np.uint8), ""


def _write_atomic(path: Path, array: np.ndarray) -> None:
    with atomic_path(path) as temporary:
        with open(temporary, "wb") as file:
            pickle.dump(array, file, protocol=4)


def prepare_sequence(
    key: tuple[str, str, str], paths: list[Path], out: Path, img_size: int
) -> SequenceResult:
    """Normalise the frames of one sequence and write its pickle (if any frame is left)."""
    from PIL import Image, UnidentifiedImageError

    result = SequenceResult(key, len(paths), 0)
    frames = []
    for path in paths:
        try:
            with Image.open(path) as image:
                grey = np.asarray(image.convert("L"))
        except (OSError, UnidentifiedImageError, ValueError) as exc:
            result.unreadable.append(f"{path}: {exc}")
            continue
        frame, reason = normalise_frame(grey, img_size)
        if frame is None:
            result.dropped[reason] = result.dropped.get(reason, 0) + 1
        else:
            frames.append(frame)
    result.frames_kept = len(frames)
    if frames:
        _write_atomic(out.joinpath(*key) / f"{key[2]}.pkl", np.stack(frames))  # [T, s, s]
    return result


def _prepare_task(args: tuple) -> SequenceResult:
    return prepare_sequence(*args)


def check_prepare_options(img_size: int, workers: int) -> None:
    """Raise ConfigError for an ``--img-size`` that is not even and >= 8 or ``--workers`` < 1."""
    if img_size < 8 or img_size % 2:
        raise ConfigError(f"--img-size: expected an even number >= 8, got {img_size}")
    if workers < 1:
        raise ConfigError(f"--workers: expected at least 1, got {workers}")


def check_output_folder(out: Path, force: bool) -> None:
    """Raise DataError if ``out`` holds files and ``force`` is not set."""
    if out.exists() and any(out.iterdir()) and not force:
        raise DataError(f"{out}: output folder is not empty; choose a new folder or pass --force")


def map_in_workers(task: Callable[[tuple], R], tasks: list[tuple], workers: int) -> Iterator[R]:
    """``task(args)`` for every args tuple, in ``workers`` spawned processes (1: in this one).

    Results come in the order they finish. ``task`` must be a module-level function.
    """
    if workers == 1:
        yield from map(task, tasks)
        return
    with get_context("spawn").Pool(workers) as pool:
        yield from pool.imap_unordered(task, tasks, chunksize=4)


def prepare_dataset(
    raw: str | Path,
    out: str | Path,
    *,
    workers: int = 1,
    img_size: int = 64,
    force: bool = False,
    progress: Callable[[int], None] | None = None,
) -> PrepareSummary:
    """Convert ``RAW/<id>/<type>/<view>/*.png`` into OpenGait's layout under ``out``.

    Args:
        raw: the raw silhouette folder.
        out: the output dataset folder.
        workers: processes working in parallel.
        img_size: output frame height and width (even, >= 8).
        force: write into a non-empty ``out``.
        progress: called with 1 after each sequence.

    Returns:
        The totals, dropped frames by reason, dropped and short sequences.

    Raises:
        DataError: RAW is missing or holds no PNG in the layout; OUT is not empty; no
            sequence kept a frame (nothing was prepared; OUT is not created).
        ConfigError: a bad ``img_size`` or ``workers``.
    """
    raw, out = Path(raw).expanduser(), Path(out).expanduser()
    check_prepare_options(img_size, workers)
    if not raw.is_dir():
        raise DataError(
            f"{raw}: raw folder does not exist; give the folder holding <id>/<type>/<view>/*.png"
        )
    groups, ignored = find_raw_sequences(raw)
    if not groups:
        raise DataError(
            f"{raw}: no PNG found at <id>/<type>/<view>/*.png ({ignored} PNG(s) at other depths); "
            "arrange the silhouettes as RAW/<id>/<type>/<view>/<frame>.png"
        )
    check_output_folder(out, force)
    summary = PrepareSummary(ignored_files=ignored)
    tasks = [(key, paths, out, img_size) for key, paths in groups.items()]
    _collect(map_in_workers(_prepare_task, tasks, workers), summary, progress)
    summary.dropped_sequences.sort()
    summary.short_sequences.sort()
    if summary.sequences_written == 0:
        raise DataError(_nothing_prepared(raw, out, summary))
    return summary


def _nothing_prepared(raw: Path, out: Path, summary: PrepareSummary) -> str:
    """The one line for a RAW folder none of whose sequences kept a frame."""
    reasons = ", ".join(f"{n} {r}" for r, n in sorted(summary.dropped_frames.items()))
    example = f"; e.g. {summary.unreadable[0]}" if summary.unreadable else ""
    created = "" if out.exists() else f"; {out} was not created"
    return (
        f"nothing was prepared: none of the {len(summary.dropped_sequences)} sequence(s) under "
        f"{raw} kept a frame ({summary.frames_in} frame(s): {reasons or 'none'}){example}"
        f"{created}; check that the PNGs are readable silhouettes"
    )


def _collect(results, summary: PrepareSummary, progress: Callable[[int], None] | None) -> None:
    for result in results:
        name = "/".join(result.key)
        summary.frames_in += result.frames_in
        summary.frames_kept += result.frames_kept
        for reason, count in result.dropped.items():
            summary.dropped_frames[reason] = summary.dropped_frames.get(reason, 0) + count
        if result.unreadable:
            summary.dropped_frames["unreadable"] = summary.dropped_frames.get(
                "unreadable", 0
            ) + len(result.unreadable)
            summary.unreadable += result.unreadable
        if result.frames_kept == 0:
            summary.dropped_sequences.append(name)
        else:
            summary.sequences_written += 1
            if result.frames_kept < SHORT_SEQUENCE:
                summary.short_sequences.append((name, result.frames_kept))
        if progress is not None:
            progress(1)
