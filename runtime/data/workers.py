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
import signal
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


_SIGTERM_GRACE_S = 30  # what SLURM (KillWait) and Kubernetes give before their SIGKILL


def _on_sigterm(signum: int, frame: object) -> None:
    # stay alive while the training process finishes its step and saves, but do go in the
    # end: if the parent does not shut this worker down first, SIGALRM's default action does
    signal.alarm(_SIGTERM_GRACE_S)


def leave_stop_signals_to_the_trainer() -> None:
    """Let the training process handle Ctrl-C and SIGTERM, not its loader workers.

    Ctrl-C reaches the terminal's whole process group and SLURM signals every process of a
    job step. A worker that died of it would make the DataLoader raise in the training
    process (from its SIGCHLD handler, anywhere in the step) before that could save. So a
    worker ignores SIGINT, and on SIGTERM exits only after a grace period; the training
    process shuts its workers down itself before it saves.
    """
    signal.signal(signal.SIGINT, signal.SIG_IGN)
    signal.signal(signal.SIGTERM, _on_sigterm)


def worker_init(worker_id: int) -> None:
    """``worker_init_fn`` of the gait loaders: tune malloc (see the module docstring) and
    leave the stop signals to the training process."""
    leave_stop_signals_to_the_trainer()
    if not tune_malloc():
        logger.debug("data worker %d: malloc left at its defaults", worker_id)
