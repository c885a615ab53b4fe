"""GaitTR (Zhang et al., "Spatial Transformer Network on Skeleton-based Gait Recognition",
Expert Systems 2023; arXiv:2204.03873).

Blocks of a temporal convolution then a spatial transformer (multi-head self-attention over the
joints of each frame, :class:`~gaitgen.runtime.modules.SpatialAttention`), with Mish
activations and residual paths, over 2-D pose features; pooled over joints, persons and
frames, a 1x1 convolution gives the embedding ``[n, num_class, 1]``, trained with the triplet
loss.

Input ``ipts[0]``: ``[n, T, C, V, M]`` (SkeletonInput(GaitTRMultiInput(...)): C = 10 features,
M persons). OpenGait's config keys (``model_cfg``): ``in_channels`` (input, then each block's
output), ``num_class``, ``joint_format``. Parameter names are OpenGait's
(``backbone.0.st.attention_conv.qkv_conv.weight``, ``data_bn``, ``fcn``).
"""

from __future__ import annotations

import torch
from torch import nn

from ..errors import ConfigError
from ..model import BaseModel
from ..modules.graph import Graph, check_pose_batch
from ..modules.spatial_attention import SpatialAttention

ATTENTION_MULTIPLE = 32  # SpatialAttention: out_channel / 4 key channels over 8 heads


class STModule(nn.Module):
    """Spatial transformer of one block: BatchNorm per joint and channel, joint attention per
    frame, Mish, BatchNorm. ``[n, c_in, t, v] -> [n, c_out, t, v]``."""

    def __init__(
        self, in_channels: int, out_channels: int, incidence: torch.Tensor, num_point: int
    ):
        super().__init__()
        self.in_channels = in_channels
        self.out_channels = out_channels
        self.num_point = num_point
        self.relu = nn.Mish()
        self.bn = nn.BatchNorm2d(out_channels)
        self.data_bn = nn.BatchNorm1d(in_channels * num_point)
        self.attention_conv = SpatialAttention(
            in_channels=in_channels, out_channel=out_channels, A=incidence, num_point=num_point
        )

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        n, c, t, v = x.shape
        x = self.data_bn(x.transpose(2, 3).reshape(n, c * v, t)).view(n, c, v, t)
        frames = x.permute(0, 3, 1, 2).reshape(n * t, c, 1, v)  # one frame per attention
        y = self.attention_conv(frames).view(n, t, -1, v).transpose(1, 2)  # [n, c_out, t, v]
        return self.bn(self.relu(y))


class UnitConv2D(nn.Module):
    """Dropout, a temporal convolution (``kernel_size`` frames), Mish, BatchNorm."""

    def __init__(
        self,
        D_in: int,  # noqa: N803
        D_out: int,  # noqa: N803
        kernel_size: int = 9,
        stride: int = 1,
        dropout: float = 0.1,
        bias: bool = True,
    ):
        super().__init__()
        pad = (kernel_size - 1) // 2
        self.conv = nn.Conv2d(
            D_in, D_out, (kernel_size, 1), padding=(pad, 0), stride=(stride, 1), bias=bias
        )
        self.bn = nn.BatchNorm2d(D_out)
        self.relu = nn.Mish()
        self.dropout = nn.Dropout(dropout, inplace=False)

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        return self.bn(self.relu(self.conv(self.dropout(x))))


class TCN_ST(nn.Module):  # noqa: N801  (OpenGait's name)
    """A GaitTR block: temporal convolution (with its residual), spatial transformer (with a
    projection where the channels change) and a skip path from the block's input."""

    def __init__(
        self, in_channel: int, out_channel: int, A: torch.Tensor, num_point: int
    ):  # noqa: N803
        super().__init__()
        self.in_channel = in_channel
        self.out_channel = out_channel
        self.num_point = num_point
        self.tcn = UnitConv2D(D_in=in_channel, D_out=in_channel, kernel_size=9)
        self.st = STModule(in_channel, out_channel, incidence=A, num_point=num_point)
        if in_channel != out_channel:
            self.residual_s = nn.Sequential(
                nn.Conv2d(in_channel, out_channel, 1), nn.BatchNorm2d(out_channel)
            )
            self.down = UnitConv2D(D_in=in_channel, D_out=out_channel, kernel_size=1, dropout=0)
        else:
            self.residual_s = nn.Identity()
            self.down = None

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        x0 = self.tcn(x) + x
        y = self.st(x0) + self.residual_s(x0)
        return y + (x if self.down is None else self.down(x))


class GaitTR(BaseModel):
    """GaitTR: temporal convolutions and spatial transformers over poses (OpenGait's GaitTR)."""

    def build_network(self, model_cfg):
        in_c = model_cfg["in_channels"]
        uneven = [c for c in in_c[1:] if c % ATTENTION_MULTIPLE]
        if uneven:
            raise ConfigError(
                f"model_cfg.in_channels: {list(in_c)}: every entry after the first is a block's "
                f"output channels, which GaitTR's attention splits into a quarter for 8 heads, "
                f"so each must be a multiple of {ATTENTION_MULTIPLE} (not {uneven[0]})"
            )
        self.in_channels = in_c
        self.num_class = model_cfg["num_class"]
        self.joint_format = model_cfg["joint_format"]
        self.graph = Graph(joint_format=self.joint_format, max_hop=3)
        A = torch.tensor(self.graph.A, dtype=torch.float32)  # noqa: N806
        num_point = A.shape[-1]
        self.data_bn = nn.BatchNorm1d(in_c[0] * num_point)
        self.backbone = nn.ModuleList(
            TCN_ST(in_channel=in_c[i], out_channel=in_c[i + 1], A=A, num_point=num_point)
            for i in range(len(in_c) - 1)
        )
        self.fcn = nn.Conv1d(in_c[-1], self.num_class, kernel_size=1)

    def forward(self, inputs):
        ipts, labs, _, _, _ = inputs
        # one person: data_bn normalises in_channels[0] x V features (OpenGait's, too)
        sizes = (None, None, self.in_channels[0], self.graph.num_node, 1)
        check_pose_batch("GaitTR", ipts[0], "[n, T, C, V, M]", sizes, self.joint_format)
        pose = ipts[0]  # [n, T, C, V, M]
        n, t, c, v, m = pose.shape
        # BatchNorm per (person, joint, channel)
        x = pose.permute(0, 4, 3, 2, 1).reshape(n, m * v * c, t)
        x = self.data_bn(x).view(n, m, v, c, t).permute(0, 1, 3, 4, 2)
        # contiguous: dropout draws its mask in memory order, so the layout decides the mask
        x = x.contiguous().view(n * m, c, t, v)
        for block in self.backbone:
            x = block(x)
        x = x.mean(dim=3).view(n, m, -1, x.shape[2]).mean(dim=1)  # joints, persons: [n, c, t]
        x = self.fcn(x.mean(dim=2, keepdim=True))  # frames: [n, c, 1] -> [n, num_class, 1]
        embed = x.view(n, self.num_class, 1)
        return {
            "training_feat": {"triplet": {"embeddings": embed, "labels": labs}},
            "visual_summary": {"image/pose": pose.reshape(n * t, m, v, c)},
            "inference_feat": {"embeddings": embed},
        }
