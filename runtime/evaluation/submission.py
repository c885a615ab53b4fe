"""Submission files for a benchmark's server, named and laid out as OpenGait writes them.

``<out_dir>/<folder>/<YYYY-MMDD-HHMMSS>.csv`` (``GREW_result``, ``HID_result``; the working
directory when ``out_dir`` is ``None``, as OpenGait), one header line and one comma-separated
line per probe, ``\\n`` line ends; written atomically.
"""

from __future__ import annotations

from collections.abc import Iterable, Sequence
from pathlib import Path
from time import localtime, strftime

from gaitgen.runtime.atomic import atomic_write_text


def write_submission(
    folder: str, header: Sequence[str], rows: Iterable[Sequence[object]], out_dir: Path | None
) -> Path:
    """Write a submission CSV and return its path.

    Args:
        folder: OpenGait's folder name (``GREW_result``).
        header: the column names.
        rows: one sequence of cells per probe.
        out_dir: the folder holding ``folder`` (``None``: the working directory).
    """
    base = Path(out_dir) if out_dir is not None else Path.cwd()
    path = base / folder / (strftime("%Y-%m%d-%H%M%S", localtime()) + ".csv")
    lines = [",".join(header)] + [",".join(str(cell) for cell in row) for row in rows]
    atomic_write_text(path, "\n".join(lines) + "\n")
    return path
