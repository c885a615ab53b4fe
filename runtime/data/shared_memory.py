"""The private torch calls of the data loader, in one place, each with a public fallback.

Reusing batch memory needs two things torch has no public call for:

- :func:`new_shared_block`: an uninitialised block allocated straight in shared memory
  (``UntypedStorage._new_shared``). Fallback: a tensor made and then moved into shared memory
  with the public ``share_memory_()`` (one extra copy of the block).
- :func:`storage_use_count`: how many tensors and storage objects refer to a storage
  (``torch._C._storage_Use_Count``), which tells whether a reused block is free again.
  Fallback: ``None`` ("cannot tell"), and callers never reuse such a block: each batch then
  gets fresh shared memory, as a plain DataLoader gives it.

A torch that renamed or removed either call therefore loads the same batches, only with less
memory reuse. ``tests/test_data_batch.py`` removes both calls and checks exactly that.
"""

from __future__ import annotations

import logging

import torch

logger = logging.getLogger(__name__)


def new_shared_block(nbytes: int) -> torch.UntypedStorage:
    """An uninitialised storage of ``nbytes`` bytes in shared memory.

    Args:
        nbytes: the block's size.

    Returns:
        A shared-memory storage (handing a tensor on it to another process copies nothing).
    """
    allocate = getattr(torch.UntypedStorage, "_new_shared", None)
    if allocate is not None:
        try:
            return allocate(nbytes)
        except (RuntimeError, TypeError) as exc:  # a torch whose private call changed
            logger.debug("UntypedStorage._new_shared failed (%s); using share_memory_()", exc)
    return torch.empty(nbytes, dtype=torch.uint8).share_memory_().untyped_storage()


def storage_use_count(storage: torch.UntypedStorage) -> int | None:
    """References to ``storage`` from tensors and storage objects.

    Args:
        storage: a tensor's ``untyped_storage()``.

    Returns:
        The count (the storage object passed in counts once), or None when this torch cannot
        tell: callers must then treat the storage as in use.
    """
    count = getattr(torch._C, "_storage_Use_Count", None)
    if count is None:
        return None
    try:
        return int(count(storage._cdata))
    except (AttributeError, RuntimeError, TypeError):  # a torch whose private call changed
        return None
