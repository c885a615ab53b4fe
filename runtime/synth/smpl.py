"""SMPL-like parameters of a walk, ``[t, 85]`` float32, as Gait3D's ``pretreatment_smpl.py``
stores them: 3 camera numbers, 72 pose numbers (24 joints in axis-angle), 10 shape numbers.

- camera: weak-perspective ``(scale, x, y)`` of the pelvis in the virtual frame of
  :mod:`.keypoints`, the frame's half-width being 1 (as ROMP/VIBE report it);
- pose: SMPL's 24 joints (pelvis, L/R hip, spine1, L/R knee, spine2, L/R ankle, spine3,
  L/R foot, neck, L/R collar, head, L/R shoulder, L/R elbow, L/R wrist, L/R hand), each a
  rotation relative to its parent in SMPL's frame (x to the person's left, y up, z forward)
  built from the walker's driving angles (:func:`.gait.walk_pose`): the global orientation
  is the camera's view of the turning pelvis, hips flex and turn the toes out, knees and
  elbows bend, the spine leans and twists, the head tilts, the arms hang from SMPL's T-pose
  and swing; feet, collars, wrists and hands stay at rest;
- shape: the identity's proportions, each mapped from its sampling range to [-2, 2]
  (:func:`shape_numbers`), the same in every frame of every walk of that person.
"""

from __future__ import annotations

import numpy as np

from .body import Identity
from .camera import camera_axes
from .keypoints import FRAME_HEIGHT, FRAME_WIDTH, PERSON_PIXELS

SMPL_WIDTH = 85
# identity fields -> (low, high) of their sampling range (widths: times the build factor)
_SHAPE_FIELDS = {
    "leg": (0.44, 0.52),
    "torso": (0.27, 0.33),
    "shoulder_half_width": (0.095, 0.13),
    "hip_half_width": (0.06, 0.09),
    "chest_radius": (0.06, 0.085),
    "waist_radius": (0.05, 0.08),
    "thigh_radius": (0.045, 0.065),
    "upper_arm": (0.16, 0.2),
    "head_radius": (0.055, 0.072),
    "neck": (0.03, 0.055),
}


def _rotation(axis: int, angle: np.ndarray) -> np.ndarray:
    """Rotations by ``angle [t]`` about coordinate axis ``axis``, ``[t, 3, 3]``."""
    cos, sin = np.cos(angle), np.sin(angle)
    matrix = np.zeros(angle.shape + (3, 3))
    first, second = [index for index in range(3) if index != axis]
    matrix[..., axis, axis] = 1.0
    matrix[..., first, first] = cos
    matrix[..., second, second] = cos
    matrix[..., first, second] = -sin
    matrix[..., second, first] = sin
    return matrix


def axis_angle(matrix: np.ndarray) -> np.ndarray:
    """Rotation matrices ``[..., 3, 3]`` to axis-angle vectors ``[..., 3]`` (angle <= pi).

    Goes through the quaternion (from its largest component, which is exact at any angle).
    """
    m = matrix
    trace = m[..., 0, 0] + m[..., 1, 1] + m[..., 2, 2]
    candidates = np.stack(
        [
            np.stack(
                [
                    1 + trace,
                    m[..., 2, 1] - m[..., 1, 2],
                    m[..., 0, 2] - m[..., 2, 0],
                    m[..., 1, 0] - m[..., 0, 1],
                ],
                axis=-1,
            ),
            np.stack(
                [
                    m[..., 2, 1] - m[..., 1, 2],
                    1 + m[..., 0, 0] - m[..., 1, 1] - m[..., 2, 2],
                    m[..., 0, 1] + m[..., 1, 0],
                    m[..., 0, 2] + m[..., 2, 0],
                ],
                axis=-1,
            ),
            np.stack(
                [
                    m[..., 0, 2] - m[..., 2, 0],
                    m[..., 0, 1] + m[..., 1, 0],
                    1 - m[..., 0, 0] + m[..., 1, 1] - m[..., 2, 2],
                    m[..., 1, 2] + m[..., 2, 1],
                ],
                axis=-1,
            ),
            np.stack(
                [
                    m[..., 1, 0] - m[..., 0, 1],
                    m[..., 0, 2] + m[..., 2, 0],
                    m[..., 1, 2] + m[..., 2, 1],
                    1 - m[..., 0, 0] - m[..., 1, 1] + m[..., 2, 2],
                ],
                axis=-1,
            ),
        ],
        axis=-2,
    )  # [..., 4, 4]: row k is 4 q_k q scaled; the row of the largest diagonal is exact
    diagonal = np.stack([1 + trace, m[..., 0, 0], m[..., 1, 1], m[..., 2, 2]], axis=-1)
    diagonal[..., 1:] = 1 + 2 * diagonal[..., 1:] - trace[..., None]
    best = np.argmax(diagonal, axis=-1)
    quaternion = np.take_along_axis(candidates, best[..., None, None], axis=-2)[..., 0, :]
    quaternion /= np.linalg.norm(quaternion, axis=-1, keepdims=True)
    quaternion *= np.where(quaternion[..., :1] < 0, -1.0, 1.0)  # w >= 0: angle <= pi
    vector = quaternion[..., 1:]
    sine = np.linalg.norm(vector, axis=-1, keepdims=True)
    angle = 2.0 * np.arctan2(sine, quaternion[..., :1])
    return np.where(sine > 1e-12, vector / np.maximum(sine, 1e-12) * angle, 2.0 * vector)


def shape_numbers(identity: Identity) -> np.ndarray:
    """Ten shape numbers of a person, each a proportion mapped from its range to [-2, 2]."""
    values = [
        (getattr(identity, name) - 0.5 * (low + high)) / (0.5 * (high - low))
        for name, (low, high) in _SHAPE_FIELDS.items()
    ]
    return np.clip(2.0 * np.asarray(values), -2.0, 2.0)


def smpl_parameters(
    identity: Identity,
    angles: dict[str, np.ndarray],
    pelvis_pixels: np.ndarray,
    view_degrees: float,
    elevation_degrees: float,
) -> np.ndarray:
    """One sequence's SMPL-like parameters, float32 ``[t, 85]`` (see the module docstring).

    Args:
        identity: the person (shape numbers, toe-out).
        angles: the walk's driving angles (:func:`.gait.walk_pose`).
        pelvis_pixels: the pelvis in the virtual frame, ``[t, 2]`` (x, y down).
        view_degrees: camera azimuth.
        elevation_degrees: camera elevation.
    """
    frames = len(angles["lean"])
    x, y, z = 0, 1, 2
    zero = np.zeros(frames)
    local = np.broadcast_to(np.eye(3), (frames, 24, 3, 3)).copy()
    # global: SMPL body frame -> walker frame (yawed pelvis) -> OpenCV camera (x right, y down)
    right, up = camera_axes(view_degrees, elevation_degrees)
    camera = np.stack([right, -up, -np.cross(right, up)])  # rows in the walker frame
    smpl_to_walker = np.array([[0.0, 0.0, 1.0], [1.0, 0.0, 0.0], [0.0, 1.0, 0.0]])
    local[:, 0] = camera @ _rotation(z, angles["pelvis_turn"]) @ smpl_to_walker
    twist = (angles["shoulder_turn"] - angles["pelvis_turn"]) / 3.0
    for joint in (3, 6, 9):
        local[:, joint] = _rotation(y, twist) @ _rotation(x, angles["lean"] / 3.0)
    local[:, 12] = local[:, 15] = _rotation(x, angles["head_tilt"] / 2.0)
    for side, sign, (hip, knee, ankle, shoulder, elbow) in (
        ("_l", 1.0, (1, 4, 7, 16, 18)),
        ("_r", -1.0, (2, 5, 8, 17, 19)),
    ):
        local[:, hip] = _rotation(x, -angles["hip" + side]) @ _rotation(
            y, zero + sign * identity.toe_out
        )
        local[:, knee] = _rotation(x, angles["knee" + side])
        local[:, ankle] = _rotation(x, angles["ankle" + side])
        hang = sign * (angles["arm_abduction" + side] - 0.5 * np.pi)  # T-pose arm down
        local[:, shoulder] = _rotation(x, -angles["arm_swing" + side]) @ _rotation(z, hang)
        local[:, elbow] = _rotation(y, -sign * angles["elbow" + side])
    scale = 2.0 * PERSON_PIXELS / FRAME_WIDTH
    translation = np.stack(
        [
            (pelvis_pixels[:, 0] - FRAME_WIDTH / 2.0) / (FRAME_WIDTH / 2.0),
            (pelvis_pixels[:, 1] - FRAME_HEIGHT / 2.0) / (FRAME_WIDTH / 2.0),
        ],
        axis=1,
    )
    parameters = np.concatenate(
        [
            np.full((frames, 1), scale),
            translation,
            axis_angle(local).reshape(frames, 72),
            np.broadcast_to(shape_numbers(identity), (frames, 10)),
        ],
        axis=1,
    )
    return np.ascontiguousarray(parameters, dtype=np.float32)
