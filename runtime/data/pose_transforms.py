"""The pose augmentations of OpenGait's pose models, vectorised over a batch of sequences.

A pose sequence is ``[T, V, C]``: per frame and joint x, y (pixels) and a confidence; a
missing joint is ``(0, 0, 0)``. The loader hands these transforms the frames of a whole batch,
``[F, V, C]``, with each sequence's length: random ones draw their values for every sequence
(or frame) at once, as OpenGait's draw them per call (per sequence), and change the batch in a
few tensor operations. Values keep the dtype of the data (float64 pose pickles stay float64
until the batch is made float32, as OpenGait computes in numpy and casts at the end).

Deliberate difference from OpenGait: where OpenGait decides with ``random() <= p`` these
decide with ``random < p`` (the same probability). OpenGait's own quirks are kept:
``SelectSequenceCenter`` on a sequence shorter than ``sequence_length`` slices as numpy does
with a negative start (a few frames from the end), and ``RandomSelectSequence`` needs more
than ``sequence_length`` frames and never starts at the last possible frame.
"""

from __future__ import annotations

from collections.abc import Sequence
from typing import Any

import torch

from ..errors import ConfigError, DataError
from ..modules.graph import LAYOUTS
from .normalisers import check_probability
from .transform_base import SequenceTransform, chosen_sequences, starts, uniform

POSE_FORMATS = ("coco", "alphapose", "openpose")  # the joint_format values OpenGait's take


def check_joint_format(value: Any) -> str:
    """``joint_format`` of a pose transform, else a ConfigError listing the choices."""
    if value not in POSE_FORMATS:
        raise ConfigError(
            f"joint_format: {value!r} is not a joint layout of the pose transforms; use one of "
            f"{', '.join(POSE_FORMATS)} (coco: 17 joints, alphapose/openpose: 18)"
        )
    return value


def check_poses(
    name: str, frames: torch.Tensor, joint_format: str | None = None, channels: int = 2
) -> None:
    """Raise a DataError unless ``frames`` are float poses ``[F, V, C]`` this transform takes.

    Args:
        name: the transform, for the message.
        frames: the batch's frames.
        joint_format: the layout whose joint count ``V`` must be (None: any).
        channels: the fewest channels ``C`` needed.
    """
    shape = tuple(frames.shape[1:])
    joints = LAYOUTS[joint_format].num_node if joint_format else None
    if (
        frames.dim() != 3
        or not frames.dtype.is_floating_point
        or shape[1] < channels
        or (joints is not None and shape[0] != joints)
    ):
        wanted = f"[T, {joints or 'V'}, C >= {channels}]"
        layout = f" (joint_format {joint_format!r})" if joint_format else ""
        raise DataError(
            f"{name} takes float pose frames {wanted}{layout}; the batch's frames are "
            f"{frames.dtype} of shape {shape}; give pose transforms to the pose modality "
            "(one transform list per data_cfg.data_in_use file) and the joint_format of the data"
        )


def frame_sequences(lengths: Sequence[int]) -> torch.Tensor:
    """The sequence each frame of a batch belongs to, ``[sum(lengths)]``."""
    lengths_t = torch.as_tensor(list(lengths), dtype=torch.int64)
    return torch.arange(len(lengths_t)).repeat_interleave(lengths_t)


def _positive_int(value: Any, name: str) -> int:
    if isinstance(value, bool) or not isinstance(value, int) or value < 1:
        raise ConfigError(f"{name}: expected a whole number >= 1, got {value!r}")
    return value


def _non_negative(value: Any, name: str) -> float:
    if isinstance(value, bool) or not isinstance(value, (int, float)) or value < 0:
        raise ConfigError(f"{name}: expected a number >= 0, got {value!r}")
    return float(value)


def _gaussian(shape: tuple[int, ...], std: float, generator) -> torch.Tensor:
    """OpenGait's ``np.random.normal(0, std, shape).astype(np.float32)``."""
    return (torch.randn(shape, generator=generator, dtype=torch.float64) * std).to(torch.float32)


class RandomSelectSequence(SequenceTransform):
    """Keep ``sequence_length`` consecutive frames from a random start (drawn per sequence)."""

    frame_kind = "poses"

    def __init__(self, sequence_length: int = 10) -> None:
        self.sequence_length = _positive_int(sequence_length, "sequence_length")

    def output_lengths(self, lengths):
        short = [n for n in lengths if n <= self.sequence_length]
        if short:
            raise DataError(
                f"RandomSelectSequence: a sequence of {short[0]} frames is too short for "
                f"sequence_length {self.sequence_length} (it needs more than that); sample more "
                "frames per sequence (the sampler's frames_num_fixed) or lower sequence_length"
            )
        return [self.sequence_length] * len(lengths)

    def apply_batch(self, frames, lengths, generator):
        self.output_lengths(lengths)
        spans = torch.as_tensor(list(lengths), dtype=torch.float64) - self.sequence_length
        draws = torch.rand(len(lengths), generator=generator, dtype=torch.float64)
        first = torch.as_tensor(starts(lengths)) + (draws * spans).floor().to(torch.int64)
        index = first.view(-1, 1) + torch.arange(self.sequence_length)
        return frames[index.view(-1)]


class SelectSequenceCenter(SequenceTransform):
    """Keep the ``sequence_length`` frames about the middle: from ``int(T / 2 - length / 2)``."""

    frame_kind = "poses"

    def __init__(self, sequence_length: int = 10) -> None:
        self.sequence_length = _positive_int(sequence_length, "sequence_length")

    def _kept(self, length: int) -> range:
        start = int(length / 2 - self.sequence_length / 2)
        return range(length)[start : start + self.sequence_length]  # numpy's slice, as OpenGait

    def output_lengths(self, lengths):
        return [len(self._kept(n)) for n in lengths]

    def apply_batch(self, frames, lengths, generator):
        index = [first + i for first, n in zip(starts(lengths), lengths) for i in self._kept(n)]
        return frames[torch.as_tensor(index, dtype=torch.int64)]


class MirrorPoses(SequenceTransform):
    """With probability ``prob`` per sequence, mirror x about each frame's mean x (joints kept)."""

    frame_kind = "poses"

    def __init__(self, prob: float = 0.5) -> None:
        self.prob = check_probability(prob)

    def apply_batch(self, frames, lengths, generator):
        check_poses("MirrorPoses", frames)
        chosen = chosen_sequences(self.prob, len(lengths), generator)
        if not chosen:
            return frames
        picked = torch.isin(frame_sequences(lengths), torch.as_tensor(chosen))
        x = frames[picked, :, 0]  # [f, V]
        center = x.mean(dim=1, keepdim=True)
        frames[picked, :, 0] = center - x + center
        return frames


class NormalizeEmpty(SequenceTransform):
    """Put each missing joint (x == 0) at its frame's centre of gravity, confidence 0.

    OpenGait fills the missing joints of a frame one after another, each with the mean of the
    frame as it is then (the joints filled before included); this computes the same values at
    once: the ``k``-th filled joint of a frame with ``V`` joints gets
    ``(1 + 1/V)^(k-1) (S - E_k) / V``, ``S`` the frame's sum and ``E_k`` the earlier filled
    joints' original values, each divided by ``(1 + 1/V)`` to the power of its rank.
    """

    frame_kind = "poses"

    def apply_batch(self, frames, lengths, generator):
        check_poses("NormalizeEmpty", frames, channels=3)
        empty = frames[:, :, 0] == 0  # [F, V]
        if not empty.any():
            return frames
        joints = frames.shape[1]
        growth = 1 + 1 / joints
        rank = empty.cumsum(dim=1).to(frames.dtype)  # 1-based among the frame's empty joints
        values = frames[:, :, :2]  # [F, V, 2]
        total = values.sum(dim=1, keepdim=True)  # [F, 1, 2]
        scaled = values * (empty.to(frames.dtype) * growth**-rank).unsqueeze(-1)
        earlier = scaled.cumsum(dim=1) - scaled  # the frame's filled joints before this one
        filled = growth ** (rank - 1).unsqueeze(-1) * (total - earlier) / joints
        frames[:, :, :2] = torch.where(empty.unsqueeze(-1), filled, values)
        frames[:, :, 2] = frames[:, :, 2].masked_fill(empty, 0)
        return frames


class RandomMove(SequenceTransform):
    """Shift every joint of a sequence by one random (x, y): uniform in +-``random_r``."""

    frame_kind = "poses"

    def __init__(self, random_r: Sequence[float] = (4, 1)) -> None:
        if not isinstance(random_r, (list, tuple)) or len(random_r) != 2:
            raise ConfigError(f"random_r: expected [x, y], two numbers, got {random_r!r}")
        self.random_r = [_non_negative(r, "random_r") for r in random_r]

    def apply_batch(self, frames, lengths, generator):
        check_poses("RandomMove", frames)
        count = len(lengths)
        rx, ry = self.random_r
        shift = torch.stack(
            [uniform(-rx, rx, generator, count), uniform(-ry, ry, generator, count)], dim=1
        )  # [n, 2]
        frames[:, :, :2] += shift[frame_sequences(lengths)].unsqueeze(1).to(frames.dtype)
        return frames


class PointNoise(SequenceTransform):
    """Add Gaussian noise (``std``) to every value of every joint, confidence included."""

    frame_kind = "poses"

    def __init__(self, std: float = 0.01) -> None:
        self.std = _non_negative(std, "std")

    def apply_batch(self, frames, lengths, generator):
        check_poses("PointNoise", frames)
        return frames + _gaussian(tuple(frames.shape), self.std, generator)


class FlipSequence(SequenceTransform):
    """With probability ``probability`` per sequence, play it backwards."""

    frame_kind = "poses"

    def __init__(self, probability: float = 0.5) -> None:
        self.probability = check_probability(probability, "probability")

    def apply_batch(self, frames, lengths, generator):
        chosen = chosen_sequences(self.probability, len(lengths), generator)
        if not chosen:
            return frames
        sequence = frame_sequences(lengths)
        first = torch.as_tensor(starts(lengths))[sequence]
        last = first + torch.as_tensor(list(lengths))[sequence] - 1
        index = torch.arange(len(frames))
        backwards = torch.isin(sequence, torch.as_tensor(chosen))
        return frames[torch.where(backwards, first + last - index, index)]


class InversePosesPre(SequenceTransform):
    """With probability ``probability`` per frame, swap the left and right joints."""

    frame_kind = "poses"

    def __init__(self, probability: float = 0.5, joint_format: str = "coco") -> None:
        self.probability = check_probability(probability, "probability")
        self.joint_format = check_joint_format(joint_format)

    def apply_batch(self, frames, lengths, generator):
        check_poses("InversePosesPre", frames, self.joint_format)
        chosen = torch.as_tensor(chosen_sequences(self.probability, len(frames), generator))
        if len(chosen):
            flip = list(LAYOUTS[self.joint_format].flip_idx)
            frames[chosen] = frames[chosen][:, flip]
        return frames


class JointNoise(SequenceTransform):
    """Move each joint of a sequence by its own Gaussian (x, y) offset (``std``), in all frames."""

    frame_kind = "poses"

    def __init__(self, std: float = 0.25) -> None:
        self.std = _non_negative(std, "std")

    def apply_batch(self, frames, lengths, generator):
        check_poses("JointNoise", frames)
        noise = _gaussian((len(lengths), frames.shape[1], 2), self.std, generator)  # [n, V, 2]
        frames[:, :, :2] += noise[frame_sequences(lengths)].to(frames.dtype)
        return frames
