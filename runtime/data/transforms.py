"""Sequence transforms with OpenGait's names and parameters, vectorised over frames.

Every class here is a transform users can name in a config (``trainer_cfg.transform`` /
``evaluator_cfg.transform``: one entry per modality, or one for all). Each works on a whole
sequence ``[s, h, w]`` at once with torch ops, keeps uint8 input uint8 (see
:mod:`.transform_base`) and never changes its input in place. The random ones draw from a
``torch.Generator`` when given one, else from the global torch RNG (seeded per DataLoader
worker by torch).

Deliberate differences from OpenGait (identical results on square 64x64 frames):
``RandomRotate`` turns about the frame centre (OpenGait passes (h//2, w//2) as (x, y)), and
``RandomAffine`` uses the width for x and the height for y; ``BaseSilCuttingTransform`` with
a cutting of 0 keeps the frame (OpenGait returns an empty one); ``RandomPerspective`` and
``RandomAffine`` leave frames narrower than 44 (64 for affine) unchanged instead of failing.
Interpolated uint8 frames are rounded back to uint8 (OpenCV does the same).
"""

from __future__ import annotations

from typing import Any

import torch

from ..errors import ConfigError
from .resolve import check_arguments, resolve_class
from .transform_base import SequenceTransform, ValueMap, coin, integers, uniform
from .warp import rotation_matrix, solve_affine, solve_homography, warp


def _probability(value: Any, name: str = "prob") -> float:
    if isinstance(value, bool) or not isinstance(value, (int, float)) or not 0 <= value <= 1:
        raise ConfigError(f"{name}: expected a probability between 0 and 1, got {value!r}")
    return float(value)


def _positive(value: Any, name: str) -> float:
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
        self.divsor = _positive(divsor, "divsor")
        self.img_shape = list(img_shape) if img_shape is not None else None
        self.value_map = ValueMap(divisor=self.divsor)

    def apply(self, seq: torch.Tensor, generator: torch.Generator | None = None) -> torch.Tensor:
        if self.img_shape is None:
            return seq
        return seq.reshape(seq.shape[0], *self.img_shape)


class BaseSilCuttingTransform(SequenceTransform):
    """Cut ``cutting`` columns off both sides and scale to [0, 1] (64 -> 44 wide for 64x64).

    Args:
        divsor: the divisor, 255 for uint8 silhouettes.
        cutting: columns cut on each side; default ``(w // 64) * 10``.
    """

    def __init__(self, divsor: float = 255.0, cutting: int | None = None) -> None:
        self.divsor = _positive(divsor, "divsor")
        if cutting is not None and (not isinstance(cutting, int) or cutting < 0):
            raise ConfigError(f"cutting: expected a whole number >= 0, got {cutting!r}")
        self.cutting = cutting
        self.value_map = ValueMap(divisor=self.divsor)

    def apply(self, seq: torch.Tensor, generator: torch.Generator | None = None) -> torch.Tensor:
        width = seq.shape[-1]
        cutting = self.cutting if self.cutting is not None else (width // 64) * 10
        if cutting == 0:
            return seq
        if 2 * cutting >= width:
            raise ConfigError(
                f"BaseSilCuttingTransform: cutting {cutting} columns from each side of "
                f"{width}-pixel-wide frames leaves nothing; lower 'cutting'"
            )
        return seq[..., cutting:-cutting]  # [s, h, w - 2 * cutting]


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


class RandomHorizontalFlip(SequenceTransform):
    """Mirror every frame of the sequence left-right with probability ``prob``."""

    def __init__(self, prob: float = 0.5) -> None:
        self.prob = _probability(prob)

    def apply(self, seq: torch.Tensor, generator: torch.Generator | None = None) -> torch.Tensor:
        if not coin(self.prob, generator):
            return seq
        return seq.flip(-1)


class RandomErasing(SequenceTransform):
    """Zero a random rectangle (area ``sl..sh`` of the frame, aspect ``r1..1/r1``).

    With probability ``prob`` one rectangle is erased from every frame of the sequence; with
    ``per_frame=True`` each frame decides and draws its own rectangle.
    """

    fills_zero = True
    _ATTEMPTS = 100  # as OpenGait: give up on a frame after 100 rectangles that do not fit

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

    def _mask(self, count: int, height: int, width: int, generator) -> torch.Tensor:
        """``count`` erasing masks ``[count, h, w]`` (all False where no rectangle fits)."""
        draws = count * self._ATTEMPTS
        area = uniform(self.sl, self.sh, generator, draws) * (height * width)
        aspect = uniform(self.r1, 1 / self.r1, generator, draws)
        heights = torch.round(torch.sqrt(area * aspect)).view(count, -1)  # [count, attempts]
        widths = torch.round(torch.sqrt(area / aspect)).view(count, -1)
        fits = (heights < height) & (widths < width)
        first = fits.to(torch.int8).argmax(dim=1, keepdim=True)  # first rectangle that fits
        rect_h = heights.gather(1, first).view(-1)  # [count]
        rect_w = widths.gather(1, first).view(-1)
        fitted = fits.any(dim=1)
        top = torch.floor(
            torch.rand(count, generator=generator, dtype=torch.float64) * (height - rect_h + 1)
        )
        left = torch.floor(
            torch.rand(count, generator=generator, dtype=torch.float64) * (width - rect_w + 1)
        )
        rows = torch.arange(height, dtype=torch.float64).view(1, -1, 1)
        cols = torch.arange(width, dtype=torch.float64).view(1, 1, -1)
        top, left = top.view(-1, 1, 1), left.view(-1, 1, 1)
        inside = (rows >= top) & (rows < top + rect_h.view(-1, 1, 1))
        inside = inside & (cols >= left) & (cols < left + rect_w.view(-1, 1, 1))
        return inside & fitted.view(-1, 1, 1)  # [count, h, w]

    def apply(self, seq: torch.Tensor, generator: torch.Generator | None = None) -> torch.Tensor:
        frames = seq.shape[0]
        height, width = seq.shape[-2:]
        middle = [1] * (seq.dim() - 3)  # channel dims between frames and (h, w)
        if not self.per_frame:
            if not coin(self.prob, generator):
                return seq
            mask = self._mask(1, height, width, generator)  # [1, h, w]
        else:
            chosen = torch.rand(frames, generator=generator, dtype=torch.float64) < self.prob
            if not bool(chosen.any()):
                return seq
            mask = self._mask(frames, height, width, generator) & chosen.view(-1, 1, 1)
        return seq.masked_fill(mask.view(mask.shape[0], *middle, height, width), 0)


class RandomRotate(SequenceTransform):
    """Rotate the whole sequence by one angle in ``[-degree, degree]`` with probability ``prob``."""

    fills_zero = True

    def __init__(self, prob: float = 0.5, degree: float = 10) -> None:
        self.prob = _probability(prob)
        if isinstance(degree, bool) or not isinstance(degree, (int, float)) or degree < 0:
            raise ConfigError(f"degree: expected a number >= 0, got {degree!r}")
        self.degree = float(degree)

    def apply(self, seq: torch.Tensor, generator: torch.Generator | None = None) -> torch.Tensor:
        if not coin(self.prob, generator):
            return seq
        height, width = seq.shape[-2:]
        degrees = float(uniform(-self.degree, self.degree, generator).item())
        # reading each output pixel from the source turned the opposite way = the inverse map
        return warp(seq, rotation_matrix(width // 2, height // 2, -degrees))


class RandomPerspective(SequenceTransform):
    """Stretch a random trapezoid (top/bottom corners moved inwards) onto the whole frame."""

    fills_zero = True

    def __init__(self, prob: float = 0.5) -> None:
        self.prob = _probability(prob)

    def apply(self, seq: torch.Tensor, generator: torch.Generator | None = None) -> torch.Tensor:
        if not coin(self.prob, generator):
            return seq
        height, width = seq.shape[-2:]
        cutting = (width // 44) * 10
        if cutting == 0:
            return seq
        left = integers(0, cutting, generator, 2).to(torch.float64)  # top-left, bottom-left x
        right = integers(width - cutting, width, generator, 2).to(torch.float64)
        quad = torch.tensor(
            [[left[0], 0], [right[0], 0], [right[1], height], [left[1], height]],
            dtype=torch.float64,
        )
        canvas = torch.tensor(
            [[0, 0], [width, 0], [width, height], [0, height]], dtype=torch.float64
        )
        return warp(seq, solve_homography(canvas, quad))  # output pixel -> source pixel


class RandomAffine(SequenceTransform):
    """Move three anchor points (corners) by up to ``h // 64 * 10`` pixels: a random affine map.

    ``degree`` is accepted for OpenGait compatibility; as there, it is not used.
    """

    fills_zero = True

    def __init__(self, prob: float = 0.5, degree: float = 10) -> None:
        self.prob = _probability(prob)
        self.degree = degree

    def apply(self, seq: torch.Tensor, generator: torch.Generator | None = None) -> torch.Tensor:
        if not coin(self.prob, generator):
            return seq
        height, width = seq.shape[-2:]
        max_shift = int(height // 64 * 10)
        if max_shift == 0:
            return seq
        s = integers(0, max_shift, generator, 12).to(torch.float64).view(2, 6)

        def anchors(d: torch.Tensor) -> torch.Tensor:
            return torch.stack(
                [
                    torch.stack([d[0], d[1]]),
                    torch.stack([width - d[2], d[3]]),
                    torch.stack([d[4], height - d[5]]),
                ]
            )

        source, target = anchors(s[0]), anchors(s[1])
        return warp(seq, solve_affine(target, source))  # output pixel -> source pixel


class Compose:
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


def builtin_transforms() -> dict[str, type]:
    """The transforms a config can name without a dotted path."""
    return {
        cls.__name__: cls
        for cls in (
            NoOperation,
            BaseSilTransform,
            BaseSilCuttingTransform,
            BaseRgbTransform,
            RandomHorizontalFlip,
            RandomErasing,
            RandomRotate,
            RandomPerspective,
            RandomAffine,
            Compose,
        )
    }


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
        cls = resolve_class(cfg["type"], builtin_transforms(), "transform", f"{where}.type")
        params = {k: v for k, v in cfg.items() if k != "type"}
        kwargs = check_arguments(cls, params, where)
        try:
            if cls is Compose:
                return _compose(kwargs.get("trf_cfg"), f"{where}.trf_cfg")
            return cls(**kwargs)
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
