"""The data layer: OpenGait's layout, safe loading, samplers, transforms and the loader.

Public names are imported lazily, so ``gaitgen.runtime.data.prepare`` and ``.check`` (numpy
and Pillow only) do not import torch.
"""

from __future__ import annotations

from typing import TYPE_CHECKING

from ..lazy import lazy_exports

_EXPORTS: dict[str, str] = {
    "build_loader": ".loader",
    "build_sampler": ".loader",
    "GaitDataLoader": ".loader",
    "GaitDataSet": ".dataset",
    "GaitCollate": ".collate",
    "load_sequence_file": ".io",
    "TripletSampler": ".sampler",
    "InferenceSampler": ".sampler",
    "CommonSampler": ".sampler",
    "get_transform": ".transforms",
    "SequenceTransform": ".transform_base",
    "FrameSampling": ".frames",
}

__all__ = [
    "CommonSampler",
    "FrameSampling",
    "GaitCollate",
    "GaitDataLoader",
    "GaitDataSet",
    "InferenceSampler",
    "SequenceTransform",
    "TripletSampler",
    "build_loader",
    "build_sampler",
    "get_transform",
    "load_sequence_file",
]


__getattr__, __dir__ = lazy_exports(__name__, _EXPORTS)


if TYPE_CHECKING:  # pragma: no cover
    from .collate import GaitCollate
    from .dataset import GaitDataSet
    from .frames import FrameSampling
    from .io import load_sequence_file
    from .loader import GaitDataLoader, build_loader, build_sampler
    from .sampler import CommonSampler, InferenceSampler, TripletSampler
    from .transform_base import SequenceTransform
    from .transforms import get_transform
