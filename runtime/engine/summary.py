"""Scalars and images for TensorBoard (rank 0 only), with a plain-file fallback."""

from __future__ import annotations

import json
import logging
from pathlib import Path
from typing import Any

import torch

log = logging.getLogger("gaitgen")


class SummaryWriter:
    """Write ``scalar/*`` and ``image/*`` entries of a visual summary.

    Uses TensorBoard's writer when the ``tensorboard`` package is installed
    (``pip install gaitgen[tensorboard]``); otherwise scalars go to ``summary/scalars.jsonl``
    (one JSON object per logged iteration) and images are skipped, which is said once in the log.
    """

    def __init__(self, folder: Path, enabled: bool = True):
        self.folder = folder
        self.enabled = enabled
        self._tensorboard = None
        self._jsonl = None
        if not enabled:
            return
        folder.mkdir(parents=True, exist_ok=True)
        try:
            from torch.utils.tensorboard import SummaryWriter as TensorBoardWriter
        except ImportError:
            log.info(
                "tensorboard is not installed: scalars go to %s/scalars.jsonl "
                "(pip install 'gaitgen[tensorboard]' for TensorBoard)",
                folder,
            )
            self._jsonl = open(folder / "scalars.jsonl", "a", encoding="utf-8")  # noqa: SIM115
        else:
            self._tensorboard = TensorBoardWriter(str(folder))

    def write(self, summary: dict[str, Any], iteration: int, images: bool = False) -> None:
        if not self.enabled:
            return
        scalars = {}
        for key, value in summary.items():
            if key.startswith("scalar/"):
                scalars[key[len("scalar/") :]] = _to_float(value)
            elif images and key.startswith("image/") and self._tensorboard is not None:
                grid = value.detach()[:64].float().cpu()  # [n, c, h, w], at most 64 frames
                self._tensorboard.add_images(key[len("image/") :], grid.clamp(0, 1), iteration)
        if self._tensorboard is not None:
            for key, value in scalars.items():
                self._tensorboard.add_scalar(key, value, iteration)
        elif self._jsonl is not None:
            self._jsonl.write(json.dumps({"iteration": iteration, **scalars}) + "\n")
            self._jsonl.flush()

    def close(self) -> None:
        if self._tensorboard is not None:
            self._tensorboard.close()
        if self._jsonl is not None:
            self._jsonl.close()


def _to_float(value: Any) -> float:
    if isinstance(value, torch.Tensor):
        return float(value.detach().float().mean())
    return float(value)
