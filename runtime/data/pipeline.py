"""Run a modality's transforms on one sequence, keeping uint8 until the batch is built.

:class:`SequencePipeline` flattens ``Compose`` and runs each step's geometric/content part
(:meth:`SequenceTransform.apply`) on the sequence as it is (uint8 for silhouettes). The value
changes of normalisers (``x / 255``...) are collected as pending :class:`ValueMap` objects and
applied once to the whole float32 batch by the collate function. A pending map that moves 0
(``BaseRgbTransform``) is applied before a step that writes zeros, so the result matches
OpenGait's order of operations. A transform that is not a :class:`SequenceTransform` (e.g. an
OpenGait-style callable named by dotted path) gets numpy values with every pending map
applied, as it would in OpenGait.
"""

from __future__ import annotations

from typing import Any

import numpy as np
import torch

from .transform_base import SequenceTransform, ValueMap
from .transforms import Compose


def _flatten(transform: Any) -> list[Any]:
    if isinstance(transform, Compose):
        return [step for inner in transform.transforms for step in _flatten(inner)]
    return [transform]


class SequencePipeline:
    """The steps of one modality's transform, run on one sequence at a time."""

    def __init__(self, transform: Any) -> None:
        self.steps = _flatten(transform)

    @staticmethod
    def _materialise(seq: torch.Tensor, pending: list[ValueMap]) -> torch.Tensor:
        seq = seq.to(torch.float32, copy=True)
        for value_map in pending:
            value_map.apply_(seq)
        pending.clear()
        return seq

    def run(
        self, seq: torch.Tensor, generator: torch.Generator | None = None
    ) -> tuple[torch.Tensor, tuple[ValueMap, ...]]:
        """Transform one sequence.

        Args:
            seq: the sampled frames ``[s, ...]`` (uint8 for silhouettes).
            generator: source of random numbers (global torch RNG when None).

        Returns:
            The transformed frames (still uint8 unless a step needed float values) and the
            value maps still to apply, in order, to the float32 batch.
        """
        pending: list[ValueMap] = []
        for step in self.steps:
            if isinstance(step, SequenceTransform):
                if step.fills_zero and not all(m.keeps_zero for m in pending):
                    seq = self._materialise(seq, pending)
                seq = step.apply(seq, generator)
                if step.value_map is not None:
                    pending.append(step.value_map)
            else:
                values = self._materialise(seq, pending) if pending else seq
                seq = torch.as_tensor(np.asarray(step(values.numpy())))
        return seq, tuple(pending)
