"""Fusions of two feature sets of one shape (SkeletonGait++'s silhouette and skeleton-map
branches), under OpenGait's names, constructor arguments and parameter names.

Each takes ``sil_feat`` and ``map_feat``, both ``[n, c, s, h, w]``, and returns one set
``[n, c, s, h, w]``:

- :class:`AttentionFusion` (what SkeletonGaitPP uses): a small per-frame network scores each
  channel of each branch at every position; a softmax over the two branches weighs them;
- :class:`CatFusion`: the two joined along the channels, projected back by a 1x1 convolution;
- :class:`PlusFusion`: their sum.

OpenGait defines them in ``opengait/modeling/models/skeletongait++.py``.
"""

from __future__ import annotations

import torch
from torch import nn

from .blocks import SetBlockWrapper
from .resblocks import conv1x1, conv3x3


class AttentionFusion(nn.Module):
    """Per-position soft selection between the silhouette and the skeleton-map features.

    ``conv`` (per frame: 1x1 to ``in_channels // squeeze_ratio``, BN, ReLU, 3x3, BN, ReLU,
    1x1 back to ``2 * in_channels``) scores both branches from their concatenation; the
    scores of one channel in the two branches go through a softmax, and the output is
    ``sil_feat * w_sil + map_feat * w_map``.

    Args:
        in_channels: channels of each branch.
        squeeze_ratio: how much narrower the hidden layers are.
    """

    def __init__(self, in_channels: int = 64, squeeze_ratio: int = 16) -> None:
        super().__init__()
        hidden = int(in_channels / squeeze_ratio)
        self.conv = SetBlockWrapper(
            nn.Sequential(
                conv1x1(in_channels * 2, hidden),
                nn.BatchNorm2d(hidden),
                nn.ReLU(inplace=True),
                conv3x3(hidden, hidden),
                nn.BatchNorm2d(hidden),
                nn.ReLU(inplace=True),
                conv1x1(hidden, in_channels * 2),
            )
        )

    def forward(self, sil_feat: torch.Tensor, map_feat: torch.Tensor) -> torch.Tensor:
        n, c, s, h, w = sil_feat.shape
        scores = self.conv(torch.cat([sil_feat, map_feat], dim=1))  # [n, 2c, s, h, w]
        weights = scores.reshape(n, 2, c, s, h, w).softmax(dim=1)  # branch-first, as OpenGait
        return sil_feat * weights[:, 0] + map_feat * weights[:, 1]


class CatFusion(nn.Module):
    """The two branches joined along the channels and projected back by a 1x1 convolution.

    One deliberate difference: OpenGait joins them along the batch axis (``torch.cat`` without
    ``dim``), which its ``2 * in_channels`` convolution then refuses at the first forward;
    here they are joined along the channels, the only reading under which it runs. The
    parameter names and shapes are OpenGait's.

    Args:
        in_channels: channels of each branch.
    """

    def __init__(self, in_channels: int = 64) -> None:
        super().__init__()
        self.conv = SetBlockWrapper(nn.Sequential(conv1x1(in_channels * 2, in_channels)))

    def forward(self, sil_feat: torch.Tensor, map_feat: torch.Tensor) -> torch.Tensor:
        return self.conv(torch.cat([sil_feat, map_feat], dim=1))


class PlusFusion(nn.Module):
    """The sum of the two branches (no parameters)."""

    def forward(self, sil_feat: torch.Tensor, map_feat: torch.Tensor) -> torch.Tensor:
        return sil_feat + map_feat
