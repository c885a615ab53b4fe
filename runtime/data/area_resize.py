"""OpenCV's ``resize(..., interpolation=INTER_AREA)`` of float64 images, in numpy.

OpenGait crops each skeleton map and shrinks (or grows) it to 64x64 with OpenCV's area
interpolation, then truncates ``value * 255`` to uint8, so a result one rounding below an
integer loses a whole grey level. To give the same bytes without OpenCV, this module
computes what OpenCV computes for a one-channel float64 image, in its order of operations:

- same size: a copy;
- shrinking by whole factors in both directions: the mean of each block, summed row by row
  in groups of four, times ``1 / area`` (a float32 constant);
- shrinking otherwise (both factors >= 1): each output pixel is the sum of the source
  pixels it covers, weighted by the covered fraction (weights rounded to float32), summed
  first along each source row, then over the rows;
- any factor < 1 (growing): bilinear interpolation whose weights put each output pixel's
  cell edges, rather than its centre, on the source grid (float32 weights).

Tables depend only on the sizes and are cached; images of one size are resized together.
"""

from __future__ import annotations

import math
from functools import lru_cache

import numpy as np

_TINY = 1e-3  # OpenCV ignores a covered fraction below this


def _scales(source: int, target: int) -> tuple[float, float]:
    inverse = target / source
    return 1.0 / inverse, inverse


@lru_cache(maxsize=512)
def area_taps(source: int, target: int) -> tuple[np.ndarray, np.ndarray]:
    """The source indices and weights of each output position when shrinking.

    Args:
        source: the source length (pixels).
        target: the output length (<= source).

    Returns:
        ``(index, weight)``, each ``[target, taps]``; unused taps have weight 0. Weights are
        float32 values held in float64, in OpenCV's order.
    """
    scale, _ = _scales(source, target)
    rows: list[list[tuple[int, float]]] = []
    for d in range(target):
        start = d * scale
        stop = start + scale
        width = min(scale, source - start)
        first, last = math.ceil(start), math.floor(stop)
        last = min(last, source - 1)
        first = min(first, last)
        taps: list[tuple[int, float]] = []
        if first - start > _TINY:
            taps.append((first - 1, float(np.float32((first - start) / width))))
        taps += [(s, float(np.float32(1.0 / width))) for s in range(first, last)]
        if stop - last > _TINY:
            taps.append((last, float(np.float32(min(min(stop - last, 1.0), width) / width))))
        rows.append(taps)
    count = max(len(taps) for taps in rows)
    index = np.zeros((target, count), dtype=np.int64)
    weight = np.zeros((target, count), dtype=np.float64)
    for d, taps in enumerate(rows):
        for k, (s, w) in enumerate(taps):
            index[d, k], weight[d, k] = s, w
    return index, weight


@lru_cache(maxsize=512)
def stretch_taps(source: int, target: int) -> tuple[np.ndarray, np.ndarray, np.ndarray, int]:
    """Bilinear taps of OpenCV's area mode when a factor is below 1.

    Args:
        source: the source length.
        target: the output length.

    Returns:
        ``(left, right, weights [target, 2], first_single)``: output ``d`` mixes ``left[d]``
        and ``right[d]`` (clamped to the image) with float32 weights; from ``first_single``
        on (horizontal only), OpenCV copies ``left[d]`` unweighted.
    """
    scale, inverse = _scales(source, target)
    left = np.zeros(target, dtype=np.int64)
    weights = np.zeros((target, 2), dtype=np.float64)
    first_single = target
    for d in range(target):
        s = math.floor(d * scale)
        f = np.float32((d + 1) - (s + 1) * inverse)
        f = np.float32(0.0) if f <= 0 else np.float32(f - np.float32(math.floor(f)))
        if s < 0:
            s, f = 0, np.float32(0.0)
        if s + 1 >= source:
            first_single = min(first_single, d)
            if s >= source - 1:
                s, f = source - 1, np.float32(0.0)
        left[d] = s
        weights[d] = (float(np.float32(1.0) - f), float(f))
    right = np.minimum(left + 1, source - 1)
    return left, right, weights, first_single


def _shrink_by_blocks(images: np.ndarray, size: tuple[int, int]) -> np.ndarray:
    n, h, w = images.shape
    ky, kx = h // size[0], w // size[1]
    # the cell at (iy, ix) of every block, in OpenCV's order (row by row within a block)
    cells = [images[:, iy::ky, ix::kx] for iy in range(ky) for ix in range(kx)]
    area = len(cells)
    total = np.zeros((n, size[0], size[1]))
    k = 0
    while k <= area - 4:  # OpenCV's unrolled loop: sum += a + b + c + d
        total += ((cells[k] + cells[k + 1]) + cells[k + 2]) + cells[k + 3]
        k += 4
    for j in range(k, area):
        total += cells[j]
    return total * float(np.float32(1.0) / np.float32(area))


def _shrink(images: np.ndarray, size: tuple[int, int]) -> np.ndarray:
    n, h, w = images.shape
    x_index, x_weight = area_taps(w, size[1])
    y_index, y_weight = area_taps(h, size[0])
    rows = images.take(x_index[:, 0], axis=2) * x_weight[:, 0]
    for k in range(1, x_index.shape[1]):
        rows = rows + images.take(x_index[:, k], axis=2) * x_weight[:, k]
    out = y_weight[:, 0, None] * rows.take(y_index[:, 0], axis=1)
    for k in range(1, y_index.shape[1]):
        out = out + y_weight[:, k, None] * rows.take(y_index[:, k], axis=1)
    return out


def _stretch(images: np.ndarray, size: tuple[int, int]) -> np.ndarray:
    n, h, w = images.shape
    left, right, x_weight, single = stretch_taps(w, size[1])
    rows = images[:, :, left] * x_weight[:, 0] + images[:, :, right] * x_weight[:, 1]
    rows[:, :, single:] = images[:, :, left[single:]]
    top, bottom, y_weight, _ = stretch_taps(h, size[0])
    return rows[:, top, :] * y_weight[:, 0, None] + rows[:, bottom, :] * y_weight[:, 1, None]


def resize_area(images: np.ndarray, size: tuple[int, int]) -> np.ndarray:
    """Resize float64 images ``[N, h, w]`` to ``[N, *size]`` as OpenCV's INTER_AREA does.

    Args:
        images: one-channel images of one size.
        size: ``(height, width)`` of the result.

    Returns:
        float64 ``[N, height, width]``.
    """
    images = np.asarray(images, dtype=np.float64)
    n, h, w = images.shape
    if (h, w) == tuple(size):
        return images.copy()
    scale_x, _ = _scales(w, size[1])
    scale_y, _ = _scales(h, size[0])
    if scale_x >= 1 and scale_y >= 1:
        whole = all(abs(s - round(s)) < np.finfo(np.float64).eps for s in (scale_x, scale_y))
        if whole and h % size[0] == 0 and w % size[1] == 0:
            return _shrink_by_blocks(images, size)
        return _shrink(images, size)
    return _stretch(images, size)
