"""GaitPart's temporal layers: the micro-motion capture module (OpenGait's names).

``TemporalFeatureAggregator`` turns part features per frame ``[n, c, s, p]`` into one feature
per part ``[n, c, p]``. Each part has two micro-motion template branches (MTB): a local
template (mean + max over a 3-frame window, or a 5-frame one) weighted frame by frame by a
sigmoid attention that a small per-part 1-D convolution network computes from the sequence;
the two branches are added and max-pooled over time.
"""

from __future__ import annotations

from typing import Any

import torch
import torch.nn.functional as F
from torch import nn

from .blocks import clones


class BasicConv1d(nn.Module):
    """A bias-free 1-D convolution (OpenGait's GaitPart ``BasicConv1d``)."""

    def __init__(self, in_channels: int, out_channels: int, kernel_size: int, **kwargs: Any):
        super().__init__()
        self.conv = nn.Conv1d(in_channels, out_channels, kernel_size, bias=False, **kwargs)

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        return self.conv(x)  # [n, c, s] -> [n, c', s]


def _attention_net(in_channels: int, hidden: int, second_kernel: int) -> nn.Sequential:
    """conv(3) -> LeakyReLU -> conv(second_kernel): one part's attention logits over time."""
    return nn.Sequential(
        BasicConv1d(in_channels, hidden, 3, padding=1),
        nn.LeakyReLU(inplace=True),
        BasicConv1d(hidden, in_channels, second_kernel, padding=second_kernel // 2),
    )


def _per_part(nets: nn.ModuleList, x: torch.Tensor) -> torch.Tensor:
    """Run part i's network on part i, for all parts in one grouped convolution each.

    Equivalent to calling ``nets[i]`` on ``x[:, i]`` for every part, but with two convolution
    calls instead of 2p (GaitPart has 16 parts; the loop dominated its CPU step time).

    Args:
        nets: one ``_attention_net`` per part.
        x: ``[n, p, c, s]``.

    Returns:
        ``[n, p, c, s]``: the logits of every part.
    """
    n, p, c, s = x.shape
    first = torch.cat([net[0].conv.weight for net in nets])  # [p*hidden, c, 3]
    second = torch.cat([net[2].conv.weight for net in nets])  # [p*c, hidden, k]
    paddings = nets[0][0].conv.padding[0], nets[0][2].conv.padding[0]
    out = F.conv1d(x.reshape(n, p * c, s), first, padding=paddings[0], groups=p)
    out = F.leaky_relu(out, nets[0][1].negative_slope)
    out = F.conv1d(out, second, padding=paddings[1], groups=p)  # [n, p*c, s]
    return out.reshape(n, p, c, s)


class TemporalFeatureAggregator(nn.Module):
    """GaitPart's temporal feature aggregator (two micro-motion templates, then max over time).

    Args:
        in_channels: channels of the part features.
        squeeze: channel reduction inside the attention networks.
        parts_num: number of horizontal parts (one attention network per part and branch).
    """

    def __init__(self, in_channels: int, squeeze: int = 4, parts_num: int = 16):
        super().__init__()
        hidden = int(in_channels // squeeze)
        self.parts_num = parts_num
        # MTB1: a 3-frame template, attention from conv(3) -> conv(1)
        self.conv1d3x1 = clones(_attention_net(in_channels, hidden, 1), parts_num)
        self.avg_pool3x1 = nn.AvgPool1d(3, stride=1, padding=1)
        self.max_pool3x1 = nn.MaxPool1d(3, stride=1, padding=1)
        # MTB2: a 5-frame template, attention from conv(3) -> conv(3)
        self.conv1d3x3 = clones(_attention_net(in_channels, hidden, 3), parts_num)
        self.avg_pool3x3 = nn.AvgPool1d(5, stride=1, padding=2)
        self.max_pool3x3 = nn.MaxPool1d(5, stride=1, padding=2)

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        """Aggregate ``x`` ``[n, c, s, p]`` over time into ``[n, c, p]``."""
        n, c, s, p = x.shape
        parts = x.permute(0, 3, 1, 2).contiguous()  # [n, p, c, s]
        flat = parts.view(n * p, c, s)

        scores3x1 = torch.sigmoid(_per_part(self.conv1d3x1, parts))  # [n, p, c, s]
        template3x1 = (self.avg_pool3x1(flat) + self.max_pool3x1(flat)).view(n, p, c, s)
        scores3x3 = torch.sigmoid(_per_part(self.conv1d3x3, parts))
        template3x3 = (self.avg_pool3x3(flat) + self.max_pool3x3(flat)).view(n, p, c, s)

        weighted = template3x1 * scores3x1 + template3x3 * scores3x3  # [n, p, c, s]
        return weighted.amax(-1).transpose(1, 2).contiguous()  # [n, c, p]
