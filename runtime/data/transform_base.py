"""What the built-in transforms share: the sequence transform protocol and value maps.

A transform changes whole sequences with tensor operations, never a Python loop over frames.
The loader hands it a whole batch at once (:meth:`SequenceTransform.apply_batch`): the frames
of every sequence one after another, ``[F, h, w]`` (or ``[F, c, h, w]``), with each sequence's
length. Random transforms draw their parameters per sequence, for all sequences in one go,
and change the chosen ones in one pass over the batch (the warp grids of all are computed at
once).

The loader keeps silhouettes uint8 until the batch is built. To do so a transform is split in
two parts:

- :meth:`SequenceTransform.apply_batch` changes geometry or content and keeps the dtype (uint8
  in, uint8 out; interpolation is computed in float32 and rounded back);
- :attr:`SequenceTransform.value_map` (normalisers only) is the change of values, e.g.
  ``x / 255``. The loader applies it once to the whole float32 batch.

Calling a transform (``t(seq)``) transforms one sequence and runs both parts, as OpenGait's
transforms do; it never changes its input in place.
"""

from __future__ import annotations

import itertools
from collections.abc import Callable, Sequence
from dataclasses import dataclass
from typing import Any

import numpy as np
import torch


@dataclass(frozen=True)
class ValueMap:
    """The value change of a normaliser: ``(x - offset) / divisor``.

    ``offset`` and ``divisor`` are floats or tuples (one per channel, broadcast over
    ``[..., c, h, w]``).
    """

    divisor: float | tuple[float, ...] = 1.0
    offset: float | tuple[float, ...] = 0.0

    @property
    def keeps_zero(self) -> bool:
        """True if 0 maps to 0 (so filling with 0 commutes with this map)."""
        offsets = self.offset if isinstance(self.offset, tuple) else (self.offset,)
        return all(o == 0 for o in offsets)

    def _as_tensor(self, value: float | tuple[float, ...]) -> float | torch.Tensor:
        if isinstance(value, tuple):
            return torch.tensor(value, dtype=torch.float32).view(-1, 1, 1)  # [c, 1, 1]
        return value

    def apply_(self, batch: torch.Tensor) -> torch.Tensor:
        """Apply the map in place to a float tensor and return it."""
        offset = self._as_tensor(self.offset)
        if not (isinstance(offset, float) and offset == 0.0):
            batch.sub_(offset)
        return batch.div_(self._as_tensor(self.divisor))


class SequenceTransform:
    """Base of the built-in transforms (subclass it for your own vectorised transform).

    The loader calls :meth:`apply_batch` once per batch with the frames of all its sequences;
    eager calls (``t(seq)``) and :meth:`apply` work on one sequence. Override either:

    - :meth:`apply_batch` (the built-ins do): draw per-sequence parameters for the whole batch
      and transform every sequence in a few tensor operations;
    - :meth:`apply` only: the loader then calls it once per sequence of the batch.

    Set ``fills_zero = True`` when the transform writes zeros (erasing, warping borders): the
    loader then applies an earlier offset-changing normaliser first, so that the zeros land in
    normalised space as they do in OpenGait. Set :attr:`value_map` if it normalises values.

    Frames always travel frames first (``[F, ...]``), whatever a transform makes of the rest
    of a frame. A transform may change a frame's shape (``[F, V, C] -> [F, V, 3, 5]``) and,
    by overriding :meth:`output_lengths`, the number of frames of each sequence. One whose
    OpenGait counterpart returns the frames on another axis (``GaitGraph1Input``:
    ``[T, V, C] -> [C, T, V, 1]``) returns them frames first all the same and says where
    they go in :attr:`frame_axis` (of one sequence's array): the loader moves them there when
    it builds the batch, and the eager call returns OpenGait's layout.
    """

    value_map: ValueMap | None = None
    fills_zero: bool = False
    frame_axis: int = 0
    frame_kind: str = "images"  # or "poses": frames [F, V, C] of joints (x, y, confidence)

    def output_lengths(self, lengths: Sequence[int]) -> list[int]:
        """The frame count of each sequence after the transform (default: unchanged).

        A transform that drops, selects or repeats frames overrides it (its
        :meth:`apply_batch` then returns ``sum(output_lengths(lengths))`` frames); the loader
        calls it before :meth:`apply_batch` and joins the batch with the new lengths.

        Raises:
            DataError: a sequence the transform cannot take (e.g. too few frames).
        """
        return [int(n) for n in lengths]

    def apply_batch(
        self, frames: torch.Tensor, lengths: Sequence[int], generator: torch.Generator | None
    ) -> torch.Tensor:
        """Transform a batch of sequences, each with its own random draws; keep the dtype.

        Args:
            frames: ``[F, ..., h, w]``, the frames of the batch's sequences one after another.
                The loader owns this tensor: it may be changed in place (and may be a view).
            lengths: the frame count of each sequence (summing to ``F``).
            generator: source of random numbers (the global torch RNG when None).

        Returns:
            The transformed frames ``[F', ...]``, ``F'`` the sum of :meth:`output_lengths`
            (``frames`` itself, a view of it or a new tensor).
        """
        if type(self).apply is SequenceTransform.apply:
            return frames
        return torch.cat([self.apply(seq, generator) for seq in frames.split(list(lengths))])

    def apply(self, seq: torch.Tensor, generator: torch.Generator | None = None) -> torch.Tensor:
        """Transform one sequence ``[s, ..., h, w]``, keeping its dtype; never in place."""
        if type(self).apply_batch is SequenceTransform.apply_batch:
            return seq
        return self.apply_batch(seq.clone(), (len(seq),), generator)

    def __call__(self, seq: Any, generator: torch.Generator | None = None) -> Any:
        """Apply the transform as OpenGait does (values normalised, float32 if so).

        Args:
            seq: a numpy array or tensor ``[s, h, w]`` (poses: ``[s, V, C]``).
            generator: random numbers come from it (the global torch RNG when None).

        Returns:
            The same kind of object as ``seq`` (numpy in, numpy out), its frames on
            :attr:`frame_axis`.
        """
        is_numpy = isinstance(seq, np.ndarray)
        tensor = torch.from_numpy(np.ascontiguousarray(seq)) if is_numpy else seq
        out = self.apply(tensor, generator)
        if self.value_map is not None:
            out = self.value_map.apply_(out.to(torch.float32, copy=True))
        if self.frame_axis:
            out = out.movedim(0, self.frame_axis)
        return out.numpy() if is_numpy else out

    def __repr__(self) -> str:
        params = ", ".join(
            f"{k}={v!r}"
            for k, v in vars(self).items()
            if not k.startswith("_") and k != "value_map"
        )
        return f"{type(self).__name__}({params})"


def starts(lengths: Sequence[int]) -> list[int]:
    """The index of each sequence's first frame in the batch's frames."""
    return list(itertools.accumulate(lengths, initial=0))[:-1]


def chosen_sequences(prob: float, count: int, generator: torch.Generator | None) -> list[int]:
    """The sequences (of ``count``) a transform applied with probability ``prob`` changes.

    As OpenGait, a sequence is changed when ``uniform(0, 1) < prob``.
    """
    if prob <= 0:
        return []
    draws = torch.rand(count, generator=generator, dtype=torch.float64)
    return (draws < prob).nonzero().flatten().tolist()


def map_sequences(
    frames: torch.Tensor,
    lengths: Sequence[int],
    chosen: list[int],
    function: Callable[[torch.Tensor, int], torch.Tensor],
    dtype: torch.dtype | None = None,
) -> torch.Tensor:
    """Replace the ``chosen`` sequences of a batch by ``function`` of them, in place.

    One sequence at a time, through one reused buffer: a sequence's frames stay in the CPU's
    cache from the copy in to the copy back (measured a third faster than one call on all
    chosen sequences, whose working set does not fit).

    Args:
        frames: the batch's frames ``[F, ..., h, w]``.
        lengths: frames per sequence.
        chosen: the sequences to change (ascending).
        function: takes one sequence as ``[1, s, ...]`` and its position in ``chosen``, and
            returns its new frames, same shape. The result is copied into ``frames`` with
            ``copy_``: a float result for uint8 frames is truncated, so round it first.
        dtype: hand the sequences to ``function`` as this dtype (a copy; by default a view).

    Returns:
        ``frames``, changed.
    """
    if not chosen:
        return frames
    first = starts(lengths)
    buffer = None
    if dtype is not None:
        longest = max(lengths[i] for i in chosen)
        buffer = torch.empty((1, longest, *frames.shape[1:]), dtype=dtype)
    for j, i in enumerate(chosen):
        part = frames[first[i] : first[i] + lengths[i]]
        if buffer is None:
            sequence = part.unsqueeze(0)
        else:
            sequence = buffer[:, : len(part)]
            sequence[0].copy_(part)
        part.copy_(function(sequence, j)[0])
    return frames


def uniform(
    low: float, high: float, generator: torch.Generator | None, size: int = 1
) -> torch.Tensor:
    """``size`` floats drawn uniformly from ``[low, high)`` (float64)."""
    return torch.rand(size, generator=generator, dtype=torch.float64) * (high - low) + low


def integers(low: int, high: int, generator: torch.Generator | None, size: int = 1) -> torch.Tensor:
    """``size`` integers drawn uniformly from ``[low, high)``; all ``low`` if the range is empty."""
    if high <= low:
        return torch.full((size,), low, dtype=torch.int64)
    return torch.randint(low, high, (size,), generator=generator)
