"""Sequence transforms with OpenGait's names and parameters, vectorised over frames and batches.

Every class here is a transform users can name in a config (``trainer_cfg.transform`` /
``evaluator_cfg.transform``: one entry per modality, or one for all). The loader runs each on
a whole batch at once (:meth:`~.transform_base.SequenceTransform.apply_batch`): random ones
draw their parameters for every sequence together and change the chosen sequences in a few
tensor operations (the warps of all rotated sequences are set up at once). uint8 input
stays uint8 (see :mod:`.transform_base`). Called on one sequence (``t(seq)``), a transform
never changes its input in place. The random ones draw from a ``torch.Generator`` when given
one, else from the global torch RNG (seeded per DataLoader worker by torch).

Deliberate differences from OpenGait (identical results on square 64x64 frames):
``RandomRotate`` turns about the frame centre (OpenGait passes (h//2, w//2) as (x, y)), and
``RandomAffine`` uses the width for x and the height for y; ``BaseSilCuttingTransform`` with
a cutting of 0 keeps the frame (OpenGait returns an empty one); ``RandomPerspective`` and
``RandomAffine`` leave frames narrower than 44 (64 for affine) unchanged instead of failing.
Interpolated uint8 frames are rounded back to uint8 (OpenCV does the same).
"""

from __future__ import annotations

from collections.abc import Sequence
from typing import Any

import torch

from ..errors import ConfigError
from .normalisers import (
    NoOperation,
)
from .normalisers import check_positive as _positive
from .normalisers import check_probability as _probability
from .transform_base import (
    SequenceTransform,
    chosen_sequences,
    integers,
    map_sequences,
    starts,
    uniform,
)
from .warp import (
    rotation_matrix,
    rounded_for,
    sample,
    sampling_grid,
    solve_affine,
    solve_homography,
)


class RandomHorizontalFlip(SequenceTransform):
    """Mirror every frame of a sequence left-right with probability ``prob``."""

    def __init__(self, prob: float = 0.5) -> None:
        self.prob = _probability(prob)

    def apply_batch(self, frames, lengths, generator):
        chosen = chosen_sequences(self.prob, len(lengths), generator)
        return map_sequences(frames, lengths, chosen, lambda seqs, _: seqs.flip(-1))


class RandomErasing(SequenceTransform):
    """Zero a random rectangle (area ``sl..sh`` of the frame, aspect ``r1..1/r1``).

    With probability ``prob`` one rectangle is erased from every frame of a sequence; with
    ``per_frame=True`` each frame decides and draws its own rectangle.
    """

    fills_zero = True
    _ATTEMPTS = 100  # as OpenGait: give up after 100 rectangles that do not fit

    def __init__(
        self,
        prob: float = 0.5,
        sl: float = 0.05,
        sh: float = 0.2,
        r1: float = 0.3,
        per_frame: bool = False,
    ) -> None:
        self.prob = _probability(prob)
        self.sl = _probability(sl, "sl")
        self.sh = _probability(sh, "sh")
        self.r1 = _positive(r1, "r1")
        if self.sl > self.sh:
            raise ConfigError(f"sl/sh: sl ({sl}) must not exceed sh ({sh})")
        self.per_frame = bool(per_frame)

    def _rectangles(self, count: int, height: int, width: int, generator) -> torch.Tensor:
        """``count`` rectangles ``[count, 4]`` (top, left, height, width); 0x0 where none fits."""
        draws = count * self._ATTEMPTS
        area = uniform(self.sl, self.sh, generator, draws) * (height * width)
        aspect = uniform(self.r1, 1 / self.r1, generator, draws)
        heights = torch.round(torch.sqrt(area * aspect)).view(count, -1)  # [count, attempts]
        widths = torch.round(torch.sqrt(area / aspect)).view(count, -1)
        fits = (heights < height) & (widths < width)
        first = fits.to(torch.int8).argmax(dim=1, keepdim=True)  # the first rectangle that fits
        fitted = fits.any(dim=1)
        rect_h = heights.gather(1, first).view(-1) * fitted
        rect_w = widths.gather(1, first).view(-1) * fitted
        top = torch.floor(
            torch.rand(count, generator=generator, dtype=torch.float64) * (height - rect_h + 1)
        )
        left = torch.floor(
            torch.rand(count, generator=generator, dtype=torch.float64) * (width - rect_w + 1)
        )
        return torch.stack([top, left, rect_h, rect_w], dim=1).to(torch.int64)

    def apply_batch(self, frames, lengths, generator):
        if self.per_frame:
            return self._erase_frames(frames, generator)
        chosen = chosen_sequences(self.prob, len(lengths), generator)
        if not chosen:
            return frames
        height, width = frames.shape[-2:]
        first = starts(lengths)
        boxes = self._rectangles(len(chosen), height, width, generator).tolist()
        for i, (top, left, rect_h, rect_w) in zip(chosen, boxes):
            part = frames[first[i] : first[i] + lengths[i]]
            part[..., top : top + rect_h, left : left + rect_w] = 0
        return frames

    def _erase_frames(self, frames: torch.Tensor, generator) -> torch.Tensor:
        """Per-frame erasing: each chosen frame gets its own rectangle."""
        height, width = frames.shape[-2:]
        chosen = torch.tensor(chosen_sequences(self.prob, len(frames), generator), dtype=torch.long)
        if len(chosen) == 0:
            return frames
        top, left, rect_h, rect_w = self._rectangles(len(chosen), height, width, generator).T
        rows = torch.arange(height).view(1, -1)
        cols = torch.arange(width).view(1, -1)
        in_rows = (rows >= top.view(-1, 1)) & (rows < (top + rect_h).view(-1, 1))  # [k, h]
        in_cols = (cols >= left.view(-1, 1)) & (cols < (left + rect_w).view(-1, 1))  # [k, w]
        mask = in_rows.unsqueeze(2) & in_cols.unsqueeze(1)  # [k, h, w]
        middle = [1] * (frames.dim() - 3)  # channel dims between frames and (h, w)
        frames[chosen] = frames[chosen].masked_fill(
            mask.view(len(chosen), *middle, height, width), 0
        )
        return frames


def _warp_sequences(
    frames: torch.Tensor, lengths: Sequence[int], chosen: list[int], matrices: torch.Tensor
) -> torch.Tensor:
    """Warp the ``chosen`` sequences of a batch in place, sequence ``chosen[j]`` by
    ``matrices[j]`` (output pixel -> source pixel); the grids of all are computed at once."""
    grids = sampling_grid(matrices, *frames.shape[-2:])  # [k, h, w, 2]

    def function(sequence: torch.Tensor, j: int) -> torch.Tensor:
        planes = sequence.view(1, -1, *sequence.shape[-2:])  # [1, s * c, h, w]
        values = sample(planes, grids[j : j + 1])  # float32, copied back by truncation
        return rounded_for(values, frames.dtype).view(sequence.shape)

    return map_sequences(frames, lengths, chosen, function, dtype=torch.float32)


class RandomRotate(SequenceTransform):
    """Rotate a sequence by one angle in ``[-degree, degree]`` with probability ``prob``."""

    fills_zero = True

    def __init__(self, prob: float = 0.5, degree: float = 10) -> None:
        self.prob = _probability(prob)
        if isinstance(degree, bool) or not isinstance(degree, (int, float)) or degree < 0:
            raise ConfigError(f"degree: expected a number >= 0, got {degree!r}")
        self.degree = float(degree)

    def apply_batch(self, frames, lengths, generator):
        chosen = chosen_sequences(self.prob, len(lengths), generator)
        if not chosen:
            return frames
        height, width = frames.shape[-2:]
        degrees = uniform(-self.degree, self.degree, generator, len(chosen))
        # reading each output pixel from the source turned the opposite way = the inverse map
        matrices = rotation_matrix(width // 2, height // 2, -degrees)
        return _warp_sequences(frames, lengths, chosen, matrices)


class RandomPerspective(SequenceTransform):
    """Stretch a random trapezoid (top/bottom corners moved inwards) onto the whole frame."""

    fills_zero = True

    def __init__(self, prob: float = 0.5) -> None:
        self.prob = _probability(prob)

    def apply_batch(self, frames, lengths, generator):
        chosen = chosen_sequences(self.prob, len(lengths), generator)
        height, width = frames.shape[-2:]
        cutting = (width // 44) * 10
        if not chosen or cutting == 0:
            return frames
        count = len(chosen)
        left = integers(0, cutting, generator, 2 * count).view(count, 2)  # top/bottom-left x
        right = integers(width - cutting, width, generator, 2 * count).view(count, 2)
        zero = torch.zeros(count, dtype=torch.int64)
        bottom = torch.full((count,), height, dtype=torch.int64)
        quad = torch.stack(
            [
                torch.stack([left[:, 0], zero], dim=1),
                torch.stack([right[:, 0], zero], dim=1),
                torch.stack([right[:, 1], bottom], dim=1),
                torch.stack([left[:, 1], bottom], dim=1),
            ],
            dim=1,
        )  # [k, 4, 2]
        canvas = torch.tensor([[0, 0], [width, 0], [width, height], [0, height]])
        matrices = solve_homography(canvas.expand(count, 4, 2), quad)  # output -> source
        return _warp_sequences(frames, lengths, chosen, matrices)


class RandomAffine(SequenceTransform):
    """Move three anchor points (corners) by up to ``h // 64 * 10`` pixels: a random affine map.

    ``degree`` is accepted for OpenGait compatibility; as there, it is not used.
    """

    fills_zero = True

    def __init__(self, prob: float = 0.5, degree: float = 10) -> None:
        self.prob = _probability(prob)
        self.degree = degree

    def apply_batch(self, frames, lengths, generator):
        chosen = chosen_sequences(self.prob, len(lengths), generator)
        height, width = frames.shape[-2:]
        max_shift = int(height // 64 * 10)
        if not chosen or max_shift == 0:
            return frames
        count = len(chosen)
        shifts = integers(0, max_shift, generator, 12 * count).view(count, 2, 6)

        def anchors(d: torch.Tensor) -> torch.Tensor:  # d: [k, 6] -> points [k, 3, 2]
            x = torch.stack([d[:, 0], width - d[:, 2], d[:, 4]], dim=1)
            y = torch.stack([d[:, 1], d[:, 3], height - d[:, 5]], dim=1)
            return torch.stack([x, y], dim=2)

        source, target = anchors(shifts[:, 0]), anchors(shifts[:, 1])
        matrices = solve_affine(target, source)  # output pixel -> source pixel
        return _warp_sequences(frames, lengths, chosen, matrices)


class Compose(SequenceTransform):
    """Apply several transforms in order (``trf_cfg``: a list of transform configs)."""

    def __init__(self, trf_cfg: list) -> None:
        if not isinstance(trf_cfg, (list, tuple)):
            raise ConfigError(f"trf_cfg: expected a list of transform configs, got {trf_cfg!r}")
        self.transforms = [get_transform(cfg, f"trf_cfg[{i}]") for i, cfg in enumerate(trf_cfg)]

    def __call__(self, seq: Any, generator: torch.Generator | None = None) -> Any:
        for transform in self.transforms:
            if isinstance(transform, (SequenceTransform, Compose)):
                seq = transform(seq, generator)
            else:
                seq = transform(seq)
        return seq

    def __repr__(self) -> str:
        return f"Compose({self.transforms!r})"


def get_transform(cfg: Any = None, where: str = "transform") -> Any:
    """Build the transform(s) a config describes, as OpenGait's ``get_transform`` does.

    Args:
        cfg: ``None`` (no operation), a dict ``{"type": Name, **params}``, a list of those
            (one per modality; returns a list), or an already built callable.
        where: the config key, for error messages (e.g. ``trainer_cfg.transform``).

    Returns:
        A transform, or a list of transforms for a list config.

    Raises:
        RegistryError: an unknown ``type`` (with close matches).
        ConfigError: a missing ``type``, an unknown parameter or a bad value.
    """
    if cfg is None:
        return NoOperation()
    if isinstance(cfg, (list, tuple)):
        return [get_transform(item, f"{where}[{i}]") for i, item in enumerate(cfg)]
    if isinstance(cfg, dict):
        if "type" not in cfg:
            raise ConfigError(f"{where}: a transform needs a 'type', e.g. BaseSilCuttingTransform")
        from ..components import build, check_arguments, get

        cls = get("transform", cfg["type"], where=f"{where}.type")
        try:
            if cls is Compose:
                params = {k: v for k, v in cfg.items() if k != "type"}
                check_arguments(Compose, params, where)
                return _compose(params.get("trf_cfg"), f"{where}.trf_cfg")
            return build("transform", cfg, where=where)
        except ConfigError as exc:
            if str(exc).startswith(where):
                raise
            raise ConfigError(f"{where}.{exc}") from None
        except TypeError as exc:
            raise ConfigError(f"{where}: cannot build {cls.__name__} ({exc})") from None
    if callable(cfg):
        return cfg
    raise ConfigError(f"{where}: expected a transform config (dict or list), got {cfg!r}")


def _compose(trf_cfg: Any, where: str) -> Compose:
    if not isinstance(trf_cfg, (list, tuple)):
        raise ConfigError(f"{where}: Compose needs trf_cfg, a list of transform configs")
    composed = Compose([])
    composed.transforms = [get_transform(c, f"{where}[{i}]") for i, c in enumerate(trf_cfg)]
    return composed
