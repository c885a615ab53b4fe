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
FRAME_CHUNK = 8  # frames drawn at once (bounds the memory of the [frames, 17, H, W] maps)


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
    start = np.maximum(np.trunc(low - 3 * sigma), 0).astype(np.int64)
    stop = np.minimum(np.trunc(high + 3 * sigma) + 1, size).astype(np.int64)
    return start, np.maximum(stop, start)


def _draw(
    canvas: np.ndarray, start: np.ndarray, end: np.ndarray, peak: np.ndarray, sigma: float
) -> None:
    """Max-combine Gaussians of segments ``start -> end`` into ``canvas [T, H, W]``, in place.

    ``start``/``end`` are ``[T, K, 2]`` (x, y); a segment shorter than one pixel is drawn as
    a point at ``start``; ``peak [T, K]`` scales each Gaussian (0 draws nothing). Each item
    is evaluated only inside its box (on a local grid as large as the largest box), with
    OpenGait's arithmetic, and folded into the canvas with ``np.maximum.at``.
    """
    t, size = len(canvas), canvas.shape[-1]
    point = ((start - end) ** 2).sum(axis=-1) < 1
    end = np.where(point[..., None], start, end)
    low, high = np.minimum(start, end), np.maximum(start, end)
    x0, x1 = _boxes(low[..., 0], high[..., 0], sigma, size)
    y0, y1 = _boxes(low[..., 1], high[..., 1], sigma, size)
    width, height = max(int((x1 - x0).max()), 1), max(int((y1 - y0).max()), 1)
    x = (x0[..., None] + np.arange(width))[..., None, :].astype(np.float64)  # [T, K, 1, w]
    y = (y0[..., None] + np.arange(height))[..., :, None].astype(np.float64)  # [T, K, h, 1]
    sx, sy = start[..., 0, None, None], start[..., 1, None, None]
    ex, ey = end[..., 0, None, None], end[..., 1, None, None]
    to_start = (x - sx) ** 2 + (y - sy) ** 2
    to_end = (x - ex) ** 2 + (y - ey) ** 2
    length = (sx - ex) ** 2 + (sy - ey) ** 2
    with np.errstate(divide="ignore", invalid="ignore"):
        along = (to_start - to_end + length) / 2.0 / length
        across = (x - (sx + along * (ex - sx))) ** 2 + (y - (sy + along * (ey - sy))) ** 2
    segment = np.where(along <= 0, to_start, np.where(along >= 1, to_end, across))
    distance = np.where(point[..., None, None], to_start, segment)
    values = np.exp(-distance / 2.0 / sigma**2) * peak[..., None, None]
    inside = (x < x1[..., None, None]) & (y < y1[..., None, None]) & (values > 0)
    frame = np.broadcast_to(np.arange(t)[:, None, None, None], inside.shape)
    rows = np.broadcast_to(y.astype(np.int64), inside.shape)
    cols = np.broadcast_to(x.astype(np.int64), inside.shape)
    flat = (frame[inside] * size + rows[inside]) * size + cols[inside]
    np.maximum.at(canvas.reshape(-1), flat, values[inside])


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
    limbs = np.zeros((len(pose), size, size), dtype=np.float64)
    joints = np.zeros_like(limbs)
    for lo in range(0, len(pose), FRAME_CHUNK):
        part = slice(lo, lo + FRAME_CHUNK)
        p, s = xy[part], score[part]
        _draw(joints[part], p, p, np.where(s >= MIN_SCORE, s, 0.0), sigma)
        start, end = p[:, first], p[:, second]
        short = ((start - end) ** 2).sum(axis=-1) < 1  # OpenGait draws the start joint instead
        value = np.minimum(s[:, first], s[:, second])
        peak = np.where(value >= MIN_SCORE, np.where(short, s[:, first], value), 0.0)
        _draw(limbs[part], start, end, peak, sigma)
    return limbs.astype(np.float32), joints.astype(np.float32)


def _gray_levels() -> np.ndarray:
    """matplotlib's ``cm.gray`` lookup table as uint8 levels (its float LUT times 255)."""
    n = 256
    position = (n - 1) * np.linspace(0, 1, n) ** 1.0
    table = np.concatenate([[0.0], (position[1:-1] - 0.0) / (n - 1.0) * 1.0 + 0.0, [1.0]])
    return (np.clip(table, 0.0, 1.0) * 255).astype(np.uint8)


GRAY_LEVELS = _gray_levels()


def to_gray(maps: np.ndarray) -> np.ndarray:
    """float32 maps in [0, 1] to uint8 grey levels, as ``cm.gray`` then ``* 255`` does."""
    index = maps.astype(np.float32) * np.float32(256)
    index = np.where(np.isnan(index), 0, np.clip(index, 0, 255)).astype(np.int64)
    levels = GRAY_LEVELS[index]
    return np.where(np.isnan(maps), 0, levels).astype(np.uint8)


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
    scaled = images / 255.0
    out = np.empty((t, out_size, out_size), dtype=np.float64)
    shapes = np.stack([height, right - left], axis=1)
    for shape in np.unique(shapes, axis=0):
        members = np.flatnonzero((shapes == shape).all(axis=1))
        rows = top[members, None] + np.arange(shape[0])
        cols = left[members, None] + np.arange(shape[1])
        crops = scaled[members[:, None, None], rows[:, :, None], cols[:, None, :]]
        out[members] = resize_area(crops, (out_size, out_size))
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
