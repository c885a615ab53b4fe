"""2-D poses of a walk as a pose estimator would report them, in pixels of a camera frame.

The walker's joints (and face points placed on its head) are projected by the sequence's
camera onto a virtual ``FRAME_WIDTH x FRAME_HEIGHT`` frame (CASIA-B's 320 x 240), the camera
panning with the walker: the pelvis stays near the frame's centre and the person is about
``PERSON_PIXELS`` tall, so OpenGait's pose noise parameters (in pixels) mean what they mean
on real data. Each joint gets a confidence: high when it faces the camera, lower when the
body hides it (the far arm and leg in a side view, the face from behind), with some noise;
a little pixel jitter moves every joint; some joints are missing, stored as ``(0, 0, 0)``
like OpenPose's and AlphaPose's misses (more of them among hidden joints, never the hips,
and never one joint in every frame, so OpenGait's imputation can fill them).

Orders: OpenPose/AlphaPose-18 (nose, neck, R shoulder, R elbow, R wrist, L shoulder,
L elbow, L wrist, R hip, R knee, R ankle, L hip, L knee, L ankle, R eye, L eye, R ear,
L ear) and COCO-17 (nose, L/R eye, L/R ear, L/R shoulder, elbow, wrist, hip, knee, ankle),
taken from the 18 with the skeleton-map recipe's own map.
"""

from __future__ import annotations

import numpy as np

from ..data.skeleton_maps import COCO18_TO_COCO17
from .camera import camera_axes

FRAME_WIDTH, FRAME_HEIGHT = 320, 240
PERSON_PIXELS = 150.0  # standing height in pixels
JITTER_PIXELS = 0.7
MISSING_RATE = 0.015  # of joints seen well; hidden ones go missing more often
# OpenPose-18 joint -> (walker joint, face offset in head radii: forward, left, up)
_OPENPOSE18 = (
    ("head", (0.95, 0.0, -0.15)),  # nose
    ("neck", None),
    ("shoulder_r", None),
    ("elbow_r", None),
    ("wrist_r", None),
    ("shoulder_l", None),
    ("elbow_l", None),
    ("wrist_l", None),
    ("hip_r", None),
    ("knee_r", None),
    ("ankle_r", None),
    ("hip_l", None),
    ("knee_l", None),
    ("ankle_l", None),
    ("head", (0.8, -0.35, 0.2)),  # R eye
    ("head", (0.8, 0.35, 0.2)),  # L eye
    ("head", (0.0, -0.95, 0.05)),  # R ear
    ("head", (0.0, 0.95, 0.05)),  # L ear
)
# the joint whose depth tells whether a joint is in front of the body or behind it
_REFERENCE = ("head", "neck") + ("neck",) * 6 + ("pelvis",) * 6 + ("head",) * 4
_HIPS = (8, 11)


def frame_pixels(image: np.ndarray) -> np.ndarray:
    """Camera-image points ``[..., 2]`` (x right, y up, in heights) to frame pixels (y down)."""
    return np.stack(
        [
            FRAME_WIDTH / 2.0 + PERSON_PIXELS * image[..., 0],
            FRAME_HEIGHT / 2.0 - PERSON_PIXELS * image[..., 1],
        ],
        axis=-1,
    )


def pose_points(joints: dict[str, np.ndarray], head_radius: float) -> np.ndarray:
    """The 18 OpenPose/AlphaPose points of a walk in the body frame, ``[t, 18, 3]``."""
    points = []
    for name, offset in _OPENPOSE18:
        if name == "neck":  # OpenPose's neck: between the shoulders
            points.append(0.5 * (joints["shoulder_l"] + joints["shoulder_r"]))
        elif offset is None:
            points.append(joints[name])
        else:
            points.append(joints[name] + head_radius * np.asarray(offset))
    return np.stack(points, axis=1)


def estimate_pose(
    joints: dict[str, np.ndarray],
    head_radius: float,
    view_degrees: float,
    elevation_degrees: float,
    rng: np.random.Generator,
    pose_format: str = "coco",
) -> np.ndarray:
    """One sequence's 2-D poses, float64 ``[t, V, 3]``: x, y in pixels (y down), confidence.

    Args:
        joints: the walk's joints (:func:`.gait.walk_joints`).
        head_radius: the identity's head radius (places the face points).
        view_degrees: camera azimuth.
        elevation_degrees: camera elevation.
        rng: the sequence's pose stream.
        pose_format: ``"coco"`` (V = 17) or ``"openpose"`` (V = 18).
    """
    points = pose_points(joints, head_radius)  # [t, 18, 3]
    frames = points.shape[0]
    axes = camera_axes(view_degrees, elevation_degrees)  # [2, 3] right, up
    towards = np.cross(axes[0], axes[1])
    image = points @ axes.T  # [t, 18, 2]
    reference = np.stack([joints[name] for name in _REFERENCE], axis=1)
    depth = (points - reference) @ towards  # [t, 18] > 0: in front of the body
    seen = 1.0 / (1.0 + np.exp(-depth / 0.02))
    score = 0.45 + 0.5 * seen + rng.normal(0.0, 0.04, size=(frames, 18))
    score = np.clip(score, 0.05, 0.99)
    xy = frame_pixels(image)
    xy += rng.normal(0.0, JITTER_PIXELS, size=xy.shape) * (1.5 - seen)[..., None]
    missing = rng.random((frames, 18)) < MISSING_RATE + 0.25 * (1.0 - seen)
    missing[:, list(_HIPS)] = False
    missing[:, missing.all(axis=0)] = False
    pose = np.concatenate([xy, score[..., None]], axis=-1)
    pose[missing] = 0.0
    if pose_format == "coco":
        pose = pose[:, list(COCO18_TO_COCO17)]
    return np.ascontiguousarray(pose, dtype=np.float64)
