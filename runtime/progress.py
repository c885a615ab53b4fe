"""Progress bars with rate and ETA for every long step, and silence where nobody watches.

One mechanism for the whole project (test-phase inference, ``synth``, ``prepare``,
``check-data``, ``extract``)::

    from gaitgen.runtime.progress import ProgressBar

    with ProgressBar(len(dataset), "embedding", unit="seq", quiet=quiet) as bar:
        for batch in loader:
            ...
            bar.advance(len(batch))

A bar is drawn (with ``rich.progress``, on stderr) only when all of these hold: it was not
asked to be quiet (``quiet=True``, :func:`set_quiet`, or ``GAITGEN_QUIET=1`` in the
environment, which also reaches processes started by torchrun), the stream is a terminal (a
log file, CI or a test runner sees nothing), and this process is rank 0 of its job. Otherwise
the bar is a no-op and ``rich`` is never imported, so the runtime pays nothing for it.
"""

from __future__ import annotations

import contextlib
import logging
import os
import sys
import time
from collections.abc import Iterable, Iterator
from types import TracebackType
from typing import Any, TextIO, TypeVar

T = TypeVar("T")

QUIET_ENV = "GAITGEN_QUIET"
_state = {"quiet": False}


def set_quiet(quiet: bool = True) -> None:
    """Silence (or re-enable) every progress bar of this process and of its children.

    The environment variable is set too, so processes that torchrun or a DataLoader starts
    stay quiet as well.
    """
    _state["quiet"] = bool(quiet)
    if quiet:
        os.environ[QUIET_ENV] = "1"
    else:
        os.environ.pop(QUIET_ENV, None)


@contextlib.contextmanager
def silenced(quiet: bool = True) -> Iterator[None]:
    """Within the block, every bar is quiet if ``quiet`` (the previous state comes back after)."""
    if not quiet:
        yield
        return
    before = (_state["quiet"], os.environ.get(QUIET_ENV))
    set_quiet(True)
    try:
        yield
    finally:
        _state["quiet"] = before[0]
        if before[1] is None:
            os.environ.pop(QUIET_ENV, None)
        else:
            os.environ[QUIET_ENV] = before[1]


def process_rank() -> int:
    """This process's rank: from torch.distributed if it is set up, else torchrun/SLURM's env.

    torch is not imported for this: only looked up if something else imported it.
    """
    dist = sys.modules.get("torch.distributed")
    if dist is not None and dist.is_available() and dist.is_initialized():
        return int(dist.get_rank())
    for variable in ("RANK", "SLURM_PROCID"):
        value = os.environ.get(variable, "")
        if value.isdigit():
            return int(value)
    return 0


def progress_enabled(quiet: bool | None = None, stream: TextIO | None = None) -> bool:
    """Whether a bar would be drawn: not quiet, on a terminal, on rank 0."""
    if quiet or _state["quiet"] or os.environ.get(QUIET_ENV, "") not in ("", "0"):
        return False
    stream = sys.stderr if stream is None else stream
    return _on_terminal(stream) and process_rank() == 0


def _on_terminal(stream: Any) -> bool:
    isatty = getattr(stream, "isatty", None)
    try:
        return bool(isatty()) if callable(isatty) else False
    except (ValueError, OSError):  # a closed stream
        return False


def _log_handlers() -> list[logging.StreamHandler]:
    """Every stream handler of every logger (not file handlers)."""
    loggers = [logging.getLogger()] + [
        item
        for item in logging.root.manager.loggerDict.values()
        if isinstance(item, logging.Logger)
    ]
    return [
        handler
        for logger in loggers
        for handler in logger.handlers
        if isinstance(handler, logging.StreamHandler)
        and not isinstance(handler, logging.FileHandler)  # a file is no terminal
    ]


def format_rate(speed: float | None, unit: str) -> str:
    """The rate column: ``12.3 it/s``, or ``2.5 s/it`` when one unit takes over a second
    (a slow step would read ``0.0 it/s``); ``- it/s`` before the first unit is done."""
    if not speed:
        return f"- {unit}/s"
    if speed < 1:
        return f"{1 / speed:,.1f} s/{unit}"
    return f"{speed:,.1f} {unit}/s"


def _rich_progress(unit: str, stream: TextIO, redirect: bool) -> Any:
    """A ``rich.progress.Progress`` with label, bar, count, rate, elapsed and ETA columns."""
    from rich.console import Console
    from rich.progress import (
        BarColumn,
        MofNCompleteColumn,
        Progress,
        ProgressColumn,
        TextColumn,
        TimeElapsedColumn,
        TimeRemainingColumn,
    )
    from rich.text import Text

    class RateColumn(ProgressColumn):
        """``123.4 seq/s`` (rich's own speed column counts bytes)."""

        def render(self, task: Any) -> Text:
            speed = task.finished_speed or task.speed
            return Text(format_rate(speed, unit), style="progress.data.speed")

    return Progress(
        TextColumn("[progress.description]{task.description}"),
        BarColumn(),
        MofNCompleteColumn(),
        RateColumn(),
        TimeElapsedColumn(),
        TextColumn("ETA"),
        TimeRemainingColumn(),
        console=Console(file=stream, stderr=stream is sys.stderr),
        transient=False,
        redirect_stdout=redirect,
        redirect_stderr=redirect,
    )


class ProgressBar:
    """A progress bar of ``total`` units, or nothing at all (see the module docstring).

    Args:
        total: units of work expected (sequences, subjects, batches).
        label: what is being done, shown first (``"embedding"``).
        unit: the unit's name, for the rate (``"seq"`` gives ``12.3 seq/s``).
        quiet: never draw this bar.
        stream: where to draw (default: stderr).
        redirect_logs: when stdout is a terminal too, print log lines (of logging's stream
            handlers on stdout/stderr) and prints above the bar instead of through it, for
            loops that keep logging while the bar runs (training).

    ``advance(n)`` (or ``update(n)``, the signature the data tools' ``progress`` callbacks
    take) counts units done; ``close()`` (or leaving the ``with`` block) finishes the line.
    """

    def __init__(
        self,
        total: int,
        label: str,
        unit: str = "items",
        quiet: bool | None = None,
        stream: TextIO | None = None,
        redirect_logs: bool = False,
    ) -> None:
        self.total, self.label, self.unit = int(total), label, unit
        self.done = 0
        self.started = time.perf_counter()
        self.stream = sys.stderr if stream is None else stream
        self.enabled = progress_enabled(quiet, self.stream)
        self._progress: Any = None
        self._task: Any = None
        self._swapped: list[tuple[logging.StreamHandler, Any]] = []
        if self.enabled:
            redirect = redirect_logs and _on_terminal(sys.stdout)
            self._progress = _rich_progress(unit, self.stream, redirect)
            self._task = self._progress.add_task(label, total=max(self.total, 0))
            originals = {id(sys.stdout): "stdout", id(sys.stderr): "stderr"}
            self._progress.start()  # with redirect: sys.stdout/stderr print above the bar
            if redirect:
                self._follow_redirect(originals)

    def advance(self, steps: int = 1) -> None:
        """Count ``steps`` more units as done."""
        self.done += steps
        if self._progress is not None:
            self._progress.advance(self._task, steps)

    update = advance

    def _follow_redirect(self, originals: dict[int, str]) -> None:
        """Point the log handlers that wrote to the real stdout/stderr at rich's proxies
        (handlers keep the stream they were made with, so rich's swap alone misses them)."""
        for handler in _log_handlers():
            name = originals.get(id(handler.stream))
            if name is not None:
                self._swapped.append((handler, handler.stream))
                handler.setStream(getattr(sys, name))

    def close(self) -> None:
        """Stop redrawing; the finished bar stays on the terminal. Safe to call twice."""
        for handler, stream in self._swapped:
            handler.setStream(stream)
        self._swapped = []
        if self._progress is not None:
            self._progress.stop()
            self._progress = None

    @property
    def elapsed(self) -> float:
        """Seconds since the bar was made."""
        return time.perf_counter() - self.started

    def __enter__(self) -> ProgressBar:
        return self

    def __exit__(
        self,
        exc_type: type[BaseException] | None,
        exc: BaseException | None,
        traceback: TracebackType | None,
    ) -> None:
        self.close()


def track(
    items: Iterable[T],
    total: int,
    label: str,
    unit: str = "items",
    quiet: bool | None = None,
) -> Iterator[T]:
    """Yield ``items``, advancing a bar by one per item."""
    with ProgressBar(total, label, unit, quiet=quiet) as bar:
        for item in items:
            yield item
            bar.advance()
