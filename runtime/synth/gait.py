"""The gait cycle: joint positions of a walking person over time.

Body frame: x points in the walking direction, y to the person's left, z up; the pelvis
centre is the origin (the pretreatment crops and centres every frame, so the path across
the scene does not matter). Legs move in anti-phase; the arms swing against the legs; the
knee bends most early in the swing; the pelvis bounces twice per cycle.
"""

from __future__ import annotations

import numpy as np

from .body import Identity, Walk

LEFT, RIGHT = 1.0, -1.0


def _unit(vectors: np.ndarray) -> np.ndarray:
    return vectors / np.linalg.norm(vectors, axis=-1, keepdims=True)


def _sagittal(angle: np.ndarray, lateral: np.ndarray | float = 0.0) -> np.ndarray:
    """Unit vectors pointing down, turned forward by ``angle`` and sideways by ``lateral``."""
    lateral = np.broadcast_to(lateral, angle.shape)
    return _unit(np.stack([np.sin(angle), lateral, -np.cos(angle)], axis=-1))  # [t, 3]


def _yaw(vectors: np.ndarray, angle: np.ndarray) -> np.ndarray:
    """Turn ``[t, 3]`` vectors about the vertical by ``angle`` ``[t]``."""
    cos, sin = np.cos(angle), np.sin(angle)
    vectors = np.broadcast_to(vectors, angle.shape + (3,))
    x, y, z = vectors[..., 0], vectors[..., 1], vectors[..., 2]
    return np.stack([cos * x - sin * y, sin * x + cos * y, z], axis=-1)


def _wobble(rng: np.random.Generator, frames: int, channels: int) -> np.ndarray:
    """Slow random wobble in [-1, 1]-ish, ``[channels, t]``: two random sinusoids per channel."""
    time = np.arange(frames)
    frequency = rng.uniform(0.02, 0.12, size=(channels, 2, 1))
    phase = rng.uniform(0.0, 2.0 * np.pi, size=(channels, 2, 1))
    return np.sin(2.0 * np.pi * frequency * time + phase).mean(axis=1)


def walk_joints(identity: Identity, walk: Walk, frames: int) -> dict[str, np.ndarray]:
    """Return the joints of one walk, each ``[t, 3]`` in fractions of height.

    Names: pelvis, neck, head, and per side (``_l``/``_r``) hip, knee, ankle, toe, shoulder,
    elbow, wrist, hand. With a hand bag (``walk.condition == "bg"`` and ``identity.bag_kind ==
    "hand"``) the carrying arm hangs almost still.
    """
    return walk_pose(identity, walk, frames)[0]


def walk_pose(
    identity: Identity, walk: Walk, frames: int
) -> tuple[dict[str, np.ndarray], dict[str, np.ndarray]]:
    """Return the joints of one walk (as :func:`walk_joints`) and the angles that drive them.

    Angles, each ``[t]`` in radians: ``pelvis_turn`` and ``shoulder_turn`` (about the
    vertical), ``lean`` and ``head_tilt`` (forward), and per side (``_l``/``_r``) ``hip``
    (thigh forward of the vertical), ``knee`` (flexion, >= 0), ``ankle`` (foot pitch relative
    to the shank), ``arm_swing`` (upper arm forward), ``arm_abduction`` (away from the body)
    and ``elbow`` (flexion).
    """
    body = identity
    time = np.arange(frames, dtype=np.float64)
    phase = walk.start_phase + 2.0 * np.pi * body.cadence * walk.speed * time  # [t]
    wobble = walk.jitter * _wobble(np.random.default_rng(walk.jitter_seed), frames, 7)
    stride = body.hip_amplitude * (0.85 + 0.15 * walk.speed)
    hand_bag = walk.condition == "bg" and body.bag_kind == "hand"

    pelvis = np.stack(
        [np.zeros_like(phase), body.sway * np.sin(phase), body.bounce * np.cos(2.0 * phase)],
        axis=-1,
    )
    pelvis_turn = -body.pelvis_rotation * np.sin(phase)
    joints: dict[str, np.ndarray] = {"pelvis": pelvis}
    angles: dict[str, np.ndarray] = {"pelvis_turn": pelvis_turn}

    thigh = body.leg * body.thigh_share
    shank = body.leg - thigh
    for index, (side, suffix) in enumerate(((LEFT, "_l"), (RIGHT, "_r"))):
        leg_phase = phase if side == LEFT else phase + np.pi
        hip_angle = (
            stride * (1.0 + side * body.asymmetry) * np.sin(leg_phase)
            + body.hip_offset
            + wobble[index]
        )
        knee_bend = (
            body.knee_stance
            + body.knee_amplitude * np.exp((np.cos(leg_phase - body.knee_peak_phase) - 1.0) / 0.35)
            + wobble[2 + index]
        )
        shank_angle = hip_angle - np.maximum(knee_bend, 0.0)
        hip = pelvis + _yaw(np.array([[0.0, side * body.hip_half_width, 0.0]]), pelvis_turn)
        knee = hip + thigh * _sagittal(hip_angle, side * 0.04)
        ankle = knee + shank * _sagittal(shank_angle)
        # the foot stays near a right angle to the shank; turned out by toe_out
        pitch = -0.9 * shank_angle
        foot = np.stack(
            [
                np.cos(pitch) * np.cos(body.toe_out),
                side * np.cos(pitch) * np.sin(body.toe_out),
                -np.sin(pitch),
            ],
            axis=-1,
        )
        joints["hip" + suffix] = hip
        joints["knee" + suffix] = knee
        joints["ankle" + suffix] = ankle
        joints["toe" + suffix] = ankle + body.foot * foot - np.array([0.0, 0.0, 0.02])
        angles["hip" + suffix] = hip_angle
        angles["knee" + suffix] = hip_angle - shank_angle
        angles["ankle" + suffix] = pitch + shank_angle

    lean = body.lean + wobble[6]
    trunk = np.stack([np.sin(lean), np.zeros_like(lean), np.cos(lean)], axis=-1)
    if body.lateral_lean:  # a sideways bend of the spine (Scoliosis1K's positive class)
        tilt = body.lateral_lean
        trunk = np.stack(
            [
                np.sin(lean) * np.cos(tilt),
                np.full_like(lean, np.sin(tilt)),
                np.cos(lean) * np.cos(tilt),
            ],
            axis=-1,
        )
    neck = pelvis + body.torso * trunk
    head_angle = lean + body.head_tilt
    head_direction = np.stack(
        [np.sin(head_angle), np.zeros_like(head_angle), np.cos(head_angle)], axis=-1
    )
    joints["neck"] = neck
    joints["head"] = neck + (body.neck + body.head_radius) * head_direction
    angles["lean"] = lean
    angles["head_tilt"] = np.full_like(lean, body.head_tilt)

    shoulder_turn = -0.6 * pelvis_turn
    angles["shoulder_turn"] = shoulder_turn
    for index, (side, suffix) in enumerate(((LEFT, "_l"), (RIGHT, "_r"))):
        arm_phase = phase + np.pi + body.arm_lag if side == LEFT else phase + body.arm_lag
        amplitude = body.arm_amplitude
        abduction = body.arm_abduction
        elbow_bend = body.elbow_flex + body.elbow_amplitude * 0.5 * (1.0 + np.sin(arm_phase))
        if hand_bag and side == body.bag_side:
            amplitude, abduction, elbow_bend = (
                0.2 * amplitude,
                abduction + 0.12,
                np.full_like(phase, 0.1),
            )
        swing = amplitude * np.sin(arm_phase) + wobble[4 + index]
        shoulder = (
            neck
            + _yaw(np.array([[0.0, side * body.shoulder_half_width, 0.0]]), shoulder_turn)
            - np.array([0.0, 0.0, 0.025])
        )
        if body.lateral_lean:  # the shoulder line tilts with the trunk: one shoulder drops
            drop = side * body.shoulder_half_width * np.sin(body.lateral_lean)
            shoulder = shoulder - np.array([0.0, 0.0, drop])
        elbow = shoulder + body.upper_arm * _sagittal(swing, side * np.sin(abduction))
        forearm = _sagittal(swing + elbow_bend, side * 0.6 * np.sin(abduction))
        joints["shoulder" + suffix] = shoulder
        joints["elbow" + suffix] = elbow
        joints["wrist" + suffix] = elbow + 0.8 * body.forearm * forearm
        joints["hand" + suffix] = elbow + body.forearm * forearm
        angles["arm_swing" + suffix] = swing
        angles["arm_abduction" + suffix] = np.full_like(phase, abduction)
        angles["elbow" + suffix] = np.broadcast_to(elbow_bend, phase.shape).copy()
    return joints, angles
