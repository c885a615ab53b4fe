"""Turn the sequences of a batch into OpenGait's model input, inside a DataLoader worker.

The collate function samples frames (:mod:`.frames`), runs each modality's transforms on each
sequence (:mod:`.pipeline`, uint8 kept) and writes the frames straight into one batch tensor
per modality (in shared memory when running in a worker, so handing the batch to the
training process copies nothing).

By default a modality whose frames are still uint8 stays uint8: ``ipts`` is then a
:class:`.batch.PendingInputs` holding the normalisers' value maps, which
:func:`.batch.finish_inputs` applies on the training device (the engine's ``move_inputs`` does
so). With ``float_inputs=True`` the value maps are applied here, to a float32 batch, as
OpenGait's loader delivers it; both give bit-identical float32 values.

Output: ``[ipts, labs, typs, viws, seqL]`` with ``ipts`` one tensor per modality,
``[n, s, ...]`` for ``fixed`` sampling, ``[1, sum(s), ...]`` otherwise (``seqL`` a LongTensor
``[1, n]`` of the lengths, else None); ``labs`` a LongTensor ``[n]`` of label indices.
"""

from __future__ import annotations

from collections.abc import Sequence
from typing import Any

import numpy as np
import torch
from torch.utils.data import get_worker_info

from ..errors import ConfigError, DataError
from .batch import PendingInputs
from .frames import FrameSampling
from .pipeline import SequencePipeline
from .transform_base import ValueMap


def _empty_batch(shape: Sequence[int], dtype: torch.dtype) -> torch.Tensor:
    """An uninitialised tensor, allocated in shared memory when inside a DataLoader worker."""
    if get_worker_info() is None:
        return torch.empty(shape, dtype=dtype)
    numel = int(np.prod(shape))
    storage = torch.UntypedStorage._new_shared(numel * dtype.itemsize)
    return torch.empty(0, dtype=dtype).set_(storage, 0, tuple(shape))


class GaitCollate:
    """The collate function of the gait loaders (picklable, runs in the workers).

    Args:
        label_set: the sorted ids; a label's index in it is its class.
        sampler_cfg: the sampler config (``sample_type`` and frame counts).
        transforms: one transform per modality, or one for all.
        modalities: number of modalities per sequence.
        key: the sampler config's name, for error messages.
        transform_key: the transform config's name, for error messages.
        float_inputs: deliver finished float32 batches (else uint8 ones with pending maps,
            finished by :func:`.batch.finish_inputs`).
    """

    def __init__(
        self,
        label_set: Sequence[str],
        sampler_cfg: dict[str, Any],
        transforms: Any,
        modalities: int = 1,
        key: str = "sampler",
        transform_key: str = "transform",
        float_inputs: bool = False,
    ) -> None:
        self.float_inputs = float_inputs
        self.label_index = {label: i for i, label in enumerate(label_set)}
        self.frames = FrameSampling.from_config(sampler_cfg, key)
        if not isinstance(transforms, list):
            transforms = [transforms] * modalities
        if len(transforms) != modalities:
            raise ConfigError(
                f"{transform_key}: {len(transforms)} transforms for {modalities} modalities; "
                "give one transform per modality (data_cfg.data_in_use selects the modalities) "
                "or a single transform for all"
            )
        self.pipelines = [SequencePipeline(t) for t in transforms]
        self.generator: torch.Generator | None = None  # None: the worker's global torch RNG

    def _modality(
        self, frames: list[np.ndarray], pipeline: SequencePipeline, infos: list[list]
    ) -> tuple[torch.Tensor, tuple[ValueMap, ...]]:
        """Transform the sampled frames of one modality and stack them into one batch tensor.

        Returns:
            The batch and the value maps still to apply to it (none when finished here).
        """
        seqs = []
        maps: tuple[ValueMap, ...] = ()
        for i, sampled in enumerate(frames):
            seq, maps = pipeline.run(torch.from_numpy(sampled), self.generator)
            if seqs and seq.shape[1:] != seqs[0].shape[1:]:
                raise DataError(
                    f"{infos[i][3][0]}: frames of shape {tuple(seq.shape[1:])} in a batch of "
                    f"{tuple(seqs[0].shape[1:])} frames; every sequence needs the same frame "
                    "size ('gaitgen check-data' lists the odd ones)"
                )
            seqs.append(seq)
        keep_uint8 = not self.float_inputs and all(s.dtype == torch.uint8 for s in seqs)
        dtype = torch.uint8 if keep_uint8 else torch.float32
        if self.frames.fixed_length:
            out = _empty_batch((len(seqs), *seqs[0].shape), dtype)  # [n, s, ...]
            for i, seq in enumerate(seqs):
                out[i].copy_(seq)
        else:
            total = sum(len(s) for s in seqs)
            out = _empty_batch((1, total, *seqs[0].shape[1:]), dtype)  # [1, Σs, ...]
            position = 0
            for seq in seqs:
                out[0, position : position + len(seq)].copy_(seq)
                position += len(seq)
        if keep_uint8:
            return out, maps
        for value_map in maps:
            value_map.apply_(out)
        return out, ()

    def __call__(self, batch: list[tuple[list[np.ndarray], list]]) -> list:
        """Collate ``[(data_list, seq_info), ...]`` into ``[ipts, labs, typs, viws, seqL]``."""
        modalities = len(batch[0][0])
        sampled: list[list[np.ndarray]] = [[] for _ in range(modalities)]
        lengths = []
        for data_list, _ in batch:
            indices = self.frames.indices(len(data_list[0]), self.generator).numpy()
            lengths.append(len(indices))
            for m in range(modalities):
                sampled[m].append(np.asarray(data_list[m][indices]))  # [s, ...], a copy
        infos = [info for _, info in batch]
        done = [self._modality(sampled[m], self.pipelines[m], infos) for m in range(modalities)]
        tensors = [tensor for tensor, _ in done]
        ipts = tensors if self.float_inputs else PendingInputs(tensors, [m for _, m in done])
        labs = torch.tensor([self.label_index[info[0]] for _, info in batch], dtype=torch.long)
        typs = [info[1] for _, info in batch]
        viws = [info[2] for _, info in batch]
        seq_l = None if self.frames.fixed_length else torch.tensor([lengths], dtype=torch.long)
        return [ipts, labs, typs, viws, seq_l]
