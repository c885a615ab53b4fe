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

from ..errors import ConfigError, DataError
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
        moved = [i for i, step in enumerate(self.steps) if getattr(step, "frame_axis", 0)]
        if moved and moved[0] != len(self.steps) - 1:
            step = self.steps[moved[0]]
            raise ConfigError(
                f"{type(step).__name__} puts the frames on axis {step.frame_axis}, so it must "
                f"be the last transform of its list; move {self.steps[-1]!r} before it"
            )

    @property
    def frame_axis(self) -> int:
        """Where the frames lie in one transformed sequence as OpenGait lays it out (0: first)."""
        return getattr(self.steps[-1], "frame_axis", 0) if self.steps else 0

    @staticmethod
    def materialise(frames: torch.Tensor, pending: list[ValueMap]) -> torch.Tensor:
        """A float32 copy of ``frames`` with the ``pending`` maps applied (``pending`` emptied)."""
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
                    frames = self.materialise(frames, pending)
                new_lengths = step.output_lengths(lengths)
                frames = step.apply_batch(frames, lengths, generator)
                lengths = new_lengths
                if step.value_map is not None:
                    pending.append(step.value_map)
            else:
                values = self.materialise(frames, pending) if pending else frames
                frames, lengths = _per_sequence(step, values, lengths)
        return frames, lengths, tuple(pending)

    def batch_view(
        self, frames: torch.Tensor, lengths: Sequence[int], joined: bool, where: str
    ) -> torch.Tensor:
        """The model input of transformed frames: a view, ``[n, s, ...]`` or ``[1, sum(s), ...]``.

        The frames go on the axis OpenGait's transforms put them (after the batch axis):
        ``GaitGraph1Input``'s ``[n, C, s, V, 1]``.

        Args:
            frames: what :meth:`run` returned, ``[F, ...]``.
            lengths: frames per sequence, as :meth:`run` returned them.
            joined: the sequences are joined along the frames (``seqL`` given) rather than
                stacked (a fixed-length batch).
            where: the transform's config key, for the message.

        Raises:
            DataError: a stacked batch whose sequences have different frame counts.
        """
        if joined:
            view = frames.reshape(1, -1, *frames.shape[1:])
        else:
            if len(set(lengths)) > 1:
                raise DataError(
                    f"{where}: the transforms left sequences of {sorted(set(lengths))} frames in "
                    "a fixed-length batch (sample_type fixed_*); every sequence needs the same "
                    "number of frames"
                )
            view = frames.reshape(len(lengths), -1, *frames.shape[1:])
        return view.movedim(1, 1 + self.frame_axis)


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


def pipelines(transforms: Any, modalities: int, where: str) -> list[BatchPipeline]:
    """One :class:`BatchPipeline` per modality, from one transform for all or a list of them.

    Args:
        transforms: what :func:`.transforms.get_transform` built (a list: one per modality).
        modalities: the modalities of each sequence.
        where: the transform's config key, for the message.

    Raises:
        ConfigError: a list whose length is not the number of modalities.
    """
    if not isinstance(transforms, list):
        transforms = [transforms] * modalities
    if len(transforms) != modalities:
        raise ConfigError(
            f"{where}: {len(transforms)} transforms for {modalities} modalities; "
            "give one transform per modality (data_cfg.data_in_use selects the modalities) "
            "or a single transform for all"
        )
    return [BatchPipeline(t) for t in transforms]


def pretreat_batch(inputs: Sequence[Any], transforms: Any, where: str) -> list[Any]:
    """OpenGait's raw collated batch -> the model's inputs, transformed as the loader does.

    What :meth:`gaitgen.runtime.BaseModel.inputs_pretreament` does by default, in the
    process that calls it. Each modality's sequences are joined, run through its
    :class:`BatchPipeline` (random transforms draw per sequence, from the global torch RNG)
    and made float32 (the value maps applied), as the loader's workers do.

    Args:
        inputs: ``[seqs, labs, typs, viws, seqL]``: ``seqs`` one list per modality of numpy
            arrays (or tensors), one per sequence ``[s, ...]`` (``seqL`` None), or one array
            of the sequences joined along the frames (``seqL`` ``[[s_1, s_2, ...]]``);
            ``labs`` the label indices.
        transforms: one transform for every modality, or a list of one per modality.
        where: the transform's config key, for messages.

    Returns:
        ``[ipts, labs, typs, viws, seqL]``: ``ipts`` float32 ``[n, s, ...]`` per modality
        (``[1, sum(s), ...]`` with ``seqL``), ``labs`` and ``seqL`` LongTensors.

    Raises:
        ConfigError: the transforms do not match the modalities.
        DataError: the sequences of a modality differ in frame size, or a fixed-length batch
            in frame count.
    """
    seqs, labs, typs, viws, seq_l = inputs
    steps = pipelines(transforms, len(seqs), where)
    joined_lengths = None if seq_l is None else [int(v) for v in np.asarray(seq_l).reshape(-1)]
    ipts = []
    for m, (pipeline, rows) in enumerate(zip(steps, seqs)):
        arrays = [np.asarray(row) for row in rows]
        shapes = sorted({tuple(a.shape[1:]) for a in arrays})
        if len(shapes) > 1:
            raise DataError(
                f"modality {m} of the batch: sequences of frame shapes {shapes}; every "
                "sequence of a modality needs the same frame size"
            )
        lengths = [len(a) for a in arrays]
        if joined_lengths is not None and len(arrays) == 1 and sum(joined_lengths) == lengths[0]:
            lengths = joined_lengths  # random transforms draw per sequence, as in the workers
        frames = torch.from_numpy(np.concatenate(arrays))  # a copy: the steps work in place
        frames, lengths, maps = pipeline.run(frames, lengths)
        frames = BatchPipeline.materialise(frames, list(maps))
        ipts.append(pipeline.batch_view(frames, lengths, seq_l is not None, where).contiguous())
        if joined_lengths is not None and len(lengths) == len(joined_lengths):
            joined_lengths = lengths  # a transform may have changed the lengths
    labs = torch.as_tensor(np.asarray(labs), dtype=torch.long)
    if seq_l is not None:
        seq_l = torch.as_tensor(np.asarray(joined_lengths), dtype=torch.long).view(1, -1)
    return [ipts, labs, typs, viws, seq_l]
