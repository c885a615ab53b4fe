"""Skeleton maps from 2-D poses, computed as OpenGait's ``datasets/pretreatment_heatmap.py``.

SkeletonGait and SkeletonGait++ train on two 64x64 grey images per frame, uint8
``[T, 2, 64, 64]``: channel 0 draws the limbs, channel 1 the joints. OpenGait makes them
with its ``configs/skeletongait/pretreatment_heatmap.yaml`` recipe, which this module
computes in vectorised numpy (no scikit-learn, OpenCV or matplotlib), step by step:

1. OpenPose/AlphaPose 18-joint poses are reordered to COCO-17 (the neck is dropped);
2. missing joints, stored as 0, are filled from similar frames (:mod:`.pose_impute`);
3. each frame is centred on its hips and scaled so the joints span ``size // 1.5`` rows of a
   ``size x size`` canvas (128), then shifted to the canvas centre;
4. every limb (17 COCO bones) and every joint becomes a Gaussian of ``sigma`` pixels
   (distance to the segment for limbs), peak = the confidence (the smaller of a limb's two),
   drawn inside OpenGait's box of ``3 * sigma`` around it; confidences under 1e-3 draw
   nothing; the maps of one channel are combined by their maximum (float32);
5. the maximum becomes a grey level as matplotlib's ``cm.gray`` maps it to uint8;
6. each image is cut to the rows that hold something and a centred band of columns as wide
   as those rows are high, and resized to ``out_size`` with OpenCV's area interpolation
   (:mod:`.area_resize`); ``value * 255`` is truncated to uint8.

:func:`skeleton_maps` runs the whole recipe; the steps are public to compare against
OpenGait's intermediates. tests/test_skeleton_maps.py checks them on OpenGait's own output.
"""

from __future__ import annotations

import threading
from dataclasses import dataclass

import numpy as np

from .area_resize import resize_area
from .pose_impute import knn_fill

# COCO-17 joint j is OpenPose/AlphaPose-18 joint COCO18_TO_COCO17[j] (OpenGait's map_dict)
COCO18_TO_COCO17 = (0, 15, 14, 17, 16, 5, 2, 6, 3, 7, 4, 11, 8, 12, 9, 13, 10)
# the 17 limbs OpenGait draws (GeneratePoseTarget's COCO-17 skeleton)
COCO17_LIMBS = (
    (0, 1), (0, 2), (1, 3), (2, 4), (0, 5), (5, 7), (7, 9), (0, 6), (6, 8),
    (8, 10), (5, 11), (11, 13), (13, 15), (6, 12), (12, 14), (14, 16), (11, 12),
)  # fmt: skip
LEFT_HIP, RIGHT_HIP = 11, 12
FRAMES_PER_PASS = 32  # frames drawn together in float32 (bounds the reused buffers)
MIN_SCORE = 1e-3  # GeneratePoseTarget's eps: a fainter joint or limb draws nothing


@dataclass(frozen=True)
class SkeletonMapConfig:
    """The recipe's numbers (OpenGait's ``pretreatment_heatmap.yaml`` defaults)."""

    sigma: float = 8.0
    canvas: int = 128  # heatmap_image_height: the drawing canvas, square
    out_size: int = 64  # final_img_size
    use_score: bool = True


def to_coco17(pose: np.ndarray) -> np.ndarray:
    """OpenPose/AlphaPose 18-joint ``[T, 18, C]`` to COCO-17 ``[T, 17, C]`` (float64)."""
    return np.asarray(pose, dtype=np.float64)[:, COCO18_TO_COCO17, :]


def fill_missing(pose: np.ndarray) -> np.ndarray:
    """Fill the zero coordinates of ``[T, V, 3]`` poses from similar frames; scores kept."""
    t, v, _ = pose.shape
    coordinates = knn_fill(pose[..., :2].reshape(t, v * 2)).reshape(t, v, 2)
    return np.concatenate([coordinates, pose[..., 2:3]], axis=-1)


def centre_and_scale(pose: np.ndarray, canvas: int = 128) -> np.ndarray:
    """Centre each frame on its hips and scale its height to ``canvas // 1.5`` pixels."""
    xy = pose[..., :2]
    hip = (xy[:, LEFT_HIP] + xy[:, RIGHT_HIP]) / 2.0
    xy = xy - hip[:, None, :]
    span = np.max(xy[:, :, 1], axis=-1) - np.min(xy[:, :, 1], axis=-1)
    with np.errstate(divide="ignore", invalid="ignore"):
        xy *= (canvas // 1.5) / span[:, None, None]
    xy += canvas // 2
    return np.concatenate([xy, pose[..., 2:3]], axis=-1)


def _boxes(low: np.ndarray, high: np.ndarray, sigma: float, size: int) -> tuple:
    """OpenGait's drawing box ``int(low - 3s) .. int(high + 3s)``, clipped: ``(start, stop)``."""
    start = np.maximum(np.trunc(low - 3 * sigma), 0)
    stop = np.minimum(np.trunc(high + 3 * sigma) + 1, size)
    return start, np.maximum(stop, start)


@dataclass(frozen=True)
class _Windows:
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
    return _Windows(x, y, inside_x, inside_y, full.any(axis=0))


_BUFFERS = threading.local()


def _workspace(name: str, size: int, dtype) -> np.ndarray:
    """A 1-D buffer of ``size`` items kept for this thread's next call (fresh pages of a new
    large array cost page faults on every call, about a quarter of the drawing's time)."""
    key = (name, np.dtype(dtype))
    buffer = _BUFFERS.__dict__.get(key)
    if buffer is None or buffer.size < size:
        buffer = _BUFFERS.__dict__[key] = np.empty(size, dtype)
    return buffer[:size]


def _point_terms(centre: np.ndarray, peak: np.ndarray, sigma: float, size: int) -> tuple:
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


def _draw_points(canvas: np.ndarray, windows: _Windows, rows: np.ndarray, columns: np.ndarray):
    """Max-combine the outer products ``rows x columns`` into ``canvas [T, H, W]``, in place."""
    scratch = _workspace("patch", len(canvas) * rows.shape[-1] * columns.shape[-1], canvas.dtype)
    for k, ys, xs, h, w in windows.regions():
        patch = scratch[: len(canvas) * h * w].reshape(-1, h, w)
        np.multiply(rows[:, k, :h, None], columns[:, k, None, :w], out=patch)
        np.maximum(canvas[:, ys, xs], patch, out=canvas[:, ys, xs])


@dataclass(frozen=True)
class _SegmentTerms:
    """Per segment and window position, the parts of ``d^2 / 2s^2 - log(peak)``.

    In units of ``sigma * sqrt(2)``, the squared distance to a segment is ``across^2 +
    max(|along| - half, 0)^2`` (``along`` from its middle, ``half`` its half length);
    ``along = along_y + along_x`` and ``across = across_x - across_y`` over the window's
    rows and columns (``along`` is inf, ``across`` 0, outside a frame's box).
    """

    windows: _Windows
    along_x: np.ndarray  # [T, K, w]
    along_y: np.ndarray  # [T, K, h]
    across_x: np.ndarray  # [T, K, w]
    across_y: np.ndarray  # [T, K, h]
    half: np.ndarray  # [T, K]
    log_peak: np.ndarray  # [T, K]

    def astype(self, dtype) -> _SegmentTerms:
        """The same terms rounded to ``dtype``."""
        arrays = [getattr(self, name).astype(dtype) for name in _SEGMENT_ARRAYS]
        return _SegmentTerms(self.windows, *arrays)


_SEGMENT_ARRAYS = ("along_x", "along_y", "across_x", "across_y", "half", "log_peak")


def _segment_terms(
    start: np.ndarray, end: np.ndarray, peak: np.ndarray, sigma: float, size: int
) -> _SegmentTerms:
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
    return _SegmentTerms(
        windows,
        along_x=np.where(windows.inside_x, unit * (windows.x - middle[..., 0:1]) * ux, np.inf),
        along_y=np.where(windows.inside_y, unit * (windows.y - middle[..., 1:2]) * uy, np.inf),
        across_x=np.where(windows.inside_x, unit * (windows.x - start[..., 0:1]) * uy, 0.0),
        across_y=np.where(windows.inside_y, unit * (windows.y - start[..., 1:2]) * ux, 0.0),
        half=np.where(point, 0.0, unit * length / 2),
        log_peak=np.log(np.where(drawn, peak, 1.0)),
    )


def _segment_cost(along_y, along_x, across_y, across_x, half, log_peak, out, scratch):
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


def _draw_segments(cost: np.ndarray, terms: _SegmentTerms) -> None:
    """Min-combine the segments' ``d^2 / 2s^2 - log(peak)`` into ``cost [T, H, W]``, in place.

    ``exp(-cost)`` is then the maximum of the segments' Gaussians; ``cost`` has the terms'
    dtype. Each segment is drawn over every frame at once, on the union of its boxes.
    """
    t = len(cost)
    size = t * terms.along_y.shape[-1] * terms.along_x.shape[-1]
    buffers = _workspace("patch", size, cost.dtype), _workspace("scratch", size, cost.dtype)
    for k, ys, xs, h, w in terms.windows.regions():
        out, scratch = (b[: t * h * w].reshape(t, h, w) for b in buffers)
        _segment_cost(
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


def _map_terms(pose: np.ndarray, config: SkeletonMapConfig) -> tuple:
    """The limb terms and the joint ``(windows, rows, columns)`` of a normalised pose."""
    size, sigma = config.canvas, config.sigma
    xy = pose[..., :2]
    score = pose[..., 2] if config.use_score else np.ones(pose.shape[:2])
    first, second = np.array(COCO17_LIMBS).T
    joints = _point_terms(xy, np.where(score >= MIN_SCORE, score, 0.0), sigma, size)
    start, end = xy[:, first], xy[:, second]
    short = ((start - end) ** 2).sum(axis=-1) < 1  # OpenGait draws the start joint instead
    value = np.minimum(score[:, first], score[:, second])
    peak = np.where(value >= MIN_SCORE, np.where(short, score[:, first], value), 0.0)
    return _segment_terms(start, end, peak, sigma, size), joints


def draw_maps(pose: np.ndarray, config: SkeletonMapConfig) -> tuple[np.ndarray, np.ndarray]:
    """The limb and joint maximum maps, float32 ``[T, canvas, canvas]`` each, drawn in float64.

    Args:
        pose: normalised float64 ``[T, 17, 3]`` (canvas pixels, confidence).
        config: sigma, canvas size, whether confidences set the peaks.

    Returns:
        ``(limbs, joints)``: per frame, the maximum over limbs (joints) of their Gaussians.
    """
    limbs, (windows, rows, columns) = _map_terms(pose, config)
    shape = (len(pose), config.canvas, config.canvas)
    joints = np.zeros(shape)
    _draw_points(joints, windows, rows, columns)
    cost = np.full(shape, np.inf)
    _draw_segments(cost, limbs)
    np.negative(cost, out=cost)
    return np.exp(cost, out=cost).astype(np.float32), joints.astype(np.float32)


ROUNDING = 2.0**-24  # float32's unit roundoff


def _point_values(windows: _Windows, rows, columns, t, y, x) -> np.ndarray:
    """:func:`_draw_points`'s float64 values at pixels ``(t, y, x)`` only, the same products."""
    value = np.zeros(len(t))
    for k in np.flatnonzero(windows.used):
        yi, xi = y - int(windows.y[k, 0]), x - int(windows.x[k, 0])
        ok = (yi >= 0) & (yi < rows.shape[-1]) & (xi >= 0) & (xi < columns.shape[-1])
        yi, xi = np.where(ok, yi, 0), np.where(ok, xi, 0)
        np.maximum(value, np.where(ok, rows[t, k, yi] * columns[t, k, xi], 0.0), out=value)
    return value


def _segment_values(terms: _SegmentTerms, t, y, x) -> np.ndarray:
    """``exp(-cost)`` of :func:`_draw_segments` at pixels ``(t, y, x)`` only, same arithmetic."""
    cost = np.full(len(t), np.inf)
    out, scratch = np.empty(len(t)), np.empty(len(t))
    windows = terms.windows
    for k in np.flatnonzero(windows.used):
        yi, xi = y - int(windows.y[k, 0]), x - int(windows.x[k, 0])
        ok = (yi >= 0) & (yi < terms.along_y.shape[-1])
        ok &= (xi >= 0) & (xi < terms.along_x.shape[-1])
        yi, xi = np.where(ok, yi, 0), np.where(ok, xi, 0)
        _segment_cost(
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


def _segment_error(terms: _SegmentTerms) -> np.ndarray:
    """Per frame, a bound on ``|exp(-cost32) / exp(-cost64) - 1|`` of the float32 drawing.

    Each float32 operation of :func:`_segment_cost` is off by at most ``ROUNDING`` times
    the magnitude of its operands; with ``S`` the largest ``|along_y| + |along_x|`` of a
    segment's box, ``P`` that of ``|across_x| + |across_y|``, the float32 cost is within
    ``9u (S + half)^2 + 7u P^2 + 3u (...)`` of the float64 one; ``16u (...)`` is taken.
    float32's ``exp`` adds under 3 units in the last place (8u taken).
    """
    windows = terms.windows
    along = np.where(windows.inside_x, np.abs(terms.along_x), 0.0).max(axis=-1, initial=0)
    along += np.where(windows.inside_y, np.abs(terms.along_y), 0.0).max(axis=-1, initial=0)
    across = np.abs(terms.across_x).max(axis=-1, initial=0)
    across += np.abs(terms.across_y).max(axis=-1, initial=0)
    size = (along + terms.half) ** 2 + across**2 + np.abs(terms.log_peak) + 1
    return np.expm1(16 * ROUNDING * size.max(axis=-1, initial=0)) + 8 * ROUNDING


def _certain_index(values: np.ndarray, error: np.ndarray) -> tuple[np.ndarray, tuple]:
    """:func:`_gray_index` of maps known to float32 ``values [T, H, W]`` within ``error [T]``.

    Returns the index and the pixels ``(t, y, x)`` where it is not certain: ``256 v`` is
    within the (relative) error, widened by the rounding of the float64 map to float32 and
    of this test, of an integer below 255. Elsewhere the index equals that of the exact
    map. ``values`` is overwritten (fewer large temporaries: each costs page faults).
    """
    relative = (1.25 * error + 8 * ROUNDING).astype(np.float32)[:, None, None]
    values *= np.float32(256)
    low = _workspace("low", values.size, np.float32).reshape(values.shape)
    np.multiply(values, 1 - relative, out=low)
    high = np.multiply(values, 1 + relative, out=values)
    for bound in (low, high):
        np.floor(bound, out=bound)
        np.fmin(bound, 255, out=bound)
    unsure = np.not_equal(low, high, out=_workspace("unsure", values.size, bool).reshape(low.shape))
    return low.astype(np.uint8), np.unravel_index(np.flatnonzero(unsure), values.shape)


def gray_indices(
    pose: np.ndarray, config: SkeletonMapConfig, *, exact: bool = False
) -> tuple[np.ndarray, np.ndarray]:
    """The limb and joint maps as ``cm.gray``'s uint8 indices ``[T, canvas, canvas]`` each.

    ``GRAY_LEVELS`` of them is ``to_gray`` of :func:`draw_maps`. Unless ``exact``, maps are drawn
    in float32 and only the pixels whose grey level the float32 error could change (see
    :func:`_certain_index`, usually well under 1%) are computed again in float64.

    Args:
        pose: normalised float64 ``[T, 17, 3]`` (canvas pixels, confidence).
        config: sigma, canvas size, whether confidences set the peaks.
        exact: draw every pixel in float64 (the reference; slower).

    Returns:
        ``(limbs, joints)`` indices (0 where the map is 0).
    """
    if exact:
        return tuple(_gray_index(maps) for maps in draw_maps(pose, config))
    indices = np.empty((2, len(pose), config.canvas, config.canvas), np.uint8)
    for f in range(0, len(pose), FRAMES_PER_PASS):
        frames = slice(f, f + FRAMES_PER_PASS)
        indices[0, frames], indices[1, frames] = _fast_indices(pose[frames], config)
    return indices[0], indices[1]


def _fast_indices(pose: np.ndarray, config: SkeletonMapConfig) -> tuple[np.ndarray, np.ndarray]:
    """:func:`gray_indices` of a few frames, drawn in float32, uncertain pixels in float64."""
    limbs, (windows, rows, columns) = _map_terms(pose, config)
    size = len(pose) * config.canvas * config.canvas
    shape = (len(pose), config.canvas, config.canvas)
    joints = _workspace("joints", size, np.float32).reshape(shape)
    joints.fill(0)
    _draw_points(joints, windows, rows.astype(np.float32), columns.astype(np.float32))
    joint_index, pixels = _certain_index(joints, np.full(len(pose), 4 * ROUNDING))
    joint_index[pixels] = _gray_index(_point_values(windows, rows, columns, *pixels))
    cost = _workspace("cost", size, np.float32).reshape(shape)
    cost.fill(np.inf)
    _draw_segments(cost, limbs.astype(np.float32))
    np.negative(cost, out=cost)
    limb_index, pixels = _certain_index(np.exp(cost, out=cost), _segment_error(limbs))
    limb_index[pixels] = _gray_index(_segment_values(limbs, *pixels))
    return limb_index, joint_index


def _gray_levels() -> np.ndarray:
    """matplotlib's ``cm.gray`` lookup table as uint8 levels (its float LUT times 255)."""
    n = 256
    position = (n - 1) * np.linspace(0, 1, n) ** 1.0
    table = np.concatenate([[0.0], (position[1:-1] - 0.0) / (n - 1.0) * 1.0 + 0.0, [1.0]])
    return (np.clip(table, 0.0, 1.0) * 255).astype(np.uint8)


GRAY_LEVELS = _gray_levels()


def _gray_index(maps: np.ndarray) -> np.ndarray:
    """``cm.gray``'s uint8 index of float32 maps: ``256 v`` clipped to 0..255, truncated."""
    index = np.asarray(maps, dtype=np.float32) * np.float32(256)
    np.fmax(index, 0, out=index)  # fmax/fmin turn NaN into 0 (cm.gray's "bad" colour)
    np.fmin(index, 255, out=index)
    return index.astype(np.uint8)


def to_gray(maps: np.ndarray) -> np.ndarray:
    """float32 maps in [0, 1] to uint8 grey levels, as ``cm.gray`` then ``* 255`` does."""
    return GRAY_LEVELS.take(_gray_index(maps))


LEVEL_VALUES = np.arange(256) / 255.0  # a grey level as the float OpenGait resizes
INDEX_VALUES = LEVEL_VALUES[GRAY_LEVELS]  # the same of a cm.gray index (0 only for 0)


def align(images: np.ndarray, out_size: int = 64, values: np.ndarray = LEVEL_VALUES) -> np.ndarray:
    """Crop each uint8 ``[T, H, W]`` image to its rows and a centred square-ish band; resize.

    The rows from the first to the last non-zero one are kept, and the columns
    ``W // 2 - rows // 2 .. W // 2 + rows // 2`` (an empty image keeps its centre pixel);
    the crop is resized to ``out_size`` with OpenCV's area interpolation and
    ``value * 255`` truncated to uint8, as OpenGait's HeatmapAlignment does. ``values``
    is the float each uint8 value stands for (0 for 0 only): grey levels by default.
    """
    t, h, w = images.shape
    filled = images.any(axis=2)
    top = np.argmax(filled, axis=1)
    bottom = np.argmax(np.cumsum(filled, axis=1), axis=1)
    height = bottom - top + 1
    left = np.maximum(w // 2 - height // 2, 0)
    right = np.minimum(w // 2 + height // 2 + 1, w)
    out = np.empty((t, out_size, out_size), dtype=np.float64)
    shapes = np.stack([height, right - left], axis=1)
    for shape in np.unique(shapes, axis=0):
        members = np.flatnonzero((shapes == shape).all(axis=1))
        if tuple(shape) == (h, w):  # the whole image: no copy to gather
            crops = images[members]
        else:
            rows = top[members, None] + np.arange(shape[0])
            cols = left[members, None] + np.arange(shape[1])
            crops = images[members[:, None, None], rows[:, :, None], cols[:, None, :]]
        out[members] = resize_area(values.take(crops), (out_size, out_size))
    return (out * 255).astype(np.uint8)


def normalise_pose(pose: np.ndarray, *, openpose: bool = False, canvas: int = 128) -> np.ndarray:
    """Steps 1-3: COCO-17 order, missing joints filled, centred and scaled ``[T, 17, 3]``."""
    pose = to_coco17(pose) if openpose else np.asarray(pose, dtype=np.float64)
    return centre_and_scale(fill_missing(pose), canvas)


def skeleton_maps(
    pose: np.ndarray,
    *,
    openpose: bool = False,
    config: SkeletonMapConfig | None = None,
    exact: bool = False,
) -> np.ndarray:
    """The uint8 ``[T, 2, out_size, out_size]`` skeleton maps of one pose sequence.

    Args:
        pose: float ``[T, 17, 3]`` (COCO-17) or ``[T, 18, 3]`` with ``openpose=True``: x, y
            in pixels and a confidence; (0, 0) marks a missing joint.
        openpose: the joints are in OpenPose/AlphaPose-18 order.
        config: the recipe's numbers; OpenGait's defaults if None.
        exact: draw every pixel in float64 (:func:`gray_indices`); the same bytes, slower.

    Returns:
        Channel 0 the limbs, channel 1 the joints.

    Raises:
        ValueError: a joint to draw has no finite position after normalisation (e.g. every
            joint of a frame at one height).
    """
    config = config or SkeletonMapConfig()
    normal = normalise_pose(pose, openpose=openpose, canvas=config.canvas)
    drawn = normal[..., 2] >= MIN_SCORE if config.use_score else np.ones(normal.shape[:2], bool)
    bad = drawn & ~np.isfinite(normal[..., :2]).all(axis=-1)
    if bad.any():
        frame = int(np.flatnonzero(bad.any(axis=1))[0])
        raise ValueError(
            f"frame {frame}: the joints cannot be centred and scaled (all at one height or "
            "missing hips), so no skeleton map can be drawn"
        )
    maps = gray_indices(normal, config, exact=exact)
    return np.stack([align(m, config.out_size, INDEX_VALUES) for m in maps], axis=1)
