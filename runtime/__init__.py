"""gaitgen.runtime: train and evaluate gait-recognition models, OpenGait-compatible.

The public names below are imported lazily (PEP 562), so ``import gaitgen.runtime.errors``
or ``gaitgen.runtime.project`` does not pay for torch; ``from gaitgen.runtime import
BaseModel`` imports what it needs on first use.
"""

from __future__ import annotations

from typing import TYPE_CHECKING

from .lazy import lazy_exports

# public name -> module (relative to this package) that defines it
_EXPORTS: dict[str, str] = {
    # the extension contract (DESIGN section 2)
    "BaseModel": ".model",
    "BaseLoss": ".losses.base",
    "gather_and_scale_wrapper": ".losses.base",
    "LossAggregator": ".losses.aggregator",
    # built-in losses and model
    "TripletLoss": ".losses.triplet",
    "CrossEntropyLoss": ".losses.softmax",
    "Baseline": ".models.baseline",
    # reusable building blocks
    "SetBlockWrapper": ".modules.blocks",
    "PackSequenceWrapper": ".modules.blocks",
    "HorizontalPoolingPyramid": ".modules.blocks",
    "SeparateFCs": ".modules.blocks",
    "SeparateBNNecks": ".modules.blocks",
    "BasicConv2d": ".modules.blocks",
    "BasicBlock": ".modules.backbones",
    "ResNet9": ".modules.backbones",
    # configs, projects, errors
    "load_config": ".config",
    "find_project": ".project",
    "GaitgenError": ".errors",
}

__all__ = sorted(_EXPORTS)


__getattr__, __dir__ = lazy_exports(__name__, _EXPORTS)


if TYPE_CHECKING:  # pragma: no cover - for type checkers and IDEs only
    from .config import load_config
    from .errors import GaitgenError
    from .losses.aggregator import LossAggregator
    from .losses.base import BaseLoss, gather_and_scale_wrapper
    from .losses.softmax import CrossEntropyLoss
    from .losses.triplet import TripletLoss
    from .model import BaseModel
    from .models.baseline import Baseline
    from .modules.backbones import BasicBlock, ResNet9
    from .modules.blocks import (
        BasicConv2d,
        HorizontalPoolingPyramid,
        PackSequenceWrapper,
        SeparateBNNecks,
        SeparateFCs,
        SetBlockWrapper,
    )
    from .project import find_project
