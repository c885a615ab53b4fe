"""Batches delivered as uint8 and finished (moved, converted to float) on the training device.

The loader's workers leave silhouette batches uint8: a quarter of the memory to fill, share
between processes, pin and copy to the GPU. ``ipts`` is then a :class:`PendingInputs`: the
tensors and, per modality, the value maps still to apply (``x / 255`` for silhouettes,
``(x - mean) / std`` for RGB). :func:`finish_inputs` moves the tensors to the
device and applies the maps there, with the same float32 operations in the same order as the
float path in the workers, so the result is bit-identical.

A plain list of tensors (OpenGait's float inputs, random test batches) is just moved.

Example::

    ipts, labs, typs, viws, seqL = next(iter(loader))   # ipts[0]: uint8 [n, s, h, w]
    ipts = finish_inputs(ipts, torch.device("cuda"))     # float32 [n, s, h, w] on the GPU
"""

from __future__ import annotations

from collections.abc import Iterator, Sequence
from typing import Any

import numpy as np
import torch

from .shared_batches import Tag
from .shared_memory import storage_use_count
from .transform_base import ValueMap


class PendingInputs:
    """``ipts`` as the loader delivers them: one tensor per modality, each with the value maps
    still to apply to it and the shared block it lies in.

    Reads like the list of tensors it stands for (``ipts[0]``, ``len(ipts)``, iteration);
    :func:`finish_inputs` turns it into that plain list on the training device.

    Args:
        tensors: one tensor per modality (uint8 where maps are pending).
        value_maps: per modality, the maps to apply in order (empty: already finished);
            none given: nothing pending.
        blocks: per modality, the tag of the worker's reusable shared block holding the tensor
            (:class:`.shared_batches.SharedBatchPool`), or None; none given: no pooled block.
        views: 2 when the batch lists every sequence twice, two views of it (the first half
            one view, the second the other: ``BilateralSampler``); :func:`split_views` hands
            them to the model apart once finished.
    """

    __slots__ = ("tensors", "value_maps", "blocks", "views")

    def __init__(
        self,
        tensors: Sequence[torch.Tensor],
        value_maps: Sequence[Sequence[ValueMap]] = (),
        blocks: Sequence[Tag | None] = (),
        views: int = 1,
    ) -> None:
        self.views = int(views)
        self.tensors = list(tensors)
        self.value_maps = [tuple(maps) for maps in value_maps] or [()] * len(self.tensors)
        self.blocks = list(blocks) or [None] * len(self.tensors)
        if not len(self.value_maps) == len(self.blocks) == len(self.tensors):
            raise ValueError(
                f"PendingInputs: {len(self.tensors)} tensors, {len(self.value_maps)} value-map "
                f"tuples and {len(self.blocks)} block tags; give one of each per modality"
            )

    def __len__(self) -> int:
        return len(self.tensors)

    def __getitem__(self, index: int) -> torch.Tensor:
        return self.tensors[index]

    def __iter__(self) -> Iterator[torch.Tensor]:
        return iter(self.tensors)

    def __reduce__(self) -> tuple:
        # pickled between DataLoader workers and the training process
        return (PendingInputs, (self.tensors, self.value_maps, self.blocks, self.views))

    def pin_memory(self) -> PendingInputs:
        """The same inputs with pinned tensors (called by the DataLoader's pin-memory thread)."""
        pinned = [t.pin_memory() for t in self.tensors]
        return PendingInputs(pinned, self.value_maps, self.blocks, self.views)


class RawSequences:
    """``seqs`` of OpenGait's raw collated batch: the sampled frames, no transform run yet.

    What the loader delivers as ``ipts`` for a model that overrides ``inputs_pretreament``
    (``build_loader(..., raw_batches=True)``): that model runs the transforms itself, in the
    training process, as OpenGait's do. The frames travel from the workers as one tensor per
    modality (shared memory, nothing copied); :meth:`numpy` gives OpenGait's layout.

    Args:
        tensors: per modality, the frames of every sequence one after another ``[F, ...]``.
        lengths: frames per sequence.
        joined: the sequences form one joined array (``seqL`` given: ``unfixed``/``all``
            sampling) rather than one array each (``fixed``).
    """

    __slots__ = ("tensors", "lengths", "joined")

    def __init__(self, tensors: Sequence[torch.Tensor], lengths: Sequence[int], joined: bool):
        self.tensors = list(tensors)
        self.lengths = [int(n) for n in lengths]
        self.joined = bool(joined)

    def __len__(self) -> int:
        return len(self.tensors)

    def __reduce__(self) -> tuple:
        # pickled between DataLoader workers and the training process
        return (RawSequences, (self.tensors, self.lengths, self.joined))

    def pin_memory(self) -> RawSequences:
        """Itself: the frames are transformed on the CPU first (the DataLoader's pin hook)."""
        return self

    def numpy(self) -> list[list[np.ndarray]]:
        """OpenGait's ``seqs_batch``: per modality, a list of numpy arrays, one per sequence
        ``[s, ...]``, or one of all the sequences joined (views of the frames, not copies)."""
        offsets = np.cumsum(self.lengths)[:-1]
        arrays = [tensor.numpy() for tensor in self.tensors]
        return [[a] if self.joined else list(np.split(a, offsets)) for a in arrays]


class ReusedBuffers:
    """float32 CPU buffers reused for finishing batches, at most ``max_buffers`` of them.

    A fresh 40 MB tensor costs more in first-touch page faults than the conversion itself, so
    the CPU keeps a few buffers. A buffer is handed out again only when nothing else
    references its memory (the tensor given out before, views of it and tensors autograd saved
    all count), so a batch still in use is never overwritten. Buffers are reused for batches of
    their own shape; beyond ``max_buffers`` the least recently used one is dropped (its memory
    goes once nothing refers to it), so batches of ever new shapes (``unfixed`` or ``all``
    sampling) do not pile up.

    Args:
        max_buffers: buffers kept at most.
    """

    def __init__(self, max_buffers: int = 6) -> None:
        self.max_buffers = max_buffers
        self.buffers: list[torch.Tensor] = []  # least recently used first

    @staticmethod
    def _free(buffer: torch.Tensor) -> bool:
        count = storage_use_count(buffer.untyped_storage())
        # references: the kept tensor and the temporary storage object of this call (no
        # count: no way to tell, never reuse)
        return count is not None and count <= 2

    def get(self, shape: torch.Size) -> torch.Tensor:
        """An uninitialised float32 tensor of ``shape`` that nothing else references."""
        key = tuple(shape)
        found = next(
            (i for i, b in enumerate(self.buffers) if b.shape == key and self._free(b)), None
        )
        if found is None:
            buffer = torch.empty(key, dtype=torch.float32)
            if len(self.buffers) >= self.max_buffers:
                self.buffers.pop(0)
        else:
            buffer = self.buffers.pop(found)
        self.buffers.append(buffer)
        # a new tensor object on the same memory: while the caller holds it, it is not free
        return torch.empty(0, dtype=torch.float32).set_(buffer.untyped_storage(), 0, key)


CPU_FINISH_BUFFERS = ReusedBuffers()  # finish_tensor's buffers on the CPU, per process


def finish_tensor(
    tensor: torch.Tensor, maps: Sequence[ValueMap], device: torch.device | str | None = None
) -> torch.Tensor:
    """Move one modality's batch to ``device`` and apply its pending value maps there.

    Args:
        tensor: the batch (uint8 while maps are pending).
        maps: the value maps, in order; none: the tensor is only moved.
        device: the target device (None: where it is).

    Returns:
        The float32 batch on ``device`` (or the moved tensor when there is no map).
    """
    if device is not None:
        device = torch.device(device)
        tensor = tensor.to(device, non_blocking=device.type == "cuda")
    if not maps:
        return tensor
    if tensor.device.type == "cpu":
        out = CPU_FINISH_BUFFERS.get(tensor.shape).copy_(tensor)
    else:
        out = tensor.to(torch.float32, copy=True)
    for value_map in maps:  # the float path's operations, in its order: same bits
        value_map.apply_(out)
    return out


def finish_inputs(
    ipts: PendingInputs | Sequence[torch.Tensor], device: torch.device | str | None = None
) -> list:
    """Move ``ipts`` to ``device`` and finish the pending value maps of a :class:`PendingInputs`.

    Args:
        ipts: the model input tensors (a PendingInputs from the loader, or a plain list).
        device: the training device (None: leave the tensors where they are).

    Returns:
        A plain list of tensors, float32 where maps were pending.
    """
    if isinstance(ipts, PendingInputs):
        return [finish_tensor(t, m, device) for t, m in zip(ipts.tensors, ipts.value_maps)]
    return [finish_tensor(t, (), device) for t in ipts]


def is_two_views(ipts: Any) -> bool:
    """Whether ``ipts`` is already a pair of views (``(view_1, view_2)``, each a list of
    tensors, one per modality), as :func:`split_views` returns it."""
    return (
        isinstance(ipts, (list, tuple))
        and len(ipts) == 2
        and all(isinstance(view, (list, tuple)) for view in ipts)
    )


def split_views(inputs: Sequence[Any]) -> list[Any]:
    """A finished batch that lists every sequence twice, as two views for the model.

    GaitSSB's pre-training (``BilateralSampler``) reads each sequence twice; the collate
    function samples and transforms every position on its own, so the first half of the
    batch is one view of the sequences and the second half the other. The model's train
    forward takes them apart, as OpenGait's ``GaitSSB_Pretrain`` does.

    Args:
        inputs: ``[ipts, labs, typs, viws, seqL]`` of ``2n`` sequences, ``ipts`` a list of
            tensors ``[2n, s, ...]`` (or ``[1, F, ...]`` joined, ``seqL`` ``[1, 2n]``).

    Returns:
        ``[(ipts_1, ipts_2), labs, typs, viws, (seqL_1, seqL_2)]``: each view's tensors (one
        per modality), ``labs``/``typs``/``viws`` of the first ``n`` (the second half repeats
        them), each view's ``seqL`` (None for a fixed-length batch).
    """
    ipts, labs, typs, viws, seq_l = inputs
    n = len(labs) // 2
    if seq_l is None:
        first = [x[:n] for x in ipts]
        second = [x[n:] for x in ipts]
        lengths = (None, None)
    else:
        frames = int(seq_l[0, :n].sum())
        first = [x[:, :frames] for x in ipts]
        second = [x[:, frames:] for x in ipts]
        lengths = (seq_l[:, :n], seq_l[:, n:])
    return [(first, second), labs[:n], list(typs[:n]), list(viws[:n]), lengths]
