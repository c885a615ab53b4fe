"""Batch tensors in shared memory that a DataLoader worker reuses once they are free again.

A worker hands a batch to the training process in shared memory, so nothing is copied. A
fresh block per batch costs a page fault per 4 KB page on each side (the worker writing it,
the training process mapping it), which took about as long as building the batch itself.
:class:`SharedBatchPool` lets each worker write into a few blocks of its own, again and
again; the training process maps each block once.

Who may write a block is decided through one shared flag per block (``flags[worker, slot]``):
the worker takes a block whose flag is 0 and sets it to a new serial number; the training
process clears it when no tensor of its own refers to the block any more (checked on every
batch it receives). A batch that is pinned for CUDA on arrival frees its block at once (the
pinned copy is what the training process keeps). A worker with no free block allocates a
fresh one, as a plain DataLoader would. Each iteration over the loader (each set of worker
processes) gets its own flags, so two generations of workers never share them.

The tag ``(flags id, worker, slot, serial)`` of each pooled tensor travels with the batch in
:attr:`.batch.PendingInputs.blocks`. The loader creates the pool and gives it to the collate
function, which allocates from it in the workers; the loader reports each batch it receives.
Shared blocks come from :mod:`.shared_memory`, which holds the private torch calls.
"""

from __future__ import annotations

import itertools
import math
from collections.abc import Sequence
from typing import Any

import torch
from torch.utils.data import get_worker_info

from .shared_memory import new_shared_block, storage_use_count

Tag = tuple[int, int, int, int]  # flags id, worker, slot, serial

_GENERATIONS = itertools.count(1)


def empty_batch(shape: Sequence[int], dtype: torch.dtype) -> torch.Tensor:
    """An uninitialised tensor, in a fresh shared-memory block when inside a DataLoader worker
    (handing it to the training process then copies nothing)."""
    if get_worker_info() is None:
        return torch.empty(tuple(shape), dtype=dtype)
    return _in_block(_new_block(shape, dtype), shape, dtype)


def _new_block(shape: Sequence[int], dtype: torch.dtype) -> torch.UntypedStorage:
    return new_shared_block(math.prod(shape) * dtype.itemsize)


def _in_block(block: torch.UntypedStorage, shape: Sequence[int], dtype: torch.dtype):
    """A tensor of ``shape`` at the start of ``block``."""
    return torch.empty(0, dtype=dtype).set_(block, 0, tuple(shape))


class SharedBatchPool:
    """Reusable shared-memory blocks for the batches of a loader's workers.

    Args:
        workers: the loader's ``num_workers``.
        slots: blocks per worker; a worker needs a new block while the training process holds
            all of its blocks (prefetched batches count).
    """

    def __init__(self, workers: int, slots: int = 6) -> None:
        self.workers = max(workers, 1)
        self.slots = slots
        # in the training process: per (flags id, worker, slot), the serial it holds (0 once
        # released), the block, and the flags it belongs to
        self._held: dict[tuple[int, int, int], list[Any]] = {}
        self.new_generation()
        self._blocks: dict[int, torch.UntypedStorage] = {}  # in a worker: its blocks
        self._serials = itertools.count(1)

    def new_generation(self) -> None:
        """Fresh flags for a new set of worker processes (call before they start).

        Blocks of earlier generations that are free are forgotten (their memory goes once
        their workers have exited); those still in use are released when they are free.
        """
        self.flags = torch.zeros(self.workers, self.slots, dtype=torch.int64).share_memory_()
        self.flags_id = next(_GENERATIONS)
        self._held = {key: entry for key, entry in self._held.items() if entry[0] != 0}

    def __getstate__(self) -> dict[str, Any]:
        state = dict(self.__dict__)
        state["_blocks"], state["_held"] = {}, {}
        del state["_serials"]
        return state

    def __setstate__(self, state: dict[str, Any]) -> None:
        self.__dict__.update(state)
        self._serials = itertools.count(1)

    # --- in a worker ---------------------------------------------------------------------

    def empty(self, shape: Sequence[int], dtype: torch.dtype) -> tuple[torch.Tensor, Tag | None]:
        """An uninitialised tensor for a batch, and its tag (None when not pooled).

        In a worker the tensor lies in one of the worker's shared blocks (or a fresh shared
        block when all are taken); in the training process it is an ordinary tensor.
        """
        info = get_worker_info()
        if info is None:
            return torch.empty(tuple(shape), dtype=dtype), None
        nbytes = math.prod(shape) * dtype.itemsize
        row = self.flags[info.id % self.workers]
        for slot in range(self.slots):
            if int(row[slot]) != 0:
                continue
            block = self._blocks.get(slot)
            if block is None or block.nbytes() < nbytes:
                block = self._blocks[slot] = _new_block(shape, dtype)
            serial = next(self._serials)
            row[slot] = serial
            return _in_block(block, shape, dtype), (
                self.flags_id,
                info.id % self.workers,
                slot,
                serial,
            )
        return empty_batch(shape, dtype), None  # all taken: a fresh block for this batch

    # --- in the training process ---------------------------------------------------------

    def received(self, tensors: Sequence[torch.Tensor], tags: Sequence[Tag | None]) -> None:
        """Note the pooled tensors of a batch that reached the training process."""
        for tensor, tag in zip(tensors, tags):
            if tag is None:
                continue
            flags_id, worker, slot, serial = tag
            if flags_id != self.flags_id:
                continue  # from an older generation of workers: their flags are gone
            key = (flags_id, worker, slot)
            if not tensor.is_shared():  # pinned on arrival: the block was copied and dropped
                self._release(self.flags, worker, slot, serial)
                continue
            held = self._held.get(key)
            storage = tensor.untyped_storage()
            if held is not None and held[1].data_ptr() == storage.data_ptr():
                held[0] = serial  # the same block again (its mapping was kept)
            else:
                self._held[key] = [serial, storage, self.flags]

    def release_free(self) -> None:
        """Give back to their workers the blocks nothing in this process refers to any more.

        The block itself stays mapped here, so the next batch written into it costs no new
        mapping.
        """
        for key, held in list(self._held.items()):
            flags_id, worker, slot = key
            serial, storage, flags = held
            if serial == 0:
                continue
            count = storage_use_count(storage)
            if count is not None and count <= 1:  # only the reference held here
                self._release(flags, worker, slot, serial)
                held[0] = 0
                if flags_id != self.flags_id:
                    del self._held[key]  # an earlier generation's block: not used again

    @staticmethod
    def _release(flags: torch.Tensor, worker: int, slot: int, serial: int) -> None:
        if int(flags[worker, slot]) == serial:
            flags[worker, slot] = 0
