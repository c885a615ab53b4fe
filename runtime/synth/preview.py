"""A PNG contact sheet of one subject: frames x views, one block per condition.

The sheet is rendered from the generator (same seed, same bytes as the written dataset),
so making it never reads pickles back.
"""

from __future__ import annotations

from collections.abc import Sequence
from pathlib import Path

import numpy as np

from .sequence import subject_sequences
from .spec import DEFAULT_FRAMES, IMAGE_SIZE, check_count, parse_views

PREVIEW_CONDITIONS = ("nm-01", "bg-01", "cl-01")
_MARGIN_LEFT, _MARGIN_TOP, _GAP = 48, 16, 2


def preview_grid(
    seed: int = 0,
    subject: int = 1,
    views: Sequence[str] | str | None = None,
    frames: int = DEFAULT_FRAMES,
    shown_frames: int = 6,
) -> np.ndarray:
    """Return the sheet as a uint8 image ``[height, width]`` without labels.

    Rows: ``shown_frames`` evenly spaced frames for each of nm-01, bg-01, cl-01; columns:
    the views.
    """
    view_names = parse_views(views)
    shown = min(check_count("shown_frames", shown_frames), frames)
    sequences = subject_sequences(seed, subject, view_names, frames, PREVIEW_CONDITIONS)
    picks = np.linspace(0, frames - 1, shown).round().astype(int)
    step = IMAGE_SIZE + _GAP
    sheet = np.full(
        (
            len(PREVIEW_CONDITIONS) * shown * step + _GAP * len(PREVIEW_CONDITIONS),
            len(view_names) * step,
        ),
        40,
        dtype=np.uint8,
    )
    for block, condition in enumerate(PREVIEW_CONDITIONS):
        for column, view in enumerate(view_names):
            frames_shown = sequences[(condition, view)][picks]  # [shown, 64, 64]
            for row, image in enumerate(frames_shown):
                top = (block * shown + row) * step + block * _GAP
                left = column * step
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
) -> Path:
    """Write the labelled contact sheet of ``subject`` to ``path`` (PNG) and return the path."""
    from PIL import Image, ImageDraw

    view_names = parse_views(views)
    grid = preview_grid(seed, subject, view_names, frames, shown_frames)
    canvas = Image.new("L", (grid.shape[1] + _MARGIN_LEFT, grid.shape[0] + _MARGIN_TOP), 0)
    canvas.paste(Image.fromarray(grid), (_MARGIN_LEFT, _MARGIN_TOP))
    draw = ImageDraw.Draw(canvas)
    step = IMAGE_SIZE + _GAP
    for column, view in enumerate(view_names):
        draw.text((_MARGIN_LEFT + column * step + 22, 2), view, fill=255)
    shown = min(shown_frames, frames)
    for block, condition in enumerate(PREVIEW_CONDITIONS):
        top = _MARGIN_TOP + block * (shown * step + _GAP) + shown * step // 2 - 6
        draw.text((4, top), condition, fill=255)
    path = Path(path)
    path.parent.mkdir(parents=True, exist_ok=True)
    canvas.save(path)
    return path
