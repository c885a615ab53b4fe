"""Pooling layers shared by gait models (OpenGait's names, signatures and parameter names)."""

from __future__ import annotations

from collections.abc import Sequence

import torch
from torch import nn

from ..errors import DataError


class GeMHPP(nn.Module):
    """Horizontal pooling with a learnable generalised mean (GeM): [n, c, h, w] -> [n, c, p].

    For each entry ``b`` of ``bin_num`` the map is cut into ``b`` equal bins and each bin is
    pooled as ``mean(x.clamp(min=eps) ** p) ** (1 / p)``; ``p`` is learnt (one scalar for all
    bins, OpenGait's parameter ``p``), so the pooling moves between average (p = 1) and max
    (p -> inf). ``p = sum(bin_num)`` parts come out.

    As in OpenGait, the bins are cut from the flattened ``h * w`` values of each channel, not
    from rows: when ``b`` does not divide ``h`` a bin spans parts of rows (64 bins over a 32-row
    map are half-rows). ``h * w`` must be divisible by every ``b``.

    Args:
        bin_num: the bin counts of the pyramid levels.
        p: the initial exponent of the generalised mean.
        eps: the floor applied before the power, so that ``x ** p`` stays defined.
    """

    def __init__(self, bin_num: Sequence[int] | None = None, p: float = 6.5, eps: float = 1.0e-6):
        super().__init__()
        self.bin_num = list(bin_num) if bin_num is not None else [64]
        self.p = nn.Parameter(torch.ones(1) * p)
        self.eps = eps

    def gem(self, bins: torch.Tensor) -> torch.Tensor:
        """Generalised mean over the last axis: [..., k] -> [...]."""
        return bins.clamp(min=self.eps).pow(self.p).mean(-1).pow(1.0 / self.p)

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        n, c = x.shape[:2]
        size = x[0, 0].numel()
        for bins in self.bin_num:
            if size % bins:
                raise DataError(
                    f"GeMHPP: a feature map of {list(x.shape[2:])} ({size} values per channel) "
                    f"cannot be cut into {bins} equal bins; give the model inputs whose size "
                    f"makes h * w divisible by every entry of bin_num {self.bin_num}"
                )
        features = [self.gem(x.reshape(n, c, bins, -1)) for bins in self.bin_num]  # [n, c, b]
        return torch.cat(features, -1)
