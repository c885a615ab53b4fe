"""Turning a failure into one line on stderr and an exit code: the rule every entry point uses.

``gaitgen`` (through :func:`gaitgen.cli.common.handle_errors`) and ``python -m
gaitgen.runtime`` (:mod:`.main`) both end a failed command with :func:`report_error`, so a
bad config, a full disk or a bug reads the same from either::

    error: config file not found: configs/missing.yaml

Under a launcher with several processes each line starts with ``[rank N] ``. With the entry
point's ``--debug`` the exception is raised again, traceback and all. Nothing heavy is
imported here, so the CLI can use it without importing torch.
"""

from __future__ import annotations

import contextlib
import os
import signal
import sys
import threading
from collections.abc import Iterator

from .atomic import disk_error
from .errors import GaitgenError

INTERRUPTED_EXIT_CODE = 130
TERMINATED_EXIT_CODE = 143  # 128 + SIGTERM


class Terminated(KeyboardInterrupt):
    """SIGTERM (a job scheduler, ``kill``), raised where Ctrl-C raises KeyboardInterrupt, so
    that every clean-up that runs for Ctrl-C (removing a partial dataset, rolling an upgrade
    back) runs for it too."""


@contextlib.contextmanager
def sigterm_as_interrupt() -> Iterator[None]:
    """Within the block, SIGTERM raises :class:`Terminated` in the main thread.

    A command that handles SIGTERM itself (training saves a checkpoint first) installs its
    own handler inside the block; the previous handler is put back at the end.
    """
    if threading.current_thread() is not threading.main_thread():
        yield
        return

    def terminate(signum: int, frame: object) -> None:
        raise Terminated

    previous = signal.signal(signal.SIGTERM, terminate)
    try:
        yield
    finally:
        signal.signal(signal.SIGTERM, previous)


def report_error(exc: BaseException, *, debug: bool, debug_hint: str) -> int:
    """Print ``exc`` as one ``error:`` line on stderr and return the exit code to end with.

    - Ctrl-C: ``error: interrupted``, exit code 130 (also with ``debug``); SIGTERM
      (:class:`Terminated`): ``error: stopped by SIGTERM``, exit code 143.
    - :class:`GaitgenError` (bad input): its message and its ``exit_code``.
    - an OSError of a full disk or a read-only folder met outside gaitgen's own writers (a
      library's files or cache): the path and the cause, not a bare errno.
    - anything else (a bug, an environment problem): its type and message, then
      ``(<debug_hint>)`` so the user knows how to see the traceback.

    Args:
        exc: the exception that ended the command (call this inside its ``except`` block).
        debug: raise ``exc`` again instead (the user asked for tracebacks).
        debug_hint: how to rerun with tracebacks, e.g. ``run 'gaitgen --debug ...' for the
            traceback``.

    Returns:
        The exit code (non-zero).

    Raises:
        BaseException: ``exc`` itself, with ``debug`` or when it is not an error
            (``SystemExit``, ``GeneratorExit``).
    """
    if isinstance(exc, Terminated):
        _print_error("stopped by SIGTERM", rank=False)
        return TERMINATED_EXIT_CODE
    if isinstance(exc, KeyboardInterrupt):
        _print_error("interrupted", rank=False)
        return INTERRUPTED_EXIT_CODE
    if debug or not isinstance(exc, Exception):
        raise exc
    if isinstance(exc, GaitgenError):
        _print_error(str(exc))
        return exc.exit_code
    known = disk_error(exc, exc.filename or "a file") if isinstance(exc, OSError) else None
    if known is not None:
        _print_error(str(known))
        return known.exit_code
    _print_error(f"{type(exc).__name__}: {exc} ({debug_hint})")
    return 1


def _print_error(message: str, rank: bool = True) -> None:
    prefix = rank_prefix() if rank else ""
    print(f"error: {prefix}{message}", file=sys.stderr, flush=True)


def rank_prefix() -> str:
    """``"[rank N] "`` in a job of several processes (torchrun's environment), else ``""``."""
    world = int(os.environ.get("WORLD_SIZE", "1"))
    return f"[rank {os.environ.get('RANK', '0')}] " if world > 1 else ""
