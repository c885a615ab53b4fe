"""The normalising transforms: silhouettes and parsing maps scaled, RGB standardised, cut.

Their value change is a :class:`~.transform_base.ValueMap` applied once to the float32 batch
(uint8 kept until then), except for :class:`BaseParsingCuttingTransform`, whose divisor
depends on each sequence's values (see there).
"""

from __future__ import annotations

from typing import Any

import torch

from ..errors import ConfigError
from .transform_base import SequenceTransform, ValueMap


def check_cutting(cutting: Any) -> int | None:
    """``cutting`` as given (None: the default of the frame width), else a ConfigError."""
    if cutting is not None and (
        isinstance(cutting, bool) or not isinstance(cutting, int) or cutting < 0
    ):
        raise ConfigError(f"cutting: expected a whole number >= 0, got {cutting!r}")
    return cutting


def cut_sides(frames: torch.Tensor, cutting: int | None, name: str) -> torch.Tensor:
    """Cut ``cutting`` columns off both sides (default ``(w // 64) * 10``; 0 keeps the frames).

    Returns:
        A view ``[F, ..., h, w - 2 * cutting]``.
    """
    width = frames.shape[-1]
    cutting = cutting if cutting is not None else (width // 64) * 10
    if cutting == 0:
        return frames
    if 2 * cutting >= width:
        raise ConfigError(
            f"{name}: cutting {cutting} columns from each side of {width}-pixel-wide frames "
            "leaves nothing; lower 'cutting'"
        )
    return frames[..., cutting:-cutting]


def check_probability(value: Any, name: str = "prob") -> float:
    """``value`` as a float in [0, 1], else a ConfigError naming ``name``."""
    if isinstance(value, bool) or not isinstance(value, (int, float)) or not 0 <= value <= 1:
        raise ConfigError(f"{name}: expected a probability between 0 and 1, got {value!r}")
    return float(value)


def check_positive(value: Any, name: str) -> float:
    """``value`` as a float > 0, else a ConfigError naming ``name``."""
    if isinstance(value, bool) or not isinstance(value, (int, float)) or value <= 0:
        raise ConfigError(f"{name}: expected a positive number, got {value!r}")
    return float(value)


class NoOperation(SequenceTransform):
    """Return the sequence unchanged."""


class BaseSilTransform(SequenceTransform):
    """Scale silhouettes to [0, 1] (``x / divsor``), optionally reshaping the frames.

    Args:
        divsor: the divisor (OpenGait's spelling), 255 for uint8 silhouettes.
        img_shape: reshape every frame to this shape, e.g. ``[64, 64]``.
    """

    def __init__(self, divsor: float = 255.0, img_shape: list[int] | None = None) -> None:
        self.divsor = check_positive(divsor, "divsor")
        self.img_shape = list(img_shape) if img_shape is not None else None
        self.value_map = ValueMap(divisor=self.divsor)

    def apply_batch(self, frames, lengths, generator):
        if self.img_shape is None:
            return frames
        return frames.reshape(frames.shape[0], *self.img_shape)


class BaseSilCuttingTransform(SequenceTransform):
    """Cut ``cutting`` columns off both sides and scale to [0, 1] (64 -> 44 wide for 64x64).

    Args:
        divsor: the divisor, 255 for uint8 silhouettes.
        cutting: columns cut on each side; default ``(w // 64) * 10``.
    """

    def __init__(self, divsor: float = 255.0, cutting: int | None = None) -> None:
        self.divsor = check_positive(divsor, "divsor")
        self.cutting = check_cutting(cutting)
        self.value_map = ValueMap(divisor=self.divsor)

    def apply_batch(self, frames, lengths, generator):
        return cut_sides(frames, self.cutting, type(self).__name__)


class BaseRgbTransform(SequenceTransform):
    """Normalise RGB frames ``[s, 3, h, w]``: ``(x - mean) / std`` per channel (0..255 scale).

    Args:
        mean: per-channel means; default ImageNet's times 255.
        std: per-channel standard deviations; default ImageNet's times 255.
    """

    def __init__(self, mean: list[float] | None = None, std: list[float] | None = None) -> None:
        self.mean = list(mean) if mean is not None else [0.485 * 255, 0.456 * 255, 0.406 * 255]
        self.std = list(std) if std is not None else [0.229 * 255, 0.224 * 255, 0.225 * 255]
        if len(self.mean) != len(self.std) or any(s <= 0 for s in self.std):
            raise ConfigError("mean/std: expected two lists of equal length with std > 0")
        self.value_map = ValueMap(divisor=tuple(self.std), offset=tuple(self.mean))


class BaseParsingCuttingTransform(SequenceTransform):
    """Cut the sides of parsing maps like silhouettes; scale a sequence only if it is 0..255.

    As OpenGait's: after cutting, a sequence whose largest value is 255 is divided by
    ``divsor`` (a silhouette), any other (a parsing map of part labels 0, 1, 2...) is kept as
    is (divided by 1). The decision is per sequence, so this transform returns float32
    frames (all sequences of the batch decided in one pass) instead of a pending value map.
    Use it first in a Compose, as OpenGait's configs do: its max test sees the raw values.

    Args:
        divsor: the divisor for 0..255 sequences.
        cutting: columns cut on each side; default ``(w // 64) * 10``.
    """

    def __init__(self, divsor: float = 255.0, cutting: int | None = None) -> None:
        self.divsor = check_positive(divsor, "divsor")
        self.cutting = check_cutting(cutting)

    def apply_batch(self, frames, lengths, generator):
        cut = cut_sides(frames, self.cutting, type(self).__name__)  # [F, ..., h, w']
        count = cut.shape[0]
        if count == 0:
            return cut.to(torch.float32)
        lengths = torch.as_tensor(list(lengths))
        sequence_of_frame = torch.repeat_interleave(torch.arange(len(lengths)), lengths)  # [F]
        frame_max = cut.reshape(count, -1).amax(dim=1).to(torch.float32)  # [F]
        sequence_max = torch.zeros(len(lengths)).scatter_reduce(
            0, sequence_of_frame, frame_max, "amax", include_self=False
        )  # [n]
        divisor = torch.where(sequence_max == 255, self.divsor, 1.0)[sequence_of_frame]  # [F]
        shape = (count,) + (1,) * (cut.dim() - 1)
        return cut.to(torch.float32) / divisor.view(shape)
