"""Multi-head self-attention over the joints of a frame: OpenGait's SpatialAttention (GaitTR's).

A 1x1 convolution makes queries, keys (``dk = dk_factor * out_channel`` channels each) and
values (``out_channel``) for every joint; each of ``Nh`` heads attends over all positions of
the input (``T * V``; GaitTR feeds one frame at a time, ``T = 1``) with scaled dot products,
and a 1x1 convolution (``attn_out``) mixes the joined heads.
"""

from __future__ import annotations

import torch
import torch.nn.functional as F
from torch import nn


class SpatialAttention(nn.Module):
    """Joint self-attention, ``[b, in_channels, t, v] -> [b, out_channel, t, v]``.

    Args:
        in_channels: input channels.
        out_channel: output (value) channels; a multiple of ``Nh``.
        A: the graph's adjacency (OpenGait's signature; the attention does not read it).
        num_point: joints per frame (kept for OpenGait's signature).
        dk_factor: query/key channels as a fraction of ``out_channel``.
        kernel_size, stride: of the query/key/value convolution (stride 1 or 2).
        Nh: attention heads; ``dk`` and ``out_channel`` must be multiples of it.
        num: kept for OpenGait's signature.

    Raises:
        ValueError: the head count does not divide the channels, or a stride other than 1, 2.
    """

    def __init__(
        self,
        in_channels: int,
        out_channel: int,
        A: torch.Tensor | None = None,  # noqa: N803
        num_point: int = 0,
        dk_factor: float = 0.25,
        kernel_size: int = 1,
        Nh: int = 8,  # noqa: N803
        num: int = 4,
        stride: int = 1,
    ):
        super().__init__()
        self.in_channels = in_channels
        self.kernel_size = kernel_size
        self.dk = int(dk_factor * out_channel)
        self.dv = int(out_channel)
        self.Nh = Nh
        self.num = num
        self.num_point = num_point
        self.stride = stride
        if Nh < 1 or self.dk % Nh or self.dv % Nh:
            raise ValueError(
                f"SpatialAttention: Nh={Nh} heads must divide the key channels ({self.dk} = "
                f"dk_factor * out_channel) and the value channels ({self.dv}); choose "
                "out_channel as a multiple of 4 * Nh"
            )
        if stride not in (1, 2):
            raise ValueError(f"SpatialAttention: stride must be 1 or 2, got {stride}")
        padding = (kernel_size - 1) // 2
        self.qkv_conv = nn.Conv2d(
            in_channels, 2 * self.dk + self.dv, kernel_size, stride=stride, padding=padding
        )
        self.attn_out = nn.Conv2d(self.dv, self.dv, kernel_size=1, stride=1)

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        qkv = self.qkv_conv(x)  # [b, 2dk + dv, t, v]
        b, _, t, v = qkv.shape

        def heads(part: torch.Tensor) -> torch.Tensor:  # [b, c, t, v] -> [b, Nh, t*v, c/Nh]
            return part.reshape(b, self.Nh, -1, t * v).transpose(2, 3)

        q, k, values = qkv.split([self.dk, self.dk, self.dv], dim=1)
        out = F.scaled_dot_product_attention(heads(q), heads(k), heads(values))  # [b, Nh, tv, d]
        out = out.reshape(b, self.Nh, t, v, -1).permute(0, 1, 4, 2, 3)  # [b, Nh, d, t, v]
        return self.attn_out(out.reshape(b, self.dv, t, v))
