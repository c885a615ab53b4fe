"""The helpers of OpenGait's ``utils`` package that model files import, for ported models.

``gaitgen port`` rewrites ``from utils import clones, is_list_or_tuple`` (and the relative
forms) to ``from gaitgen.runtime.compat import ...``. They behave as OpenGait's do, except
that nothing here moves tensors to CUDA by itself: ``np2var``/``list2var`` return tensors
on the CPU, and the runtime moves the model and its inputs to the run's device.
"""

from __future__ import annotations

import logging
from collections.abc import Mapping, Sequence
from typing import Any

import numpy as np
import torch
from torch import nn

from .modules.blocks import clones

__all__ = [
    "clones",
    "get_attr_from",
    "get_msg_mgr",
    "get_valid_args",
    "is_bool",
    "is_dict",
    "is_int",
    "is_list",
    "is_list_or_tuple",
    "is_str",
    "is_tensor",
    "is_array",
    "list2var",
    "np2var",
    "params_count",
    "ts2np",
    "ddp_all_gather",
]

log = logging.getLogger("gaitgen")


def is_list_or_tuple(value: Any) -> bool:
    return isinstance(value, (list, tuple))


def is_list(value: Any) -> bool:
    return isinstance(value, (list, nn.ModuleList))


def is_dict(value: Any) -> bool:
    return isinstance(value, Mapping)


def is_bool(value: Any) -> bool:
    return isinstance(value, bool)


def is_int(value: Any) -> bool:
    return isinstance(value, int)


def is_str(value: Any) -> bool:
    return isinstance(value, str)


def is_tensor(value: Any) -> bool:
    return isinstance(value, torch.Tensor)


def is_array(value: Any) -> bool:
    return isinstance(value, np.ndarray)


def ts2np(tensor: torch.Tensor) -> np.ndarray:
    """A tensor as a numpy array (detached, on the CPU)."""
    return tensor.detach().cpu().numpy()


def np2var(array: np.ndarray, **kwargs: Any) -> torch.Tensor:
    """A numpy array as a tensor; ``requires_grad`` is honoured, the device is left alone."""
    tensor = torch.from_numpy(array)
    return tensor.requires_grad_(bool(kwargs.get("requires_grad", False)))


def list2var(values: Sequence[Any], **kwargs: Any) -> torch.Tensor:
    return np2var(np.array(values), **kwargs)


def get_valid_args(
    target: Any, arguments: Mapping[str, Any], free_keys: Sequence[str] = ()
) -> dict[str, Any]:
    """The entries of ``arguments`` that ``target`` (a function or a class) accepts.

    Others are dropped with a log line, as OpenGait does, except those in ``free_keys``,
    which are dropped silently.
    """
    from .components import accepted_parameters

    if not callable(target):
        raise TypeError(f"get_valid_args takes a function or a class, got {type(target).__name__}")
    accepted = set(accepted_parameters(target))
    kept = {key: value for key, value in arguments.items() if key in accepted}
    dropped = [key for key in arguments if key not in accepted and key not in free_keys]
    if dropped:
        log.info("%s: ignoring unexpected arguments %s", target.__name__, ", ".join(dropped))
    return kept


def get_attr_from(sources: Sequence[Any], name: str) -> Any:
    """``name`` from the first of ``sources`` that has it (AttributeError names them all)."""
    for source in sources:
        if hasattr(source, name):
            return getattr(source, name)
    where = ", ".join(getattr(s, "__name__", repr(s)) for s in sources)
    raise AttributeError(f"none of {where} has {name!r}")


class _MessageManager:
    """What models call on OpenGait's message manager, sent to the ``gaitgen`` logger."""

    def log_info(self, *messages: Any) -> None:
        log.info(" ".join(str(m) for m in messages))

    def log_warning(self, *messages: Any) -> None:
        log.warning(" ".join(str(m) for m in messages))

    def log_debug(self, *messages: Any) -> None:
        log.debug(" ".join(str(m) for m in messages))


_MANAGER = _MessageManager()


def get_msg_mgr() -> _MessageManager:
    """OpenGait's ``get_msg_mgr()``: ``log_info``/``log_warning``/``log_debug``."""
    return _MANAGER


def params_count(net: nn.Module) -> str:
    count = sum(p.numel() for p in net.parameters())
    return f"Parameters Count: {count / 1e6:.5f}M"


def ddp_all_gather(features: torch.Tensor, dim: int = 0, requires_grad: bool = True) -> Any:
    """All ranks' ``features`` joined along ``dim`` (the local slice keeps its gradient).

    Without a process group (one process) it returns ``features`` unchanged.
    """
    import torch.distributed as dist

    if not (dist.is_available() and dist.is_initialized()):
        return features
    parts = [torch.empty_like(features) for _ in range(dist.get_world_size())]
    dist.all_gather(parts, features.contiguous())
    if requires_grad:
        parts[dist.get_rank()] = features
    return torch.cat(parts, dim=dim)
