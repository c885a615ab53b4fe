"""The base class of backbones: what ``model_cfg.backbone_cfg.type`` can name."""

from __future__ import annotations

from typing import Any

import torch
from torch import nn


class Backbone(nn.Module):
    """Base of every backbone a config can name (``backbone_cfg: {type: ResNet9, ...}``).

    A backbone is an ordinary ``nn.Module`` built from the keyword arguments of its config
    block. Subclass this one so that the component scanner finds it: a new built-in is one
    file in ``gaitgen/runtime/modules/``, a project's own one file in ``<package>/backbones/``;
    a model builds it with ``self.get_backbone(model_cfg["backbone_cfg"])``.

    What the test that builds every backbone needs (``tests/test_every_component.py``), for a
    backbone whose input is not frames or whose arguments have no defaults:

    Attributes:
        example_arguments: arguments to build an example with, beside the defaults (GCN's
            node counts); a backbone a zoo config uses is built with that config's.
        output_dims: the dimensions of its output for :meth:`example_inputs` (feature maps: 4).
    """

    example_arguments: dict[str, Any] = {}
    output_dims: int = 4

    def example_inputs(self) -> tuple[torch.Tensor, ...]:
        """The positional inputs of one forward of a batch of 2 (frames ``[2, 1, 64, 44]``
        unless it reads something else: ResGCN poses, GCN node features and adjacency)."""
        return (torch.rand(2, 1, 64, 44),)
