"""Residual blocks of DeepGaitV2 and SwinGait (OpenGait's names, signatures and parameter names).

Three flavours of the same two-convolution residual block, which differ in how they treat
the frame axis:

- :class:`BasicBlock2D` works on frames ``[n, c, h, w]`` (wrap it in ``SetBlockWrapper`` to
  apply it to a set);
- :class:`BasicBlockP3D` ("pseudo-3D") works on sets ``[n, c, s, h, w]``: per-frame 3x3
  convolutions plus a temporal 3x1x1 convolution on a side branch;
- :class:`BasicBlock3D` works on sets with full 3x3x3 convolutions.

``conv1x1`` and ``conv3x3`` are the bias-free 2-D convolutions the blocks are made of (the
torchvision ResNet helpers, with the same arguments). OpenGait keeps all of these in
``opengait/modeling/modules.py``; the constructors accept the same arguments, so a model file
written for OpenGait runs once its imports point here.
"""

from __future__ import annotations

from collections.abc import Callable, Sequence
from typing import Any

import torch
from torch import nn

from .blocks import SetBlockWrapper

Stride = int | Sequence[int]


def conv3x3(
    in_planes: int, out_planes: int, stride: Stride = 1, groups: int = 1, dilation: int = 1
) -> nn.Conv2d:
    """A bias-free 3x3 convolution whose padding keeps the size (for stride 1)."""
    return nn.Conv2d(
        in_planes,
        out_planes,
        kernel_size=3,
        stride=stride,
        padding=dilation,
        groups=groups,
        bias=False,
        dilation=dilation,
    )


def conv1x1(in_planes: int, out_planes: int, stride: Stride = 1) -> nn.Conv2d:
    """A bias-free 1x1 convolution (the usual projection shortcut)."""
    return nn.Conv2d(in_planes, out_planes, kernel_size=1, stride=stride, bias=False)


def _check_plain_block(name: str, groups: int, base_width: int, dilation: int) -> None:
    # The blocks have no grouped or dilated variant: refuse those arguments instead of
    # silently building a different network (as torchvision's BasicBlock does).
    if groups != 1 or base_width != 64:
        raise ValueError(f"{name} supports groups=1 and base_width=64 only")
    if dilation > 1:
        raise ValueError(f"{name} does not support dilation > 1")


def _shortcut(downsample: Callable[[torch.Tensor], torch.Tensor] | None, x: torch.Tensor):
    return x if downsample is None else downsample(x)


class BasicBlock2D(nn.Module):
    """ResNet's basic block on frames: conv3x3-BN-ReLU-conv3x3-BN, plus the shortcut, ReLU.

    Args:
        inplanes: input channels.
        planes: output channels.
        stride: stride of the first convolution (int or ``[sh, sw]``).
        downsample: the shortcut's projection (None: identity); it must give the output shape.
        groups, base_width, dilation: accepted for torchvision's signature; only the plain
            values (1, 64, 1) are supported.
        norm_layer: the 2-D normalisation layer class (default ``nn.BatchNorm2d``).
    """

    expansion = 1

    def __init__(
        self,
        inplanes: int,
        planes: int,
        stride: Stride = 1,
        downsample: nn.Module | None = None,
        groups: int = 1,
        base_width: int = 64,
        dilation: int = 1,
        norm_layer: type[nn.Module] | None = None,
    ):
        super().__init__()
        _check_plain_block("BasicBlock2D", groups, base_width, dilation)
        norm_layer = norm_layer or nn.BatchNorm2d
        self.conv1 = conv3x3(inplanes, planes, stride)
        self.bn1 = norm_layer(planes)
        self.relu = nn.ReLU(inplace=True)
        self.conv2 = conv3x3(planes, planes)
        self.bn2 = norm_layer(planes)
        self.downsample = downsample
        self.stride = stride

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        out = self.relu(self.bn1(self.conv1(x)))  # [n, planes, h', w']
        out = self.bn2(self.conv2(out))
        return self.relu(out + _shortcut(self.downsample, x))


class BasicBlockP3D(nn.Module):
    """DeepGaitV2's pseudo-3D block on sets ``[n, c, s, h, w]``.

    The first per-frame convolution (conv3x3-BN-ReLU) is followed by a temporal 3x1x1
    convolution + BatchNorm3d that is added back to it (then ReLU); then the second per-frame
    convolution (conv3x3-BN), the shortcut and a ReLU.

    Args:
        inplanes: input channels.
        planes: output channels.
        stride: spatial stride of the first convolution (int or ``[sh, sw]``; frames are
            never strided).
        downsample: the shortcut's projection on the set (None: identity).
        groups, base_width, dilation: as in :class:`BasicBlock2D`.
        norm_layer: the 2-D normalisation layer class of the per-frame convolutions (default
            ``nn.BatchNorm2d``); the temporal branch always uses ``nn.BatchNorm3d``.
    """

    expansion = 1

    def __init__(
        self,
        inplanes: int,
        planes: int,
        stride: Stride = 1,
        downsample: nn.Module | None = None,
        groups: int = 1,
        base_width: int = 64,
        dilation: int = 1,
        norm_layer: type[nn.Module] | None = None,
    ):
        super().__init__()
        _check_plain_block("BasicBlockP3D", groups, base_width, dilation)
        norm_layer2d = norm_layer or nn.BatchNorm2d
        self.relu = nn.ReLU(inplace=True)
        self.conv1 = SetBlockWrapper(
            nn.Sequential(
                conv3x3(inplanes, planes, stride), norm_layer2d(planes), nn.ReLU(inplace=True)
            )
        )
        self.conv2 = SetBlockWrapper(nn.Sequential(conv3x3(planes, planes), norm_layer2d(planes)))
        self.shortcut3d = nn.Conv3d(planes, planes, (3, 1, 1), (1, 1, 1), (1, 0, 0), bias=False)
        self.sbn = nn.BatchNorm3d(planes)
        self.downsample = downsample

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        out = self.conv1(x)  # [n, planes, s, h', w']
        out = self.relu(out + self.sbn(self.shortcut3d(out)))  # temporal context, same shape
        out = self.conv2(out)
        return self.relu(out + _shortcut(self.downsample, x))


class BasicBlock3D(nn.Module):
    """The basic block with 3x3x3 convolutions on sets ``[n, c, s, h, w]``.

    Args:
        inplanes: input channels.
        planes: output channels.
        stride: ``[st, sh, sw]`` of the first convolution; ``st`` in 1, 2, 3 (with ``st=3``
            the frame axis is not padded, as in OpenGait).
        downsample: the shortcut's projection (None: identity).
        groups, base_width, dilation: as in :class:`BasicBlock2D`.
        norm_layer: the normalisation layer class (default ``nn.BatchNorm3d``).
    """

    expansion = 1

    def __init__(
        self,
        inplanes: int,
        planes: int,
        stride: Sequence[int] = (1, 1, 1),
        downsample: nn.Module | None = None,
        groups: int = 1,
        base_width: int = 64,
        dilation: int = 1,
        norm_layer: type[nn.Module] | None = None,
    ):
        super().__init__()
        _check_plain_block("BasicBlock3D", groups, base_width, dilation)
        stride = list(stride)
        if len(stride) != 3 or stride[0] not in (1, 2, 3):
            raise ValueError(
                f"BasicBlock3D: stride must be [st, sh, sw] with st in 1..3, got {stride}"
            )
        norm_layer = norm_layer or nn.BatchNorm3d
        temporal_pad = 1 if stride[0] in (1, 2) else 0
        self.conv1 = nn.Conv3d(
            inplanes, planes, (3, 3, 3), stride=stride, padding=[temporal_pad, 1, 1], bias=False
        )
        self.bn1 = norm_layer(planes)
        self.relu = nn.ReLU(inplace=True)
        self.conv2 = nn.Conv3d(planes, planes, (3, 3, 3), stride=1, padding=1, bias=False)
        self.bn2 = norm_layer(planes)
        self.downsample = downsample

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        out = self.relu(self.bn1(self.conv1(x)))  # [n, planes, s', h', w']
        out = self.bn2(self.conv2(out))
        return self.relu(out + _shortcut(self.downsample, x))


def make_res_layer(
    block: type[nn.Module],
    inplanes: int,
    planes: int,
    stride: Sequence[int],
    blocks_num: int,
    mode: str,
) -> nn.Sequential:
    """A stage of ``blocks_num`` blocks, the first strided and projected where needed.

    This is the ``make_layer`` method DeepGaitV2 and SwinGait share in OpenGait. The
    projection shortcut is a 1x1 convolution + BN of the block's kind: ``conv1x1`` for
    ``mode='2d'``, a 1x1x1 ``Conv3d`` strided ``[1, sh, sw]`` for ``'p3d'`` and ``stride`` for
    ``'3d'``. It is built when the stage strides or changes the channel count.

    Args:
        block: the block class (``BasicBlock2D``, ``BasicBlockP3D`` or ``BasicBlock3D``).
        inplanes: input channels of the stage.
        planes: output channels of every block.
        stride: the first block's stride (``[sh, sw]``, or ``[st, sh, sw]`` for 3d blocks).
        blocks_num: number of blocks.
        mode: ``'2d'``, ``'p3d'`` or ``'3d'``: the kind of projection shortcut.
    """
    out_planes = planes * block.expansion
    downsample: nn.Module | None = None
    if max(stride) > 1 or inplanes != out_planes:
        if mode == "3d":
            projection: nn.Module = nn.Conv3d(
                inplanes, out_planes, kernel_size=1, stride=list(stride), bias=False
            )
            downsample = nn.Sequential(projection, nn.BatchNorm3d(out_planes))
        elif mode == "2d":
            downsample = nn.Sequential(
                conv1x1(inplanes, out_planes, stride=list(stride)), nn.BatchNorm2d(out_planes)
            )
        elif mode == "p3d":
            projection = nn.Conv3d(
                inplanes, out_planes, kernel_size=1, stride=[1, *stride], bias=False
            )
            downsample = nn.Sequential(projection, nn.BatchNorm3d(out_planes))
        else:
            raise ValueError(f"make_res_layer: mode must be '2d', 'p3d' or '3d', got {mode!r}")
    layers = [block(inplanes, planes, stride=list(stride), downsample=downsample)]
    # The later blocks never stride; a 2-D block takes a 2-D stride whatever the mode
    # (OpenGait passes [1, 1, 1] to a 2-D block of a 3d stage, which fails at forward).
    unit_stride: list[Any] = [1, 1, 1] if block is BasicBlock3D else [1, 1]
    for _ in range(1, blocks_num):
        layers.append(block(out_planes, planes, stride=unit_stride))
    return nn.Sequential(*layers)
