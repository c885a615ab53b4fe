"""Turning a failure into one line on stderr and an exit code: the rule every entry point uses.

``gaitgen`` (through :func:`gaitgen.cli.common.handle_errors`) and ``python -m
gaitgen.runtime`` (:mod:`.main`) both end a failed command with :func:`report_error`, so a
bad config, a full disk or a bug reads the same from either::

    error: config file not found: configs/missing.yaml

Under a launcher with several processes each line starts with ``[rank N] ``. With the entry
point's ``--debug`` the exception is raised again, traceback and all. Nothing heavy is
imported here, so the CLI can use it without importing torch.

A bug (any exception that is not a :class:`GaitgenError`) says what command, which file
and which stage it was in: the main stages run inside :func:`phase`::

    with phase("building the model"):
        model = build_model(...)

    error: internal error in 'gaitgen train' (building the model; config configs/x.yaml):
    TypeError: ... (run 'gaitgen --debug ...' for the traceback; please report it)
"""

from __future__ import annotations

import contextlib
import contextvars
import os
import signal
import sys
import threading
from collections.abc import Iterator

from .atomic import disk_error
from .errors import GaitgenError

INTERRUPTED_EXIT_CODE = 130
TERMINATED_EXIT_CODE = 143  # 128 + SIGTERM
BROKEN_PIPE_EXIT_CODE = 141  # 128 + SIGPIPE


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


# the stages entered, outermost first: (what is being done, the file it is about or None)
_PHASES: contextvars.ContextVar[tuple[tuple[str, str | None], ...]] = contextvars.ContextVar(
    "gaitgen_phases", default=()
)
_PHASE_ATTRIBUTE = "gaitgen_phase"  # set on an exception leaving a phase: (stage, file)


@contextlib.contextmanager
def phase(name: str, file: object = None) -> Iterator[None]:
    """Run the block as the stage ``name`` (``"building the model"``) of the command.

    An exception leaving the block remembers the innermost stage it left and the file of
    that stage (``file``, or the one an outer stage named, e.g. the config being run), so
    that :func:`report_error` can say where a bug happened after the blocks have exited.
    """
    outer = _PHASES.get()
    where = str(file) if file is not None else (outer[-1][1] if outer else None)
    token = _PHASES.set((*outer, (name, where)))
    try:
        yield
    except BaseException as exc:
        if getattr(exc, _PHASE_ATTRIBUTE, None) is None:
            with contextlib.suppress(AttributeError, TypeError):  # a few C types refuse it
                setattr(exc, _PHASE_ATTRIBUTE, (name, where))
        raise
    finally:
        _PHASES.reset(token)


def _internal_error(exc: Exception, command: str | None, debug_hint: str) -> str:
    """``internal error in 'gaitgen train' (stage; file): Type: message (hint; report)``."""
    stage, file = getattr(exc, _PHASE_ATTRIBUTE, None) or (None, None)
    named = getattr(exc, "filename", None)
    if isinstance(named, (str, os.PathLike)):
        file = os.fspath(named)
    context = "; ".join(
        part for part in (stage, f"file {file}" if file is not None else None) if part
    )
    where = f" in '{command}'" if command else ""
    where += f" ({context})" if context else ""
    return f"internal error{where}: {type(exc).__name__}: {exc} ({debug_hint}; please report it)"


def report_error(
    exc: BaseException, *, debug: bool, debug_hint: str, command: str | None = None
) -> int:
    """Print ``exc`` as one ``error:`` line on stderr and return the exit code to end with.

    - Ctrl-C: ``error: interrupted``, exit code 130 (also with ``debug``); SIGTERM
      (:class:`Terminated`): ``error: stopped by SIGTERM``, exit code 143.
    - a closed output pipe (``gaitgen list | head``): nothing printed, exit code 141, as a
      command killed by SIGPIPE.
    - :class:`GaitgenError` (bad input): its message and its ``exit_code``.
    - an OSError of a full disk or a read-only folder met outside gaitgen's own writers (a
      library's files or cache): the path and the cause, not a bare errno.
    - anything else (a bug, an environment problem): ``internal error in '<command>'
      (<stage>; file <file>)``, its type and message, then ``(<debug_hint>; please report
      it)``; the stage is the innermost :func:`phase` it left, the file the one the
      exception names, else that stage's (the config being run).

    Args:
        exc: the exception that ended the command (call this inside its ``except`` block).
        debug: raise ``exc`` again instead (the user asked for tracebacks).
        debug_hint: how to rerun with tracebacks, e.g. ``run 'gaitgen --debug ...' for the
            traceback``.
        command: the command that failed, e.g. ``gaitgen train configs/x.yaml``.

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
    if isinstance(exc, BrokenPipeError):
        # the reader of the output went away (`gaitgen list | head`): stop quietly, as cat
        # does; what is still buffered for stdout goes nowhere instead of failing again at exit
        with contextlib.suppress(OSError, ValueError):
            os.dup2(os.open(os.devnull, os.O_WRONLY), sys.stdout.fileno())
        return BROKEN_PIPE_EXIT_CODE
    if debug or not isinstance(exc, Exception):
        raise exc
    if isinstance(exc, GaitgenError):
        _print_error(str(exc))
        return exc.exit_code
    known = disk_error(exc, exc.filename or "a file") if isinstance(exc, OSError) else None
    if known is not None:
        _print_error(str(known))
        return known.exit_code
    _print_error(_internal_error(exc, command, debug_hint))
    return 1


def _print_error(message: str, rank: bool = True) -> None:
    prefix = rank_prefix() if rank else ""
    print(f"error: {prefix}{message}", file=sys.stderr, flush=True)


def rank_prefix() -> str:
    """``"[rank N] "`` in a job of several processes (torchrun's environment), else ``""``."""
    world = int(os.environ.get("WORLD_SIZE", "1"))
    return f"[rank {os.environ.get('RANK', '0')}] " if world > 1 else ""
