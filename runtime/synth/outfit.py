"""The body as 3D capsules (segments with a radius at each end), with coat and bag.

A capsule seen through an orthographic camera is a 2D capsule with the same radii, so the
rasteriser only needs the projected end points. Conditions change the outline the way they
do in CASIA-B: a coat widens the trunk, arms and thighs and adds a hem over the upper legs;
a bag adds a blob on the back, at the hip, or hanging from one hand.

Every capsule carries a body-part label in Gait3D-Parsing's scheme (:data:`PART_LABELS`),
which the rasteriser turns into human-parsing maps: a coat's hem is "dress", a bag takes the
label of what carries it (the torso, or the hand that holds it).
"""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np

from .body import Identity, Walk

#: Gait3D-Parsing's labels (0 is the background)
PART_LABELS = {
    "head": 1,
    "torso": 2,
    "left_arm": 3,
    "right_arm": 4,
    "left_hand": 5,
    "right_hand": 6,
    "left_leg": 7,
    "right_leg": 8,
    "left_foot": 9,
    "right_foot": 10,
    "dress": 11,
}
_SIDE = {"_l": "left", "_r": "right"}


@dataclass(frozen=True)
class Capsules:
    """Capsules of one walk: end points ``start``/``end`` ``[t, c, 3]``, radii and part
    labels (:data:`PART_LABELS`) ``[c]``."""

    start: np.ndarray
    end: np.ndarray
    start_radius: np.ndarray
    end_radius: np.ndarray
    labels: np.ndarray


def _lerp(a: np.ndarray, b: np.ndarray, share: float) -> np.ndarray:
    return a + share * (b - a)


def build_capsules(identity: Identity, walk: Walk, joints: dict[str, np.ndarray]) -> Capsules:
    """Dress the skeleton of one walk in capsules for its condition (nm, bg or cl)."""
    body = identity
    coat = walk.condition == "cl"
    girth = walk.girth * (walk.coat_width if coat else 1.0)
    sleeve = walk.girth * (1.3 if coat else 1.0)
    trousers = walk.girth * (1.12 if coat else 1.0)
    parts: list[tuple[np.ndarray, np.ndarray, float, float]] = []
    labels: list[int] = []

    def add(a: np.ndarray, b: np.ndarray, ra: float, rb: float | None = None, part="torso") -> None:
        parts.append((a, b, ra, ra if rb is None else rb))
        labels.append(PART_LABELS[part])

    head, neck, pelvis = joints["head"], joints["neck"], joints["pelvis"]
    head_up = head + np.array([0.0, 0.0, 0.25 * body.head_radius])
    add(
        head - np.array([0.0, 0.0, 0.15 * body.head_radius]),
        head_up,
        body.head_radius,
        None,
        "head",
    )
    add(neck, _lerp(neck, head, 0.5), 0.045)
    chest, waist = body.chest_radius * girth, body.waist_radius * girth
    tops = []
    for side in ("_l", "_r"):
        # start below the shoulder joint, so the trunk's round end does not rise above it
        tops.append(joints["shoulder" + side] - np.array([0.0, 0.0, 0.8 * chest]))
        add(tops[-1], joints["hip" + side], chest, waist)
    add(tops[0], tops[1], chest)
    add(joints["shoulder_l"], joints["shoulder_r"], body.arm_radius * 1.3 * sleeve)
    add(_lerp(neck, pelvis, 0.15), pelvis, chest * 1.05, waist * 1.05)
    add(joints["hip_l"], joints["hip_r"], body.thigh_radius * 1.15 * trousers)
    for side in ("_l", "_r"):
        leg, foot, arm, hand_part = (
            _SIDE[side] + part for part in ("_leg", "_foot", "_arm", "_hand")
        )
        hip, knee = joints["hip" + side], joints["knee" + side]
        ankle, toe = joints["ankle" + side], joints["toe" + side]
        add(hip, knee, body.thigh_radius * trousers, body.calf_radius * 1.1 * trousers, leg)
        add(knee, ankle, body.calf_radius * trousers, body.calf_radius * 0.7 * trousers, leg)
        add(ankle - 0.2 * (toe - ankle), toe, 0.022, 0.016, foot)
        shoulder, elbow = joints["shoulder" + side], joints["elbow" + side]
        wrist, hand = joints["wrist" + side], joints["hand" + side]
        add(shoulder, elbow, body.arm_radius * 1.15 * sleeve, body.arm_radius * sleeve, arm)
        add(elbow, wrist, body.arm_radius * sleeve, body.arm_radius * 0.8 * sleeve, arm)
        add(wrist, hand, 0.028, 0.024, hand_part)

    if coat:
        hem = walk.coat_length
        hem_radius = body.thigh_radius * walk.coat_width * 1.15
        hem_points = []
        for side in ("_l", "_r"):
            hip, knee = joints["hip" + side], joints["knee" + side]
            hem_point = _lerp(hip, knee, hem)
            hem_points.append(hem_point)
            add(hip, hem_point, hem_radius * 1.1, hem_radius, "dress")
        # the cloth between the legs: the hem spans from one thigh to the other
        add(pelvis, 0.5 * (hem_points[0] + hem_points[1]), hem_radius, None, "dress")
        add(hem_points[0], hem_points[1], 0.6 * hem_radius, None, "dress")
    elif walk.condition == "bg":
        parts.extend(_bag(body, walk, joints))
        carrier = "torso"
        if body.bag_kind == "hand":
            carrier = ("left" if body.bag_side > 0 else "right") + "_hand"
        labels.append(PART_LABELS[carrier])

    start = np.stack([part[0] for part in parts], axis=1)  # [t, c, 3]
    end = np.stack([part[1] for part in parts], axis=1)  # [t, c, 3]
    return Capsules(
        start=np.ascontiguousarray(start),
        end=np.ascontiguousarray(end),
        start_radius=np.array([part[2] for part in parts]),
        end_radius=np.array([part[3] for part in parts]),
        labels=np.array(labels, dtype=np.uint8),
    )


def _bag(
    body: Identity, walk: Walk, joints: dict[str, np.ndarray]
) -> list[tuple[np.ndarray, np.ndarray, float, float]]:
    size = walk.bag_size
    side = "_l" if body.bag_side > 0 else "_r"
    if body.bag_kind == "backpack":
        # on the back, between the shoulder blades and the waist
        back = -np.array([body.chest_radius + 0.6 * size, 0.0, 0.0])
        top = _lerp(joints["neck"], joints["pelvis"], 0.2) + back
        bottom = _lerp(joints["neck"], joints["pelvis"], 0.65 + walk.bag_drop) + back
        return [(top, bottom, 1.1 * size, 1.2 * size)]
    if body.bag_kind == "shoulder":
        # hangs at the hip on one side, a little behind, swinging with the pelvis
        hip = joints["hip" + side]
        outward = np.array(
            [-0.02, body.bag_side * (body.waist_radius + 0.8 * size), -walk.bag_drop]
        )
        centre = hip + outward
        return [(centre - np.array([0.5 * size, 0.0, 0.0]), centre, 1.1 * size, 1.1 * size)]
    # hand bag: hangs below the hand of the (nearly still) carrying arm
    hand = joints["hand" + side]
    top = hand + np.array([0.0, 0.0, -0.3 * size])
    bottom = hand + np.array([0.0, 0.0, -1.2 * size - walk.bag_drop])
    return [(top, bottom, 0.9 * size, 1.1 * size)]
