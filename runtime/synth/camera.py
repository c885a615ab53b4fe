"""Orthographic cameras at CASIA-B's angles around the walking direction.

View 000 looks at the walker from the front, 090 from the walker's left side, 180 from
behind. Cameras look slightly down (``elevation``), as CASIA-B's do.
"""

from __future__ import annotations

import numpy as np


def camera_axes(view_degrees: float, elevation_degrees: float) -> np.ndarray:
    """Return the image axes ``[2, 3]``: row 0 points right, row 1 up, in the body frame."""
    azimuth, elevation = np.radians(view_degrees), np.radians(elevation_degrees)
    towards_camera = np.array(
        [
            np.cos(azimuth) * np.cos(elevation),
            np.sin(azimuth) * np.cos(elevation),
            np.sin(elevation),
        ]
    )
    right = np.array([-np.sin(azimuth), np.cos(azimuth), 0.0])
    up = np.cross(towards_camera, right)
    return np.stack([right, up])


def project(points: np.ndarray, view_degrees: float, elevation_degrees: float) -> np.ndarray:
    """Project ``[..., 3]`` body-frame points to ``[..., 2]`` image coordinates (x right, y up)."""
    return points @ camera_axes(view_degrees, elevation_degrees).T
