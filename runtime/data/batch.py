"""Batches delivered as uint8 and finished (moved, converted to float) on the training device.

The loader's workers leave silhouette batches uint8: a quarter of the memory to fill, share
between processes, pin and copy to the GPU. ``ipts`` is then a :class:`PendingInputs`, a list
of tensors that also holds, per modality, the value maps still to apply (``x / 255`` for
silhouettes, ``(x - mean) / std`` for RGB). :func:`finish_inputs` moves the tensors to the
device and applies the maps there, with the same float32 operations in the same order as the
float path in the workers, so the result is bit-identical.

A plain list of tensors (OpenGait's float inputs, random test batches) is just moved.

Example::

    ipts, labs, typs, viws, seqL = next(iter(loader))   # ipts[0]: uint8 [n, s, h, w]
    ipts = finish_inputs(ipts, torch.device("cuda"))     # float32 [n, s, h, w] on the GPU
"""

from __future__ import annotations

from collections.abc import Sequence

import torch

from .shared_batches import storage_use_count
from .transform_base import ValueMap


class PendingInputs(list):
    """``ipts`` whose tensors still need their value maps (one tuple of maps per modality).

    Args:
        tensors: one tensor per modality (uint8 where maps are pending).
        value_maps: per modality, the maps to apply in order (empty: already finished).
        slots: per modality, the tag of the worker's reusable shared block holding the tensor
            (:mod:`.shared_batches`), or None.
    """

    def __init__(
        self,
        tensors: Sequence[torch.Tensor] = (),
        value_maps: Sequence[tuple[ValueMap, ...]] = (),
        slots: Sequence[tuple | None] | None = None,
    ) -> None:
        super().__init__(tensors)
        self.value_maps = [tuple(maps) for maps in value_maps]
        self.slots = list(slots) if slots is not None else [None] * len(self)

    def __reduce__(self) -> tuple:
        # pickled between DataLoader workers and the training process
        return (PendingInputs, (list(self), self.value_maps, self.slots))

    def __copy__(self) -> PendingInputs:
        # torch's pin_memory copies the list and then replaces its items
        return PendingInputs(list(self), self.value_maps, self.slots)


class _BufferPool:
    """Reused float32 batches for finishing on the CPU.

    A fresh 40 MB tensor costs more in first-touch page faults than the conversion itself, so
    the CPU keeps a few buffers per shape. A buffer is handed out again only when nothing else
    references its memory (the tensor given out before, views of it and tensors autograd saved
    all count), so a batch still in use is never overwritten.
    """

    def __init__(self, per_shape: int = 3) -> None:
        self.per_shape = per_shape
        self.buffers: dict[tuple, list[torch.Tensor]] = {}

    @staticmethod
    def _free(buffer: torch.Tensor) -> bool:
        count = storage_use_count(buffer.untyped_storage())
        # references: the pooled tensor and the temporary storage object of this call (no
        # count: no way to tell, never reuse)
        return count is not None and count <= 2

    def get(self, shape: torch.Size) -> torch.Tensor:
        """An uninitialised float32 tensor of ``shape`` that nothing else references."""
        key = tuple(shape)
        pool = self.buffers.setdefault(key, [])
        buffer = next((b for b in pool if self._free(b)), None)
        if buffer is None:
            buffer = torch.empty(key, dtype=torch.float32)
            if len(pool) >= self.per_shape:
                pool.pop(0)
            pool.append(buffer)
        # a new tensor object on the same memory: while the caller holds it, it is not free
        return torch.empty(0, dtype=torch.float32).set_(buffer.untyped_storage(), 0, key)


_CPU_BUFFERS = _BufferPool()


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
        out = _CPU_BUFFERS.get(tensor.shape).copy_(tensor)
    else:
        out = tensor.to(torch.float32, copy=True)
    for value_map in maps:  # the float path's operations, in its order: same bits
        value_map.apply_(out)
    return out


def finish_inputs(ipts: Sequence[torch.Tensor], device: torch.device | str | None = None) -> list:
    """Move ``ipts`` to ``device`` and finish the pending value maps of a :class:`PendingInputs`.

    Args:
        ipts: the model input tensors (a PendingInputs from the loader, or a plain list).
        device: the training device (None: leave the tensors where they are).

    Returns:
        A plain list of tensors, float32 where maps were pending.
    """
    maps = getattr(ipts, "value_maps", None) or [()] * len(ipts)
    return [finish_tensor(t, m, device) for t, m in zip(ipts, maps)]
