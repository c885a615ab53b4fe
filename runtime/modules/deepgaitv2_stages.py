"""The five stages of DeepGaitV2's backbone (its 2d, p3d and 3d modes), built once for every
model that uses them: OpenGait's ``DeepGaitV2`` and FoundationGait's ``DeepGaitV2_SSL``."""

from __future__ import annotations

from collections.abc import Mapping
from typing import Any

from torch import nn

from ..errors import ConfigError
from .blocks import SetBlockWrapper
from .resblocks import BasicBlock2D, BasicBlock3D, BasicBlockP3D, conv3x3, make_res_layer

DEEPGAITV2_BLOCKS = {"2d": BasicBlock2D, "p3d": BasicBlockP3D, "3d": BasicBlock3D}


def deepgaitv2_backbone(model_cfg: Mapping[str, Any], model: str) -> tuple[str, int, list, list]:
    """``(mode, in_channels, layers, channels)`` of ``model_cfg.Backbone``, checked.

    Raises:
        ConfigError: no Backbone mapping, a key missing, an unknown mode, or not 4 stages;
            naming ``model``.
    """
    backbone = model_cfg.get("Backbone")
    if not isinstance(backbone, Mapping):
        raise ConfigError(
            f"model_cfg.Backbone: {model} needs a Backbone mapping "
            "{mode, in_channels, layers, channels}"
        )
    missing = [key for key in ("in_channels", "layers", "channels") if key not in backbone]
    if missing:
        raise ConfigError(f"model_cfg.Backbone: {model} needs the keys {missing}")
    mode = backbone.get("mode", "p3d")
    if mode not in DEEPGAITV2_BLOCKS:
        raise ConfigError(
            f"model_cfg.Backbone.mode: {mode!r} is not one of {sorted(DEEPGAITV2_BLOCKS)} "
            f"({model})"
        )
    layers, channels = list(backbone["layers"]), list(backbone["channels"])
    if len(layers) != 4 or len(channels) != 4:
        raise ConfigError(
            f"model_cfg.Backbone: {model} needs 4 entries in layers and channels "
            f"(got {layers}, {channels})"
        )
    return mode, int(backbone["in_channels"]), layers, channels


def add_deepgaitv2_stages(
    module: nn.Module, mode: str, in_channels: int, layers: list, channels: list
) -> None:
    """Give ``module`` OpenGait's ``layer0`` .. ``layer4`` (its state-dict names): a 3x3
    convolution stem, a 2-D residual stage, then three stages of the mode's blocks, the
    middle two halving height and width (3-D blocks carry a unit frame stride too)."""
    block = DEEPGAITV2_BLOCKS[mode]
    if mode == "3d":
        strides = [[1, 1], [1, 2, 2], [1, 2, 2], [1, 1, 1]]
    else:
        strides = [[1, 1], [2, 2], [2, 2], [1, 1]]
    module.layer0 = SetBlockWrapper(
        nn.Sequential(
            conv3x3(in_channels, channels[0], 1),
            nn.BatchNorm2d(channels[0]),
            nn.ReLU(inplace=True),
        )
    )
    module.layer1 = SetBlockWrapper(
        make_res_layer(BasicBlock2D, channels[0], channels[0], strides[0], layers[0], mode)
    )
    module.layer2 = make_res_layer(block, channels[0], channels[1], strides[1], layers[1], mode)
    module.layer3 = make_res_layer(block, channels[1], channels[2], strides[2], layers[2], mode)
    module.layer4 = make_res_layer(block, channels[2], channels[3], strides[3], layers[3], mode)
    if mode == "2d":
        module.layer2 = SetBlockWrapper(module.layer2)
        module.layer3 = SetBlockWrapper(module.layer3)
        module.layer4 = SetBlockWrapper(module.layer4)
