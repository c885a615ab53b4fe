"""One subject's sequences: identity -> walks -> joints -> capsules -> views -> silhouettes.

Random streams are keyed by (seed, subject number, condition, view angle), so a sequence is
the same whatever else is generated: a dataset with more subjects or fewer views contains
the same sequences for the subjects and views they share, and workers need no shared state.
"""

from __future__ import annotations

import numpy as np

from .body import sample_identity, sample_walk
from .camera import project
from .gait import walk_joints
from .noise import sample_noise
from .outfit import build_capsules
from .raster import Projected, render
from .spec import CONDITIONS, IMAGE_SIZE

_IDENTITY, _WALK, _VIEW = 0, 1, 2
CAMERA_ELEVATION = 8.0  # degrees, with a little spread per sequence


def _rng(*key: int) -> np.random.Generator:
    return np.random.default_rng(np.random.SeedSequence([int(part) for part in key]))


def subject_sequences(
    seed: int,
    subject: int,
    views: tuple[str, ...],
    frames: int,
    conditions: tuple[str, ...] = CONDITIONS,
    noise_strength: float = 1.0,
) -> dict[tuple[str, str], np.ndarray]:
    """Generate every sequence of one subject.

    Args:
        seed: dataset seed.
        subject: subject number, 1-based.
        views: 3-digit view angles.
        frames: frames per sequence.
        conditions: sequence names such as ``"nm-01"``; the prefix picks the condition.
        noise_strength: 0 for clean silhouettes, 1 for the default segmentation noise.

    Returns:
        ``{(condition, view): silhouettes}``, each uint8 ``[frames, 64, 64]``.
    """
    identity = sample_identity(_rng(seed, subject, _IDENTITY))
    result: dict[tuple[str, str], np.ndarray] = {}
    for name in conditions:
        if name not in CONDITIONS:
            raise ValueError(f"unknown condition {name!r}; expected one of {CONDITIONS}")
        # keyed by the position in CONDITIONS, so a subset draws the same walks
        condition_index = CONDITIONS.index(name)
        walk = sample_walk(_rng(seed, subject, _WALK, condition_index), name.split("-")[0])
        capsules = build_capsules(identity, walk, walk_joints(identity, walk, frames))
        for view in views:
            rng = _rng(seed, subject, _VIEW, condition_index, int(view))
            elevation = CAMERA_ELEVATION + float(rng.normal(0.0, 1.0))
            projected = Projected(
                start=project(capsules.start, float(view), elevation),
                end=project(capsules.end, float(view), elevation),
                start_radius=capsules.start_radius,
                end_radius=capsules.end_radius,
            )
            noise = sample_noise(
                rng, frames, capsules.start.shape[1], IMAGE_SIZE, strength=noise_strength
            )
            result[(name, view)] = render(projected, noise, IMAGE_SIZE)
    return result
