"""The one parameter count that ``gaitgen check``, ``compare``, ``list`` and the README give.

A model's size is the number of its parameters, trainable or frozen, as OpenGait counts it
(``sum(p.numel() for p in model.parameters())``); buffers (BatchNorm statistics, SwinGait's
relative position index) are not parameters. The zoo's full-size counts that ``gaitgen list``
and the README's model table show are recorded in :mod:`gaitgen.runtime.zoo`, and a test
keeps them equal to this count.
"""

from __future__ import annotations

from collections.abc import Mapping
from typing import Any

import torch

from ..project import Project
from .build import build_model


def count_parameters(module: torch.nn.Module) -> int:
    """The parameters of ``module`` (all of them, frozen ones too; no buffers)."""
    return sum(parameter.numel() for parameter in module.parameters())


def config_parameter_count(cfgs: Mapping[str, Any], project: Project | None) -> int:
    """:func:`count_parameters` of the model a resolved config builds.

    The model is built on the ``meta`` device: only shapes, no memory for the weights, so
    even a 300 M parameter model is counted in a moment.

    Raises:
        ConfigError, RegistryError: the config does not build its model.
    """
    with torch.device("meta"):
        model = build_model(dict(cfgs), project, is_training=False)
    return count_parameters(model)
