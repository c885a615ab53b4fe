"""Scalars and images of a run (rank 0 only): ``scalars.jsonl`` always, the experiment
loggers of ``trainer_cfg.loggers`` too (TensorBoard, W&B, MLflow: :mod:`.loggers`).

``summary/scalars.jsonl`` holds one JSON object per logged iteration::

    {"iteration": 100, "time": 1764579600.5, "elapsed": 61.2, "triplet/loss": 0.21, ...}

``time`` is the wall-clock time (seconds since the epoch) and ``elapsed`` the seconds since
this writer was opened, so a resumed run appends a new segment whose ``elapsed`` starts again
near zero; ``gaitgen compare`` sums the segments into the training time and plots the other
keys. When the ``tensorboard`` package is importable (``pip install 'gaitgen[tensorboard]'``)
the same scalars also go to TensorBoard event files in the same folder, with the ``image/*``
entries of ``visual_summary`` as an image grid of a few frames (``tensorboard --logdir
output/``). The experiment loggers also get the resolved config (:meth:`SummaryWriter.
write_config`) and each test's results (:meth:`SummaryWriter.write_results`).
"""

from __future__ import annotations

import contextlib
import json
import logging
import math
import time
from collections.abc import Callable, Mapping, Sequence
from pathlib import Path
from typing import Any

import torch

from .loggers import Backend, TensorBoardBackend, open_backends
from .run_folder import SCALARS_FILE

log = logging.getLogger("gaitgen")

# frames per image grid: enough to see the silhouettes of a sequence, cheap to encode
GRID_FRAMES = 16
GRID_COLUMNS = 8
GRID_PADDING = 2


class SummaryWriter:
    """The one logging path of a run: ``scalars.jsonl`` and the experiment loggers.

    Args:
        folder: the run's ``summary/`` folder (created).
        enabled: False on ranks other than 0: every method does nothing.
        tensorboard: True: also write TensorBoard event files; False: never; None (default):
            when ``loggers`` name it, or, when they name none, when the ``tensorboard``
            package is importable (what a run without ``trainer_cfg.loggers`` does).
        loggers: ``trainer_cfg.loggers``: the experiment loggers to feed too
            (:mod:`.loggers`; their libraries were checked with the config).
        scalars_file: append to ``scalars.jsonl`` (``gaitgen test`` does not: the file holds
            the training curves).
    """

    def __init__(
        self,
        folder: Path,
        enabled: bool = True,
        tensorboard: bool | None = None,
        loggers: Sequence[str] = (),
        scalars_file: bool = True,
    ):
        self.folder = folder
        self.enabled = enabled
        self._backends: list[Backend] = []
        self._jsonl = None
        self._start = time.monotonic()
        if not enabled:
            return
        folder.mkdir(parents=True, exist_ok=True)
        if scalars_file:
            # An append-only log, flushed per line: a crash can cut only the last line, which
            # readers skip. Rewriting the file atomically at every log iteration would cost O(n²).
            self._jsonl = open(folder / SCALARS_FILE, "a", encoding="utf-8")  # noqa: SIM115
        names = list(dict.fromkeys(loggers))  # each once, in order
        if tensorboard is False:
            names = [name for name in names if name != "tensorboard"]
        elif tensorboard and "tensorboard" not in names:
            names.insert(0, "tensorboard")
        elif not names and self._tensorboard_importable(folder):  # none named: as before
            names = ["tensorboard"]
        run_name = "/".join(folder.resolve().parent.parts[-3:])  # <dataset>/<model>/<save_name>
        try:
            self._backends = open_backends(names, folder, run_name)
        except BaseException:
            self.close()
            raise

    @staticmethod
    def _tensorboard_importable(folder: Path) -> bool:
        """Whether torch's TensorBoard writer imports (said once in the log when not)."""
        try:
            import torch.utils.tensorboard  # noqa: F401
        except ImportError:
            log.info(
                "tensorboard is not installed: scalars go to %s/%s only "
                "(pip install 'gaitgen[tensorboard]' for TensorBoard and the images)",
                folder,
                SCALARS_FILE,
            )
            return False
        return True

    @property
    def uses_tensorboard(self) -> bool:
        """Whether TensorBoard event files are written."""
        return any(isinstance(backend, TensorBoardBackend) for backend in self._backends)

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
        takers = [backend for backend in self._backends if backend.takes_images]
        for key, value in summary.items():
            if key.startswith("scalar/"):
                scalars[key[len("scalar/") :]] = _to_float(value)
            elif images and key.startswith("image/") and takers:
                grid = image_grid(value)
                if grid is not None:
                    name = key[len("image/") :]
                    self._each(
                        lambda b, name=name, grid=grid: b.image(name, grid, iteration), takers
                    )
        self._each(lambda backend: backend.scalars(scalars, iteration))
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

    def write_config(self, cfgs: Mapping[str, Any]) -> None:
        """Log the resolved config to the experiment loggers (the run folder keeps it as
        ``config-<iteration>.yaml``)."""
        if self.enabled:
            self._each(lambda backend: backend.config(cfgs))

    def write_results(
        self, figures: dict[str, float], record: Mapping[str, Any], iteration: int
    ) -> None:
        """Log a test's results to the experiment loggers.

        Args:
            figures: the headline figures, ``<condition>/<metric>`` -> number.
            record: the ``results.json`` object.
            iteration: the iteration of the checkpoint tested.
        """
        if self.enabled:
            self._each(lambda backend: backend.results(figures, record, iteration))

    def _each(self, call: Callable[[Backend], None], backends: list[Backend] | None = None) -> None:
        """Make ``call`` on each backend; one that fails mid-run (a server gone, a full disk)
        is dropped with one warning and the run goes on: ``scalars.jsonl`` keeps the scalars."""
        chosen = self._backends if backends is None else backends
        for backend in [b for b in chosen if b in self._backends]:  # none dropped already
            try:
                call(backend)
            except Exception as exc:  # the library's own error, whatever it is
                log.warning(
                    "warning: %s stopped logging (%s: %s); training goes on, the scalars stay "
                    "in %s",
                    backend.name,
                    type(exc).__name__,
                    exc,
                    self.folder / SCALARS_FILE,
                )
                self._backends.remove(backend)
                with contextlib.suppress(Exception):
                    backend.close()

    def close(self) -> None:
        """Flush and close the files and end the experiment loggers' runs."""
        backends, self._backends = self._backends, []
        for backend in backends:
            try:
                backend.close()
            except Exception as exc:  # a run that cannot be ended must not fail the training
                log.warning("warning: %s could not end its run (%s)", backend.name, exc)
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
