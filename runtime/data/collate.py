"""Turn the sequences of a batch into OpenGait's model input, inside a DataLoader worker.

The collate function samples frames (:mod:`.frames`), runs each modality's transforms on each
sequence (:mod:`.pipeline`, uint8 kept), writes the frames straight into one float32 batch
tensor per modality (in shared memory when running in a worker, so handing the batch to the
training process copies nothing) and applies the normalisers' value maps to the whole batch.

Output: ``[ipts, labs, typs, viws, seqL]`` with ``ipts`` one float32 tensor per modality,
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
from .frames import FrameSampling
from .pipeline import SequencePipeline


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
    """

    def __init__(
        self,
        label_set: Sequence[str],
        sampler_cfg: dict[str, Any],
        transforms: Any,
        modalities: int = 1,
        key: str = "sampler",
        transform_key: str = "transform",
    ) -> None:
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
    ) -> torch.Tensor:
        """Transform the sampled frames of one modality and stack them into a float32 batch."""
        out: torch.Tensor | None = None
        maps = None
        position = 0
        for i, sampled in enumerate(frames):
            seq, seq_maps = pipeline.run(torch.from_numpy(sampled), self.generator)
            if out is None:
                maps = seq_maps
                if self.frames.fixed_length:
                    out = _empty_batch((len(frames), *seq.shape), torch.float32)  # [n, s, ...]
                else:
                    total = sum(len(f) for f in frames)
                    out = _empty_batch((1, total, *seq.shape[1:]), torch.float32)  # [1, Σs, ...]
            if seq.shape[1:] != out.shape[2:]:
                raise DataError(
                    f"{infos[i][3][0]}: frames of shape {tuple(seq.shape[1:])} in a batch of "
                    f"{tuple(out.shape[2:])} frames; every sequence needs the same frame size "
                    "('gaitgen check-data' lists the odd ones)"
                )
            if self.frames.fixed_length:
                out[i].copy_(seq)
            else:
                out[0, position : position + len(seq)].copy_(seq)
                position += len(seq)
        assert out is not None and maps is not None
        for value_map in maps:
            value_map.apply_(out)
        return out

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
        ipts = [self._modality(sampled[m], self.pipelines[m], infos) for m in range(modalities)]
        labs = torch.tensor([self.label_index[info[0]] for _, info in batch], dtype=torch.long)
        typs = [info[1] for _, info in batch]
        viws = [info[2] for _, info in batch]
        seq_l = None if self.frames.fixed_length else torch.tensor([lengths], dtype=torch.long)
        return [ipts, labs, typs, viws, seq_l]
