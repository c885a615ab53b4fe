"""Per-sequence segmentation noise: what background subtraction does to real silhouettes.

A slightly fat or thin outline (threshold), a wobbly edge, now and then a missing patch on
the body (clothes that match the background) or a spurious one next to it.
"""

from __future__ import annotations

import numpy as np

from .raster import Noise


def _upsample_matrix(low: int, size: int) -> np.ndarray:
    """Linear interpolation from ``low`` grid points to ``size`` pixels, ``[size, low]``."""
    position = (np.arange(size) + 0.5) / size * (low - 1)
    left = np.clip(np.floor(position).astype(int), 0, low - 2)
    weight = position - left
    matrix = np.zeros((size, low))
    matrix[np.arange(size), left] = 1.0 - weight
    matrix[np.arange(size), left + 1] = weight
    return matrix


def sample_noise(
    rng: np.random.Generator, frames: int, capsules: int, size: int, strength: float = 1.0
) -> Noise:
    """Draw the segmentation noise of one sequence of ``frames`` frames.

    Args:
        rng: the sequence's random generator.
        frames: number of frames.
        capsules: number of body capsules (patches attach to one of them).
        size: image side in pixels.
        strength: 0 gives clean silhouettes, 1 the default amount of noise.
    """
    bias = strength * (rng.normal(0.0, 0.25) + rng.normal(0.0, 0.12, size=frames))
    amplitude = strength * rng.uniform(0.3, 0.8)
    low = 9
    coarse = rng.normal(0.0, amplitude, size=(frames, low, low))
    upsample = _upsample_matrix(low, size)
    edges = (upsample @ coarse @ upsample.T).astype(np.float32)  # [t, size, size]

    def patches(probability: float, low_radius: float, high_radius: float) -> np.ndarray:
        present = rng.random(frames) < probability * strength
        return np.stack(
            [
                rng.integers(0, capsules, size=frames).astype(np.float64),
                rng.uniform(0.0, 1.0, size=frames),
                rng.uniform(0.0, 2.0 * np.pi, size=frames),
                np.where(present, rng.uniform(low_radius, high_radius, size=frames), 0.0),
            ],
            axis=1,
        )

    return Noise(
        bias=bias, edges=edges, holes=patches(0.1, 1.0, 2.5), blobs=patches(0.06, 1.0, 2.5)
    )
