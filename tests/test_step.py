"""The one training step and the one inference step (runtime/engine/step.py), on tiny fakes."""

from __future__ import annotations

import pytest
import torch
from gaitgen.runtime.engine.step import InferenceStep, NonFiniteLoss, TrainStep
from gaitgen.runtime.errors import TrainingError

CPU = torch.device("cpu")


class _Tiny(torch.nn.Module):
    """A model of the contract's shape: one linear layer over the mean silhouette value."""

    def __init__(self, per_batch: bool = False, flat: bool = False, no_embeddings: bool = False):
        super().__init__()
        self.linear = torch.nn.Linear(1, 6)
        self.iteration = -1
        self.seen_iterations: list[int] = []
        self.per_batch, self.flat, self.no_embeddings = per_batch, flat, no_embeddings

    def forward(self, inputs):
        self.seen_iterations.append(self.iteration)
        sils = inputs[0][0]  # [n, s, h, w]
        pooled = sils.mean(dim=(1, 2, 3)).unsqueeze(1)  # [n, 1]
        if self.per_batch:  # ignores seqL: the whole joined batch becomes one embedding
            pooled = pooled.mean(dim=0, keepdim=True)
        embeddings = self.linear(pooled)  # [n, 6]
        if not self.flat:
            embeddings = embeddings.view(-1, 3, 2)  # [n, c, p]
        inference = {} if self.no_embeddings else {"embeddings": embeddings}
        return {
            "training_feat": {"e": embeddings},
            "visual_summary": {},
            "inference_feat": inference,
        }


class _Loss(torch.nn.Module):
    """Sum of squares of ``training_feat['e']``, times ``factor`` (NaN makes it non-finite)."""

    def __init__(self, factor: float = 1.0):
        super().__init__()
        self.factor = factor

    def forward(self, training_feat):
        loss = (training_feat["e"] ** 2).mean() * self.factor
        return loss, {"scalar/e": loss.detach()}


class _Counting(torch.optim.SGD):
    def __init__(self, params):
        super().__init__(params, lr=0.1)
        self.steps = 0

    def step(self, closure=None):
        self.steps += 1
        return super().step(closure)


class _Scheduler:
    def __init__(self):
        self.steps = 0

    def step(self):
        self.steps += 1


def _batch(n: int = 4, frames: int = 3) -> list:
    sils = torch.rand(n, frames, 4, 4, generator=torch.Generator().manual_seed(0))
    return [[sils], torch.arange(n), ["nm-01"] * n, ["090"] * n, None]


def _train_step(model: torch.nn.Module, factor: float = 1.0) -> TrainStep:
    return TrainStep(model, _Loss(factor), _Counting(model.parameters()), _Scheduler(), CPU)


def test_a_step_updates_the_weights_and_steps_the_schedule_once() -> None:
    model = _Tiny()
    step = _train_step(model)
    before = model.linear.weight.detach().clone()
    for iteration in range(3):
        result = step(_batch(), iteration)
        assert not result.loss_sum.requires_grad and "scalar/e" in result.info
        assert result.output["visual_summary"] == {}
    assert step.optimizer.steps == 3 and step.scheduler.steps == 3
    assert model.seen_iterations == [0, 1, 2]  # the model reads the steps completed
    assert not torch.equal(before, model.linear.weight)
    assert step.use_amp is False and step.scaler.is_enabled() is False


def test_float16_is_ignored_on_the_cpu() -> None:
    step = TrainStep(_Tiny(), _Loss(), _Counting(_Tiny().parameters()), _Scheduler(), CPU, True)
    assert step.use_amp is False
    assert InferenceStep(_Tiny(), CPU, enable_float16=True).use_amp is False


def test_a_non_finite_loss_never_reaches_the_optimizer() -> None:
    model = _Tiny()
    step = _train_step(model, factor=float("nan"))
    before = model.linear.weight.detach().clone()
    with pytest.raises(
        NonFiniteLoss, match=r"the loss is not finite at iteration 8 \(loss sum nan"
    ):
        step(_batch(), iteration=7)
    assert step.optimizer.steps == 0 and step.scheduler.steps == 0
    assert all(p.grad is None for p in model.parameters())  # no backward either
    assert torch.equal(before, model.linear.weight)
    assert issubclass(NonFiniteLoss, TrainingError)  # the trainer's stop handles it


def test_the_output_contract_is_checked_on_the_first_forward() -> None:
    class NoDict(_Tiny):
        def forward(self, inputs):
            return super().forward(inputs)["training_feat"]["e"]

    step = _train_step(NoDict())
    with pytest.raises(TrainingError, match="NoDict.forward must return a dict"):
        step(_batch(), 0)


class _Scaler:
    """A grad scaler that records its calls; ``overflow`` halves the scale as on inf grads."""

    def __init__(self, overflow: bool):
        self.overflow = overflow
        self.scale_value = 1024.0
        self.calls: list[str] = []

    def scale(self, loss):
        self.calls.append("scale")
        return loss * self.scale_value

    def step(self, optimizer):
        self.calls.append("step")
        if not self.overflow:
            for group in optimizer.param_groups:
                for p in group["params"]:
                    p.grad /= self.scale_value
            optimizer.step()

    def get_scale(self):
        return self.scale_value

    def update(self):
        self.calls.append("update")
        if self.overflow:
            self.scale_value /= 2


@pytest.mark.parametrize("overflow", [False, True])
def test_with_float16_the_scaler_drives_the_update(overflow: bool) -> None:
    step = _train_step(_Tiny())
    step.use_amp, step.scaler = True, _Scaler(overflow)  # as on CUDA with enable_float16
    stepped = step.update(*step.loss(step.forward(_batch())), iteration=0)
    assert step.scaler.calls == ["scale", "step", "update"]
    # a step the scaler skipped (inf gradients) neither updates nor advances the schedule
    assert stepped is not overflow
    assert step.optimizer.steps == (0 if overflow else 1)
    assert step.scheduler.steps == (0 if overflow else 1)


def test_inference_gives_checked_embeddings_without_gradients() -> None:
    model = _Tiny().eval()
    embeddings = InferenceStep(model, CPU)(_batch(n=5))
    assert embeddings.shape == (5, 3, 2) and not embeddings.requires_grad


def test_inference_names_a_wrong_shape_and_its_fix() -> None:
    with pytest.raises(
        TrainingError,
        match=r"_Tiny.forward: inference_feat\['embeddings'\] must be \[n, c, p\], got \[4, 6\]",
    ):
        InferenceStep(_Tiny(flat=True), CPU)(_batch())
    with pytest.raises(TrainingError, match="inference_feat has no 'embeddings' entry"):
        InferenceStep(_Tiny(no_embeddings=True), CPU)(_batch())
    joined = _batch(n=3)
    joined[0][0] = torch.rand(1, 9, 4, 4)  # three sequences joined along the frame axis
    joined[4] = torch.tensor([[2, 3, 4]])
    with pytest.raises(
        TrainingError,
        match=r"returned 1 embeddings for a test batch of 3 sequences joined along the frame "
        r"axis with seqL \[2, 3, 4\]: the model must pool each sequence on its own using seqL",
    ):
        InferenceStep(_Tiny(per_batch=True), CPU)(joined)
