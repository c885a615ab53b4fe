"""The base class of backbones: what ``model_cfg.backbone_cfg.type`` can name."""

from __future__ import annotations

from torch import nn


class Backbone(nn.Module):
    """Base of every backbone a config can name (``backbone_cfg: {type: ResNet9, ...}``).

    A backbone is an ordinary ``nn.Module`` built from the keyword arguments of its config
    block. Subclass this one so that the component scanner finds it: a new built-in is one
    file in ``gaitgen/runtime/modules/``, a project's own one file in ``<package>/backbones/``;
    a model builds it with ``self.get_backbone(model_cfg["backbone_cfg"])``.
    """
