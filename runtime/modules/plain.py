"""The Plain backbone: a VGG-like stack of convolutions described by a list of strings.

OpenGait's ``backbones/plain.py`` under its name and signature (GaitPart's backbone, and the
backbone of ``gaitbase/gaitbase_hid.yaml``). Each entry of ``layers_cfg`` is one layer:

- ``BC-<out>``: a bias-free convolution (``BasicConv2d``) followed by a LeakyReLU;
- ``FC-<out>-<halving>``: a focal convolution (``FocalConv2d``, the input cut into
  ``2**halving`` horizontal strips) followed by a LeakyReLU;
- ``M``: a 2x2 max pooling with stride 2.

The first entry must be a convolution: it has a 5x5 kernel (padding 2); every later
convolution is 3x3 (padding 1), stride 1. The layers sit in ``self.feature`` (an
``nn.Sequential``), so parameter names are ``feature.<index>.conv.weight`` as in OpenGait.
"""

from __future__ import annotations

from collections.abc import Sequence

import torch
from torch import nn

from ..errors import ConfigError
from .backbone import Backbone
from .blocks import BasicConv2d, FocalConv2d

_WHERE = "model_cfg.backbone_cfg.layers_cfg"


def _parse_layer(entry: object, index: int) -> tuple[str, int, int]:
    """(kind, out_channels, halving) of one ``layers_cfg`` entry ("BC-64", "FC-64-2")."""
    text = str(entry)
    parts = text.split("-")
    kind = parts[0]
    expected = {"BC": 2, "FC": 3}
    if kind not in expected or len(parts) != expected[kind]:
        raise ConfigError(
            f"{_WHERE}[{index}]: cannot read layer {text!r}; write 'BC-<channels>' (conv), "
            "'FC-<channels>-<halving>' (focal conv) or 'M' (max pooling), e.g. 'BC-64', 'FC-128-3'"
        )
    try:
        numbers = [int(value) for value in parts[1:]]
    except ValueError:
        raise ConfigError(
            f"{_WHERE}[{index}]: {text!r} has a non-integer channel count or halving"
        ) from None
    out_channels = numbers[0]
    halving = numbers[1] if kind == "FC" else 0
    if out_channels <= 0 or halving < 0:
        raise ConfigError(f"{_WHERE}[{index}]: {text!r} needs channels > 0 and halving >= 0")
    return kind, out_channels, halving


class Plain(Backbone):
    """A plain convolution stack built from ``layers_cfg`` (OpenGait's ``Plain``).

    Args:
        layers_cfg: the layers, in order: ``"BC-<out>"``, ``"FC-<out>-<halving>"`` or ``"M"``;
            the first one must be a convolution.
        in_channels: channels of the input frames (1 for silhouettes).

    Raises:
        ConfigError: an entry cannot be read, or the list is empty or starts with ``M``.
    """

    def __init__(self, layers_cfg: Sequence[str], in_channels: int = 1):
        super().__init__()
        if isinstance(layers_cfg, str) or not isinstance(layers_cfg, Sequence) or not layers_cfg:
            raise ConfigError(
                f"{_WHERE}: expected a non-empty list such as ['BC-32', 'M', 'FC-64-2'], "
                f"got {layers_cfg!r}"
            )
        if layers_cfg[0] == "M":
            raise ConfigError(
                f"{_WHERE}[0]: the first layer must be a convolution ('BC-..' or 'FC-..'), "
                "not 'M'"
            )
        self.layers_cfg = list(layers_cfg)
        self.in_channels = in_channels
        self.feature = self._make_layers()

    def _make_layers(self) -> nn.Sequential:
        layers: list[nn.Module] = []
        channels = self.in_channels
        for index, entry in enumerate(self.layers_cfg):
            if entry == "M":
                layers.append(nn.MaxPool2d(kernel_size=2, stride=2))
                continue
            kind, out_channels, halving = _parse_layer(entry, index)
            # the stem sees the raw silhouette: a wider 5x5 receptive field, as OpenGait's
            kernel, padding = (5, 2) if index == 0 else (3, 1)
            if kind == "BC":
                conv = BasicConv2d(channels, out_channels, kernel, stride=1, padding=padding)
            else:
                conv = FocalConv2d(
                    channels, out_channels, kernel, halving, stride=1, padding=padding
                )
            layers += [conv, nn.LeakyReLU(inplace=True)]
            channels = out_channels
        return nn.Sequential(*layers)

    def forward(self, seqs: torch.Tensor) -> torch.Tensor:
        return self.feature(seqs)  # [n, c, h, w] -> [n, c', h', w']
