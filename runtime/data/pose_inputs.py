"""The pose transforms that make a pose model's input: features, layouts, two views, joints.

Each takes the batch's pose frames ``[F, V, C]`` (x, y, confidence) and returns them in the
layout OpenGait's transform of the same name returns, frames first (see
:class:`~.transform_base.SequenceTransform`): ``GaitGraph1Input``'s frames go on axis 1 of a
sequence (``[C, T, V, 1]``), which the loader does when it builds the batch.

Velocities are taken within each sequence of the batch (OpenGait's transforms see one
sequence at a time): the last two frames of every sequence get 0, as in OpenGait.

Deliberate difference from OpenGait: its ``MSGGTransform`` selects the 12 joints and returns
nothing (so its MSGG configs cannot run); this one returns the selected joints.
"""

from __future__ import annotations

import torch

from ..errors import ConfigError, DataError
from ..modules.graph import LAYOUTS
from ..modules.pose_features import motion_frames, multi_input
from .pipeline import BatchPipeline
from .pose_transforms import check_joint_format, check_poses
from .transform_base import SequenceTransform, starts
from .transforms import Compose

# OpenGait's MSGGTransform: the 12 joints of the body_12 layout (shoulders, elbows, wrists,
# hips, knees, ankles) in each joint format
MSGG_JOINTS = {
    "coco": (6, 8, 14, 12, 7, 13, 5, 10, 16, 11, 9, 15),
    "alphapose": (2, 3, 9, 8, 6, 12, 5, 4, 10, 11, 7, 13),
    "openpose": (2, 3, 9, 8, 6, 12, 5, 4, 10, 11, 7, 13),
}


class GaitTRMultiInput(SequenceTransform):
    """GaitTR's 10 features per joint: ``[T, V, C] -> [T, V, 10]``.

    In order: x, y; x, y relative to joint 0; the step to the next frame; the step over two
    frames (both 0 in a sequence's last two frames); the bone to the joint's parent.
    """

    frame_kind = "poses"

    def __init__(self, joint_format: str = "coco") -> None:
        self.joint_format = check_joint_format(joint_format)

    def apply_batch(self, frames, lengths, generator):
        check_poses("GaitTRMultiInput", frames, self.joint_format)
        xy = frames[:, :, :2]  # [F, V, 2]
        inside = motion_frames(lengths).view(-1, 1, 1)
        step, step_two = torch.zeros_like(xy), torch.zeros_like(xy)
        step[:-1] = xy[1:] - xy[:-1]
        step_two[:-2] = xy[2:] - xy[:-2]
        zero = torch.zeros((), dtype=xy.dtype)
        parents = list(LAYOUTS[self.joint_format].connect_joint)
        features = [
            xy,
            xy - xy[:, :1],
            torch.where(inside, step, zero),
            torch.where(inside, step_two, zero),
            xy - xy[:, parents],
        ]
        return torch.cat(features, dim=-1)


class GaitGraphMultiInput(SequenceTransform):
    """GaitGraph2's three branches: ``[T, V, 3] -> [T, V, 3, 5]`` (joints, velocities, bones).

    The features are :func:`gaitgen.runtime.modules.pose_features.multi_input`'s (GaitGraph2's
    test-time augmentation computes them with the same function), positions relative to
    joint ``center``.
    """

    frame_kind = "poses"

    def __init__(self, center: int = 0, joint_format: str = "coco") -> None:
        self.joint_format = check_joint_format(joint_format)
        joints = LAYOUTS[self.joint_format].num_node
        if isinstance(center, bool) or not isinstance(center, int) or not 0 <= center < joints:
            raise ConfigError(
                f"center: expected a joint index 0..{joints - 1} of {joint_format}, got {center!r}"
            )
        self.center = center

    def apply_batch(self, frames, lengths, generator):
        check_poses("GaitGraphMultiInput", frames, self.joint_format, channels=3)
        if frames.shape[2] != 3:
            raise DataError(
                f"GaitGraphMultiInput takes poses [T, V, 3] (x, y, confidence); the batch's "
                f"frames have shape {tuple(frames.shape[1:])}"
            )
        parents = list(LAYOUTS[self.joint_format].connect_joint)
        return multi_input(frames, parents, self.center, lengths)


class GaitGraph1Input(SequenceTransform):
    """GaitGraph's input layout: ``[T, V, C] -> [C, T, V, 1]`` (frames on axis 1)."""

    frame_kind = "poses"
    frame_axis = 1

    def apply_batch(self, frames, lengths, generator):
        check_poses("GaitGraph1Input", frames)
        return frames.transpose(1, 2).unsqueeze(-1)  # frames first: [F, C, V, 1]


class SkeletonInput(SequenceTransform):
    """GaitTR's input layout: ``[T, V, C] -> [T, C, V, 1]``."""

    frame_kind = "poses"

    def apply_batch(self, frames, lengths, generator):
        check_poses("SkeletonInput", frames)
        return frames.transpose(1, 2).unsqueeze(-1)


class MSGGTransform(SequenceTransform):
    """MSGG's 12 joints (``body_12``) of a pose: ``[T, V, C] -> [T, 12, C]``.

    OpenGait's MSGG configs give it ``prob`` (``alphapose``/``coco``), which OpenGait drops:
    the ``coco`` joints are taken unless ``joint_format`` says otherwise.
    """

    frame_kind = "poses"

    def __init__(self, joint_format: str = "coco") -> None:
        self.joint_format = check_joint_format(joint_format)

    def apply_batch(self, frames, lengths, generator):
        check_poses("MSGGTransform", frames, self.joint_format)
        return frames[:, list(MSGG_JOINTS[self.joint_format])]


class TwoView(SequenceTransform):
    """Two independently drawn runs of ``trf_cfg``'s transforms, joined along axis 1.

    With ``GaitGraph1Input`` last (frames on axis 1) a sequence becomes its two views one
    after the other (twice the frames); otherwise axis 1 of a frame doubles.

    Deliberate difference from OpenGait: both views start from the sequence as sampled. In
    OpenGait the transforms that work in place (``InversePosesPre``, ...) change the array
    the second view then starts from, so a frame of the second view is swapped left for
    right when either run drew it (probability ``2p(1 - p)`` instead of ``p``).
    """

    frame_kind = "poses"

    def __init__(self, trf_cfg: list) -> None:
        self.trf_cfg = trf_cfg
        self._views = BatchPipeline(Compose(trf_cfg))

    @property
    def frame_axis(self) -> int:  # where the inner transforms put the frames
        return self._views.frame_axis

    def _view_lengths(self, lengths) -> list[int]:
        for step in self._views.steps:
            lengths = step.output_lengths(lengths) if hasattr(step, "output_lengths") else lengths
        return list(lengths)

    def output_lengths(self, lengths):
        view = self._view_lengths(lengths)
        return [2 * n for n in view] if self.frame_axis == 1 else view

    def _view(self, frames: torch.Tensor, lengths, generator) -> torch.Tensor:
        out, out_lengths, maps = self._views.run(frames, lengths, generator)
        if list(out_lengths) != self._view_lengths(lengths):
            raise DataError(
                f"TwoView: its transforms left {out_lengths} frames per sequence where "
                f"{self._view_lengths(lengths)} were expected; use gaitgen's transforms in trf_cfg"
            )
        return BatchPipeline.materialise(out, list(maps)) if maps else out

    def apply_batch(self, frames, lengths, generator):
        first = self._view(frames.clone(), lengths, generator)
        second = self._view(frames, lengths, generator)
        if self.frame_axis != 1:
            return torch.cat([first, second], dim=1)
        view = self._view_lengths(lengths)
        # sequence i: its frames of the first view, then those of the second
        index = torch.cat(
            [
                torch.cat([torch.arange(s, s + n), torch.arange(s, s + n) + len(first)])
                for s, n in zip(starts(view), view)
            ]
        )
        return torch.cat([first, second])[index]

    def __repr__(self) -> str:
        return f"TwoView(trf_cfg={self.trf_cfg!r})"
