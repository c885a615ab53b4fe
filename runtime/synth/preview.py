"""A PNG contact sheet of one subject: frames x views, one block per condition.

With several modalities each view's column becomes a group of tiles side by side, one per
modality: the silhouette, the 2-D pose (its joints, scaled to the tile), the skeleton map
(limbs and joints, the brighter of the two), the parsing labels as grey levels, and the 85
SMPL-like numbers as a grid of grey cells (mid-grey is 0).
The sheet is rendered from the generator (same seed, same bytes as the written dataset),
so making it never reads pickles back.
"""

from __future__ import annotations

from collections.abc import Sequence
from pathlib import Path

import numpy as np

from .sequence import subject_modalities
from .spec import (
    DEFAULT_FRAMES,
    IMAGE_SIZE,
    check_count,
    check_pose_format,
    parse_modalities,
    parse_views,
)

PREVIEW_CONDITIONS = ("nm-01", "bg-01", "cl-01")
_MARGIN_LEFT, _MARGIN_TOP, _GAP = 48, 16, 2
_SHORT = {
    "silhouette": "sil",
    "pose": "pose",
    "skeleton": "skel",
    "parsing": "pars",
    "smpl": "smpl",
}


def _pose_tiles(pose: np.ndarray, size: int) -> np.ndarray:
    """Joints of ``[n, V, 3]`` poses as 3x3 dots on ``[n, size, size]`` tiles, each pose's
    seen joints scaled to fit its tile."""
    n = len(pose)
    tiles = np.zeros((n, size, size), dtype=np.uint8)
    seen = pose[..., 2] > 0
    xy = np.where(seen[..., None], pose[..., :2], np.nan)
    low, high = np.nanmin(xy, axis=1), np.nanmax(xy, axis=1)  # [n, 2]
    scale = (size - 8) / np.maximum((high - low).max(axis=1), 1e-6)  # [n]
    middle = 0.5 * (low + high)
    pixel = np.rint((xy - middle[:, None]) * scale[:, None, None] + size / 2)
    pixel = np.nan_to_num(pixel).astype(int)  # missing joints are not drawn
    frame, joint = np.nonzero(seen)
    for d_row in (-1, 0, 1):
        for d_col in (-1, 0, 1):
            rows = np.clip(pixel[frame, joint, 1] + d_row, 0, size - 1)
            cols = np.clip(pixel[frame, joint, 0] + d_col, 0, size - 1)
            tiles[frame, rows, cols] = 255
    return tiles


def _smpl_tiles(smpl: np.ndarray, size: int) -> np.ndarray:
    """The 85 numbers of ``[n, 85]`` as a 10 x 9 grid of grey cells on ``[n, size, size]``."""
    n = len(smpl)
    cells = np.zeros((n, 90))
    cells[:, :85] = smpl
    grey = np.clip(128 + 50 * cells, 0, 255).astype(np.uint8).reshape(n, 10, 9)
    rows = np.arange(size) * 10 // size
    cols = np.arange(size) * 9 // size
    return grey[:, rows[:, None], cols[None, :]]


def modality_tiles(modality: str, array: np.ndarray, size: int = IMAGE_SIZE) -> np.ndarray:
    """Frames ``[n, ...]`` of one modality as uint8 grey tiles ``[n, size, size]``."""
    if modality == "pose":
        return _pose_tiles(array, size)
    if modality == "skeleton":
        return array.max(axis=1)
    if modality == "parsing":
        return (array.astype(np.uint16) * 21).astype(np.uint8)
    if modality == "smpl":
        return _smpl_tiles(array, size)
    return array


def preview_grid(
    seed: int = 0,
    subject: int = 1,
    views: Sequence[str] | str | None = None,
    frames: int = DEFAULT_FRAMES,
    shown_frames: int = 6,
    modalities: Sequence[str] | str | None = None,
    pose_format: str = "coco",
) -> np.ndarray:
    """Return the sheet as a uint8 image ``[height, width]`` without labels.

    Rows: ``shown_frames`` evenly spaced frames for each of nm-01, bg-01, cl-01; columns:
    the views, each a group of one tile per modality (``modalities`` as
    :func:`.writer.generate_dataset` takes them; the silhouettes if None).
    """
    view_names = parse_views(views)
    names = parse_modalities(modalities)
    shown = min(check_count("shown_frames", shown_frames), frames)
    sequences = subject_modalities(
        seed,
        subject,
        view_names,
        frames,
        PREVIEW_CONDITIONS,
        modalities=names,
        pose_format=check_pose_format(pose_format),
    )
    picks = np.linspace(0, frames - 1, shown).round().astype(int)
    step = IMAGE_SIZE + _GAP
    sheet = np.full(
        (
            len(PREVIEW_CONDITIONS) * shown * step + _GAP * len(PREVIEW_CONDITIONS),
            len(view_names) * len(names) * step,
        ),
        40,
        dtype=np.uint8,
    )
    for block, condition in enumerate(PREVIEW_CONDITIONS):
        for group, view in enumerate(view_names):
            arrays = sequences[(condition, view)]
            for offset, modality in enumerate(names):
                tiles = modality_tiles(modality, arrays[modality][picks])  # [shown, 64, 64]
                left = (group * len(names) + offset) * step
                for row, image in enumerate(tiles):
                    top = (block * shown + row) * step + block * _GAP
                    sheet[top : top + IMAGE_SIZE, left : left + IMAGE_SIZE] = image
    return sheet


def write_preview(
    path: Path | str,
    *,
    seed: int = 0,
    subject: int = 1,
    views: Sequence[str] | str | None = None,
    frames: int = DEFAULT_FRAMES,
    shown_frames: int = 6,
    modalities: Sequence[str] | str | None = None,
    pose_format: str = "coco",
) -> Path:
    """Write the labelled contact sheet of ``subject`` to ``path`` (PNG) and return the path."""
    from PIL import Image, ImageDraw

    view_names = parse_views(views)
    names = parse_modalities(modalities)
    grid = preview_grid(seed, subject, view_names, frames, shown_frames, names, pose_format)
    top_margin = _MARGIN_TOP if len(names) == 1 else 2 * _MARGIN_TOP
    canvas = Image.new("L", (grid.shape[1] + _MARGIN_LEFT, grid.shape[0] + top_margin), 0)
    canvas.paste(Image.fromarray(grid), (_MARGIN_LEFT, top_margin))
    draw = ImageDraw.Draw(canvas)
    step = IMAGE_SIZE + _GAP
    for group, view in enumerate(view_names):
        left = _MARGIN_LEFT + group * len(names) * step
        draw.text((left + len(names) * step // 2 - 10, 2), view, fill=255)
        for offset, modality in enumerate(names if len(names) > 1 else ()):
            draw.text((left + offset * step + 20, _MARGIN_TOP + 1), _SHORT[modality], fill=200)
    shown = min(shown_frames, frames)
    for block, condition in enumerate(PREVIEW_CONDITIONS):
        top = top_margin + block * (shown * step + _GAP) + shown * step // 2 - 6
        draw.text((4, top), condition, fill=255)
    path = Path(path)
    path.parent.mkdir(parents=True, exist_ok=True)
    canvas.save(path)
    return path
