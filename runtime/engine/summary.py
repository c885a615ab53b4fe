"""Scalars and images of a run (rank 0 only): ``scalars.jsonl`` always, TensorBoard too.

``summary/scalars.jsonl`` holds one JSON object per logged iteration::

    {"iteration": 100, "time": 1764579600.5, "elapsed": 61.2, "triplet/loss": 0.21, ...}

``time`` is the wall-clock time (seconds since the epoch) and ``elapsed`` the seconds since
this writer was opened, so a resumed run appends a new segment whose ``elapsed`` starts again
near zero; ``gaitgen compare`` sums the segments into the training time and plots the other
keys. When the ``tensorboard`` package is importable (``pip install 'gaitgen[tensorboard]'``)
the same scalars also go to TensorBoard event files in the same folder, with the ``image/*``
entries of ``visual_summary`` as an image grid of a few frames (``tensorboard --logdir
output/``).
"""

from __future__ import annotations

import json
import logging
import math
import time
from pathlib import Path
from typing import Any

import torch

from .run_folder import SCALARS_FILE

log = logging.getLogger("gaitgen")

# frames per image grid: enough to see the silhouettes of a sequence, cheap to encode
GRID_FRAMES = 16
GRID_COLUMNS = 8
GRID_PADDING = 2


class SummaryWriter:
    """Write the ``scalar/*`` and ``image/*`` entries of a visual summary.

    Args:
        folder: the run's ``summary/`` folder (created).
        enabled: False on ranks other than 0: every method does nothing.
        tensorboard: also write TensorBoard event files; None (default) means "when the
            ``tensorboard`` package is importable".
    """

    def __init__(self, folder: Path, enabled: bool = True, tensorboard: bool | None = None):
        self.folder = folder
        self.enabled = enabled
        self._tensorboard = None
        self._jsonl = None
        self._start = time.monotonic()
        if not enabled:
            return
        folder.mkdir(parents=True, exist_ok=True)
        # An append-only log, flushed per line: a crash can cut only the last line, which
        # readers skip. Rewriting the file atomically at every log iteration would cost O(n²).
        self._jsonl = open(folder / SCALARS_FILE, "a", encoding="utf-8")  # noqa: SIM115
        if tensorboard is False:
            return
        try:
            from torch.utils.tensorboard import SummaryWriter as TensorBoardWriter
        except ImportError:
            if tensorboard:
                raise
            log.info(
                "tensorboard is not installed: scalars go to %s/%s only "
                "(pip install 'gaitgen[tensorboard]' for TensorBoard and the images)",
                folder,
                SCALARS_FILE,
            )
        else:
            self._tensorboard = TensorBoardWriter(str(folder))

    @property
    def uses_tensorboard(self) -> bool:
        """Whether TensorBoard event files are written."""
        return self._tensorboard is not None

    def write(self, summary: dict[str, Any], iteration: int, images: bool = False) -> None:
        """Log the scalars of ``summary`` (and with ``images``, its images) at ``iteration``.

        Args:
            summary: ``scalar/<name>`` -> number or tensor (its mean is logged) and
                ``image/<name>`` -> frames ``[n, c, h, w]`` or ``[n, h, w]``, in [0, 1] or
                uint8; other keys are ignored.
            iteration: the step the values belong to.
            images: write the images too (the trainer asks only at log iterations, so the
                copy to the CPU and the PNG encoding stay off the training step).
        """
        if not self.enabled:
            return
        scalars = {}
        for key, value in summary.items():
            if key.startswith("scalar/"):
                scalars[key[len("scalar/") :]] = _to_float(value)
            elif images and key.startswith("image/") and self._tensorboard is not None:
                grid = image_grid(value)
                if grid is not None:
                    self._tensorboard.add_image(key[len("image/") :], grid, iteration)
        if self._tensorboard is not None:
            for key, value in scalars.items():
                self._tensorboard.add_scalar(key, value, iteration)
        if self._jsonl is not None:
            record = {
                "iteration": iteration,
                "time": round(time.time(), 3),
                "elapsed": round(time.monotonic() - self._start, 3),
                **{
                    key: (value if math.isfinite(value) else None) for key, value in scalars.items()
                },
            }
            self._jsonl.write(json.dumps(record) + "\n")
            self._jsonl.flush()

    def close(self) -> None:
        """Flush and close the files."""
        if self._tensorboard is not None:
            self._tensorboard.close()
            self._tensorboard = None
        if self._jsonl is not None:
            self._jsonl.close()
            self._jsonl = None


def image_grid(frames: Any, max_frames: int = GRID_FRAMES) -> torch.Tensor | None:
    """The first ``max_frames`` frames tiled into one image ``[c, H, W]`` in [0, 1].

    Args:
        frames: ``[n, c, h, w]`` or ``[n, h, w]`` (c of 1 or 3; otherwise the first channel
            is shown), float in [0, 1] or uint8.
        max_frames: at most this many frames, row by row, ``GRID_COLUMNS`` per row.

    Returns:
        The grid, or None for something that is not a batch of frames.
    """
    if not isinstance(frames, torch.Tensor) or frames.dim() not in (3, 4) or frames.numel() == 0:
        return None
    frames = frames.detach()[:max_frames]  # sliced on the device: only these are copied
    if frames.dim() == 3:
        frames = frames.unsqueeze(1)  # [n, 1, h, w]
    if frames.shape[1] not in (1, 3):
        frames = frames[:, :1]
    if frames.dtype == torch.uint8:
        frames = frames.float() / 255.0
    frames = frames.float().cpu().clamp(0, 1)  # [n, c, h, w]
    n, c, h, w = frames.shape
    columns = min(GRID_COLUMNS, n)
    rows = math.ceil(n / columns)
    pad = GRID_PADDING
    grid = torch.zeros(c, rows * (h + pad) + pad, columns * (w + pad) + pad)
    for index in range(n):
        top = pad + (index // columns) * (h + pad)
        left = pad + (index % columns) * (w + pad)
        grid[:, top : top + h, left : left + w] = frames[index]
    return grid


def _to_float(value: Any) -> float:
    if isinstance(value, torch.Tensor):
        return float(value.detach().float().mean())
    return float(value)
