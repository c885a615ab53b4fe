"""Sum the configured losses over a model's ``training_feat`` (OpenGait's LossAggregator)."""

from __future__ import annotations

import inspect
from collections.abc import Mapping
from typing import Any

import torch
from torch import nn

from ..components import build
from ..errors import ConfigError, TrainingError
from ..project import Project
from .base import BaseLoss


class LossAggregator(nn.Module):
    """Build the losses of ``loss_cfg`` and sum them over ``training_feat``.

    Each ``loss_cfg`` entry names a loss class (``type``), the ``training_feat`` key it reads
    (``log_prefix``), its ``loss_term_weight`` and its own parameters. In the forward pass each
    dict entry of ``training_feat`` is passed as keyword arguments to the loss with that prefix;
    a bare tensor entry is added to the sum as it is.

    Args:
        loss_cfg: one entry (dict) or a list of entries.
        project: the project whose own losses a ``type`` may name (None: built-ins and
            dotted paths only).
    """

    def __init__(self, loss_cfg: Mapping | list, project: Project | None = None):
        super().__init__()
        entries = [loss_cfg] if isinstance(loss_cfg, Mapping) else list(loss_cfg)
        self.losses = nn.ModuleDict()
        for index, entry in enumerate(entries):
            where = f"loss_cfg[{index}]" if not isinstance(loss_cfg, Mapping) else "loss_cfg"
            loss = build_loss(entry, where, project)
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
            if key not in self.losses and not isinstance(value, torch.Tensor):
                raise TrainingError(
                    f"training_feat key {key!r} has no loss: the configured loss_cfg log_prefix "
                    f"values are {self.prefixes}; add a loss_cfg entry with log_prefix: {key} "
                    "or remove the key from the model's training_feat"
                )
        unfed = [prefix for prefix in self.losses if prefix not in training_feat]
        if unfed:
            names = ", ".join(f"{type(self.losses[p]).__name__} (log_prefix {p!r})" for p in unfed)
            raise TrainingError(
                f"loss_cfg: {names} gets nothing: the model's training_feat has keys "
                f"{list(training_feat)}; set the loss's log_prefix to one of them, or make the "
                "model return that key"
            )
        for key, value in training_feat.items():
            if key in self.losses:
                loss_fn = self.losses[key]
                if not isinstance(value, Mapping):
                    raise TrainingError(
                        f"training_feat[{key!r}] must be a dict of keyword arguments for "
                        f"{type(loss_fn).__name__}.forward, got {type(value).__name__}"
                    )
                check_loss_arguments(key, loss_fn, value)
                loss, loss_info = loss_fn(**value)
                for name, logged in loss_info.items():
                    info[f"scalar/{key}/{name}"] = logged
                total = total + loss.mean() * loss_fn.loss_term_weight
            else:  # a bare tensor: added to the sum as it is (checked above)
                total = total + value.mean()
                info[f"scalar/{key}"] = value.detach().mean()
        if not isinstance(total, torch.Tensor):
            raise TrainingError(
                "the model's training_feat produced no loss at all "
                f"(keys: {list(training_feat)}; configured prefixes: {self.prefixes})"
            )
        return total, info


def _shape(value: Any) -> str:
    return str(list(value.shape)) if isinstance(value, torch.Tensor) else type(value).__name__


def check_loss_arguments(key: str, loss_fn: BaseLoss, arguments: Mapping[str, Any]) -> None:
    """Raise a TrainingError naming the loss and the key when its arguments cannot fit.

    Checks the names against the loss's ``forward`` signature, the dimensions a loss declares
    in ``input_dims`` (e.g. TripletLoss: embeddings 3-D [n, c, p], labels 1-D [n]), and that
    every per-sample tensor has one row per label.
    """
    name = type(loss_fn).__name__
    where = f"training_feat[{key!r}]"
    signature = inspect.signature(loss_fn.forward)
    parameters = signature.parameters.values()
    if not any(p.kind is p.VAR_KEYWORD for p in parameters):
        accepted = [
            p.name for p in parameters if p.kind in (p.POSITIONAL_OR_KEYWORD, p.KEYWORD_ONLY)
        ]
        required = [
            p.name
            for p in parameters
            if p.default is p.empty and p.kind in (p.POSITIONAL_OR_KEYWORD, p.KEYWORD_ONLY)
        ]
        missing = [arg for arg in required if arg not in arguments]
        unexpected = [arg for arg in arguments if arg not in accepted]
        if missing or unexpected:
            problems = ([f"missing {missing}"] if missing else []) + (
                [f"unexpected {unexpected}"] if unexpected else []
            )
            raise TrainingError(
                f"{where} does not fit {name}.forward({', '.join(accepted)}): "
                f"{'; '.join(problems)}; the model must return those keys under {key!r}"
            )
    for argument, dims in getattr(loss_fn, "input_dims", {}).items():
        value = arguments.get(argument)
        if isinstance(value, torch.Tensor) and value.dim() != dims:
            raise TrainingError(
                f"{where}[{argument!r}] must have {dims} dimensions for {name} "
                f"({loss_fn.input_layout.get(argument, '')}), got shape {_shape(value)}"
            )
    labels = arguments.get("labels")
    if isinstance(labels, torch.Tensor) and labels.dim() == 1:
        for argument, value in arguments.items():
            if (
                argument != "labels"
                and isinstance(value, torch.Tensor)
                and value.dim() > 0
                and value.shape[0] != labels.shape[0]
            ):
                raise TrainingError(
                    f"{where}[{argument!r}] has {value.shape[0]} rows (shape {_shape(value)}) "
                    f"but labels has {labels.shape[0]}: {name} needs one row per sequence"
                )


def build_loss(entry: Any, where: str = "loss_cfg", project: Project | None = None) -> BaseLoss:
    """Instantiate one loss_cfg entry, reporting bad parameters with the key path."""
    if not isinstance(entry, Mapping) or "type" not in entry:
        raise ConfigError(f"{where}: each loss needs a 'type' (a loss class name), got {entry!r}")
    return build("loss", entry, where=where, project=project)
