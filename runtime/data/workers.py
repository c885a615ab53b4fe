"""Set-up of the DataLoader worker processes.

A worker allocates and frees many buffers of a few hundred KB per batch (a sequence read from
its file, the frames of a warp). With glibc's default settings such blocks are mapped afresh
and returned to the system again and again, and every first touch of a page costs a fault:
that took two thirds of the time to load a pickle. :func:`worker_init` tells glibc's malloc to
serve them from the heap and keep freed memory for reuse (in the workers only; a worker's
heap then stays at its high-water mark, a few hundred MB at most).
"""

from __future__ import annotations

import ctypes
import ctypes.util
import logging
import sys

logger = logging.getLogger(__name__)

_M_TRIM_THRESHOLD = -1  # glibc mallopt parameters (malloc.h)
_M_MMAP_THRESHOLD = -3
_MMAP_THRESHOLD = 64 << 20  # blocks below 64 MB come from the heap
_TRIM_THRESHOLD = 512 << 20  # keep up to 512 MB of freed heap for reuse


def tune_malloc() -> bool:
    """Make glibc's malloc keep and reuse freed blocks in this process (Linux only).

    Returns:
        True when the settings were applied (False on other systems or C libraries).
    """
    if not sys.platform.startswith("linux"):
        return False
    try:
        libc = ctypes.CDLL(ctypes.util.find_library("c") or "libc.so.6")
        mallopt = libc.mallopt
    except (OSError, AttributeError):  # not glibc (e.g. musl): keep the defaults
        return False
    mallopt.argtypes = [ctypes.c_int, ctypes.c_int]
    mallopt.restype = ctypes.c_int
    return bool(mallopt(_M_MMAP_THRESHOLD, _MMAP_THRESHOLD)) and bool(
        mallopt(_M_TRIM_THRESHOLD, _TRIM_THRESHOLD)
    )


def worker_init(worker_id: int) -> None:
    """``worker_init_fn`` of the gait loaders: tune malloc (see the module docstring)."""
    if not tune_malloc():
        logger.debug("data worker %d: malloc left at its defaults", worker_id)
