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


def _draw_points(canvas: np.ndarray, centre: np.ndarray, peak: np.ndarray, sigma: float) -> None:
    """Max-combine Gaussians at ``centre [T, K, 2]`` into ``canvas [T, H, W]`` (float64).

    A point's Gaussian is the outer product of one row and one column profile, each 0
    outside OpenGait's box, so only those profiles go through ``exp``; ``peak [T, K]`` (0
    draws nothing) scales the rows. Each joint is combined over every frame at once, on the
    union of its boxes.
    """
    drawn = peak > 0
    centre = np.where(drawn[..., None], centre, 0.0)
    windows = _windows(centre, centre, drawn, sigma, canvas.shape[-1])
    columns = np.exp(-((windows.x - centre[..., 0:1]) ** 2) / 2.0 / sigma**2)
    rows = np.exp(-((windows.y - centre[..., 1:2]) ** 2) / 2.0 / sigma**2) * peak[..., None]
    columns = np.where(windows.inside_x, columns, 0.0)
    rows = np.where(windows.inside_y, rows, 0.0)
    scratch = np.empty(canvas[:, : rows.shape[-1], : columns.shape[-1]].size)
    for k, ys, xs, h, w in windows.regions():
        patch = scratch[: len(canvas) * h * w].reshape(-1, h, w)
        np.multiply(rows[:, k, :h, None], columns[:, k, None, :w], out=patch)
        np.maximum(canvas[:, ys, xs], patch, out=canvas[:, ys, xs])


def _draw_segments(
    cost: np.ndarray, start: np.ndarray, end: np.ndarray, peak: np.ndarray, sigma: float
) -> None:
    """Min-combine ``d^2 / 2s^2 - log(peak)`` of segments into ``cost [T, H, W]``, in place.

    ``exp(-cost)`` is then the maximum of the segments' Gaussians. ``start``/``end`` are
    ``[T, K, 2]``; a segment shorter than one pixel is a point at ``start``; ``peak [T, K]``
    (0 draws nothing). In units of ``sigma * sqrt(2)``, the squared distance to a segment
    is ``across^2 + max(|along| - half, 0)^2`` (``along`` from its middle, ``half`` its
    half length); ``across^2 - log(peak)`` expands into three outer products, one matrix
    product per segment. The results equal OpenGait's arithmetic to float64 rounding.
    """
    drawn = peak > 0
    start = np.where(drawn[..., None], start, 0.0)
    end = np.where(drawn[..., None], end, 0.0)
    vector = end - start
    length2 = (vector**2).sum(axis=-1)
    point = length2 < 1
    end = np.where(point[..., None], start, end)
    windows = _windows(np.minimum(start, end), np.maximum(start, end), drawn, sigma, cost.shape[-1])
    unit = 1.0 / (sigma * np.sqrt(2.0))
    length = np.sqrt(np.where(point, 1.0, length2))
    ux = np.where(point, 1.0, vector[..., 0] / length)[..., None]
    uy = np.where(point, 0.0, vector[..., 1] / length)[..., None]
    half = np.where(point, 0.0, unit * length / 2)
    middle = (start + end) / 2
    along_x = np.where(windows.inside_x, unit * (windows.x - middle[..., 0:1]) * ux, np.inf)
    along_y = np.where(windows.inside_y, unit * (windows.y - middle[..., 1:2]) * uy, np.inf)
    across_x = np.where(windows.inside_x, unit * (windows.x - start[..., 0:1]) * uy, 0.0)
    across_y = np.where(windows.inside_y, unit * (windows.y - start[..., 1:2]) * ux, 0.0)
    log_peak = np.log(np.where(drawn, peak, 1.0))[..., None]
    rows = np.stack([across_y**2 - log_peak, -2 * across_y, np.ones_like(across_y)], axis=-1)
    columns = np.stack([np.ones_like(across_x), across_x, across_x**2], axis=-2)
    size = cost[:, : along_y.shape[-1], : along_x.shape[-1]].size
    excess, scratch = np.empty(size), np.empty(size)
    for k, ys, xs, h, w in windows.regions():
        shape = (len(cost), h, w)
        outside = excess[: len(cost) * h * w].reshape(shape)
        clipped = scratch[: len(cost) * h * w].reshape(shape)
        np.add(along_y[:, k, :h, None], along_x[:, k, None, :w], out=outside)
        bound = half[:, k, None, None]
        np.clip(outside, -bound, bound, out=clipped)
        outside -= clipped
        np.square(outside, out=outside)
        np.matmul(rows[:, k, :h], columns[:, k, :, :w], out=clipped)
        outside += clipped
        np.minimum(cost[:, ys, xs], outside, out=cost[:, ys, xs])


def draw_maps(pose: np.ndarray, config: SkeletonMapConfig) -> tuple[np.ndarray, np.ndarray]:
    """The limb and joint maximum maps, float32 ``[T, canvas, canvas]`` each.

    Args:
        pose: normalised float64 ``[T, 17, 3]`` (canvas pixels, confidence).
        config: sigma, canvas size, whether confidences set the peaks.

    Returns:
        ``(limbs, joints)``: per frame, the maximum over limbs (joints) of their Gaussians.
    """
    size, sigma = config.canvas, config.sigma
    xy = pose[..., :2]
    score = pose[..., 2] if config.use_score else np.ones(pose.shape[:2])
    first, second = np.array(COCO17_LIMBS).T
    joints = np.zeros((len(pose), size, size), dtype=np.float64)
    _draw_points(joints, xy, np.where(score >= MIN_SCORE, score, 0.0), sigma)
    start, end = xy[:, first], xy[:, second]
    short = ((start - end) ** 2).sum(axis=-1) < 1  # OpenGait draws the start joint instead
    value = np.minimum(score[:, first], score[:, second])
    peak = np.where(value >= MIN_SCORE, np.where(short, score[:, first], value), 0.0)
    cost = np.full_like(joints, np.inf)
    _draw_segments(cost, start, end, peak, sigma)
    np.negative(cost, out=cost)
    return np.exp(cost, out=cost).astype(np.float32), joints.astype(np.float32)


def _gray_levels() -> np.ndarray:
    """matplotlib's ``cm.gray`` lookup table as uint8 levels (its float LUT times 255)."""
    n = 256
    position = (n - 1) * np.linspace(0, 1, n) ** 1.0
    table = np.concatenate([[0.0], (position[1:-1] - 0.0) / (n - 1.0) * 1.0 + 0.0, [1.0]])
    return (np.clip(table, 0.0, 1.0) * 255).astype(np.uint8)


GRAY_LEVELS = _gray_levels()


def to_gray(maps: np.ndarray) -> np.ndarray:
    """float32 maps in [0, 1] to uint8 grey levels, as ``cm.gray`` then ``* 255`` does."""
    index = np.asarray(maps, dtype=np.float32) * np.float32(256)
    np.fmax(index, 0, out=index)  # fmax/fmin turn NaN into 0 (cm.gray's "bad" colour)
    np.fmin(index, 255, out=index)
    return GRAY_LEVELS.take(index.astype(np.uint8))


LEVEL_VALUES = np.arange(256) / 255.0  # a grey level as the float OpenGait resizes


def align(images: np.ndarray, out_size: int = 64) -> np.ndarray:
    """Crop each uint8 ``[T, H, W]`` image to its rows and a centred square-ish band; resize.

    The rows from the first to the last non-zero one are kept, and the columns
    ``W // 2 - rows // 2 .. W // 2 + rows // 2`` (an empty image keeps its centre pixel);
    the crop is resized to ``out_size`` with OpenCV's area interpolation and
    ``value * 255`` truncated to uint8, as OpenGait's HeatmapAlignment does.
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
        out[members] = resize_area(LEVEL_VALUES.take(crops), (out_size, out_size))
    return (out * 255).astype(np.uint8)


def normalise_pose(pose: np.ndarray, *, openpose: bool = False, canvas: int = 128) -> np.ndarray:
    """Steps 1-3: COCO-17 order, missing joints filled, centred and scaled ``[T, 17, 3]``."""
    pose = to_coco17(pose) if openpose else np.asarray(pose, dtype=np.float64)
    return centre_and_scale(fill_missing(pose), canvas)


def skeleton_maps(
    pose: np.ndarray, *, openpose: bool = False, config: SkeletonMapConfig | None = None
) -> np.ndarray:
    """The uint8 ``[T, 2, out_size, out_size]`` skeleton maps of one pose sequence.

    Args:
        pose: float ``[T, 17, 3]`` (COCO-17) or ``[T, 18, 3]`` with ``openpose=True``: x, y
            in pixels and a confidence; (0, 0) marks a missing joint.
        openpose: the joints are in OpenPose/AlphaPose-18 order.
        config: the recipe's numbers; OpenGait's defaults if None.

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
    limbs, joints = draw_maps(normal, config)
    return np.stack(
        [align(to_gray(limbs), config.out_size), align(to_gray(joints), config.out_size)], axis=1
    )
