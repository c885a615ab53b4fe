"""Building the model, losses, optimizer and scheduler a config names."""

from __future__ import annotations

from typing import Any

import torch

from ..components import building, get, using_project
from ..error_report import phase
from ..errors import ConfigError
from ..losses.aggregator import LossAggregator
from ..model import BaseModel
from ..project import Project


def build_model(cfgs: dict[str, Any], project: Project | None, is_training: bool) -> BaseModel:
    """Instantiate ``model_cfg.model`` (a built-in, a project class or a dotted path)."""
    with phase("building the model"):
        return _build_model(cfgs, project, is_training)


def _build_model(cfgs: dict[str, Any], project: Project | None, is_training: bool) -> BaseModel:
    cls = get("model", cfgs["model_cfg"]["model"], project)
    try:
        with using_project(project), building("model", cls):  # its backbone may be the project's
            return cls(cfgs, is_training)
    except KeyError as exc:
        # a model reads its model_cfg keys as OpenGait's do (model_cfg["backbone_cfg"])
        missing = exc.args[0] if exc.args else None
        if not isinstance(missing, str):
            raise
        where = (
            f"model_cfg.{missing}"
            if missing not in cfgs["model_cfg"]
            else f"a key {missing!r} inside model_cfg"
        )
        raise ConfigError(
            f"model_cfg: {cls.__name__} needs {where}, which the config lacks; add it "
            f"(see {cls.__name__}'s starter config or docstring)"
        ) from None


def build_optimization(model: BaseModel, cfgs: dict[str, Any]) -> tuple[Any, Any]:
    """The optimizer and scheduler, through the model's hooks (OpenGait's ``get_optimizer`` /
    ``get_scheduler``, which a model overrides for parameter groups); ``model.optimizer`` is
    set before the scheduler is built, as OpenGait does."""
    with phase("building the optimizer and scheduler"):
        optimizer = model.get_optimizer(cfgs["optimizer_cfg"])
        model.optimizer = optimizer
        return optimizer, model.get_scheduler(cfgs["scheduler_cfg"])


def build_losses(cfgs: dict[str, Any], project: Project | None) -> LossAggregator:
    with phase("building the losses"):
        return LossAggregator(cfgs["loss_cfg"], project)


def move_inputs(inputs: list[Any], device: torch.device) -> list[Any]:
    """Move OpenGait's ``[ipts, labs, typs, viws, seqL]`` tensors to ``device``.

    The loader's uint8 ``ipts`` are converted to float32 there (``x / 255``...: the value
    maps they carry), bit-identical to a float batch; float ``ipts`` are only moved. A batch
    of two views of each sequence (``BilateralSampler``'s) is then split into
    ``[(ipts_1, ipts_2), labs, typs, viws, (seqL_1, seqL_2)]``
    (:func:`gaitgen.runtime.data.batch.split_views`); one already split is moved as it is.
    """
    from ..data.batch import finish_inputs, is_two_views, split_views

    ipts, labs, typs, viws, seqL = inputs
    non_blocking = device.type == "cuda"

    def moved(lengths: Any) -> Any:
        return None if lengths is None else lengths.to(device, non_blocking=non_blocking)

    labs = labs.to(device, non_blocking=non_blocking)
    if is_two_views(ipts):
        views = tuple(finish_inputs(view, device) for view in ipts)
        return [views, labs, typs, viws, tuple(moved(lengths) for lengths in seqL)]
    two_views = getattr(ipts, "views", 1) == 2
    moved_inputs = [finish_inputs(ipts, device), labs, typs, viws, moved(seqL)]
    return split_views(moved_inputs) if two_views else moved_inputs


def set_batchnorm_eval(model: torch.nn.Module) -> None:
    """``fix_BN``: keep every batch-norm layer in eval mode (frozen running statistics)."""
    for module in model.modules():
        if isinstance(module, torch.nn.modules.batchnorm._BatchNorm):
            module.eval()
