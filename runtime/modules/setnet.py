"""Convolution stages of the set-based models (GaitSet, GLN), under OpenGait's layer layout.

OpenGait writes each stage of GaitSet and GLN as an ``nn.Sequential`` of two bias-free
convolutions with LeakyReLU (and, in GaitSet, a 2x2 max pooling); the layer indices (0 and 2
for the convolutions) are part of the parameter names, so these helpers keep that layout.
"""

from __future__ import annotations

from collections.abc import Mapping
from typing import Any

from torch import nn

from ..errors import ConfigError
from .blocks import BasicConv2d


def conv_stage(
    in_channels: int, out_channels: int, first_kernel: int = 3, pool: bool = False
) -> nn.Sequential:
    """Two bias-free convolutions with LeakyReLU, then optionally a 2x2 max pooling.

    Args:
        in_channels: input channels.
        out_channels: output channels of both convolutions.
        first_kernel: kernel size of the first convolution (5 for a stem, else 3); padding
            keeps the spatial size.
        pool: append ``nn.MaxPool2d(2, 2)``.
    """
    layers: list[nn.Module] = [
        BasicConv2d(in_channels, out_channels, first_kernel, 1, first_kernel // 2),
        nn.LeakyReLU(inplace=True),
        BasicConv2d(out_channels, out_channels, 3, 1, 1),
        nn.LeakyReLU(inplace=True),
    ]
    if pool:
        layers.append(nn.MaxPool2d(kernel_size=2, stride=2))
    return nn.Sequential(*layers)


def stage_channels(model_cfg: Mapping[str, Any], model: str) -> list[int]:
    """``model_cfg.in_channels`` checked: four positive integers (input, stages 1-3).

    Raises:
        ConfigError: the key is missing or is not four positive integers.
    """
    channels = model_cfg.get("in_channels")
    if (
        not isinstance(channels, (list, tuple))
        or len(channels) != 4
        or not all(isinstance(c, int) and not isinstance(c, bool) and c > 0 for c in channels)
    ):
        raise ConfigError(
            f"model_cfg.in_channels ({model}): expected four positive integers "
            f"[input, stage 1, stage 2, stage 3], e.g. [1, 32, 64, 128]; got {channels!r}"
        )
    return list(channels)
