"""Who walks and how: per-identity body shape and gait style, and per-walk variation.

Lengths are fractions of standing height (the pretreatment rescales every frame to the same
height, so absolute height carries no information; proportions and motion do). Angles are in
radians. Every value is drawn from a ``numpy.random.Generator`` so a seed fixes everything.
"""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np

BAG_KINDS = ("backpack", "shoulder", "hand")


@dataclass(frozen=True)
class Identity:
    """Body shape and walking style of one person."""

    # proportions (fractions of height)
    leg: float  # hip joint to ankle
    thigh_share: float  # thigh / (thigh + shank)
    torso: float  # hip centre to neck base
    neck: float
    head_radius: float
    shoulder_half_width: float
    hip_half_width: float
    upper_arm: float
    forearm: float
    foot: float
    # widths (capsule radii, fractions of height)
    chest_radius: float
    waist_radius: float
    thigh_radius: float
    calf_radius: float
    arm_radius: float
    # motion
    cadence: float  # gait cycles per frame at 25 fps
    hip_amplitude: float  # thigh swing about the vertical
    hip_offset: float  # mean thigh angle (forward positive)
    knee_amplitude: float  # extra knee flexion in swing
    knee_stance: float  # knee flexion in stance
    knee_peak_phase: float  # where in the cycle the knee bends most
    arm_amplitude: float  # shoulder swing
    arm_lag: float  # phase of the arm swing relative to the opposite leg
    elbow_flex: float  # mean elbow flexion
    elbow_amplitude: float  # extra elbow flexion on the forward swing
    arm_abduction: float  # arms held away from the body
    lean: float  # forward lean of the trunk
    head_tilt: float  # head bent forward
    bounce: float  # vertical pelvis motion, fraction of height
    sway: float  # lateral pelvis motion, fraction of height
    pelvis_rotation: float  # pelvis turning about the vertical over a cycle
    toe_out: float  # feet turned outwards
    asymmetry: float  # left/right difference in stride
    bag_kind: str  # which bag this person carries in the bg conditions
    bag_side: float  # +1 left, -1 right
    # posture (Scoliosis1K's layout sets it per class; 0 for everyone else)
    lateral_lean: float = 0.0  # trunk leaning sideways, radians (+ to the left)


@dataclass(frozen=True)
class Walk:
    """What changes between two walks of one person: speed, start phase, clothes, jitter."""

    condition: str  # "nm", "bg" or "cl"
    speed: float  # multiplies cadence and stride
    start_phase: float
    girth: float  # multiplies body widths (clothes of the day)
    coat_length: float  # coat hem, as a share of the thigh below the hip
    coat_width: float  # multiplies trunk and thigh widths under a coat
    bag_size: float  # bag radius, fraction of height
    bag_drop: float  # how low the bag hangs, fraction of height
    jitter: float  # amplitude of the slow random wobble of the joint angles
    jitter_seed: int


def _between(rng: np.random.Generator, low: float, high: float) -> float:
    return float(rng.uniform(low, high))


def sample_identity(rng: np.random.Generator) -> Identity:
    """Draw one person. A shared ``build`` factor makes heavy people wide all over."""
    build = float(rng.normal(0.0, 1.0))  # thin (-) ... heavy (+)
    width = 1.0 + 0.12 * build

    def wide(low: float, high: float) -> float:
        return _between(rng, low, high) * width

    leg = _between(rng, 0.44, 0.52)
    return Identity(
        leg=leg,
        thigh_share=_between(rng, 0.47, 0.54),
        torso=_between(rng, 0.27, 0.33),
        neck=_between(rng, 0.03, 0.055),
        head_radius=_between(rng, 0.055, 0.072),
        shoulder_half_width=wide(0.095, 0.13),
        hip_half_width=wide(0.06, 0.09),
        upper_arm=_between(rng, 0.16, 0.2),
        forearm=_between(rng, 0.13, 0.17),
        foot=_between(rng, 0.11, 0.15),
        chest_radius=wide(0.06, 0.085),
        waist_radius=wide(0.05, 0.08),
        thigh_radius=wide(0.045, 0.065),
        calf_radius=wide(0.03, 0.042),
        arm_radius=wide(0.024, 0.034),
        cadence=_between(rng, 0.033, 0.042),
        hip_amplitude=_between(rng, 0.32, 0.55),
        hip_offset=_between(rng, -0.04, 0.1),
        knee_amplitude=_between(rng, 0.75, 1.2),
        knee_stance=_between(rng, 0.05, 0.3),
        knee_peak_phase=_between(rng, -1.3, -0.7),
        arm_amplitude=_between(rng, 0.12, 0.6),
        arm_lag=_between(rng, -0.35, 0.35),
        elbow_flex=_between(rng, 0.1, 0.6),
        elbow_amplitude=_between(rng, 0.0, 0.5),
        arm_abduction=_between(rng, 0.03, 0.16),
        lean=_between(rng, -0.04, 0.16),
        head_tilt=_between(rng, -0.1, 0.35),
        bounce=_between(rng, 0.004, 0.02),
        sway=_between(rng, 0.0, 0.02),
        pelvis_rotation=_between(rng, 0.0, 0.2),
        toe_out=_between(rng, 0.0, 0.35),
        asymmetry=_between(rng, -0.08, 0.08),
        bag_kind=BAG_KINDS[int(rng.integers(len(BAG_KINDS)))],
        bag_side=float(rng.choice([-1.0, 1.0])),
    )


def sample_walk(rng: np.random.Generator, condition: str) -> Walk:
    """Draw the variation of one walk (one sequence name, seen from every view)."""
    return Walk(
        condition=condition,
        speed=float(np.clip(rng.normal(1.0, 0.05), 0.88, 1.12)),
        start_phase=_between(rng, 0.0, 2.0 * np.pi),
        girth=float(np.clip(rng.normal(1.0, 0.03), 0.93, 1.07)),
        coat_length=_between(rng, 0.35, 0.95),
        coat_width=_between(rng, 1.15, 1.4),
        bag_size=_between(rng, 0.05, 0.085),
        bag_drop=_between(rng, 0.0, 0.06),
        jitter=_between(rng, 0.02, 0.06),
        jitter_seed=int(rng.integers(2**31)),
    )
