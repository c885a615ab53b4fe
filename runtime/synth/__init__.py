"""SynthGait: a synthetic gait dataset in CASIA-B's layout, generated on the spot.

Articulated 3D bodies (capsules) walk through a periodic gait cycle; every identity has its
own proportions and walking style, every walk its own speed, start phase and jitter. Each
walk is seen from CASIA-B's 11 views, rasterised and normalised like OpenGait's
pretreatment (64x64 uint8), under three conditions: normal (nm-01..06), carrying a bag
(bg-01..02) and wearing a coat (cl-01..02).

    from gaitgen.runtime.synth import generate_dataset
    partition = generate_dataset("data/synthgait", subjects=40, seed=0, workers=2)

``layout=`` (``gaitgen synth --layout``) writes another evaluation's naming and partition
instead (CCPG, GREW, Gait3D, Scoliosis1K, ...): the table is :mod:`.layouts`.

This package imports numpy only when a generator function is used: the code generator
reads :func:`train_subject_count` and the defaults without paying for it.
"""

from __future__ import annotations

from typing import TYPE_CHECKING

from ..lazy import lazy_exports
from .partition import train_subject_count
from .spec import CONDITIONS, DEFAULT_FRAMES, DEFAULT_SUBJECTS, DEFAULT_VIEWS, parse_views

# public name -> module that defines it (imported on first use)
_LAZY = {
    "generate_dataset": ".writer",
    "write_preview": ".preview",
    "preview_grid": ".preview",
    "subject_sequences": ".sequence",
    "subject_modalities": ".sequence",
}

__all__ = [
    "CONDITIONS",
    "DEFAULT_FRAMES",
    "DEFAULT_SUBJECTS",
    "DEFAULT_VIEWS",
    "generate_dataset",
    "parse_views",
    "preview_grid",
    "subject_modalities",
    "subject_sequences",
    "train_subject_count",
    "write_preview",
]


__getattr__, __dir__ = lazy_exports(__name__, _LAZY)


if TYPE_CHECKING:  # pragma: no cover - for type checkers only
    from .preview import preview_grid, write_preview
    from .sequence import subject_modalities, subject_sequences
    from .writer import generate_dataset
