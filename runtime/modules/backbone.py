"""The base class of backbones: what ``model_cfg.backbone_cfg.type`` can name."""

from __future__ import annotations

from torch import nn


class Backbone(nn.Module):
    """Base of every backbone a config can name (``backbone_cfg: {type: ResNet9, ...}``).

    A backbone is an ordinary ``nn.Module`` built from the keyword arguments of its config
    block. Subclass this one so that the component scanner finds it: a new built-in is one
    file in ``gaitgen/runtime/modules/``, a project's own one file in ``<package>/backbones/``;
    a model builds it with ``self.get_backbone(model_cfg["backbone_cfg"])``.

    Attributes:
        example_input_shape: the shape of an input it takes, built from its defaults (the
            test that builds every backbone feeds it one): frames ``[n=2, c, h, w]`` unless
            it reads something else (ResGCN: poses ``[n, branches, c, t, v]``).
        output_dims: the dimensions of its output for that input (feature maps: 4).
    """

    example_input_shape: tuple[int, ...] = (2, 1, 64, 44)
    output_dims: int = 4
