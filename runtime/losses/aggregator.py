"""Sum the configured losses over a model's ``training_feat`` (OpenGait's LossAggregator)."""

from __future__ import annotations

import inspect
from collections.abc import Mapping
from typing import Any

import torch
from torch import nn

from ..components import build
from ..components.arguments import signature_of
from ..errors import ConfigError, TrainingError
from ..project import Project
from .base import BaseLoss
from .routing import INPUTS_FROM, inputs_from_problem, log_prefix


class LossAggregator(nn.Module):
    """Build the losses of ``loss_cfg`` and sum them over ``training_feat``.

    Each ``loss_cfg`` entry names a loss class (``type``), the ``training_feat`` key it reads
    (``log_prefix``), its ``loss_term_weight`` and its own parameters. In the forward pass each
    dict entry of ``training_feat`` is passed as keyword arguments to the loss with that prefix;
    a bare tensor entry is added to the sum as it is. An entry with ``inputs_from: <prefix>``
    takes the arguments the model returned under that other prefix, keeping those its
    ``forward`` accepts (``TripletLoss``'s ``embeddings``/``labels`` fit a loss of embeddings
    and labels; a dict that also holds ``logits`` gives it no ``logits``): the rule is in
    :mod:`gaitgen.runtime.losses.routing`.

    Args:
        loss_cfg: one entry (dict) or a list of entries.
        project: the project whose own losses a ``type`` may name (None: built-ins and
            dotted paths only).
    """

    def __init__(self, loss_cfg: Mapping | list, project: Project | None = None):
        super().__init__()
        entries = [loss_cfg] if isinstance(loss_cfg, Mapping) else list(loss_cfg)
        self.losses = nn.ModuleDict()
        # log_prefix -> the prefix whose training_feat arguments it takes (inputs_from)
        self.inputs_from: dict[str, str] = {}
        # log_prefix -> where its entry is ("loss_cfg[1]"), for messages
        self.entry_names: dict[str, str] = {}
        for index, entry in enumerate(entries):
            where = f"loss_cfg[{index}]" if not isinstance(loss_cfg, Mapping) else "loss_cfg"
            loss = build_loss(entry, where, project)
            prefix = log_prefix(entry)
            if prefix in self.losses:
                raise ConfigError(
                    f"{where}.log_prefix: {prefix!r} is used by two losses; "
                    "give each loss its own log_prefix"
                )
            self.losses[prefix] = loss
            self.entry_names[prefix] = where
            if INPUTS_FROM in entry:
                self.inputs_from[prefix] = entry[INPUTS_FROM]
        problem = inputs_from_problem(entries)
        if problem is not None:
            index, message = problem
            where = "loss_cfg" if isinstance(loss_cfg, Mapping) else f"loss_cfg[{index}]"
            raise ConfigError(f"{where}.{INPUTS_FROM}: {message}")

    @property
    def prefixes(self) -> list[str]:
        return list(self.losses.keys())

    def source_of(self, prefix: str) -> str:
        """The ``training_feat`` key that feeds the loss with this ``log_prefix``."""
        return self.inputs_from.get(prefix, prefix)

    def describe(self, prefix: str) -> str:
        """``loss_cfg[2] (MyLoss, log_prefix 'myloss', inputs_from 'triplet')``."""
        name = type(self.losses[prefix]).__name__
        borrowed = (
            f", inputs_from {self.inputs_from[prefix]!r}" if prefix in self.inputs_from else ""
        )
        return f"{self.entry_names[prefix]} ({name}, log_prefix {prefix!r}{borrowed})"

    def routing_problems(self, training_feat: Mapping[str, Any]) -> list[str]:
        """What keeps ``training_feat`` from feeding exactly the configured losses.

        A dict key with no loss of that prefix, a loss whose key (its own or its
        ``inputs_from``) is missing, and a loss with ``inputs_from`` whose own prefix the
        model also returns (two sources for one loss). Empty when the routing is sound.
        """
        problems = []
        for key, value in training_feat.items():
            if key not in self.losses and not isinstance(value, torch.Tensor):
                problems.append(
                    f"training_feat key {key!r} has no loss: the configured loss_cfg log_prefix "
                    f"values are {self.prefixes}; add a loss_cfg entry with log_prefix: {key} "
                    "or remove the key from the model's training_feat"
                )
        for prefix in self.losses:
            source = self.source_of(prefix)
            if source not in training_feat:
                via = f" takes its arguments from {source!r}, but" if source != prefix else ""
                problems.append(
                    f"{self.describe(prefix)} gets nothing:{via} the model's training_feat has "
                    f"keys {list(training_feat)}; set the loss's log_prefix (or inputs_from) to "
                    "one of them, or make the model return that key"
                )
            elif source != prefix and prefix in training_feat:
                problems.append(
                    f"{self.describe(prefix)} has two sources: the model's training_feat has "
                    f"its own {prefix!r} entry too; remove inputs_from from the entry, or the "
                    "key from the model"
                )
        return problems

    def loss_terms(
        self, training_feat: Mapping[str, Any]
    ) -> tuple[dict[str, torch.Tensor], dict[str, Any]]:
        """Each loss's weighted term (and each bare tensor's mean), by key, and what to log.

        Raises:
            TrainingError: the routing does not fit (see :meth:`routing_problems`), or the
                arguments do not fit a loss.
        """
        problems = self.routing_problems(training_feat)
        if problems:
            raise TrainingError(problems[0])
        terms: dict[str, torch.Tensor] = {}
        info: dict[str, Any] = {}
        for key, value in training_feat.items():  # in the model's order, as OpenGait sums
            if isinstance(value, torch.Tensor) and key not in self.losses:
                terms[key] = value.mean()  # a bare tensor: added to the sum as it is
                info[f"scalar/{key}"] = value.detach().mean()
                continue
            for prefix in self.losses:
                if self.source_of(prefix) == key:
                    terms[prefix] = self._term(prefix, key, value, info)
        return terms, info

    def _term(self, prefix: str, key: str, arguments: Any, info: dict[str, Any]) -> torch.Tensor:
        """One loss on ``training_feat[key]``: its weighted mean; its values logged in ``info``."""
        loss_fn = self.losses[prefix]
        if not isinstance(arguments, Mapping):
            raise TrainingError(
                f"training_feat[{key!r}] must be a dict of keyword arguments for "
                f"{type(loss_fn).__name__}.forward, got {type(arguments).__name__}"
            )
        if key == prefix:
            check_loss_arguments(key, loss_fn, arguments)
        else:
            arguments = accepted_arguments(loss_fn, arguments)
            try:
                check_loss_arguments(key, loss_fn, arguments)
            except TrainingError as exc:
                raise TrainingError(
                    f"{self.describe(prefix)}: {exc}; or point inputs_from at a loss whose "
                    "arguments fit"
                ) from None
        loss, loss_info = loss_fn(**arguments)
        for name, logged in loss_info.items():
            info[f"scalar/{prefix}/{name}"] = logged
        return loss.mean() * loss_fn.loss_term_weight

    def forward(self, training_feat: Mapping[str, Any]) -> tuple[torch.Tensor, dict[str, Any]]:
        """Return the weighted loss sum and the values to log (``scalar/<prefix>/<name>``)."""
        terms, info = self.loss_terms(training_feat)
        if not terms:
            raise TrainingError(
                "the model's training_feat produced no loss at all "
                f"(keys: {list(training_feat)}; configured prefixes: {self.prefixes})"
            )
        return sum(terms.values()), info


def accepted_arguments(loss_fn: BaseLoss, arguments: Mapping[str, Any]) -> dict[str, Any]:
    """The ``arguments`` that ``loss_fn.forward`` takes by name (all of them with ``**kwargs``)."""
    signature = signature_of(loss_fn.forward)
    if signature is None or signature.var_keyword:
        return dict(arguments)
    return {key: value for key, value in arguments.items() if key in signature.defaults}


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
    signature = signature_of(loss_fn.forward)
    if signature is not None and not signature.var_keyword:
        accepted = list(signature.defaults)
        required = [
            p for p, default in signature.defaults.items() if default is inspect.Parameter.empty
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
