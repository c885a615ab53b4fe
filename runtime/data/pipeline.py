"""Run a modality's transforms on a whole batch, keeping uint8 until the batch is built.

:class:`BatchPipeline` flattens ``Compose`` and runs each step's geometric/content part
(:meth:`SequenceTransform.apply_batch`) on the frames of all the batch's sequences at once
(uint8 for silhouettes). The value changes of normalisers (``x / 255``...) are collected as
pending :class:`ValueMap` objects and applied once to the whole float32 batch, in the workers
or on the training device. A pending map that moves 0 (``BaseRgbTransform``) is applied before
a step that writes zeros, so the result matches OpenGait's order of operations. A transform
that is not a :class:`SequenceTransform` (e.g. an OpenGait-style callable named by dotted path)
is called once per sequence with a numpy array, every pending map applied, as in OpenGait.
"""

from __future__ import annotations

from collections.abc import Sequence
from typing import Any

import numpy as np
import torch

from ..errors import DataError
from .transform_base import SequenceTransform, ValueMap
from .transforms import Compose


def _flatten(transform: Any) -> list[Any]:
    if isinstance(transform, Compose):
        return [step for inner in transform.transforms for step in _flatten(inner)]
    return [transform]


class BatchPipeline:
    """The steps of one modality's transform, run on a batch of sequences.

    Example::

        frames, lengths, maps = BatchPipeline(transform).run(frames, [30] * 128)
        # frames: uint8 [3840, 64, 44]; maps: (ValueMap(divisor=255.0),)
    """

    def __init__(self, transform: Any) -> None:
        self.steps = _flatten(transform)

    @staticmethod
    def _materialise(frames: torch.Tensor, pending: list[ValueMap]) -> torch.Tensor:
        frames = frames.to(torch.float32, copy=True)
        for value_map in pending:
            value_map.apply_(frames)
        pending.clear()
        return frames

    def run(
        self,
        frames: torch.Tensor,
        lengths: Sequence[int],
        generator: torch.Generator | None = None,
    ) -> tuple[torch.Tensor, list[int], tuple[ValueMap, ...]]:
        """Transform a batch.

        Args:
            frames: the sampled frames of every sequence, one after another ``[F, ...]``
                (uint8 for silhouettes); changed in place.
            lengths: frames per sequence.
            generator: source of random numbers (global torch RNG when None).

        Returns:
            The transformed frames (still uint8 unless a step needed float values, possibly a
            view), the frames per sequence, and the value maps still to apply, in order.
        """
        lengths = list(lengths)
        pending: list[ValueMap] = []
        for step in self.steps:
            if isinstance(step, SequenceTransform):
                if step.fills_zero and not all(m.keeps_zero for m in pending):
                    frames = self._materialise(frames, pending)
                frames = step.apply_batch(frames, lengths, generator)
                if step.value_map is not None:
                    pending.append(step.value_map)
            else:
                values = self._materialise(frames, pending) if pending else frames
                frames, lengths = _per_sequence(step, values, lengths)
        return frames, lengths, tuple(pending)


def _per_sequence(
    step: Any, frames: torch.Tensor, lengths: list[int]
) -> tuple[torch.Tensor, list[int]]:
    """Call an OpenGait-style transform on each sequence (numpy in) and join the results."""
    outs = [torch.as_tensor(np.asarray(step(seq.numpy()))) for seq in frames.split(lengths)]
    shapes = {tuple(out.shape[1:]) for out in outs}
    if len(shapes) > 1:
        raise DataError(
            f"transform {step!r} returned frames of different shapes {sorted(shapes)} for the "
            "sequences of one batch"
        )
    return torch.cat(outs), [len(out) for out in outs]
