"""The loss contract (README.md, "Models and losses"): BaseLoss and gather_and_scale_wrapper."""

from __future__ import annotations

import functools
from collections.abc import Callable
from typing import Any

import torch
from torch import nn

from ..distributed import all_gather_with_grad, world_size_if_distributed


class BaseLoss(nn.Module):
    """Base class of every loss.

    Subclasses implement ``forward(**training_feat[log_prefix])`` and return ``(loss, self.info)``;
    ``self.info`` holds the values to log (tensors or numbers), under the loss's ``log_prefix``.

    A loss may declare the dimensions of its tensor arguments in ``input_dims`` (and their
    layout, for the message, in ``input_layout``): the aggregator then names the loss and the
    key when a model passes a tensor of another shape.

    Args:
        loss_term_weight: factor applied to this loss in the total (OpenGait's name).
    """

    input_dims: dict[str, int] = {}
    input_layout: dict[str, str] = {}

    def __init__(self, loss_term_weight: float = 1.0):
        super().__init__()
        self.loss_term_weight = float(loss_term_weight)
        self.info: dict[str, Any] = {}

    def forward(self, *args: Any, **kwargs: Any) -> tuple[torch.Tensor, dict[str, Any]]:
        raise NotImplementedError(
            f"{type(self).__name__} must implement forward(...) returning (loss, self.info)"
        )


def gather_and_scale_wrapper(func: Callable[..., Any]) -> Callable[..., Any]:
    """Make a pairwise loss see the whole distributed batch.

    Under torch.distributed with more than one process, every keyword tensor is gathered from
    all ranks (the local slice keeps its gradient), the loss is computed on the full batch and
    multiplied by the world size: DDP averages gradients over ranks, so the result is the
    gradient of the full-batch loss. With one process it calls ``func`` unchanged. Errors
    raised by the loss propagate as they are.
    """

    @functools.wraps(func)
    def wrapper(self: BaseLoss, *args: Any, **kwargs: Any) -> Any:
        world_size = world_size_if_distributed()
        if world_size == 1:
            return func(self, *args, **kwargs)
        gathered = {
            key: all_gather_with_grad(value) if isinstance(value, torch.Tensor) else value
            for key, value in kwargs.items()
        }
        loss, info = func(self, *args, **gathered)
        return loss * world_size, info

    return wrapper
