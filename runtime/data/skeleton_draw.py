"""Drawing skeleton maps' Gaussians fast: float32 on the union of each item's boxes.

:mod:`.skeleton_maps` draws every joint (limb) of a sequence over all its frames at once:

- a joint is the outer product of a row and a column profile (:func:`point_terms`,
  :func:`draw_points`, max-combined);
- a limb is ``d^2 / 2s^2 - log(peak)`` (:func:`segment_terms`, :func:`segment_cost`,
  :func:`draw_segments`, min-combined), one ``exp`` per pixel after;
- drawn in float32, a pixel's grey level is certain unless ``256 v`` lies within a bound on
  the float32 error (:func:`segment_error`; 4 roundings for joints) of an integer
  (:func:`certain_index`); those pixels alone are computed again in float64 with the same
  operations in the same order (:func:`point_values`, :func:`segment_values`), so the bytes
  are those of the float64 drawing.
"""

from __future__ import annotations

import threading
from dataclasses import dataclass

import numpy as np


def _boxes(low: np.ndarray, high: np.ndarray, sigma: float, size: int) -> tuple:
    """OpenGait's drawing box ``int(low - 3s) .. int(high + 3s)``, clipped: ``(start, stop)``."""
    start = np.maximum(np.trunc(low - 3 * sigma), 0)
    stop = np.minimum(np.trunc(high + 3 * sigma) + 1, size)
    return start, np.maximum(stop, start)


@dataclass(frozen=True)
class Windows:
    """Per item, the union over frames of its boxes, and each position of that union."""

    x: np.ndarray  # [K, w] float column positions, from the union's first column
    y: np.ndarray  # [K, h] float row positions
    inside_x: np.ndarray  # [T, K, w] the column is in the frame's box
    inside_y: np.ndarray  # [T, K, h]
    used: np.ndarray  # [K] some frame draws the item

    def regions(self):
        """``(item, rows, columns, h, w)`` of each drawn item's union box on the canvas."""
        for k in np.flatnonzero(self.used):
            width = int(self.inside_x[:, k].any(axis=0).nonzero()[0].max()) + 1
            height = int(self.inside_y[:, k].any(axis=0).nonzero()[0].max()) + 1
            x0, y0 = int(self.x[k, 0]), int(self.y[k, 0])
            yield k, slice(y0, y0 + height), slice(x0, x0 + width), height, width


def _windows(low: np.ndarray, high: np.ndarray, drawn: np.ndarray, sigma: float, size: int):
    """The boxes of items spanning ``low .. high`` ``[T, K, 2]`` and their per-item union."""
    x0, x1 = _boxes(low[..., 0], high[..., 0], sigma, size)
    y0, y1 = _boxes(low[..., 1], high[..., 1], sigma, size)
    full = drawn & (x1 > x0) & (y1 > y0)
    axes = []
    for start, stop in ((x0, x1), (y0, y1)):
        first = np.where(full, start, size).min(axis=0)
        last = np.where(full, stop, 0).max(axis=0)
        span = max(int((last - first).max(initial=0)), 1)
        positions = np.minimum(first, size)[:, None] + np.arange(span, dtype=np.float64)
        inside = (positions >= start[..., None]) & (positions < stop[..., None]) & full[..., None]
        axes.append((positions, inside))
    (x, inside_x), (y, inside_y) = axes
    return Windows(x, y, inside_x, inside_y, full.any(axis=0))


_BUFFERS = threading.local()


def workspace(name: str, size: int, dtype) -> np.ndarray:
    """A 1-D buffer of ``size`` items kept for this thread's next call (fresh pages of a new
    large array cost page faults on every call, about a quarter of the drawing's time)."""
    key = (name, np.dtype(dtype))
    buffer = _BUFFERS.__dict__.get(key)
    if buffer is None or buffer.size < size:
        buffer = _BUFFERS.__dict__[key] = np.empty(size, dtype)
    return buffer[:size]


def point_terms(centre: np.ndarray, peak: np.ndarray, sigma: float, size: int) -> tuple:
    """``(windows, rows, columns)`` of Gaussians at ``centre [T, K, 2]``, float64.

    A point's Gaussian is the outer product of one row and one column profile, each 0
    outside OpenGait's box, so only those profiles go through ``exp``; ``peak [T, K]`` (0
    draws nothing) scales the rows. Each joint is drawn over every frame at once, on the
    union of its boxes.
    """
    drawn = peak > 0
    centre = np.where(drawn[..., None], centre, 0.0)
    windows = _windows(centre, centre, drawn, sigma, size)
    columns = np.exp(-((windows.x - centre[..., 0:1]) ** 2) / 2.0 / sigma**2)
    rows = np.exp(-((windows.y - centre[..., 1:2]) ** 2) / 2.0 / sigma**2) * peak[..., None]
    columns = np.where(windows.inside_x, columns, 0.0)
    rows = np.where(windows.inside_y, rows, 0.0)
    return windows, rows, columns


def draw_points(canvas: np.ndarray, windows: Windows, rows: np.ndarray, columns: np.ndarray):
    """Max-combine the outer products ``rows x columns`` into ``canvas [T, H, W]``, in place."""
    scratch = workspace("patch", len(canvas) * rows.shape[-1] * columns.shape[-1], canvas.dtype)
    for k, ys, xs, h, w in windows.regions():
        patch = scratch[: len(canvas) * h * w].reshape(-1, h, w)
        np.multiply(rows[:, k, :h, None], columns[:, k, None, :w], out=patch)
        np.maximum(canvas[:, ys, xs], patch, out=canvas[:, ys, xs])


@dataclass(frozen=True)
class SegmentTerms:
    """Per segment and window position, the parts of ``d^2 / 2s^2 - log(peak)``.

    In units of ``sigma * sqrt(2)``, the squared distance to a segment is ``across^2 +
    max(|along| - half, 0)^2`` (``along`` from its middle, ``half`` its half length);
    ``along = along_y + along_x`` and ``across = across_x - across_y`` over the window's
    rows and columns (``along`` is inf, ``across`` 0, outside a frame's box).
    """

    windows: Windows
    along_x: np.ndarray  # [T, K, w]
    along_y: np.ndarray  # [T, K, h]
    across_x: np.ndarray  # [T, K, w]
    across_y: np.ndarray  # [T, K, h]
    half: np.ndarray  # [T, K]
    log_peak: np.ndarray  # [T, K]

    def astype(self, dtype) -> SegmentTerms:
        """The same terms rounded to ``dtype``."""
        arrays = [getattr(self, name).astype(dtype) for name in _SEGMENT_ARRAYS]
        return SegmentTerms(self.windows, *arrays)


_SEGMENT_ARRAYS = ("along_x", "along_y", "across_x", "across_y", "half", "log_peak")


def segment_terms(
    start: np.ndarray, end: np.ndarray, peak: np.ndarray, sigma: float, size: int
) -> SegmentTerms:
    """The terms of segments ``start``/``end [T, K, 2]`` with peaks ``[T, K]`` (0: none).

    A segment shorter than one pixel is a point at ``start``.
    """
    drawn = peak > 0
    start = np.where(drawn[..., None], start, 0.0)
    end = np.where(drawn[..., None], end, 0.0)
    vector = end - start
    length2 = (vector**2).sum(axis=-1)
    point = length2 < 1
    end = np.where(point[..., None], start, end)
    windows = _windows(np.minimum(start, end), np.maximum(start, end), drawn, sigma, size)
    unit = 1.0 / (sigma * np.sqrt(2.0))
    length = np.sqrt(np.where(point, 1.0, length2))
    ux = np.where(point, 1.0, vector[..., 0] / length)[..., None]
    uy = np.where(point, 0.0, vector[..., 1] / length)[..., None]
    middle = (start + end) / 2
    return SegmentTerms(
        windows,
        along_x=np.where(windows.inside_x, unit * (windows.x - middle[..., 0:1]) * ux, np.inf),
        along_y=np.where(windows.inside_y, unit * (windows.y - middle[..., 1:2]) * uy, np.inf),
        across_x=np.where(windows.inside_x, unit * (windows.x - start[..., 0:1]) * uy, 0.0),
        across_y=np.where(windows.inside_y, unit * (windows.y - start[..., 1:2]) * ux, 0.0),
        half=np.where(point, 0.0, unit * length / 2),
        log_peak=np.log(np.where(drawn, peak, 1.0)),
    )


def segment_cost(along_y, along_x, across_y, across_x, half, log_peak, out, scratch):
    """``out = outside^2 + (across^2 - log_peak)``, elementwise (broadcast operands)."""
    np.add(along_y, along_x, out=out)
    np.clip(out, -half, half, out=scratch)
    out -= scratch
    np.square(out, out=out)
    np.subtract(across_x, across_y, out=scratch)
    np.square(scratch, out=scratch)
    scratch -= log_peak
    out += scratch
    return out


def draw_segments(cost: np.ndarray, terms: SegmentTerms, *, product: bool = False) -> None:
    """Min-combine the segments' ``d^2 / 2s^2 - log(peak)`` into ``cost [T, H, W]``, in place.

    ``exp(-cost)`` is then the maximum of the segments' Gaussians; ``cost`` has the terms'
    dtype. Each segment is drawn over every frame at once, on the union of its boxes. With
    ``product``, ``across^2 - log_peak`` is one matrix product per segment, rows
    ``(across_y^2 - log_peak, -2 across_y, 1)`` by columns ``(1, across_x, across_x^2)``
    (fewer passes; other roundings than :func:`segment_cost`, within :func:`segment_error`).
    """
    t = len(cost)
    size = t * terms.along_y.shape[-1] * terms.along_x.shape[-1]
    buffers = workspace("patch", size, cost.dtype), workspace("scratch", size, cost.dtype)
    if product:
        across_y = terms.across_y.astype(np.float64)
        across_x = terms.across_x.astype(np.float64)
        log_peak = terms.log_peak.astype(np.float64)[..., None]
        one = np.ones_like(across_y)
        rows = np.stack([across_y**2 - log_peak, -2 * across_y, one], axis=-1).astype(cost.dtype)
        one = np.ones_like(across_x)
        columns = np.stack([one, across_x, across_x**2], axis=-2).astype(cost.dtype)
    for k, ys, xs, h, w in terms.windows.regions():
        out, scratch = (b[: t * h * w].reshape(t, h, w) for b in buffers)
        if product:
            np.add(terms.along_y[:, k, :h, None], terms.along_x[:, k, None, :w], out=out)
            bound = terms.half[:, k, None, None]
            np.clip(out, -bound, bound, out=scratch)
            out -= scratch
            np.square(out, out=out)
            np.matmul(rows[:, k, :h], columns[:, k, :, :w], out=scratch)
            out += scratch
        else:
            segment_cost(
                terms.along_y[:, k, :h, None],
                terms.along_x[:, k, None, :w],
                terms.across_y[:, k, :h, None],
                terms.across_x[:, k, None, :w],
                terms.half[:, k, None, None],
                terms.log_peak[:, k, None, None],
                out,
                scratch,
            )
        np.minimum(cost[:, ys, xs], out, out=cost[:, ys, xs])


ROUNDING = 2.0**-24  # float32's unit roundoff


def point_values(windows: Windows, rows, columns, t, y, x) -> np.ndarray:
    """:func:`draw_points`'s float64 values at pixels ``(t, y, x)`` only, the same products."""
    value = np.zeros(len(t))
    for k in np.flatnonzero(windows.used):
        yi, xi = y - int(windows.y[k, 0]), x - int(windows.x[k, 0])
        ok = (yi >= 0) & (yi < rows.shape[-1]) & (xi >= 0) & (xi < columns.shape[-1])
        yi, xi = np.where(ok, yi, 0), np.where(ok, xi, 0)
        np.maximum(value, np.where(ok, rows[t, k, yi] * columns[t, k, xi], 0.0), out=value)
    return value


def segment_values(terms: SegmentTerms, t, y, x) -> np.ndarray:
    """``exp(-cost)`` of :func:`draw_segments` at pixels ``(t, y, x)`` only, same arithmetic."""
    cost = np.full(len(t), np.inf)
    out, scratch = np.empty(len(t)), np.empty(len(t))
    windows = terms.windows
    for k in np.flatnonzero(windows.used):
        yi, xi = y - int(windows.y[k, 0]), x - int(windows.x[k, 0])
        ok = (yi >= 0) & (yi < terms.along_y.shape[-1])
        ok &= (xi >= 0) & (xi < terms.along_x.shape[-1])
        yi, xi = np.where(ok, yi, 0), np.where(ok, xi, 0)
        segment_cost(
            terms.along_y[t, k, yi],
            terms.along_x[t, k, xi],
            terms.across_y[t, k, yi],
            terms.across_x[t, k, xi],
            terms.half[t, k],
            terms.log_peak[t, k],
            out,
            scratch,
        )
        np.minimum(cost, np.where(ok, out, np.inf), out=cost)
    np.negative(cost, out=cost)
    return np.exp(cost, out=cost)


def segment_error(terms: SegmentTerms) -> np.ndarray:
    """Per frame, a bound on ``|exp(-cost32) / exp(-cost64) - 1|`` of the float32 drawing.

    Each float32 rounding (``u = ROUNDING`` relative) is at most ``u`` times the magnitude of
    its operands. With ``S`` the largest ``|along_y| + |along_x|`` of a segment's box and
    ``P`` that of ``|across_x| + |across_y|``: the float32 inputs and the add, clip and
    square of ``outside^2`` are within ``9u (S + half)^2``; the product form of
    ``across^2 - log_peak`` (:func:`draw_segments`; terms of at most ``P^2 + |log_peak|``
    in all, each rounded at most 3 times, then 2 sums) within ``6u (P^2 + |log_peak|)``,
    the elementwise one within ``7u P^2 + 2u |log_peak|``; the last sum ``u`` of the whole.
    ``16u ((S + half)^2 + P^2 + |log_peak| + 1)`` is taken. float32's ``exp`` adds under 3
    units in the last place (8u taken). The float64 reference's own error (``2^-53``
    relative) is covered by the 1.25 widening in :func:`certain_index`.
    """
    windows = terms.windows
    along = np.where(windows.inside_x, np.abs(terms.along_x), 0.0).max(axis=-1, initial=0)
    along += np.where(windows.inside_y, np.abs(terms.along_y), 0.0).max(axis=-1, initial=0)
    across = np.abs(terms.across_x).max(axis=-1, initial=0)
    across += np.abs(terms.across_y).max(axis=-1, initial=0)
    size = (along + terms.half) ** 2 + across**2 + np.abs(terms.log_peak) + 1
    return np.expm1(16 * ROUNDING * size.max(axis=-1, initial=0)) + 8 * ROUNDING


def certain_index(values: np.ndarray, error: np.ndarray) -> tuple[np.ndarray, tuple]:
    """:func:`_gray_index` of maps known to float32 ``values [T, H, W]`` within ``error [T]``.

    Returns the index and the pixels ``(t, y, x)`` where it is not certain: ``256 v`` is
    within the (relative) error, widened by the rounding of the float64 map to float32 and
    of this test, of an integer below 255. Elsewhere the index equals that of the exact
    map. ``values`` is overwritten (fewer large temporaries: each costs page faults).
    """
    relative = (1.25 * error + 8 * ROUNDING).astype(np.float32)[:, None, None]
    values *= np.float32(256)
    low = workspace("low", values.size, np.float32).reshape(values.shape)
    np.multiply(values, 1 - relative, out=low)
    high = np.multiply(values, 1 + relative, out=values)
    for bound in (low, high):
        np.floor(bound, out=bound)
        np.minimum(bound, 255, out=bound)  # NaN stays NaN: unequal, so redrawn in float64
    unsure = np.not_equal(low, high, out=workspace("unsure", values.size, bool).reshape(low.shape))
    return low.astype(np.uint8), np.unravel_index(np.flatnonzero(unsure), values.shape)
