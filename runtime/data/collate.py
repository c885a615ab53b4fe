"""Turn the sequences of a batch into OpenGait's model input, inside a DataLoader worker.

The collate function works on the whole batch at each stage:

1. it samples each sequence's frames (:mod:`.frames`) and reads them straight into one
   reused buffer per modality, ``[F, ...]`` (a pickle already seen is read frame by frame
   with :class:`.frame_file.FrameFile`, a cached or memory-mapped one is gathered);
2. it runs the modality's transforms on that buffer (:mod:`.pipeline`): every random
   transform draws its parameters for all sequences at once and changes the chosen ones
   together, uint8 kept;
3. it copies the result into the batch tensor, in shared memory when running in a worker
   (so handing the batch to the training process copies nothing).

By default a modality whose frames are still uint8 stays uint8: ``ipts`` is then a
:class:`.batch.PendingInputs` holding the normalisers' value maps, which
:func:`.batch.finish_inputs` applies on the training device (the engine's ``move_inputs`` does
so). With ``float_inputs=True`` the value maps are applied here, to a float32 batch, as
OpenGait's loader delivers it; both give bit-identical float32 values.

For a model that overrides ``inputs_pretreament`` (``raw=True``) stage 2 is left to that
method: the batch is OpenGait's raw collated one (:class:`.batch.RawSequences`), as its
``CollateFn`` makes it.

Output: ``[ipts, labs, typs, viws, seqL]`` with ``ipts`` one tensor per modality,
``[n, s, ...]`` for ``fixed`` sampling, ``[1, sum(s), ...]`` otherwise (``seqL`` a LongTensor
``[1, n]`` of the lengths, else None); ``labs`` a LongTensor ``[n]`` of label indices. A
batch of a two-view sampler (``BilateralSampler``: every sequence listed twice, each copy
sampled and transformed on its own) says so in ``ipts.views``; the engine splits it
(:func:`.batch.split_views`).
"""

from __future__ import annotations

import math
from collections.abc import Sequence
from typing import Any

import numpy as np
import torch

from ..errors import DataError
from .batch import PendingInputs, RawSequences
from .frame_file import FrameFile
from .frames import FrameSampling
from .pipeline import BatchPipeline, pipelines
from .seeds import IterationBatch, mix_seed
from .shared_batches import SharedBatchPool, empty_batch
from .transform_base import ValueMap


def _most_common(values: list[Any]) -> Any:
    """The value most entries have (the first of them on a tie): the batch's norm."""
    counts: dict[Any, int] = {}
    for value in values:
        counts[value] = counts.get(value, 0) + 1
    return max(counts, key=counts.__getitem__)  # dicts keep insertion order: first wins ties


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
        pool: the loader's reusable shared blocks, which batches built in its workers are
            written into (None: a fresh block per batch).
        frame_seed: seed of the frames and random transforms of a batch that comes with its
            iteration (:class:`.seeds.IterationBatch`): they are drawn from
            ``(frame_seed, iteration)``, so a resumed run repeats the uninterrupted one exactly.
            Other batches, and all with None, draw from the process's global torch RNG.
        raw: deliver OpenGait's raw collated batch (``ipts`` a :class:`.batch.RawSequences`
            of the sampled, untransformed frames; ``labs`` a list; ``seqL`` a numpy array or
            None) for a model whose own ``inputs_pretreament`` runs the transforms; the
            transforms are then not built here.
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
        pool: SharedBatchPool | None = None,
        frame_seed: int | None = None,
        raw: bool = False,
    ) -> None:
        self.float_inputs = float_inputs
        self.pool = pool
        self.frame_seed = frame_seed
        self.label_index = {label: i for i, label in enumerate(label_set)}
        self.frames = FrameSampling.from_config(sampler_cfg, key)
        self.raw = raw
        # a model's own inputs_pretreament runs the transforms (in the training process)
        self.pipelines = [] if raw else pipelines(transforms, modalities, transform_key)
        self.transform_key = transform_key
        self._buffers: dict[int, np.ndarray] = {}  # per modality, reused between batches

    def __getstate__(self) -> dict[str, Any]:
        state = dict(self.__dict__)
        state["_buffers"] = {}  # each process grows its own
        return state

    def _scratch(self, modality: int, shape: tuple[int, ...], dtype: np.dtype) -> np.ndarray:
        """A reused, uninitialised array of ``shape`` (one buffer per modality, grown as needed)."""
        nbytes = math.prod(shape) * dtype.itemsize
        buffer = self._buffers.get(modality)
        if buffer is None or buffer.nbytes < nbytes:
            buffer = self._buffers[modality] = np.empty(nbytes, dtype=np.uint8)
        return buffer[:nbytes].view(dtype).reshape(shape)

    def _gather(
        self,
        modality: int,
        sources: list[Any],
        indices: list[np.ndarray],
        infos: list[list],
    ) -> torch.Tensor:
        """The sampled frames of every sequence of one modality, one after another ``[F, ...]``.

        Raises:
            DataError: a sequence whose frame size or dtype differs from the rest of the
                batch (the odd file is named), or float frames holding NaN or infinity.
        """
        frame_shape = _most_common([tuple(source.shape[1:]) for source in sources])
        dtype = _most_common([np.dtype(source.dtype) for source in sources])
        frames = self._scratch(modality, (sum(len(i) for i in indices), *frame_shape), dtype)
        position = 0
        for source, index, info in zip(sources, indices, infos):
            others = len(sources) - 1
            if tuple(source.shape[1:]) != frame_shape:
                raise DataError(
                    f"{info[3][modality]}: frames of shape {tuple(source.shape[1:])} where the "
                    f"other {others} sequence(s) of the batch have {frame_shape}; every sequence "
                    "needs the same frame size ('gaitgen check-data' lists the odd ones)"
                )
            if np.dtype(source.dtype) != dtype:
                raise DataError(
                    f"{info[3][modality]}: frames of dtype {np.dtype(source.dtype)} where the "
                    f"other {others} sequence(s) of the batch have {dtype}; store every sequence "
                    "of a modality with one dtype (silhouettes: uint8 0-255; 'gaitgen "
                    "check-data' lists the odd ones)"
                )
            part = frames[position : position + len(index)]
            if isinstance(source, FrameFile):
                source.read_into(index, part)
            elif source.dtype == dtype:
                np.take(source, index, axis=0, out=part, mode="clip")  # unbuffered
            else:
                part[...] = source[index]
            if dtype.kind == "f" and not np.isfinite(part).all():
                raise DataError(
                    f"{info[3][modality]}: frames hold NaN or infinite values; fix or remove "
                    "the file ('gaitgen check-data' lists such files)"
                )
            position += len(index)
        return torch.from_numpy(frames)

    def _batch_tensor(
        self, pipeline: BatchPipeline, frames: torch.Tensor, lengths: list[int], maps: tuple
    ) -> tuple[torch.Tensor, tuple[ValueMap, ...], tuple | None]:
        """Copy transformed frames into the batch tensor; apply the maps unless kept pending.

        Returns:
            The batch tensor, the maps still pending and the tag of the pool's shared block
            that holds it (or None).
        """
        keep_uint8 = not self.float_inputs and frames.dtype == torch.uint8
        dtype = torch.uint8 if keep_uint8 else torch.float32
        joined = not self.frames.fixed_length
        view = pipeline.batch_view(frames, lengths, joined, self.transform_key)
        tag = None
        if self.pool is not None:
            out, tag = self.pool.empty(view.shape, dtype)
        else:
            out = empty_batch(view.shape, dtype)
        out.copy_(view)
        if keep_uint8:
            return out, maps, tag
        for value_map in maps:
            value_map.apply_(out)
        return out, (), tag

    def __call__(
        self, items: list[tuple[list[Any], list]] | IterationBatch[tuple[list[Any], list]]
    ) -> list:
        """Collate ``[(data_list, seq_info), ...]`` into ``[ipts, labs, typs, viws, seqL]``.

        Args:
            items: the sequences of a batch, or those of a training iteration's batch (as the
                dataset reads an :class:`.seeds.IterationBatch` of the sampler's).
        """
        generator = None  # the process's global torch RNG
        batch = items
        views = 1
        if isinstance(items, IterationBatch):
            batch, views = items.items, items.views
            if self.frame_seed is not None:
                generator = torch.Generator().manual_seed(
                    mix_seed(self.frame_seed, items.iteration)
                )
        modalities = len(batch[0][0])
        indices = [
            self.frames.indices(len(data_list[0]), generator).numpy() for data_list, _ in batch
        ]
        infos = [info for _, info in batch]
        if self.raw:
            return self._raw_batch(batch, indices, infos)
        tensors, value_maps, blocks, lengths = [], [], [], []
        for m in range(modalities):
            frames = self._gather(m, [data_list[m] for data_list, _ in batch], indices, infos)
            pipeline = self.pipelines[m]
            frames, modality_lengths, maps = pipeline.run(
                frames, [len(i) for i in indices], generator
            )
            if m and modality_lengths != lengths:
                raise DataError(
                    f"{self.transform_key}: the transforms of modality {m} left "
                    f"{sum(modality_lengths)} frames in the batch where those of modality 0 "
                    f"left {sum(lengths)}; the modalities of a sequence need the same frames "
                    "(give them transforms that keep or select the same frames)"
                )
            lengths = modality_lengths
            tensor, maps, block = self._batch_tensor(pipeline, frames, lengths, maps)
            tensors.append(tensor)
            value_maps.append(maps)
            blocks.append(block)
        # with float_inputs every value map is already applied
        ipts = PendingInputs(tensors, value_maps, blocks, views)
        labs = torch.tensor([self.label_index[info[0]] for info in infos], dtype=torch.long)
        typs = [info[1] for info in infos]
        viws = [info[2] for info in infos]
        seq_l = None if self.frames.fixed_length else torch.tensor([lengths], dtype=torch.long)
        return [ipts, labs, typs, viws, seq_l]

    def _raw_batch(self, batch: list, indices: list[np.ndarray], infos: list[list]) -> list:
        """OpenGait's raw collated batch: the sampled frames of each modality, untransformed."""
        lengths = [len(i) for i in indices]
        tensors = []
        for m in range(len(batch[0][0])):
            frames = self._gather(m, [data_list[m] for data_list, _ in batch], indices, infos)
            tensors.append(empty_batch(frames.shape, frames.dtype).copy_(frames))  # off scratch
        joined = not self.frames.fixed_length
        seqs = RawSequences(tensors, lengths, joined)
        labs = [self.label_index[info[0]] for info in infos]
        seq_l = np.asarray([lengths], dtype=np.int64) if joined else None
        return [seqs, labs, [info[1] for info in infos], [info[2] for info in infos], seq_l]
