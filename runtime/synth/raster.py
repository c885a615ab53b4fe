"""Rasterise projected capsules into normalised silhouettes, the way OpenGait's pretreatment
leaves them: cropped to the body's rows, scaled to the image height keeping the aspect
ratio, centred on the column that splits the body's mass in two, ``[t, 64, 64]`` uint8.

Everything is computed for a whole sequence at once: a signed distance field (negative
inside the body) per frame, built capsule by capsule on the capsule's bounding box only,
then segmentation noise, then a soft edge one pixel wide (like the resampled edges of real
pretreated silhouettes).

:func:`render_parts` draws the human-parsing maps of the same frames with the same crop:
each silhouette pixel (coverage at least one half) takes the part label of the capsule
nearest to it, found in the same pass over the capsules.
"""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np

FAR = np.float32(1e3)  # "no body here" in the distance field, in pixels


@dataclass(frozen=True)
class Projected:
    """Capsules of one sequence in image units: ``start``/``end`` ``[t, c, 2]``, radii ``[c]``."""

    start: np.ndarray
    end: np.ndarray
    start_radius: np.ndarray
    end_radius: np.ndarray


@dataclass(frozen=True)
class Noise:
    """Segmentation noise of one sequence, in pixels.

    ``holes`` and ``blobs`` are ``[t, 4]``: a capsule index, a position along it (0..1), an
    angle and a radius; the patch sits on that capsule's axis (a hole: the segmentation
    missed part of the body) or just outside its outline (a blob: background taken for
    foreground). A radius <= 0 means no patch in that frame.
    """

    bias: np.ndarray  # [t] grows (+) or shrinks (-) the whole outline
    edges: np.ndarray  # [t, size, size] smooth wobble of the outline
    holes: np.ndarray  # [t, 4]
    blobs: np.ndarray  # [t, 4]


def _to_pixels(capsules: Projected, size: int) -> tuple[np.ndarray, np.ndarray, np.ndarray]:
    """Per frame, map image units to pixels so the body spans the rows exactly.

    Returns start and end points ``[t, c, 2]`` as (column, row) in pixels and the radii
    ``[t, c, 2]`` (start, end) in pixels.
    """
    points = np.stack([capsules.start, capsules.end], axis=2)  # [t, c, 2 ends, 2 xy]
    radii = np.stack([capsules.start_radius, capsules.end_radius], axis=1)  # [c, 2 ends]
    top = (points[..., 1] + radii).max(axis=(1, 2))  # [t]
    bottom = (points[..., 1] - radii).min(axis=(1, 2))
    left = (points[..., 0] - radii).min(axis=(1, 2))
    right = (points[..., 0] + radii).max(axis=(1, 2))
    scale = size / (top - bottom)  # [t] pixels per unit
    origin_x = 0.5 * (left + right) - 0.5 * size / scale
    column = (points[..., 0] - origin_x[:, None, None]) * scale[:, None, None]
    row = (top[:, None, None] - points[..., 1]) * scale[:, None, None]
    pixel_points = np.stack([column, row], axis=-1)  # [t, c, 2 ends, 2]
    pixel_radii = radii[None] * scale[:, None, None]  # [t, c, 2 ends]
    return pixel_points[:, :, 0], pixel_points[:, :, 1], pixel_radii


def distance_field(capsules: Projected, size: int, margin: float = 2.0) -> np.ndarray:
    """Signed distance in pixels to the union of the capsules, ``[t, size, size]`` float32."""
    return _field(capsules, size, margin, None)


def _field(capsules: Projected, size: int, margin: float, nearest: np.ndarray | None) -> np.ndarray:
    """:func:`distance_field`; with ``nearest`` (int16 ``[t, size, size]``, filled with -1)
    also records, per pixel, the index of the capsule that is closest."""
    start, end, radii = _to_pixels(capsules, size)
    frames, count = start.shape[:2]
    field = np.full((frames, size, size), FAR, dtype=np.float32)
    centres = np.arange(size, dtype=np.float32) + 0.5
    for index in range(count):
        a, b, r = start[:, index], end[:, index], radii[:, index]  # [t, 2], [t, 2], [t, 2]
        low = np.minimum(a, b) - r.max(axis=1, keepdims=True) - margin  # [t, 2]
        high = np.maximum(a, b) + r.max(axis=1, keepdims=True) + margin
        col0, row0 = np.clip(np.floor(low.min(axis=0)), 0, size).astype(int)
        col1, row1 = np.clip(np.ceil(high.max(axis=0)), 0, size).astype(int)
        if col1 <= col0 or row1 <= row0:
            continue
        delta = (b - a).astype(np.float32)  # [t, 2]
        inverse_length = 1.0 / np.maximum((delta**2).sum(axis=1), 1e-6)
        u = centres[None, None, col0:col1] - a[:, 0, None, None].astype(np.float32)  # [t, 1, w]
        v = centres[None, row0:row1, None] - a[:, 1, None, None].astype(np.float32)  # [t, h, 1]
        dx = delta[:, 0, None, None]
        dy = delta[:, 1, None, None]
        along = u * (dx * inverse_length[:, None, None]) + v * (dy * inverse_length[:, None, None])
        np.clip(along, 0.0, 1.0, out=along)  # [t, h, w] position of the closest point
        off_x = u - along * dx
        off_y = v - along * dy
        distance = np.sqrt(off_x * off_x + off_y * off_y)
        radius_a = r[:, 0, None, None].astype(np.float32)
        radius_b = r[:, 1, None, None].astype(np.float32)
        distance -= radius_a + along * (radius_b - radius_a)
        window = field[:, row0:row1, col0:col1]
        if nearest is not None:
            closer = distance < window
            nearest[:, row0:row1, col0:col1][closer] = index
        np.minimum(window, distance, out=window)
    return field


def _patches(
    start: np.ndarray,
    end: np.ndarray,
    radii: np.ndarray,
    patches: np.ndarray,
    outside: bool,
    size: int,
) -> np.ndarray:
    """Signed distance to one disk per frame, ``[t, size, size]`` (see :class:`Noise`)."""
    frames = np.arange(start.shape[0])
    index = patches[:, 0].astype(int)
    along = patches[:, 1:2]
    centre = start[frames, index] + along * (end[frames, index] - start[frames, index])  # [t, 2]
    if outside:
        reach = radii[frames, index].mean(axis=1) + 0.5 * patches[:, 3]
        direction = np.stack([np.cos(patches[:, 2]), np.sin(patches[:, 2])], axis=1)
        centre = centre + reach[:, None] * direction
    pixels = np.arange(size, dtype=np.float32) + 0.5
    cols = pixels[None, None, :] - centre[:, 0, None, None].astype(np.float32)
    rows = pixels[None, :, None] - centre[:, 1, None, None].astype(np.float32)
    distance = np.sqrt(rows * rows + cols * cols) - patches[:, 3, None, None].astype(np.float32)
    distance[patches[:, 3] <= 0] = FAR
    return distance


def centre_columns(image: np.ndarray) -> np.ndarray:
    """Shift each frame sideways so the column splitting its mass in two lands at ``size // 2``.

    The shift is a whole number of pixels and uncovered columns are empty, as in OpenGait's
    pretreatment, which cuts a window of the image width around that column.
    """
    return shift_columns(image, mass_centres(image))


def mass_centres(image: np.ndarray) -> np.ndarray:
    """Per frame of ``[t, h, w]``, the first column past half the mass, ``[t]``."""
    mass = image.sum(axis=1, dtype=np.float64).cumsum(axis=1)  # [t, w]
    half = mass[:, -1:] / 2.0
    return np.argmax(mass > half, axis=1)


def shift_columns(image: np.ndarray, centre: np.ndarray) -> np.ndarray:
    """Shift frame ``i`` of ``[t, h, w]`` so its column ``centre[i]`` lands at ``w // 2``."""
    frames, size = image.shape[0], image.shape[-1]
    padded = np.zeros((frames, image.shape[1], 3 * size), dtype=image.dtype)
    padded[:, :, size : 2 * size] = image
    source = np.arange(size)[None, :] + centre[:, None] - size // 2 + size  # [t, w]
    return padded[
        np.arange(frames)[:, None, None],
        np.arange(image.shape[1])[None, :, None],
        source[:, None, :],
    ]


def render(capsules: Projected, noise: Noise | None, size: int = 64) -> np.ndarray:
    """Draw one sequence: normalised silhouettes ``[t, size, size]`` uint8 (0 or up to 255)."""
    return centre_columns(_coverage(capsules, noise, size, None))


def render_parts(
    capsules: Projected, noise: Noise | None, labels: np.ndarray, size: int = 64
) -> tuple[np.ndarray, np.ndarray]:
    """Draw one sequence's silhouettes (as :func:`render`) and its human-parsing maps.

    Args:
        capsules: the projected capsules.
        noise: segmentation noise, or None.
        labels: the part label of each capsule, uint8 ``[c]``.
        size: image side in pixels.

    Returns:
        ``(silhouettes, parsing)``, both uint8 ``[t, size, size]``, shifted alike; a parsing
        pixel is 0 where the silhouette is below 128, else the label of the nearest capsule.
    """
    nearest = np.full((capsules.start.shape[0], size, size), -1, dtype=np.int16)
    image = _coverage(capsules, noise, size, nearest)
    parts = np.where(image >= 128, np.concatenate([[0], labels])[nearest + 1], 0)
    centre = mass_centres(image)
    return shift_columns(image, centre), shift_columns(parts.astype(np.uint8), centre)


def _coverage(
    capsules: Projected, noise: Noise | None, size: int, nearest: np.ndarray | None
) -> np.ndarray:
    """The silhouettes before centring, uint8 ``[t, size, size]``."""
    field = _field(capsules, size, 2.0, nearest)  # [t, size, size]
    if noise is not None:
        start, end, radii = _to_pixels(capsules, size)
        field -= noise.bias[:, None, None].astype(np.float32)
        field += noise.edges
        holes = _patches(start, end, radii, noise.holes, outside=False, size=size)
        np.maximum(field, -holes, out=field)
        blobs = _patches(start, end, radii, noise.blobs, outside=True, size=size)
        np.minimum(field, blobs, out=field)
    coverage = np.clip(0.5 - field, 0.0, 1.0)  # soft edge one pixel wide
    return np.rint(coverage * 255.0).astype(np.uint8)
