"""Features computed from 2-D pose sequences, shared by the pose models and pose transforms.

:func:`multi_input` is GaitGraph2's three input branches (OpenGait's ``GaitGraphMultiInput``):
the data transform of that name and GaitGraph2's test-time augmentation both call it.
:func:`motion_frames` marks the frames whose velocities stay inside their own sequence when the
frames of several sequences lie one after another (a loader batch).
"""

from __future__ import annotations

from collections.abc import Sequence

import torch


def motion_frames(lengths: Sequence[int], reach: int = 2) -> torch.Tensor:
    """Which frames of sequences laid one after another have ``reach`` frames after them.

    OpenGait's pose transforms compute a velocity only for frame ``i < T - 2`` of a sequence
    of ``T`` frames (the last two get 0); this gives that mask for a whole batch.

    Args:
        lengths: frames per sequence.
        reach: frames needed after a frame.

    Returns:
        A bool tensor ``[sum(lengths)]``.
    """
    lengths_t = torch.as_tensor(list(lengths), dtype=torch.int64)
    ends = torch.cumsum(lengths_t, 0).repeat_interleave(lengths_t)  # each frame's sequence end
    return torch.arange(int(lengths_t.sum())) < ends - reach


def multi_input(
    pose: torch.Tensor,
    connect_joint: Sequence[int],
    center: int,
    lengths: Sequence[int] | None = None,
) -> torch.Tensor:
    """GaitGraph2's three branches from poses: ``[..., T, V, 3] (x, y, conf) -> [..., T, V, 3, 5]``.

    Branch 0, joints: x, y, conf and the position relative to the ``center`` joint. Branch 1,
    velocities: the step to the next frame (x, y), 0, conf and the y step over two frames (0 in
    the last two frames, as OpenGait's). Branch 2, bones (from each joint's ``connect_joint``):
    the vector (x, y), 0, conf and the arc cosine of its y over its length.

    Args:
        pose: the poses, frames on axis -3.
        connect_joint: each joint's parent joint.
        center: the joint positions are made relative to.
        lengths: the frames on axis -3 are those of several sequences one after another, of
            these lengths: velocities stop at each one's end (None: one sequence).
    """
    xy, conf = pose[..., :2], pose[..., 2:3]
    zero = torch.zeros_like(conf)
    joints = torch.cat([pose, xy - xy[..., center : center + 1, :]], dim=-1)
    frames = pose.shape[-3]
    step = torch.zeros_like(xy)
    step_two = torch.zeros_like(conf)
    if frames > 2:
        step[..., : frames - 2, :, :] = xy[..., 1 : frames - 1, :, :] - xy[..., : frames - 2, :, :]
        step_two[..., : frames - 2, :, :] = xy[..., 2:, :, 1:2] - xy[..., : frames - 2, :, 1:2]
    if lengths is not None:
        inside = motion_frames(lengths).to(pose.dtype).view(-1, 1, 1)  # [T, 1, 1]
        step, step_two = step * inside, step_two * inside
    velocity = torch.cat([step, zero, conf, step_two], dim=-1)
    bone = xy - xy[..., list(connect_joint), :]
    length = bone.pow(2).sum(-1, keepdim=True).sqrt() + 0.0001
    bones = torch.cat([bone, zero, conf, torch.acos(bone[..., 1:2] / length)], dim=-1)
    return torch.stack([joints, velocity, bones], dim=-2)
