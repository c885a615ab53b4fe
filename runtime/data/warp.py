"""Geometric warps of whole sequences: one matrix per sequence, all frames in one call.

The frames of a sequence share its warp, so they are passed to ``grid_sample`` as the
channels of one image: the sampling grid and weights are computed once per sequence, and the
grids of all the sequences a batch warps are computed together. Matrices follow OpenCV's pixel
convention (pixel centres at integer coordinates, bilinear interpolation, zeros outside), as
OpenGait's cv2-based transforms do. Every function takes a batch of matrices ``[k, ...]``.
"""

from __future__ import annotations

import functools

import torch
import torch.nn.functional as F


def solve_affine(source: torch.Tensor, target: torch.Tensor) -> torch.Tensor:
    """The 2x3 affine matrices ``[k, 2, 3]`` mapping 3 ``source`` points onto ``target`` ones.

    Args:
        source: points (x, y) ``[k, 3, 2]``.
        target: points (x, y) ``[k, 3, 2]``.
    """
    src = source.to(torch.float64)
    ones = torch.ones(*src.shape[:-1], 1, dtype=torch.float64)
    solution = torch.linalg.solve(torch.cat([src, ones], dim=-1), target.to(torch.float64))
    return solution.transpose(-1, -2)  # [k, 2, 3]


def solve_homography(source: torch.Tensor, target: torch.Tensor) -> torch.Tensor:
    """The 3x3 homographies ``[k, 3, 3]`` mapping 4 ``source`` points onto ``target`` ones.

    Args:
        source: points (x, y) ``[k, 4, 2]``.
        target: points (x, y) ``[k, 4, 2]``.
    """
    src = source.to(torch.float64)
    dst = target.to(torch.float64)
    x, y = src[..., 0], src[..., 1]  # [k, 4]
    u, v = dst[..., 0], dst[..., 1]
    one, zero = torch.ones_like(x), torch.zeros_like(x)
    # two equations per point pair: a fixed 8x8 system per sequence
    rows_u = torch.stack([x, y, one, zero, zero, zero, -u * x, -u * y], dim=-1)  # [k, 4, 8]
    rows_v = torch.stack([zero, zero, zero, x, y, one, -v * x, -v * y], dim=-1)
    system = torch.stack([rows_u, rows_v], dim=-2).flatten(-3, -2)  # [k, 8, 8]
    rhs = torch.stack([u, v], dim=-1).flatten(-2)  # [k, 8]
    h = torch.linalg.solve(system, rhs)  # [k, 8]
    return torch.cat([h, torch.ones(*h.shape[:-1], 1, dtype=torch.float64)], -1).unflatten(
        -1, (3, 3)
    )


def rotation_matrix(center_x: float, center_y: float, degrees: torch.Tensor) -> torch.Tensor:
    """The 2x3 matrices ``[k, 2, 3]`` of rotations by ``degrees`` ``[k]`` (counter-clockwise)
    about one point, as OpenCV's ``getRotationMatrix2D`` with scale 1."""
    angle = torch.deg2rad(torch.as_tensor(degrees, dtype=torch.float64).reshape(-1))
    alpha, beta = torch.cos(angle), torch.sin(angle)
    return torch.stack(
        [
            torch.stack([alpha, beta, (1 - alpha) * center_x - beta * center_y], dim=-1),
            torch.stack([-beta, alpha, beta * center_x + (1 - alpha) * center_y], dim=-1),
        ],
        dim=-2,
    )


BASE_GRID_SIZES = 16  # frame sizes whose base grid is kept (a loader warps one or two)


@functools.lru_cache(maxsize=BASE_GRID_SIZES)
def base_grid(height: int, width: int) -> torch.Tensor:
    """Homogeneous pixel coordinates ``[h * w, 3]`` (x, y, 1) in float32.

    Kept for the :data:`BASE_GRID_SIZES` sizes used last (``base_grid.cache_info()``); the
    tensor is shared between callers, who must not change it.
    """
    ys, xs = torch.meshgrid(
        torch.arange(height, dtype=torch.float32),
        torch.arange(width, dtype=torch.float32),
        indexing="ij",
    )
    return torch.stack([xs, ys, torch.ones_like(xs)], dim=-1).view(-1, 3)


def sampling_grid(output_to_source: torch.Tensor, height: int, width: int) -> torch.Tensor:
    """``grid_sample``'s grids ``[k, h, w, 2]`` for matrices ``[k, 2 or 3, 3]``."""
    matrix = output_to_source.to(torch.float32)
    points = torch.matmul(base_grid(height, width), matrix.transpose(-1, -2))  # [k, h*w, 2|3]
    source = points[..., :2]
    if matrix.shape[-2] == 3:  # projective: divide by the third coordinate
        source = source / points[..., 2:].clamp_min(1e-12)
    scale = torch.tensor([2 / max(width - 1, 1), 2 / max(height - 1, 1)])
    return (source * scale - 1).view(-1, height, width, 2)


def sample(planes: torch.Tensor, grid: torch.Tensor) -> torch.Tensor:
    """Bilinear samples of float ``planes`` ``[k, p, h, w]`` at ``grid`` ``[k, h, w, 2]``
    (zeros outside), in float32."""
    return F.grid_sample(
        planes.to(torch.float32), grid, mode="bilinear", padding_mode="zeros", align_corners=True
    )


def rounded_for(values: torch.Tensor, dtype: torch.dtype) -> torch.Tensor:
    """Warped float32 ``values``, made ready for a truncating conversion to ``dtype``.

    Bilinear weights sum to at most 1, so uint8 values stay within [0, 255]: +0.5 (in place)
    then truncation rounds them, as OpenCV's fixed-point warp does. Other dtypes: unchanged.
    """
    return values.add_(0.5) if dtype == torch.uint8 else values


def warp(planes: torch.Tensor, output_to_source: torch.Tensor) -> torch.Tensor:
    """Warp ``k`` stacks of frames, each with its own projective map.

    Args:
        planes: ``[k, p, h, w]``: the ``p`` planes (frames x channels) of ``k`` sequences;
            uint8 stays uint8 (rounded), float stays float.
        output_to_source: ``[k, 2, 3]`` (affine) or ``[k, 3, 3]`` (projective) matrices taking
            an output pixel (x, y) to the source pixel it is read from.

    Returns:
        The warped planes, a new tensor of the same shape and dtype; pixels read from outside
        the frame are 0.
    """
    grid = sampling_grid(output_to_source, *planes.shape[-2:])
    return rounded_for(sample(planes, grid), planes.dtype).to(planes.dtype)
