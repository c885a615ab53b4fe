"""A rank-1 heatmap (probe view x gallery view) drawn with Pillow, readable without a legend hunt.

Rows are probe views, columns gallery views; each cell shows its value; undefined cells
(identical views with the cross-view gallery, views without probes) are grey with a dash.
A colour bar on the right maps colours to percentages.
"""

from __future__ import annotations

import math
from pathlib import Path

from gaitgen.runtime.atomic import atomic_path
from PIL import Image, ImageDraw, ImageFont

# a perceptually ordered ramp (dark blue -> teal -> green -> yellow), interpolated linearly
_RAMP = ((40, 30, 90), (40, 90, 140), (30, 150, 135), (120, 200, 80), (250, 230, 40))
_MISSING = (215, 215, 215)


def _colour(fraction: float) -> tuple[int, int, int]:
    fraction = min(max(fraction, 0.0), 1.0) * (len(_RAMP) - 1)
    low = min(int(fraction), len(_RAMP) - 2)
    t = fraction - low
    return tuple(round(a + (b - a) * t) for a, b in zip(_RAMP[low], _RAMP[low + 1], strict=True))


def _font(size: int) -> ImageFont.ImageFont:
    try:
        return ImageFont.load_default(size=size)
    except TypeError:  # Pillow < 10.1 has only the fixed bitmap font
        return ImageFont.load_default()


def _text_size(draw: ImageDraw.ImageDraw, text: str, font) -> tuple[int, int]:
    left, top, right, bottom = draw.textbbox((0, 0), text, font=font)
    return right - left, bottom - top


def save_heatmap(
    path: str | Path,
    matrix: list[list[float | None]],
    views: list[str],
    title: str,
    low: float | None = None,
    high: float = 100.0,
    diagonal_note: bool = True,
) -> Path:
    """Draw ``matrix`` (percentages, rows = probe views, columns = gallery views) to a PNG.

    Args:
        path: the PNG to write.
        matrix: ``len(views)`` rows of ``len(views)`` values (``None``/NaN: undefined).
        views: the view names, used for both axes.
        title: the line drawn above the grid.
        low: value of the darkest colour (default: the smallest value, rounded down to 10).
        high: value of the brightest colour.
        diagonal_note: outline the identical-view cells and say they are not averaged.

    Returns:
        The path written.
    """
    values = [v for row in matrix for v in row if v is not None and not math.isnan(v)]
    if low is None:
        low = min(0.0, high) if not values else math.floor(min(values) / 10.0) * 10.0
    low = min(low, high - 1.0)
    cell = 56
    font, small, big = _font(14), _font(12), _font(16)
    probe_width = 90
    margin_top, margin_bottom, bar_width = 90, 60, 110
    n = len(views)
    width = probe_width + n * cell + bar_width
    height = margin_top + n * cell + margin_bottom
    image = Image.new("RGB", (width, height), "white")
    draw = ImageDraw.Draw(image)

    draw.text((10, 10), title, fill="black", font=big)
    label = "gallery view"
    w, _ = _text_size(draw, label, font)
    draw.text((probe_width + (n * cell - w) / 2, 40), label, fill="black", font=font)
    for j, view in enumerate(views):
        w, h = _text_size(draw, view, font)
        draw.text((probe_width + j * cell + (cell - w) / 2, margin_top - h - 10), view, fill="black", font=font)  # fmt: skip
    draw.text((10, margin_top - 24), "probe view", fill="black", font=font)
    for i, view in enumerate(views):
        w, h = _text_size(draw, view, font)
        y = margin_top + i * cell + (cell - h) / 2
        draw.text((probe_width - w - 12, y), view, fill="black", font=font)
        for j in range(n):
            value = matrix[i][j]
            missing = value is None or math.isnan(value)
            colour = _MISSING if missing else _colour((value - low) / (high - low))
            x0, y0 = probe_width + j * cell, margin_top + i * cell
            draw.rectangle([x0, y0, x0 + cell - 1, y0 + cell - 1], fill=colour, outline="white")
            if i == j and diagonal_note:
                draw.rectangle([x0 + 2, y0 + 2, x0 + cell - 3, y0 + cell - 3], outline="black")
            text = "-" if missing else f"{value:.1f}"
            luminance = 0.299 * colour[0] + 0.587 * colour[1] + 0.114 * colour[2]
            w, h = _text_size(draw, text, small)
            draw.text(
                (x0 + (cell - w) / 2, y0 + (cell - h) / 2),
                text,
                fill="black" if luminance > 140 else "white",
                font=small,
            )

    # colour bar with its scale
    bar_x = probe_width + n * cell + 30
    bar_top, bar_bottom = margin_top, margin_top + n * cell
    for y in range(bar_top, bar_bottom):
        fraction = 1.0 - (y - bar_top) / max(bar_bottom - bar_top - 1, 1)
        draw.line([(bar_x, y), (bar_x + 18, y)], fill=_colour(fraction))
    for fraction in (0.0, 0.5, 1.0):
        y = bar_bottom - fraction * (bar_bottom - bar_top)
        value = low + fraction * (high - low)
        draw.text((bar_x + 24, y - 7), f"{value:.0f}%", fill="black", font=small)
    caption = "cells: rank-1 accuracy (%)"
    if diagonal_note:
        caption += "; outlined: identical views, left out of the means"
    draw.text((probe_width, bar_bottom + 15), caption, fill="black", font=small)

    path = Path(path)
    path.parent.mkdir(parents=True, exist_ok=True)
    with atomic_path(path) as temporary:
        image.save(temporary, format="PNG")
    return path
