"""``data_cfg.cache``: every sequence loaded once, held in shared memory.

Each modality is stored as one contiguous tensor of all its frames (``[Σ T, ...]``) plus the
offset of every sequence. The tensors live in shared memory, so DataLoader workers (forked or
spawned) map the same pages instead of each holding a copy of the dataset; a sequence is a
zero-copy view.
"""

from __future__ import annotations

from collections.abc import Sequence

import numpy as np
import torch

from .io import check_same_length, load_sequence_file


class SequenceCache:
    """All sequences of a dataset in shared memory.

    Args:
        paths: for each sequence, its modality files (same order as the dataset).
    """

    def __init__(self, paths: Sequence[Sequence[str]]) -> None:
        modalities = len(paths[0]) if paths else 0
        loaded: list[list[np.ndarray]] = [[] for _ in range(modalities)]
        for files in paths:
            arrays = [load_sequence_file(f) for f in files]
            check_same_length(arrays, files)
            for m, array in enumerate(arrays):
                loaded[m].append(array)
        self.offsets = np.zeros(len(paths) + 1, dtype=np.int64)
        if paths:
            self.offsets[1:] = np.cumsum([len(a) for a in loaded[0]])
        self.stores: list[torch.Tensor | list[np.ndarray]] = [self._pack(a) for a in loaded]

    def _pack(self, arrays: list[np.ndarray]) -> torch.Tensor | list[np.ndarray]:
        """One shared tensor when all frames share shape and dtype, else the arrays as is."""
        if len({(a.shape[1:], a.dtype) for a in arrays}) != 1:
            return arrays  # mixed frame shapes: kept per sequence (shared copy-on-write on fork)
        first = arrays[0]
        store = torch.empty(
            (int(self.offsets[-1]), *first.shape[1:]), dtype=torch.from_numpy(first[:0]).dtype
        )
        store.share_memory_()
        for i in range(len(arrays)):
            store[self.offsets[i] : self.offsets[i + 1]] = torch.from_numpy(
                np.ascontiguousarray(arrays[i])
            )
            arrays[i] = None  # type: ignore[call-overload]  # free as we go
        return store

    def get(self, index: int) -> list[np.ndarray]:
        """The modalities of sequence ``index`` (zero-copy numpy views)."""
        start, end = int(self.offsets[index]), int(self.offsets[index + 1])
        result = []
        for store in self.stores:
            if isinstance(store, torch.Tensor):
                result.append(store[start:end].numpy())
            else:
                result.append(store[index])
        return result
