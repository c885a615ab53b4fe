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
5. the maximum becomes a grey level as matplotlib's ``cm.gray`` maps it to uint8 (drawn
   in float32, only the pixels whose level the float32 error could change are computed
   again in float64: :mod:`.skeleton_draw`; ``exact=True`` draws all of them in float64);
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
from .skeleton_draw import (
    ROUNDING,
    certain_index,
    draw_points,
    draw_segments,
    point_terms,
    point_values,
    segment_error,
    segment_terms,
    segment_values,
    workspace,
)

# COCO-17 joint j is OpenPose/AlphaPose-18 joint COCO18_TO_COCO17[j] (OpenGait's map_dict)
COCO18_TO_COCO17 = (0, 15, 14, 17, 16, 5, 2, 6, 3, 7, 4, 11, 8, 12, 9, 13, 10)
# the 17 limbs OpenGait draws (GeneratePoseTarget's COCO-17 skeleton)
COCO17_LIMBS = (
    (0, 1), (0, 2), (1, 3), (2, 4), (0, 5), (5, 7), (7, 9), (0, 6), (6, 8),
    (8, 10), (5, 11), (11, 13), (13, 15), (6, 12), (12, 14), (14, 16), (11, 12),
)  # fmt: skip
LEFT_HIP, RIGHT_HIP = 11, 12
FRAMES_PER_PASS = 32  # frames drawn together (bounds the buffers kept for the next call)
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


def _map_terms(pose: np.ndarray, config: SkeletonMapConfig) -> tuple:
    """The limb terms and the joint ``(windows, rows, columns)`` of a normalised pose."""
    size, sigma = config.canvas, config.sigma
    xy = pose[..., :2]
    score = pose[..., 2] if config.use_score else np.ones(pose.shape[:2])
    first, second = np.array(COCO17_LIMBS).T
    joints = point_terms(xy, np.where(score >= MIN_SCORE, score, 0.0), sigma, size)
    start, end = xy[:, first], xy[:, second]
    short = ((start - end) ** 2).sum(axis=-1) < 1  # OpenGait draws the start joint instead
    value = np.minimum(score[:, first], score[:, second])
    peak = np.where(value >= MIN_SCORE, np.where(short, score[:, first], value), 0.0)
    return segment_terms(start, end, peak, sigma, size), joints


def draw_maps(pose: np.ndarray, config: SkeletonMapConfig) -> tuple[np.ndarray, np.ndarray]:
    """The limb and joint maximum maps, float32 ``[T, canvas, canvas]`` each, drawn in float64.

    Args:
        pose: normalised float64 ``[T, 17, 3]`` (canvas pixels, confidence).
        config: sigma, canvas size, whether confidences set the peaks.

    Returns:
        ``(limbs, joints)``: per frame, the maximum over limbs (joints) of their Gaussians.
    """
    maps = np.empty((2, len(pose), config.canvas, config.canvas), np.float32)
    for f in range(0, len(pose), FRAMES_PER_PASS):  # bounds the reused buffers
        frames = slice(f, f + FRAMES_PER_PASS)
        limbs, (windows, rows, columns) = _map_terms(pose[frames], config)
        shape = (len(pose[frames]), config.canvas, config.canvas)
        joints = np.zeros(shape)
        draw_points(joints, windows, rows, columns)
        cost = np.full(shape, np.inf)
        draw_segments(cost, limbs)
        np.negative(cost, out=cost)
        maps[0, frames], maps[1, frames] = np.exp(cost, out=cost), joints
    return maps[0], maps[1]


def gray_indices(
    pose: np.ndarray, config: SkeletonMapConfig, *, exact: bool = False
) -> tuple[np.ndarray, np.ndarray]:
    """The limb and joint maps as ``cm.gray``'s uint8 indices ``[T, canvas, canvas]`` each.

    ``GRAY_LEVELS`` of them is ``to_gray`` of :func:`draw_maps`. Unless ``exact``, maps are drawn
    in float32 and only the pixels whose grey level the float32 error could change (see
    :func:`certain_index`, usually well under 1%) are computed again in float64.

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
    joints = workspace("joints", size, np.float32).reshape(shape)
    joints.fill(0)
    draw_points(joints, windows, rows.astype(np.float32), columns.astype(np.float32))
    joint_index, pixels = certain_index(joints, np.full(len(pose), 4 * ROUNDING))
    joint_index[pixels] = _gray_index(point_values(windows, rows, columns, *pixels))
    cost = workspace("cost", size, np.float32).reshape(shape)
    cost.fill(np.inf)
    draw_segments(cost, limbs.astype(np.float32), product=True)
    np.negative(cost, out=cost)
    limb_index, pixels = certain_index(np.exp(cost, out=cost), segment_error(limbs))
    limb_index[pixels] = _gray_index(segment_values(limbs, *pixels))
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
    widths = right - left
    shapes = height * (w + 1) + widths  # one number per crop shape
    flat = images.reshape(-1)
    for shape in np.unique(shapes):
        members = np.flatnonzero(shapes == shape)
        rows, cols = divmod(int(shape), w + 1)
        if (rows, cols) == (h, w):  # the whole image: no copy to gather
            crops = images[members]
        else:  # one flat gather: crop pixel (i, j) of frame n is n*h*w + (top + i)*w + left + j
            corner = members * (h * w) + top[members] * w + left[members]
            offsets = np.arange(rows)[:, None] * w + np.arange(cols)
            crops = flat.take(corner[:, None, None] + offsets)
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
