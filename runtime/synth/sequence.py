"""One subject's sequences: identity -> walks -> joints -> capsules -> views -> modalities.

Random streams are keyed by (seed, subject number, condition, view angle), so a sequence is
the same whatever else is generated: a dataset with more subjects or fewer views contains
the same sequences for the subjects and views they share, and workers need no shared state.
The pose's confidences and misses draw from a stream of their own, so asking for more
modalities leaves the silhouettes byte for byte as they were.
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import replace

import numpy as np

from ..data.skeleton_maps import skeleton_maps
from .body import sample_identity, sample_walk
from .camera import project
from .gait import walk_pose
from .keypoints import estimate_pose, frame_pixels
from .layouts import Recording, casia_recordings
from .noise import sample_noise
from .outfit import build_capsules
from .raster import Projected, render, render_parts
from .smpl import smpl_parameters
from .spec import CONDITIONS, IMAGE_SIZE

_IDENTITY, _WALK, _VIEW, _POSE, _POSTURE = 0, 1, 2, 3, 4
CAMERA_ELEVATION = 8.0  # degrees, with a little spread per sequence


def _rng(*key: int) -> np.random.Generator:
    return np.random.default_rng(np.random.SeedSequence([int(part) for part in key]))


def posture_lean(seed: int, subject: int, low: float, high: float) -> float:
    """A subject's sideways trunk lean in radians: uniform in ``[low, high]``, to the left or
    the right at random (0 when ``high`` is 0: no draw, so other subjects keep their bytes)."""
    if high == 0.0:
        return 0.0
    rng = _rng(seed, subject, _POSTURE)
    return float(rng.uniform(low, high)) * float(rng.choice([-1.0, 1.0]))


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
    recordings: Sequence[Recording] | None = None,
    lateral_lean: float = 0.0,
) -> dict[tuple[str, str], dict[str, np.ndarray]]:
    """Generate every sequence of one subject in the chosen modalities.

    Args:
        seed, subject, views, frames, conditions, noise_strength: as :func:`subject_sequences`.
        modalities: any of ``silhouette`` (uint8 ``[t, 64, 64]``), ``pose`` (float64
            ``[t, V, 3]``, :mod:`.keypoints`), ``skeleton`` (uint8 ``[t, 2, 64, 64]``, drawn
            from the pose), ``parsing`` (uint8 ``[t, 64, 64]``, :func:`.raster.render_parts`)
            and ``smpl`` (float32 ``[t, 85]``, :mod:`.smpl`).
        pose_format: ``coco`` or ``openpose``: the joint order of the pose.
        recordings: the sequences to make (a layout's, :mod:`.layouts`): each names its
            type, view, condition, walk and camera angle; ``None``: every one of
            ``conditions`` seen from every one of ``views`` (CASIA-B's).
        lateral_lean: sideways lean of the trunk in radians (Scoliosis1K's classes).

    Returns:
        ``{(type, view): {modality: array}}``.
    """
    if recordings is None:
        recordings = casia_recordings(views, conditions)
    wanted = set(modalities)
    identity = sample_identity(_rng(seed, subject, _IDENTITY))
    if lateral_lean:
        identity = replace(identity, lateral_lean=lateral_lean)
    walks: dict[tuple[int, str], list[Recording]] = {}
    for recording in recordings:
        walks.setdefault((recording.walk, recording.condition), []).append(recording)
    result: dict[tuple[str, str], dict[str, np.ndarray]] = {}
    for (walk_key, condition), seen in walks.items():
        walk = sample_walk(_rng(seed, subject, _WALK, walk_key), condition)
        joints, angles = walk_pose(identity, walk, frames)
        capsules = build_capsules(identity, walk, joints)
        for recording in seen:
            azimuth = float(recording.angle)
            rng = _rng(seed, subject, _VIEW, walk_key, recording.angle)
            elevation = CAMERA_ELEVATION + float(rng.normal(0.0, 1.0))
            projected = Projected(
                start=project(capsules.start, azimuth, elevation),
                end=project(capsules.end, azimuth, elevation),
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
                pose_rng = _rng(seed, subject, _POSE, walk_key, recording.angle)
                head = identity.head_radius
                pose = estimate_pose(joints, head, azimuth, elevation, pose_rng, pose_format)
                if "pose" in wanted:
                    arrays["pose"] = pose
                if "skeleton" in wanted:
                    arrays["skeleton"] = skeleton_maps(pose, openpose=pose_format == "openpose")
            if "smpl" in wanted:
                pelvis = frame_pixels(project(joints["pelvis"], azimuth, elevation))
                arrays["smpl"] = smpl_parameters(identity, angles, pelvis, azimuth, elevation)
            result[(recording.type, recording.view)] = arrays
    return result
