"""GaitGL's global-local 3-D convolution (OpenGait's ``GLConv``, its name and signature)."""

from __future__ import annotations

from typing import Any

import torch
import torch.nn.functional as F
from torch import nn

from ..errors import DataError
from .blocks import BasicConv3d


class GLConv(nn.Module):
    """A global and a local 3-D convolution of the same input, joined (Lin et al., GaitGL).

    The global branch convolves the whole map; the local branch cuts it into ``2**halving``
    horizontal strips of height ``h // 2**halving`` and convolves each strip on its own (the
    same weights for every strip; nothing crosses a strip border), so it sees body parts
    rather than the whole body. ``halving=0`` makes the local branch a plain convolution.
    The branches are joined after a leaky ReLU each: summed (``fm_sign=False``), or stacked
    along the height axis (``fm_sign=True``: the output is twice as tall).

    Args:
        in_channels: input channels.
        out_channels: output channels of each branch.
        halving: the local branch uses ``2**halving`` strips.
        fm_sign: join by concatenation along the height instead of by sum.
        kernel_size: the 3-D kernel (frames, height, width) of both branches.
        stride: their stride.
        padding: their padding.
        bias: whether the convolutions have a bias.
        **kwargs: passed on to ``nn.Conv3d``.
    """

    def __init__(
        self,
        in_channels: int,
        out_channels: int,
        halving: int,
        fm_sign: bool = False,
        kernel_size: Any = (3, 3, 3),
        stride: Any = (1, 1, 1),
        padding: Any = (1, 1, 1),
        bias: bool = False,
        **kwargs: Any,
    ):
        super().__init__()
        self.halving = halving
        self.fm_sign = fm_sign
        self.global_conv3d = BasicConv3d(
            in_channels, out_channels, kernel_size, stride, padding, bias, **kwargs
        )
        self.local_conv3d = BasicConv3d(
            in_channels, out_channels, kernel_size, stride, padding, bias, **kwargs
        )

    def _local(self, x: torch.Tensor) -> torch.Tensor:
        """The local branch: each horizontal strip convolved alone, strips joined again."""
        if self.halving == 0:
            return self.local_conv3d(x)
        n, c, s, h, w = x.shape
        strip = h // 2**self.halving
        if strip == 0:
            raise DataError(
                f"GLConv: a feature map {h} rows tall cannot be cut into 2**{self.halving} "
                f"strips; give the model taller inputs (or a smaller halving)"
            )
        if h % strip:
            # Strips of unequal height (the last one shorter): one convolution per strip.
            return torch.cat([self.local_conv3d(part) for part in x.split(strip, 3)], 3)
        # Equal strips: fold them into the batch so that one convolution does them all.
        count = h // strip
        folded = x.reshape(n, c, s, count, strip, w).permute(0, 3, 1, 2, 4, 5)
        out = self.local_conv3d(folded.reshape(n * count, c, s, strip, w))  # [n*k, c', s', h', w']
        c2, s2, h2, w2 = out.shape[1:]
        out = out.reshape(n, count, c2, s2, h2, w2).permute(0, 2, 3, 1, 4, 5)
        return out.reshape(n, c2, s2, count * h2, w2)  # [n, c', s', k*h', w']

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        global_feat = self.global_conv3d(x)  # [n, c', s, h, w]
        local_feat = self._local(x)  # [n, c', s, h, w]
        if self.fm_sign:
            return F.leaky_relu(torch.cat([global_feat, local_feat], 3))  # [n, c', s, 2h, w]
        return F.leaky_relu(global_feat) + F.leaky_relu(local_feat)
