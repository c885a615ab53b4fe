"""What the built-in transforms share: the sequence transform protocol and value maps.

A transform works on one whole sequence at once, ``[s, h, w]`` (or ``[s, c, h, w]``), as a
torch tensor; it never loops over frames in Python and never changes its input in place
(the input may be a view of the shared cache).

The loader keeps silhouettes uint8 until the batch is built. To do so a transform is split in
two parts:

- :meth:`SequenceTransform.apply` changes geometry or content and keeps the dtype (uint8 in,
  uint8 out; interpolation is computed in float32 and rounded back);
- :attr:`SequenceTransform.value_map` (normalisers only) is the change of values, e.g.
  ``x / 255``. The loader applies it once to the whole float32 batch.

Calling a transform (``t(seq)``) runs both parts, as OpenGait's transforms do.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any

import numpy as np
import torch


@dataclass(frozen=True)
class ValueMap:
    """The value change of a normaliser: ``(x - offset) / divisor``.

    ``offset`` and ``divisor`` are floats or tuples (one per channel, broadcast over
    ``[..., c, h, w]``).
    """

    divisor: float | tuple[float, ...] = 1.0
    offset: float | tuple[float, ...] = 0.0

    @property
    def keeps_zero(self) -> bool:
        """True if 0 maps to 0 (so filling with 0 commutes with this map)."""
        offsets = self.offset if isinstance(self.offset, tuple) else (self.offset,)
        return all(o == 0 for o in offsets)

    def _as_tensor(self, value: float | tuple[float, ...]) -> float | torch.Tensor:
        if isinstance(value, tuple):
            return torch.tensor(value, dtype=torch.float32).view(-1, 1, 1)  # [c, 1, 1]
        return value

    def apply_(self, batch: torch.Tensor) -> torch.Tensor:
        """Apply the map in place to a float tensor and return it."""
        offset = self._as_tensor(self.offset)
        if not (isinstance(offset, float) and offset == 0.0):
            batch.sub_(offset)
        return batch.div_(self._as_tensor(self.divisor))


class SequenceTransform:
    """Base of the built-in transforms (subclass it for your own vectorised transform).

    Subclasses override :meth:`apply` (and set :attr:`value_map` if they normalise values).
    Set ``fills_zero = True`` when :meth:`apply` writes zeros (erasing, warping borders):
    the loader then applies an earlier offset-changing normaliser first, so that the zeros
    land in normalised space as they do in OpenGait.
    """

    value_map: ValueMap | None = None
    fills_zero: bool = False

    def apply(self, seq: torch.Tensor, generator: torch.Generator | None = None) -> torch.Tensor:
        """Transform one sequence ``[s, ..., h, w]``, keeping its dtype; never in place."""
        return seq

    def __call__(self, seq: Any, generator: torch.Generator | None = None) -> Any:
        """Apply the transform as OpenGait does (values normalised, float32 if so).

        Args:
            seq: a numpy array or tensor ``[s, h, w]``.
            generator: random numbers come from it (the global torch RNG when None).

        Returns:
            The same kind of object as ``seq`` (numpy in, numpy out).
        """
        is_numpy = isinstance(seq, np.ndarray)
        tensor = torch.from_numpy(np.ascontiguousarray(seq)) if is_numpy else seq
        out = self.apply(tensor, generator)
        if self.value_map is not None:
            out = self.value_map.apply_(out.to(torch.float32, copy=True))
        return out.numpy() if is_numpy else out

    def __repr__(self) -> str:
        params = ", ".join(
            f"{k}={v!r}"
            for k, v in vars(self).items()
            if not k.startswith("_") and k != "value_map"
        )
        return f"{type(self).__name__}({params})"


def uniform(
    low: float, high: float, generator: torch.Generator | None, size: int = 1
) -> torch.Tensor:
    """``size`` floats drawn uniformly from ``[low, high)`` (float64)."""
    return torch.rand(size, generator=generator, dtype=torch.float64) * (high - low) + low


def coin(prob: float, generator: torch.Generator | None) -> bool:
    """True with probability ``prob`` (OpenGait: applied when ``uniform(0, 1) < prob``)."""
    return bool(torch.rand(1, generator=generator, dtype=torch.float64).item() < prob)


def integers(low: int, high: int, generator: torch.Generator | None, size: int = 1) -> torch.Tensor:
    """``size`` integers drawn uniformly from ``[low, high)``; all ``low`` if the range is empty."""
    if high <= low:
        return torch.full((size,), low, dtype=torch.int64)
    return torch.randint(low, high, (size,), generator=generator)
