"""One training step and one inference step, the same for every caller.

:class:`TrainStep` is what ``gaitgen train`` (:mod:`.trainer`), ``gaitgen check``
(:mod:`.check`) and the generated tests (:func:`gaitgen.runtime.testing.check_config`) run:
the forward under float16 autocast (``enable_float16`` on CUDA), the loss sum, a finite check
of the loss before anything is updated (all ranks agree), backward through the grad scaler,
the optimizer step and the scheduler step, with the staples a config turns on
(:mod:`.staples`): the gradients of several batches summed (DDP's all-reduce on the last
only), clipped once unscaled, the warmup's share of the scheduled rate and the weights' EMA. :class:`InferenceStep` is what the test phase
(:mod:`.tester`), ``gaitgen extract`` and ``gaitgen check`` run: the forward under
``no_grad`` and autocast and the embeddings, checked to be [n, c, p] with one per sequence.
Both take a batch through :func:`model_inputs` first: a raw batch (for a model that overrides
OpenGait's ``inputs_pretreament``) goes through that method, then the batch is moved.

    step = TrainStep(model, losses, optimizer, scheduler, device, enable_float16=True)
    result = step(batch, iteration=0)        # raises NonFiniteLoss, nothing updated
    result = step.run([batch1, batch2], iteration=1)   # trainer_cfg.grad_accumulation: 2
    embeddings = InferenceStep(model.eval(), device)(test_batch)   # [n, c, p]
"""

from __future__ import annotations

import contextlib
import math
from collections.abc import Sequence
from dataclasses import dataclass
from typing import Any

import torch
import torch.distributed as dist

from ..data.batch import RawSequences
from ..errors import TrainingError
from ..model import PRETREATMENT, check_embeddings, check_model_output
from .build import move_inputs
from .staples import Staples


def autocast(device: torch.device, use_amp: bool) -> contextlib.AbstractContextManager:
    """float16 autocast on CUDA when ``use_amp``; a context that does nothing otherwise."""
    if use_amp and device.type == "cuda":
        return torch.autocast("cuda", dtype=torch.float16)
    return contextlib.nullcontext()


def model_inputs(model: torch.nn.Module, inputs: list[Any], device: torch.device) -> list[Any]:
    """A batch as the model's forward takes it, on ``device``.

    A raw batch (``ipts`` a :class:`~gaitgen.runtime.data.batch.RawSequences`: the loader of a
    model that overrides ``inputs_pretreament``) goes through ``model.inputs_pretreament``
    first, in OpenGait's layout (numpy arrays); any batch is then moved to ``device`` (the
    loader's uint8 ``ipts`` finished there, see :func:`.build.move_inputs`). A batch already
    moved comes back unchanged, so calling this twice is harmless.

    Raises:
        TrainingError: the model has no ``inputs_pretreament``, or it returned something
            other than ``[ipts, labs, typs, viws, seqL]`` with one tensor per modality.
    """
    if isinstance(inputs[0], RawSequences):
        name = type(model).__name__
        pretreat = getattr(model, PRETREATMENT, None)
        if pretreat is None:
            raise TrainingError(
                f"{name} has no {PRETREATMENT}, which this raw batch needs: subclass "
                "gaitgen.runtime.BaseModel"
            )
        inputs = _pretreated(pretreat([inputs[0].numpy(), *inputs[1:]]), name)
    return move_inputs(inputs, device)


def _pretreated(inputs: Any, name: str) -> list[Any]:
    """What an ``inputs_pretreament`` returned, checked; ``labs``/``seqL`` made tensors."""
    shape = f"{name}.{PRETREATMENT} must return [ipts, labs, typs, viws, seqL] with ipts a list "
    if not isinstance(inputs, (list, tuple)) or len(inputs) != 5:
        raise TrainingError(
            shape + f"of tensors (as BaseModel's does), got {type(inputs).__name__}"
        )
    ipts, labs, typs, viws, seq_l = inputs
    if not isinstance(ipts, (list, tuple)) or not all(isinstance(x, torch.Tensor) for x in ipts):
        raise TrainingError(
            shape + "of tensors (one per modality; end with "
            f"super().{PRETREATMENT}(new_inputs) to get them)"
        )
    labs = torch.as_tensor(labs, dtype=torch.long)
    if seq_l is not None:
        seq_l = torch.as_tensor(seq_l, dtype=torch.long)
    return [list(ipts), labs, typs, viws, seq_l]


def loss_number(value: Any) -> float:
    """A loss term as one float (the mean of a tensor; NaN for what is not a number)."""
    if isinstance(value, torch.Tensor):
        return float(value.detach().float().mean())
    try:
        return float(value)
    except (TypeError, ValueError):
        return math.nan


class NonFiniteLoss(TrainingError):
    """The loss of a step is NaN or infinite; no gradient, weight or schedule was updated.

    Attributes:
        iteration: the iteration the step would have completed (1 for the first step).
        loss_sum: the loss sum, detached.
        terms: each loss term as a float.
    """

    def __init__(self, iteration: int, loss_sum: torch.Tensor, terms: dict[str, float]):
        self.iteration = iteration
        self.loss_sum = loss_sum
        self.terms = terms
        super().__init__(
            f"the loss is not finite at iteration {iteration} (loss sum "
            f"{loss_number(loss_sum)}; terms {terms}). Lower optimizer_cfg.lr, check the data, "
            "or resume with trainer_cfg.restore_hint"
        )


@dataclass
class StepResult:
    """What one training step gives back.

    Attributes:
        loss_sum: the summed loss, detached.
        info: the loss terms to log (``scalar/...``), as the loss aggregator returns them.
        output: the model's output dict (``training_feat``, ``visual_summary``, ...).
    """

    loss_sum: torch.Tensor
    info: dict[str, Any]
    output: dict[str, Any]


class TrainStep:
    """One optimisation step: forward, loss, finite check, backward, optimizer, scheduler.

    Call it (``step(inputs, iteration)``) for the whole step, or its three parts in order
    (:meth:`forward`, :meth:`loss`, :meth:`update`) to look at the output in between, as
    ``gaitgen check`` does. The model's output contract is checked on the first forward.

    Args:
        model: the model (its ``iteration`` attribute is set before each forward).
        losses: the loss aggregator (``training_feat`` -> loss sum, info).
        optimizer: the optimizer.
        scheduler: the learning-rate scheduler, stepped once per step that updated the weights.
        device: where the batches go.
        enable_float16: ``trainer_cfg.enable_float16``: autocast and grad scaling, on CUDA
            only (ignored on the CPU).
        distributed: all ranks agree on the finite check (an all-reduce), so all stop together.
        staples: clipping, warmup and EMA (:class:`.staples.Staples`); none by default.

    Attributes:
        network: the module the forward runs through: ``model``, or the trainer's
            DistributedDataParallel wrapper of it.
        use_amp: whether autocast and grad scaling are on.
        scaler: the grad scaler (a pass-through when ``use_amp`` is off).
    """

    def __init__(
        self,
        model: torch.nn.Module,
        losses: torch.nn.Module,
        optimizer: torch.optim.Optimizer,
        scheduler: Any,
        device: torch.device,
        enable_float16: bool = False,
        distributed: bool = False,
        staples: Staples | None = None,
    ):
        self.model = model
        self.staples = staples if staples is not None else Staples()
        self.network: torch.nn.Module = model
        self.losses = losses
        self.optimizer = optimizer
        self.scheduler = scheduler
        self.device = device
        self.distributed = distributed
        self.use_amp = bool(enable_float16) and device.type == "cuda"
        self.scaler = torch.amp.GradScaler("cuda", enabled=self.use_amp)
        self._output_checked = False

    def autocast(self) -> contextlib.AbstractContextManager:
        """The autocast context of this step's forward and loss."""
        return autocast(self.device, self.use_amp)

    def __call__(self, inputs: list[Any], iteration: int) -> StepResult:
        """The whole step on one batch.

        Args:
            inputs: OpenGait's ``[ipts, labs, typs, viws, seqL]``, on any device.
            iteration: the steps completed before this one (the model reads it).

        Raises:
            NonFiniteLoss: the loss is NaN or infinite (on any rank); nothing was updated.
        """
        return self.run([inputs], iteration)

    def run(self, batches: Sequence[list[Any]], iteration: int) -> StepResult:
        """One optimizer step over the summed gradients of several batches (accumulation).

        Each batch's loss is divided by their number, so k batches of B give the gradient of
        one batch of kB for a loss that averages over its samples. Under DDP the gradients
        are all-reduced with the last batch's backward only (``no_sync`` before).

        Returns:
            The last batch's output and terms; the loss sum averaged over the batches.

        Raises:
            NonFiniteLoss: a batch's loss is NaN or infinite (on any rank); the weights, the
                schedule and the EMA were not updated.
        """
        self.model.iteration = iteration  # OpenGait's models read it (steps completed)
        self.optimizer.zero_grad(set_to_none=True)
        total: torch.Tensor | None = None
        for index, inputs in enumerate(batches):
            last = index == len(batches) - 1
            with self._gradients_kept_local(not last):
                output = self.forward(inputs)
                loss_sum, info = self.loss(output)
                self.backward(loss_sum, info, iteration, len(batches))
            total = loss_sum.detach() if total is None else total + loss_sum.detach()
        self.apply(iteration)
        return StepResult(total / len(batches) if len(batches) > 1 else total, info, output)

    def _gradients_kept_local(self, local: bool) -> contextlib.AbstractContextManager:
        """DDP's ``no_sync`` around a micro-batch whose gradients are not all-reduced yet."""
        no_sync = getattr(self.network, "no_sync", None)
        return no_sync() if local and no_sync is not None else contextlib.nullcontext()

    def forward(self, inputs: list[Any]) -> dict[str, Any]:
        """The model's output for a batch, under autocast (the contract checked once)."""
        inputs = model_inputs(self.model, inputs, self.device)
        with self.autocast():
            output = self.network(inputs)
        if not self._output_checked:  # the contract is checked once, on the first batch
            check_model_output(output, type(self.model).__name__)
            self._output_checked = True
        return output

    def loss(self, output: dict[str, Any]) -> tuple[torch.Tensor, dict[str, Any]]:
        """The loss sum and the terms to log, from the output's ``training_feat``."""
        with self.autocast():
            return self.losses(output["training_feat"])

    def update(self, loss_sum: torch.Tensor, info: dict[str, Any], iteration: int) -> bool:
        """Check the loss is finite, then backward, optimizer step and scheduler step
        (:meth:`backward` then :meth:`apply`, for one batch).

        Args:
            loss_sum: the loss sum of :meth:`loss`.
            info: its terms (named in the error).
            iteration: the steps completed before this one (named in the error).

        Returns:
            Whether the weights were updated: the grad scaler skips a step whose gradients
            overflowed, and such a step does not advance the schedule.

        Raises:
            NonFiniteLoss: the loss is NaN or infinite (on any rank); nothing was updated.
        """
        self.optimizer.zero_grad(set_to_none=True)
        self.backward(loss_sum, info, iteration)
        return self.apply(iteration)

    def backward(
        self, loss_sum: torch.Tensor, info: dict[str, Any], iteration: int, parts: int = 1
    ) -> None:
        """Check the loss is finite (all ranks agree), then add its gradients, ``loss_sum /
        parts`` through the grad scaler.

        Raises:
            NonFiniteLoss: the loss is NaN or infinite (on any rank); no gradient was added.
        """
        finite = torch.isfinite(loss_sum.detach()).all().to(torch.int32).reshape(1)
        if self.distributed:  # every rank must stop together, or the others hang
            dist.all_reduce(finite, op=dist.ReduceOp.MIN)
        if int(finite.item()) == 0:
            terms = {key: loss_number(value) for key, value in info.items()}
            raise NonFiniteLoss(iteration + 1, loss_sum.detach(), terms)
        self.scaler.scale(loss_sum / parts if parts > 1 else loss_sum).backward()

    def apply(self, iteration: int) -> bool:
        """The optimizer step on the gradients :meth:`backward` added (clipped once
        unscaled), then the scheduler (with the warmup's share), the EMA and the model's hook.

        Returns:
            Whether the weights were updated (the grad scaler skips a step whose gradients
            overflowed; such a step advances neither the schedule nor the EMA).
        """
        staples = self.staples
        if staples.clip_norm is not None or staples.clip_value is not None:
            self.scaler.unscale_(self.optimizer)  # clip the true gradients, not scaled ones
            parameters = [p for p in self.model.parameters() if p.grad is not None]
            if staples.clip_value is not None:
                torch.nn.utils.clip_grad_value_(parameters, staples.clip_value)
            if staples.clip_norm is not None:
                torch.nn.utils.clip_grad_norm_(parameters, staples.clip_norm)
        self.scaler.step(self.optimizer)
        scale_before = self.scaler.get_scale() if self.use_amp else None
        self.scaler.update()
        stepped = not self.use_amp or self.scaler.get_scale() >= scale_before
        if stepped:
            # a step skipped by the scaler does not advance the schedule
            if staples.warmup is not None:
                staples.warmup.step(self.scheduler)
            else:
                self.scheduler.step()
            if staples.ema is not None:
                staples.ema.update(self.model)
            after = getattr(self.model, "after_train_step", None)  # BaseModel's hook
            if after is not None:
                after(iteration + 1)
        return stepped


class InferenceStep:
    """The embeddings of one batch: forward under ``no_grad`` and autocast, then checked.

    The caller puts the model in eval mode. Call it (``step(inputs)``) for the embeddings, or
    :meth:`forward` then :meth:`embeddings` to look at the whole ``inference_feat``.

    Args:
        model: the model.
        device: where the batches go.
        enable_float16: ``evaluator_cfg.enable_float16``: autocast, on CUDA only.
    """

    def __init__(self, model: torch.nn.Module, device: torch.device, enable_float16: bool = False):
        self.model = model
        self.device = device
        self.use_amp = bool(enable_float16) and device.type == "cuda"

    def __call__(self, inputs: list[Any]) -> torch.Tensor:
        """Embeddings [n, c, p] of a batch, one per sequence (see :meth:`embeddings`)."""
        inputs = model_inputs(self.model, inputs, self.device)
        return self.embeddings(self.forward(inputs), inputs)

    def forward(self, inputs: list[Any]) -> dict[str, Any]:
        """The model's output for a batch (the contract checked)."""
        inputs = model_inputs(self.model, inputs, self.device)
        with torch.no_grad(), autocast(self.device, self.use_amp):
            output = self.model(inputs)
        check_model_output(output, type(self.model).__name__)
        return output

    def embeddings(self, output: dict[str, Any], inputs: list[Any]) -> torch.Tensor:
        """``inference_feat['embeddings']`` of an output, checked against its batch.

        Raises:
            TrainingError: no embeddings, not [n, c, p], or not one per sequence of the
                batch; the message names the model and the fix.
        """
        embeddings = output["inference_feat"].get("embeddings")
        return check_embeddings(type(self.model).__name__, embeddings, inputs)

    def outputs(
        self, inputs: list[Any], embeddings: bool = True, arrays: Sequence[str] = ()
    ) -> tuple[torch.Tensor | None, dict[str, torch.Tensor]]:
        """A batch's embeddings (``None`` unless ``embeddings``) and the named arrays of its
        ``inference_feat`` that an evaluation reads besides them (segmentation's ``pred``
        and ``mask``: ``[frames, 1, h, w]``), each as float.

        Raises:
            TrainingError: the embeddings as :meth:`embeddings`; a named array missing or not
                a tensor, naming the model and the entry.
        """
        inputs = model_inputs(self.model, inputs, self.device)
        output = self.forward(inputs)
        named = self.named_arrays(output, arrays)
        return (self.embeddings(output, inputs) if embeddings else None), named

    def named_arrays(self, output: dict[str, Any], names: Sequence[str]) -> dict[str, torch.Tensor]:
        """``inference_feat[name]`` of an output for each of ``names``, as float.

        Raises:
            TrainingError: one is missing or not a tensor; names the model and what it holds.
        """
        named = {}
        for name in names:
            value = output["inference_feat"].get(name)
            if not isinstance(value, torch.Tensor):
                found = ", ".join(sorted(output["inference_feat"])) or "nothing"
                raise TrainingError(
                    f"{type(self.model).__name__}.forward: inference_feat has no tensor "
                    f"{name!r}, which the evaluation reads ({', '.join(names)}); it holds "
                    f"{found}"
                )
            named[name] = value.float()
        return named
