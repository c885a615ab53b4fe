"""One subject's sequences: identity -> walks -> joints -> capsules -> views -> modalities.

Random streams are keyed by (seed, subject number, condition, view angle), so a sequence is
the same whatever else is generated: a dataset with more subjects or fewer views contains
the same sequences for the subjects and views they share, and workers need no shared state.
The pose's confidences and misses draw from a stream of their own, so asking for more
modalities leaves the silhouettes byte for byte as they were.
"""

from __future__ import annotations

import numpy as np

from ..data.skeleton_maps import skeleton_maps
from .body import sample_identity, sample_walk
from .camera import project
from .gait import walk_pose
from .keypoints import estimate_pose, frame_pixels
from .noise import sample_noise
from .outfit import build_capsules
from .raster import Projected, render, render_parts
from .smpl import smpl_parameters
from .spec import CONDITIONS, IMAGE_SIZE

_IDENTITY, _WALK, _VIEW, _POSE = 0, 1, 2, 3
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
    sequences = subject_modalities(
        seed, subject, views, frames, conditions, noise_strength, ("silhouette",)
    )
    return {key: arrays["silhouette"] for key, arrays in sequences.items()}


def subject_modalities(
    seed: int,
    subject: int,
    views: tuple[str, ...],
    frames: int,
    conditions: tuple[str, ...] = CONDITIONS,
    noise_strength: float = 1.0,
    modalities: tuple[str, ...] = ("silhouette",),
    pose_format: str = "coco",
) -> dict[tuple[str, str], dict[str, np.ndarray]]:
    """Generate every sequence of one subject in the chosen modalities.

    Args:
        seed, subject, views, frames, conditions, noise_strength: as :func:`subject_sequences`.
        modalities: any of ``silhouette`` (uint8 ``[t, 64, 64]``), ``pose`` (float64
            ``[t, V, 3]``, :mod:`.keypoints`), ``skeleton`` (uint8 ``[t, 2, 64, 64]``, drawn
            from the pose), ``parsing`` (uint8 ``[t, 64, 64]``, :func:`.raster.render_parts`)
            and ``smpl`` (float32 ``[t, 85]``, :mod:`.smpl`).
        pose_format: ``coco`` or ``openpose``: the joint order of the pose.

    Returns:
        ``{(condition, view): {modality: array}}``.
    """
    wanted = set(modalities)
    identity = sample_identity(_rng(seed, subject, _IDENTITY))
    result: dict[tuple[str, str], dict[str, np.ndarray]] = {}
    for name in conditions:
        if name not in CONDITIONS:
            raise ValueError(f"unknown condition {name!r}; expected one of {CONDITIONS}")
        # keyed by the position in CONDITIONS, so a subset draws the same walks
        condition_index = CONDITIONS.index(name)
        walk = sample_walk(_rng(seed, subject, _WALK, condition_index), name.split("-")[0])
        joints, angles = walk_pose(identity, walk, frames)
        capsules = build_capsules(identity, walk, joints)
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
            arrays: dict[str, np.ndarray] = {}
            if "parsing" in wanted:
                silhouettes, parsing = render_parts(projected, noise, capsules.labels, IMAGE_SIZE)
                arrays["parsing"] = parsing
            else:
                silhouettes = render(projected, noise, IMAGE_SIZE)
            if "silhouette" in wanted:
                arrays["silhouette"] = silhouettes
            if wanted & {"pose", "skeleton"}:
                pose_rng = _rng(seed, subject, _POSE, condition_index, int(view))
                head = identity.head_radius
                pose = estimate_pose(joints, head, float(view), elevation, pose_rng, pose_format)
                if "pose" in wanted:
                    arrays["pose"] = pose
                if "skeleton" in wanted:
                    arrays["skeleton"] = skeleton_maps(pose, openpose=pose_format == "openpose")
            if "smpl" in wanted:
                pelvis = frame_pixels(project(joints["pelvis"], float(view), elevation))
                arrays["smpl"] = smpl_parameters(identity, angles, pelvis, float(view), elevation)
            result[(name, view)] = arrays
    return result
