"""``ParallelBN1d``: one batch norm over every (channel, part) pair of part features."""

from __future__ import annotations

import torch
from torch import nn


class ParallelBN1d(nn.Module):
    """Batch-normalise part features ``[n, c, p]`` with separate statistics per channel and part.

    OpenGait's ``ParallelBN1d`` (used by GaitSSB's projector and predictor): the features are
    flattened to ``[n, c * p]`` (channel-major) and go through one ``BatchNorm1d`` of
    ``c * p`` features, so its state-dict keys are ``bn1d.*``.

    Args:
        parts_num: ``p``, the number of parts.
        in_channels: ``c``, the channels of each part.
        **kwargs: passed to ``nn.BatchNorm1d`` (``eps``, ``momentum``, ``affine``...).
    """

    def __init__(self, parts_num: int, in_channels: int, **kwargs) -> None:
        super().__init__()
        self.parts_num = parts_num
        self.bn1d = nn.BatchNorm1d(in_channels * parts_num, **kwargs)

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        """``[n, c, p]`` -> ``[n, c, p]``."""
        n, c, p = x.shape
        return self.bn1d(x.reshape(n, c * p)).view(n, c, p)
