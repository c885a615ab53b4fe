"""Geometric warps of whole sequences: one matrix for every frame, one ``grid_sample`` call.

The frames of a sequence share the warp, so they are passed to ``grid_sample`` as channels
of a single image: the sampling grid and weights are computed once per sequence. Matrices
follow OpenCV's pixel convention (pixel centres at integer coordinates, bilinear
interpolation, zeros outside), as OpenGait's cv2-based transforms do.
"""

from __future__ import annotations

import torch
import torch.nn.functional as F


def solve_affine(source: torch.Tensor, target: torch.Tensor) -> torch.Tensor:
    """The 2x3 affine matrix that maps 3 ``source`` points (x, y) onto ``target`` points."""
    ones = torch.ones(3, 1, dtype=torch.float64)
    src = torch.cat([source.to(torch.float64), ones], dim=1)  # [3, 3]
    solution = torch.linalg.solve(src, target.to(torch.float64))  # [3, 2]
    return solution.T  # [2, 3]


def solve_homography(source: torch.Tensor, target: torch.Tensor) -> torch.Tensor:
    """The 3x3 homography that maps 4 ``source`` points (x, y) onto ``target`` points."""
    src = source.to(torch.float64)
    dst = target.to(torch.float64)
    rows = torch.zeros(8, 8, dtype=torch.float64)
    rhs = torch.zeros(8, dtype=torch.float64)
    for i in range(4):  # 4 point pairs, 2 equations each (a fixed 8x8 system, not per frame)
        x, y = src[i]
        u, v = dst[i]
        rows[2 * i] = torch.tensor([x, y, 1, 0, 0, 0, -u * x, -u * y])
        rows[2 * i + 1] = torch.tensor([0, 0, 0, x, y, 1, -v * x, -v * y])
        rhs[2 * i], rhs[2 * i + 1] = u, v
    h = torch.linalg.solve(rows, rhs)
    return torch.cat([h, torch.ones(1, dtype=torch.float64)]).view(3, 3)


def rotation_matrix(center_x: float, center_y: float, degrees: float) -> torch.Tensor:
    """The 2x3 matrix of a rotation by ``degrees`` (counter-clockwise) about a point."""
    angle = torch.deg2rad(torch.tensor(degrees, dtype=torch.float64))
    alpha, beta = torch.cos(angle), torch.sin(angle)
    return torch.stack(
        [
            torch.stack([alpha, beta, (1 - alpha) * center_x - beta * center_y]),
            torch.stack([-beta, alpha, beta * center_x + (1 - alpha) * center_y]),
        ]
    )


_BASE_GRIDS: dict[tuple[int, int], torch.Tensor] = {}


def _base_grid(height: int, width: int) -> torch.Tensor:
    """Homogeneous pixel coordinates ``[h, w, 3]`` (x, y, 1), cached per frame size."""
    grid = _BASE_GRIDS.get((height, width))
    if grid is None:
        ys, xs = torch.meshgrid(
            torch.arange(height, dtype=torch.float64),
            torch.arange(width, dtype=torch.float64),
            indexing="ij",
        )
        grid = _BASE_GRIDS[(height, width)] = torch.stack([xs, ys, torch.ones_like(xs)], dim=-1)
    return grid


def warp(seq: torch.Tensor, output_to_source: torch.Tensor) -> torch.Tensor:
    """Warp every frame of ``seq`` ``[s, ..., h, w]`` with one projective map.

    Args:
        seq: the frames; uint8 stays uint8 (rounded), float stays float.
        output_to_source: 2x3 (affine) or 3x3 (projective) matrix taking an output pixel
            (x, y) to the source pixel it is read from.

    Returns:
        The warped frames, same shape and dtype; pixels read from outside are 0.
    """
    height, width = seq.shape[-2:]
    matrix = output_to_source.to(torch.float64)
    if matrix.shape[0] == 2:
        matrix = torch.cat([matrix, torch.tensor([[0.0, 0.0, 1.0]], dtype=torch.float64)])
    points = _base_grid(height, width) @ matrix.T  # [h, w, 3]
    source = points[..., :2] / points[..., 2:].clamp_min(1e-12)
    scale = torch.tensor([max(width - 1, 1), max(height - 1, 1)], dtype=torch.float64)
    grid = (source / scale * 2 - 1).to(torch.float32).unsqueeze(0)  # [1, h, w, 2]
    planes = seq.reshape(1, -1, height, width).to(torch.float32)  # [1, s*c, h, w]
    out = F.grid_sample(planes, grid, mode="bilinear", padding_mode="zeros", align_corners=True)
    out = out.reshape(seq.shape)
    if seq.dtype == torch.uint8:
        return out.round_().clamp_(0, 255).to(torch.uint8)
    return out.to(seq.dtype)
