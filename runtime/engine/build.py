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
    set before the scheduler is built, as OpenGait does. The caller checks the schedule's
    length against the training (:func:`check_schedule_length`), after restoring its state
    when it resumes one."""
    with phase("building the optimizer and scheduler"):
        optimizer = model.get_optimizer(cfgs["optimizer_cfg"])
        model.optimizer = optimizer
        return optimizer, model.get_scheduler(cfgs["scheduler_cfg"])


def check_schedule_length(
    scheduler: Any,
    cfgs: dict[str, Any],
    where: str,
    iteration: int = 0,
    restored_from: Any = None,
) -> None:
    """A scheduler with a fixed number of steps (OneCycleLR's ``total_steps``) cannot step past
    it: training on to a ``total_iter`` it does not reach (a resume that extends the run, say)
    would fail at that iteration, so it is refused before the first one.

    Args:
        scheduler: the scheduler, its state restored if the run resumes (it steps once per
            iteration from ``scheduler.last_epoch``).
        cfgs: the resolved config (``trainer_cfg.total_iter``).
        where: the config file, for the message.
        iteration: the iteration training starts from.
        restored_from: the checkpoint the scheduler's state came from (its ``total_steps``
            then are the checkpoint's, whatever the config now says), or None.

    Raises:
        ConfigError: the schedule ends before ``trainer_cfg.total_iter``.
    """
    steps = getattr(scheduler, "total_steps", None)
    total_iter = cfgs.get("trainer_cfg", {}).get("total_iter")
    if not (isinstance(steps, int) and isinstance(total_iter, int)):
        return
    done = max(int(getattr(scheduler, "last_epoch", 0)), 0)
    if done + (total_iter - iteration) <= steps:
        return
    name = type(scheduler).__name__
    if restored_from is None:
        raise ConfigError(
            f"{where}: trainer_cfg.total_iter is {total_iter}, but scheduler_cfg's {name} "
            f"takes {steps} steps (total_steps) and cannot step past them; set "
            f"scheduler_cfg.total_steps to {total_iter - iteration + done} or more, or train "
            f"to {iteration + steps - done} at most"
        )
    raise ConfigError(
        f"{where}: trainer_cfg.total_iter is {total_iter}, but the {name} schedule restored "
        f"from {restored_from} is at step {done} of its {steps} and cannot step past them; "
        f"train to {iteration + steps - done} at most, or start a new schedule here with "
        f"--set trainer_cfg.scheduler_reset=true --set scheduler_cfg.total_steps="
        f"{total_iter - iteration}"
    )


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
