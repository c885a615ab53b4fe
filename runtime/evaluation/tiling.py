"""How probes x gallery work is cut into blocks and run: one tiling for evaluation and search.

Every loop over probes and gallery in this package (the ranking counts in
:mod:`.ranking`, the top-k of ``gaitgen search`` in :mod:`.search`, the distance matrices of
:mod:`.distance`) takes its block sizes from :class:`BlockSizes`, cuts ranges with
:func:`spans` and runs independent blocks on a :class:`WorkerPool`.

- ``superblock`` probe rows are gathered and laid out at once;
- a gallery of at most ``gallery_block`` rows is laid out once for every probe; a larger one
  is laid out ``gallery_block`` rows at a time;
- ``probe_tile`` x ``gallery_tile`` distances are computed at once.
"""

from __future__ import annotations

import ctypes
from collections.abc import Callable, Iterable
from concurrent.futures import ThreadPoolExecutor
from dataclasses import dataclass
from typing import Any

import torch


@dataclass
class BlockSizes:
    """Block sizes: ``superblock`` rows are gathered at once, tiles are computed at once.

    A gallery of at most ``gallery_block`` rows is gathered once for all probes (270 MB for
    ``[*, 256, 16]`` features); ``threshold_tile`` probes share one gallery slice in the
    threshold pass of :mod:`.ranking`; a tile of distances is compared with thresholds
    ``count_chunk`` columns at a time (bounding the temporaries of the comparison).
    """

    superblock: int = 8192
    gallery_block: int = 16384
    probe_tile: int = 256
    gallery_tile: int = 256
    threshold_tile: int = 128
    count_chunk: int = 256

    @classmethod
    def for_device(cls, device: torch.device) -> BlockSizes:
        """Tiles that keep a CPU's caches warm, or a GPU busy."""
        if device.type == "cuda":
            return cls(
                superblock=16384,
                gallery_block=65536,
                probe_tile=1024,
                gallery_tile=4096,
                threshold_tile=1024,
                count_chunk=8192,
            )
        return cls()


def spans(start: int, stop: int, size: int, workers: int = 1) -> list[tuple[int, int]]:
    """``start:stop`` cut into near-equal spans of at most ``size``, their number a multiple
    of ``workers`` when there are few (so that no core idles at the end)."""
    count = -(-(stop - start) // size)
    if count < 8 * workers:
        count = -(-count // workers) * workers
    count = max(min(count, stop - start), 1)
    edges = [start + (stop - start) * k // count for k in range(count + 1)]
    return [(a, b) for a, b in zip(edges[:-1], edges[1:], strict=True) if b > a]


def _openmp_set_num_threads() -> Callable[[int], None] | None:
    """OpenMP's ``omp_set_num_threads`` of the runtime torch loaded, or ``None``.

    By the OpenMP specification it sets the team size of the *calling* thread only.
    """
    if "OpenMP" not in torch.__config__.parallel_info():
        return None
    try:
        function = ctypes.CDLL(None).omp_set_num_threads
    except (AttributeError, OSError):
        return None
    function.argtypes, function.restype = [ctypes.c_int], None
    return function


_SET_OPENMP_THREADS = _openmp_set_num_threads()


def _single_threaded_worker() -> None:
    """Run in each worker thread as it starts: torch operations of this thread use one core.

    ``torch.get_num_threads()`` first lets torch set up this thread (it copies its own
    setting into the thread once); the team size set after it belongs to this thread alone,
    so torch's setting and every other thread's, the caller's included, stay as they were.
    """
    torch.get_num_threads()
    _SET_OPENMP_THREADS(1)


class WorkerPool:
    """Tiles run by one thread per CPU core, each doing single-threaded torch operations.

    On a CPU, torch would split every operation over its threads and wait for all of them
    at the end; with many mid-sized operations per tile that waiting dominates, badly so
    when other processes share the cores. Independent tiles on separate threads (torch
    releases the GIL) keep every core busy with no waiting. Only the pool's own threads are
    made single-threaded; torch's thread setting is never changed. On a GPU, or with a torch
    whose threads are not OpenMP's, tiles run in order on the calling thread.
    """

    def __init__(self, device: torch.device) -> None:
        parallel = device.type == "cpu" and _SET_OPENMP_THREADS is not None
        self.workers = torch.get_num_threads() if parallel else 1
        self._executor: ThreadPoolExecutor | None = None

    def __enter__(self) -> WorkerPool:
        if self.workers > 1:
            self._executor = ThreadPoolExecutor(
                self.workers,
                thread_name_prefix="gaitgen-eval",
                initializer=_single_threaded_worker,
            )
        return self

    def __exit__(self, *exc) -> None:
        if self._executor is not None:
            self._executor.shutdown()
            self._executor = None

    def run(self, work: Callable[[Any], None], items: Iterable[Any]) -> None:
        """Call ``work(item)`` for every item, in parallel when there are several cores."""
        if self._executor is None:
            for item in items:
                work(item)
        else:
            for _ in self._executor.map(work, items):  # re-raises a worker's exception
                pass
