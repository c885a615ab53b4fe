"""Frame-level backbones: the ResNet9 of GaitBase."""

from __future__ import annotations

from collections.abc import Sequence

import torch
from torch import nn

from ..errors import ConfigError
from .backbone import Backbone
from .blocks import BasicConv2d


class BasicBlock(nn.Module):
    """Two 3x3 convolutions with batch norm and an identity (or 1x1 projection) shortcut."""

    expansion = 1

    def __init__(self, in_channels: int, out_channels: int, stride: int = 1):
        super().__init__()
        self.conv1 = nn.Conv2d(in_channels, out_channels, 3, stride, 1, bias=False)
        self.bn1 = nn.BatchNorm2d(out_channels)
        self.conv2 = nn.Conv2d(out_channels, out_channels, 3, 1, 1, bias=False)
        self.bn2 = nn.BatchNorm2d(out_channels)
        self.relu = nn.ReLU(inplace=True)
        self.downsample = None
        if stride != 1 or in_channels != out_channels:
            self.downsample = nn.Sequential(
                nn.Conv2d(in_channels, out_channels, 1, stride, bias=False),
                nn.BatchNorm2d(out_channels),
            )

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        shortcut = x if self.downsample is None else self.downsample(x)
        out = self.relu(self.bn1(self.conv1(x)))
        out = self.bn2(self.conv2(out))
        return self.relu(out + shortcut)


BLOCKS = {"BasicBlock": BasicBlock}


class ResNet9(Backbone):
    """GaitBase's backbone: a 3x3 stem and four stages of residual blocks.

    Args:
        block: the residual block, by name ("BasicBlock").
        channels: output channels of the four stages.
        in_channel: input channels (1 for silhouettes).
        layers: blocks per stage.
        strides: stride of each stage's first block.
        maxpool: a 3x3/2 max pooling after the stem.
    """

    def __init__(
        self,
        block: str = "BasicBlock",
        channels: Sequence[int] = (32, 64, 128, 256),
        in_channel: int = 1,
        layers: Sequence[int] = (1, 2, 2, 1),
        strides: Sequence[int] = (1, 2, 2, 1),
        maxpool: bool = True,
    ):
        super().__init__()
        if block not in BLOCKS:
            raise ConfigError(
                f"model_cfg.backbone_cfg.block: unknown block {block!r}; "
                f"available: {sorted(BLOCKS)}"
            )
        if not len(channels) == len(layers) == len(strides) == 4:
            raise ConfigError(
                "model_cfg.backbone_cfg: channels, layers and strides need 4 "
                f"entries each (got {list(channels)}, {list(layers)}, {list(strides)})"
            )
        block_cls = BLOCKS[block]
        self.conv1 = BasicConv2d(in_channel, channels[0], 3, 1, 1)
        self.bn1 = nn.BatchNorm2d(channels[0])
        self.relu = nn.ReLU(inplace=True)
        self.maxpool = nn.MaxPool2d(3, 2, 1) if maxpool else nn.Identity()
        stages = []
        in_channels = channels[0]
        for out_channels, count, stride in zip(channels, layers, strides):
            blocks = [block_cls(in_channels, out_channels, stride)]
            blocks += [block_cls(out_channels, out_channels, 1) for _ in range(count - 1)]
            stages.append(nn.Sequential(*blocks))
            in_channels = out_channels
        self.layer1, self.layer2, self.layer3, self.layer4 = stages
        self.out_channels = in_channels

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        x = self.maxpool(self.relu(self.bn1(self.conv1(x))))
        return self.layer4(self.layer3(self.layer2(self.layer1(x))))
