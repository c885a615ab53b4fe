"""The spatial and temporal blocks of ResGCN (OpenGait's names, arguments and parameter names).

Pose features are ``[n, c, t, v]`` (channels, frames, joints). A spatial block mixes the
joints through a hop-partitioned adjacency ``A`` (``[K, V, V]``, from :class:`Graph`); a temporal
block convolves along the frames only. Each has a basic form (one convolution) and a
bottleneck form (1x1 down to ``channels // reduction``, the convolution, 1x1 back up).

The shortcut of a block is one of: none (adds 0), the input itself, or a 1x1 convolution with
BatchNorm (``residual.0``/``residual.1``) where the channels or the frame stride change, as in
OpenGait, so that the state-dict keys are OpenGait's.
"""

from __future__ import annotations

import torch
from torch import nn


class _NoShortcut(nn.Module):
    """A shortcut that adds nothing."""

    def forward(self, x: torch.Tensor) -> float:
        return 0.0


def _projection(in_channels: int, out_channels: int, stride: int = 1) -> nn.Sequential:
    return nn.Sequential(
        nn.Conv2d(in_channels, out_channels, 1, (stride, 1)), nn.BatchNorm2d(out_channels)
    )


def block_shortcut(
    residual: bool, in_channels: int, out_channels: int, stride: int = 1
) -> nn.Module:
    """A block's shortcut: none (``residual`` False), the input, or a projection (1x1 + BN)."""
    if not residual:
        return _NoShortcut()
    if stride == 1 and in_channels == out_channels:
        return nn.Identity()
    return _projection(in_channels, out_channels, stride)


class TemporalBasicBlock(nn.Module):
    """A temporal convolution (``temporal_window_size`` frames) with BatchNorm and ReLU.

    Args:
        channels: input and output channels.
        temporal_window_size: the kernel length along the frames (odd).
        stride: the frame stride.
        residual: add the block's own shortcut (a projection when ``stride`` > 1).
        reduction, get_res, tcn_stride: accepted for the bottleneck's signature; unused.

    ``forward(x, res_module)`` adds ``res_module`` (the enclosing module's shortcut) before
    the ReLU.
    """

    def __init__(
        self,
        channels: int,
        temporal_window_size: int,
        stride: int = 1,
        residual: bool = False,
        reduction: int = 0,
        get_res: bool = False,
        tcn_stride: bool = False,
    ):
        super().__init__()
        padding = ((temporal_window_size - 1) // 2, 0)
        self.residual = block_shortcut(residual, channels, channels, stride)
        self.conv = nn.Conv2d(channels, channels, (temporal_window_size, 1), (stride, 1), padding)
        self.bn = nn.BatchNorm2d(channels)
        self.relu = nn.ReLU(inplace=True)

    def forward(self, x: torch.Tensor, res_module: torch.Tensor | float) -> torch.Tensor:
        return self.relu(self.bn(self.conv(x)) + self.residual(x) + res_module)


class TemporalBottleneckBlock(nn.Module):
    """The bottleneck form of :class:`TemporalBasicBlock`.

    The frames are halved (a stride-2 convolution and a stride-2 projection shortcut) when
    ``get_res`` is set (the first block of ResGCN's main stream) or when a residual block
    has ``stride`` > 1; a block without its own shortcut uses ``stride`` as given.
    ``tcn_stride`` is accepted and, as in OpenGait, has no effect.
    """

    def __init__(
        self,
        channels: int,
        temporal_window_size: int,
        stride: int = 1,
        residual: bool = False,
        reduction: int = 4,
        get_res: bool = False,
        tcn_stride: bool = False,
    ):
        super().__init__()
        padding = ((temporal_window_size - 1) // 2, 0)
        inter_channels = channels // reduction
        halve = get_res or (residual and stride != 1)
        if halve:
            self.residual = _projection(channels, channels, 2)
        else:
            self.residual = block_shortcut(residual, channels, channels)
        conv_stride = 2 if halve else stride
        self.conv_down = nn.Conv2d(channels, inter_channels, 1)
        self.bn_down = nn.BatchNorm2d(inter_channels)
        self.conv = nn.Conv2d(
            inter_channels, inter_channels, (temporal_window_size, 1), (conv_stride, 1), padding
        )
        self.bn = nn.BatchNorm2d(inter_channels)
        self.conv_up = nn.Conv2d(inter_channels, channels, 1)
        self.bn_up = nn.BatchNorm2d(channels)
        self.relu = nn.ReLU(inplace=True)

    def forward(self, x: torch.Tensor, res_module: torch.Tensor | float) -> torch.Tensor:
        shortcut = self.residual(x)
        y = self.relu(self.bn_down(self.conv_down(x)))
        y = self.relu(self.bn(self.conv(y)))
        return self.relu(self.bn_up(self.conv_up(y)) + shortcut + res_module)


class SpatialGraphConv(nn.Module):
    """Graph convolution over the joints: one 1x1 convolution per hop distance, summed through A.

    Args:
        in_channels, out_channels: channels of the input and output.
        max_graph_distance: the farthest hop used; ``A[:max_graph_distance + 1]`` is read.
    """

    def __init__(self, in_channels: int, out_channels: int, max_graph_distance: int):
        super().__init__()
        self.s_kernel_size = max_graph_distance + 1
        self.gcn = nn.Conv2d(in_channels, out_channels * self.s_kernel_size, 1)

    def forward(self, x: torch.Tensor, A: torch.Tensor) -> torch.Tensor:  # noqa: N803
        y = self.gcn(x)  # [n, k*c, t, v]
        n, kc, t, v = y.shape
        y = y.view(n, self.s_kernel_size, kc // self.s_kernel_size, t, v)
        return torch.einsum("nkctv,kvw->nctw", y, A[: self.s_kernel_size])


class SpatialBasicBlock(nn.Module):
    """A graph convolution with BatchNorm and ReLU; ``residual`` adds the block's shortcut.

    Args:
        in_channels, out_channels: channels of the input and output.
        max_graph_distance: see :class:`SpatialGraphConv`.
        residual: add a shortcut (a projection where the channels change).
        reduction: accepted for the bottleneck's signature; unused.
    """

    def __init__(
        self,
        in_channels: int,
        out_channels: int,
        max_graph_distance: int,
        residual: bool = False,
        reduction: int = 0,
    ):
        super().__init__()
        self.residual = block_shortcut(residual, in_channels, out_channels)
        self.conv = SpatialGraphConv(in_channels, out_channels, max_graph_distance)
        self.bn = nn.BatchNorm2d(out_channels)
        self.relu = nn.ReLU(inplace=True)

    def forward(self, x: torch.Tensor, A: torch.Tensor) -> torch.Tensor:  # noqa: N803
        return self.relu(self.bn(self.conv(x, A)) + self.residual(x))


class SpatialBottleneckBlock(nn.Module):
    """The bottleneck form of :class:`SpatialBasicBlock` (``out_channels // reduction`` inside)."""

    def __init__(
        self,
        in_channels: int,
        out_channels: int,
        max_graph_distance: int,
        residual: bool = False,
        reduction: int = 4,
    ):
        super().__init__()
        inter_channels = out_channels // reduction
        self.residual = block_shortcut(residual, in_channels, out_channels)
        self.conv_down = nn.Conv2d(in_channels, inter_channels, 1)
        self.bn_down = nn.BatchNorm2d(inter_channels)
        self.conv = SpatialGraphConv(inter_channels, inter_channels, max_graph_distance)
        self.bn = nn.BatchNorm2d(inter_channels)
        self.conv_up = nn.Conv2d(inter_channels, out_channels, 1)
        self.bn_up = nn.BatchNorm2d(out_channels)
        self.relu = nn.ReLU(inplace=True)

    def forward(self, x: torch.Tensor, A: torch.Tensor) -> torch.Tensor:  # noqa: N803
        shortcut = self.residual(x)
        y = self.relu(self.bn_down(self.conv_down(x)))
        y = self.relu(self.bn(self.conv(y, A)))
        return self.relu(self.bn_up(self.conv_up(y)) + shortcut)
