"""GaitSSB's augmentations: part dilation, part blur and ``DA4GaitSSB``, OpenGait's names.

Fan et al., "Learning Gait Representation from Massive Unlabelled Walking Videos: A
Benchmark" (T-PAMI 2023) simulates clothing changes on silhouettes by thickening
(:class:`RandomPartDilate`) or smoothing (:class:`RandomPartBlur`) a horizontal band of rows
(the torso). OpenGait does both with OpenCV (``cv2.dilate``, ``cv2.GaussianBlur``); here they
are torch operations on the whole sequence at once, computing what those calls compute:

- dilation: each pixel of the band becomes the largest value under the structuring element
  (``RECT``, ``CROSS`` or ``ELLIPSE`` as ``cv2.getStructuringElement`` draws them, centred),
  the pixels outside the band not looked at;
- blur: ``GaussianBlur(ksize=(3, 3), sigmaX=0)``, i.e. the kernel ``[1/4, 1/2, 1/4]`` along
  rows and columns, the band's own edges reflected (``BORDER_REFLECT_101``), then
  thresholded: a pixel is set (1, or 255 for uint8 frames) where the blurred value exceeds
  0.2 (0.2 * 255 on the 0..255 scale), else cleared.

The random draws (which sequences, kernel, band) come from torch, per sequence, as the other
transforms of :mod:`.transforms` draw theirs.
"""

from __future__ import annotations

import math
from collections.abc import Sequence
from typing import Any

import torch

from ..errors import ConfigError
from .normalisers import BaseSilCuttingTransform, check_probability
from .transform_base import SequenceTransform, chosen_sequences, integers, map_sequences
from .transforms import Compose, RandomAffine, RandomHorizontalFlip, RandomPerspective

# OpenGait's kernel sizes per mode, as (width, height): cv2's Size order
_MODES_AND_KERNELS = {
    "RECT": ((5, 3), (5, 5), (3, 5)),
    "CROSS": ((3, 3), (3, 5), (5, 3)),
    "ELLIPSE": ((3, 3), (3, 5), (5, 3)),
}
_BLUR_THRESHOLD = 0.2  # OpenGait's, on the [0, 1] scale


def structuring_element(mode: str, width: int, height: int) -> torch.Tensor:
    """The bool mask ``[height, width]`` that ``cv2.getStructuringElement`` draws.

    Args:
        mode: ``RECT`` (all set), ``CROSS`` (the centre row and column) or ``ELLIPSE`` (the
            ellipse inscribed in the box, row by row as OpenCV rounds it).
        width: the box's width.
        height: the box's height.
    """
    mask = torch.zeros(height, width, dtype=torch.bool)
    if mode == "RECT":
        return mask.fill_(True)
    centre_y, centre_x = height // 2, width // 2
    if mode == "CROSS":
        mask[centre_y, :] = True
        mask[:, centre_x] = True
        return mask
    if mode != "ELLIPSE":
        raise ConfigError(f"mode: expected RECT, CROSS or ELLIPSE, got {mode!r}")
    inverse_r2 = 1.0 / (centre_y * centre_y) if centre_y else 0.0
    for row in range(height):
        dy = row - centre_y
        if abs(dy) <= centre_y:
            # OpenCV's cvRound: to the nearest, halves to even (Python's round)
            dx = round(centre_x * math.sqrt((centre_y * centre_y - dy * dy) * inverse_r2))
            mask[row, max(centre_x - dx, 0) : min(centre_x + dx + 1, width)] = True
    return mask


def dilate(frames: torch.Tensor, element: torch.Tensor) -> torch.Tensor:
    """Grey-level dilation of every frame ``[..., h, w]`` by a centred structuring element.

    Each output pixel is the largest input value under the element; positions outside the
    frame count as the dtype's least value (so they never win), as in ``cv2.dilate``.
    """
    kh, kw = element.shape
    rows, cols = frames.shape[-2:]
    least = 0 if frames.dtype == torch.uint8 else torch.finfo(frames.dtype).min
    padded = frames.new_full((*frames.shape[:-2], rows + kh - 1, cols + kw - 1), least)
    padded[..., kh // 2 : kh // 2 + rows, kw // 2 : kw // 2 + cols] = frames
    out = None
    for dy, dx in element.nonzero().tolist():
        window = padded[..., dy : dy + rows, dx : dx + cols]
        out = window.clone() if out is None else torch.maximum(out, window)
    return out


def _reflect_101(size: int) -> torch.Tensor:
    """Indices ``[-1, 0, ..., size]`` mapped inside ``0..size-1`` by reflecting at the edge
    pixel (OpenCV's BORDER_REFLECT_101; a single pixel reflects onto itself)."""
    index = torch.arange(-1, size + 1).abs()
    index = torch.where(index > size - 1, 2 * (size - 1) - index, index)
    return index.clamp(0, size - 1)


def blur_threshold(frames: torch.Tensor, scale: float) -> torch.Tensor:
    """The 3x3 Gaussian blur (``[1/4, 1/2, 1/4]`` each way, edges reflected) of frames
    ``[..., h, w]``, then ``scale`` where it exceeds ``0.2 * scale`` and 0 elsewhere."""
    values = frames.to(torch.float64)
    rows = values.index_select(-2, _reflect_101(values.shape[-2]))
    values = 0.25 * rows[..., :-2, :] + 0.5 * rows[..., 1:-1, :] + 0.25 * rows[..., 2:, :]
    cols = values.index_select(-1, _reflect_101(values.shape[-1]))
    values = 0.25 * cols[..., :-2] + 0.5 * cols[..., 1:-1] + 0.25 * cols[..., 2:]
    return ((values > _BLUR_THRESHOLD * scale) * scale).to(frames.dtype)


def _row_range(value: Any, name: str) -> tuple[int, int]:
    if (
        not isinstance(value, (list, tuple))
        or len(value) != 2
        or not all(isinstance(v, int) and not isinstance(v, bool) and v >= 0 for v in value)
        or value[0] > value[1]
    ):
        raise ConfigError(
            f"{name}: expected [low, high], whole numbers 0 <= low <= high, got {value!r}"
        )
    return int(value[0]), int(value[1])


def _bands(
    count: int, top_range: tuple[int, int], bot_range: tuple[int, int], generator
) -> tuple[list[int], list[int]]:
    """``count`` bands of rows: tops and bottoms drawn inclusively from their ranges."""
    tops = integers(top_range[0], top_range[1] + 1, generator, count).tolist()
    bots = integers(bot_range[0], bot_range[1] + 1, generator, count).tolist()
    return tops, bots


def _scale(frames: torch.Tensor) -> float:
    """The value of a set silhouette pixel: 255 for uint8 frames, 1 for normalised ones."""
    return 255.0 if frames.dtype == torch.uint8 else 1.0


class RandomPartDilate(SequenceTransform):
    """Dilate a band of rows of a sequence with probability ``prob`` (thicker clothes).

    A chosen sequence gets one mode (RECT/CROSS/ELLIPSE), one of its three kernel sizes and
    one band ``top..bot`` (drawn inclusively from ``top_range``/``bot_range``) for all its
    frames; the rows of the band are dilated, the others kept.

    Args:
        prob: the chance a sequence is changed.
        top_range: ``[low, high]`` of the band's first row.
        bot_range: ``[low, high]`` of the row after the band.
    """

    def __init__(
        self,
        prob: float = 0.5,
        top_range: Sequence[int] = (12, 16),
        bot_range: Sequence[int] = (36, 40),
    ) -> None:
        self.prob = check_probability(prob)
        self.top_range = _row_range(top_range, "top_range")
        self.bot_range = _row_range(bot_range, "bot_range")
        self._elements = [
            [structuring_element(mode, w, h) for w, h in kernels]
            for mode, kernels in _MODES_AND_KERNELS.items()
        ]

    def apply_batch(self, frames, lengths, generator):
        chosen = chosen_sequences(self.prob, len(lengths), generator)
        if not chosen:
            return frames
        count = len(chosen)
        modes = integers(0, len(self._elements), generator, count).tolist()
        kernels = integers(0, 3, generator, count).tolist()
        tops, bots = _bands(count, self.top_range, self.bot_range, generator)

        def function(sequence: torch.Tensor, j: int) -> torch.Tensor:
            band = sequence[..., tops[j] : bots[j], :]
            if band.shape[-2] > 0:
                band.copy_(dilate(band, self._elements[modes[j]][kernels[j]]))
            return sequence

        return map_sequences(frames, lengths, chosen, function)


class RandomPartBlur(SequenceTransform):
    """Blur and re-threshold a band of rows with probability ``prob`` (smoother outline).

    Silhouettes are read on the [0, 1] scale (uint8 frames on 0..255, as they are before
    ``BaseSilCuttingTransform``'s ``x / 255``, which OpenGait applies first): the band's pixels
    become set where the 3x3 Gaussian blur exceeds 0.2, cleared elsewhere.

    Args:
        prob: the chance a sequence (or, with ``per_frame``, a frame) is changed.
        top_range: ``[low, high]`` of the band's first row.
        bot_range: ``[low, high]`` of the row after the band.
        per_frame: each frame decides and draws its band on its own.
    """

    def __init__(
        self,
        prob: float = 0.5,
        top_range: Sequence[int] = (9, 20),
        bot_range: Sequence[int] = (29, 40),
        per_frame: bool = False,
    ) -> None:
        self.prob = check_probability(prob)
        self.top_range = _row_range(top_range, "top_range")
        self.bot_range = _row_range(bot_range, "bot_range")
        self.per_frame = bool(per_frame)

    def apply_batch(self, frames, lengths, generator):
        if self.per_frame:
            lengths = [1] * len(frames)
        chosen = chosen_sequences(self.prob, len(lengths), generator)
        if not chosen:
            return frames
        tops, bots = _bands(len(chosen), self.top_range, self.bot_range, generator)
        scale = _scale(frames)

        def function(sequence: torch.Tensor, j: int) -> torch.Tensor:
            band = sequence[..., tops[j] : bots[j], :]
            if band.shape[-2] > 0:
                band.copy_(blur_threshold(band, scale))
            return sequence

        return map_sequences(frames, lengths, chosen, function)


class DA4GaitSSB(Compose):
    """GaitSSB's training augmentation, OpenGait's ``DA4GaitSSB``: in order ``RandomAffine``,
    ``RandomPerspective``, ``BaseSilCuttingTransform(cutting)``, ``RandomHorizontalFlip``,
    ``RandomPartDilate`` and ``RandomPartBlur`` (the last two on one row band range).

    Args:
        cutting: columns cut from each side (None: ``(w // 64) * 10``).
        ra_prob: RandomAffine's probability.
        rp_prob: RandomPerspective's probability.
        rhf_prob: RandomHorizontalFlip's probability.
        rpd_prob: RandomPartDilate's probability.
        rpb_prob: RandomPartBlur's probability.
        top_range: the band's first row range, for dilation and blur.
        bot_range: the range of the row after the band.
    """

    def __init__(
        self,
        cutting: int | None = None,
        ra_prob: float = 0.2,
        rp_prob: float = 0.2,
        rhf_prob: float = 0.5,
        rpd_prob: float = 0.2,
        rpb_prob: float = 0.2,
        top_range: Sequence[int] = (9, 20),
        bot_range: Sequence[int] = (39, 50),
    ) -> None:
        super().__init__([])
        self.transforms = [
            RandomAffine(prob=ra_prob),
            RandomPerspective(prob=rp_prob),
            BaseSilCuttingTransform(cutting=cutting),
            RandomHorizontalFlip(prob=rhf_prob),
            RandomPartDilate(prob=rpd_prob, top_range=top_range, bot_range=bot_range),
            RandomPartBlur(prob=rpb_prob, top_range=top_range, bot_range=bot_range),
        ]

    def __repr__(self) -> str:
        return f"DA4GaitSSB({self.transforms!r})"
