"""A minimal progress bar on stderr (no dependencies, so the runtime can use it too)."""

from __future__ import annotations

import sys
import time
from typing import TextIO


class ProgressBar:
    """``label [#####.....] 12/40 subjects 3.1 s``, redrawn in place on a terminal.

    When stderr is not a terminal (a log file, CI), only the final line is written.
    """

    def __init__(self, total: int, label: str, unit: str, stream: TextIO | None = None) -> None:
        self.total, self.label, self.unit = total, label, unit
        self.stream = stream if stream is not None else sys.stderr
        self.done = 0
        self.started = time.perf_counter()
        self.live = bool(getattr(self.stream, "isatty", lambda: False)())

    def _line(self) -> str:
        width = 30
        filled = width * self.done // max(self.total, 1)
        elapsed = time.perf_counter() - self.started
        bar = "#" * filled + "." * (width - filled)
        return f"{self.label} [{bar}] {self.done}/{self.total} {self.unit} {elapsed:.1f} s"

    def advance(self, steps: int = 1) -> None:
        """Count ``steps`` more units as done and redraw."""
        self.done += steps
        if self.live:
            self.stream.write("\r" + self._line())
            self.stream.flush()

    def close(self) -> None:
        """Finish the bar with a newline (or write the one summary line when not live)."""
        self.stream.write(("\r" if self.live else "") + self._line() + "\n")
        self.stream.flush()
