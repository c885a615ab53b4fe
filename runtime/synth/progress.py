"""SynthGait's progress bar: the runtime's one progress mechanism (:mod:`..progress`).

Kept as a module so ``from .progress import ProgressBar`` in the writer keeps working; the
bar has rate and ETA, is drawn only on a terminal and on rank 0, and is silent under
``--quiet`` (see :mod:`gaitgen.runtime.progress`).
"""

from __future__ import annotations

from ..progress import ProgressBar

__all__ = ["ProgressBar"]
