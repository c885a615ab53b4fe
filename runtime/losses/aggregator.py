"""Sum the configured losses over a model's ``training_feat`` (OpenGait's LossAggregator)."""

from __future__ import annotations

from collections.abc import Callable, Mapping
from typing import Any

import torch
from torch import nn

from ..errors import ConfigError, TrainingError
from .base import BaseLoss


class LossAggregator(nn.Module):
    """Build the losses of ``loss_cfg`` and sum them over ``training_feat``.

    Each ``loss_cfg`` entry names a loss class (``type``), the ``training_feat`` key it reads
    (``log_prefix``), its ``loss_term_weight`` and its own parameters. In the forward pass each
    dict entry of ``training_feat`` is passed as keyword arguments to the loss with that prefix;
    a bare tensor entry is added to the sum as it is.

    Args:
        loss_cfg: one entry (dict) or a list of entries.
        resolve: maps a ``type`` name to a loss class (the project-aware registry).
    """

    def __init__(self, loss_cfg: Mapping | list, resolve: Callable[[str], type]):
        super().__init__()
        entries = [loss_cfg] if isinstance(loss_cfg, Mapping) else list(loss_cfg)
        self.losses = nn.ModuleDict()
        for index, entry in enumerate(entries):
            where = f"loss_cfg[{index}]" if not isinstance(loss_cfg, Mapping) else "loss_cfg"
            loss = build_loss(entry, resolve, where)
            prefix = entry.get("log_prefix", entry["type"])
            if prefix in self.losses:
                raise ConfigError(
                    f"{where}.log_prefix: {prefix!r} is used by two losses; "
                    "give each loss its own log_prefix"
                )
            self.losses[prefix] = loss

    @property
    def prefixes(self) -> list[str]:
        return list(self.losses.keys())

    def forward(self, training_feat: Mapping[str, Any]) -> tuple[torch.Tensor, dict[str, Any]]:
        """Return the weighted loss sum and the values to log (``scalar/<prefix>/<name>``)."""
        total: torch.Tensor | float = 0.0
        info: dict[str, Any] = {}
        for key, value in training_feat.items():
            if key in self.losses:
                loss_fn = self.losses[key]
                if not isinstance(value, Mapping):
                    raise TrainingError(
                        f"training_feat[{key!r}] must be a dict of keyword arguments for "
                        f"{type(loss_fn).__name__}.forward, got {type(value).__name__}"
                    )
                loss, loss_info = loss_fn(**value)
                for name, logged in loss_info.items():
                    info[f"scalar/{key}/{name}"] = logged
                total = total + loss.mean() * loss_fn.loss_term_weight
            elif isinstance(value, torch.Tensor):
                total = total + value.mean()
                info[f"scalar/{key}"] = value.detach().mean()
            else:
                raise TrainingError(
                    f"training_feat key {key!r} has no loss: the configured loss_cfg log_prefix "
                    f"values are {self.prefixes}; add a loss_cfg entry with log_prefix: {key} "
                    "or remove the key from the model's training_feat"
                )
        if not isinstance(total, torch.Tensor):
            raise TrainingError(
                "the model's training_feat produced no loss at all "
                f"(keys: {list(training_feat)}; configured prefixes: {self.prefixes})"
            )
        return total, info


def build_loss(entry: Mapping, resolve: Callable[[str], type], where: str = "loss_cfg") -> BaseLoss:
    """Instantiate one loss_cfg entry, reporting bad parameters with the key path."""
    if not isinstance(entry, Mapping) or "type" not in entry:
        raise ConfigError(f"{where}: each loss needs a 'type' (a loss class name), got {entry!r}")
    cls = resolve(entry["type"])
    params = {k: v for k, v in entry.items() if k not in ("type", "log_prefix")}
    from ..config.validate import check_call_arguments

    check_call_arguments(cls, params, f"{where} ({entry['type']})")
    loss = cls(**params)
    if not isinstance(loss, BaseLoss):
        raise ConfigError(f"{where}.type: {entry['type']} is not a BaseLoss subclass")
    return loss
