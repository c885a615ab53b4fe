"""The training staples: clipping, accumulation, warmup, weight EMA, best and early stopping.

Each is off by default and set in the config (the keys are in ``runtime/config/schema.py``):

- ``optimizer_cfg.clip_grad_norm`` / ``clip_grad_value``: the gradients are clipped after the
  grad scaler unscaled them, before the optimizer step (:class:`.step.TrainStep`);
- ``trainer_cfg.grad_accumulation: k``: one iteration (one optimizer step) sums the gradients
  of k P x K batches, each loss divided by k, with DDP's all-reduce on the last one only;
- ``scheduler_cfg.warmup_iters`` / ``warmup_factor``: :class:`Warmup` scales the rate the
  scheduler gives, linearly from ``warmup_factor`` to 1;
- ``trainer_cfg.ema_decay``: :class:`WeightEMA`, ``ema = decay * ema + (1 - decay) * w``
  after every optimizer step, saved in the checkpoint's ``ema`` entry and tested beside the
  weights when ``with_test``;
- ``trainer_cfg.best_metric`` / ``best_mode`` / ``keep_last`` / ``early_stop_patience``:
  :class:`MetricHistory` records each ``with_test`` result of the metric in the run folder,
  so a resume at iteration N knows the tests up to N exactly.

    staples = Staples.from_config(cfgs, model, optimizer)
    staples.describe()   # the line 'gaitgen check' prints
"""

from __future__ import annotations

import contextlib
import json
import math
from collections.abc import Iterator
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import torch

from ..atomic import atomic_write_text
from ..checkpoint import kind_of
from ..config.schema import class_section_settings
from ..errors import CheckpointError, ConfigError


class Warmup:
    """A linear learning-rate warmup in front of any scheduler.

    The scheduler keeps computing its rates as without warmup (:meth:`step` gives it back its
    own rates before it steps, as chained schedulers read the current rate); each parameter
    group then trains at ``scheduled * factor(s)``, ``factor(s) = warmup_factor + (1 -
    warmup_factor) * s / warmup_iters`` for the ``s``-th step (0 first), 1 from ``warmup_iters``
    on.

    Args:
        optimizer: its ``param_groups`` rates are scaled (the scheduler's rates, as built).
        iters: ``scheduler_cfg.warmup_iters`` (> 0).
        factor: ``scheduler_cfg.warmup_factor``.
    """

    def __init__(self, optimizer: torch.optim.Optimizer, iters: int, factor: float) -> None:
        self.optimizer, self.iters, self.factor = optimizer, int(iters), float(factor)
        self.steps = 0
        self.scheduled = [float(group["lr"]) for group in optimizer.param_groups]
        self._apply()

    def scale(self, steps: int) -> float:
        """The share of the scheduled rate at step ``steps`` (0 first)."""
        if steps >= self.iters:
            return 1.0
        return self.factor + (1.0 - self.factor) * steps / self.iters

    def _apply(self) -> None:
        scale = self.scale(self.steps)
        for group, rate in zip(self.optimizer.param_groups, self.scheduled):
            group["lr"] = rate * scale

    def step(self, scheduler: Any) -> None:
        """``scheduler.step()`` on its own rates, then this step's share of them."""
        if self.steps >= self.iters:  # warmed up: the scheduler alone, as without warmup
            scheduler.step()
            return
        for group, rate in zip(self.optimizer.param_groups, self.scheduled):
            group["lr"] = rate
        scheduler.step()
        self.steps += 1
        self.scheduled = [float(group["lr"]) for group in self.optimizer.param_groups]
        self._apply()

    def restart(self) -> None:
        """Warm up afresh from the rates the optimizer holds now (a resume of a run that
        had no warmup: its restored rates are the scheduled ones)."""
        self.steps = 0
        self.scheduled = [float(group["lr"]) for group in self.optimizer.param_groups]
        self._apply()

    def state_dict(self) -> dict[str, Any]:
        return {"steps": self.steps, "scheduled": list(self.scheduled)}

    def load_state_dict(self, state: dict[str, Any]) -> None:
        steps, scheduled = state["steps"], state["scheduled"]
        if not isinstance(steps, int) or not isinstance(scheduled, list):
            raise TypeError("not {steps: int, scheduled: [rates]}")
        if len(scheduled) != len(self.optimizer.param_groups):
            raise ValueError(
                f"{len(scheduled)} rates for {len(self.optimizer.param_groups)} parameter groups"
            )
        self.steps, self.scheduled = steps, [float(rate) for rate in scheduled]
        self._apply()


class WeightEMA:
    """An exponential moving average of a model's state (weights and buffers).

    After every optimizer step, each floating entry becomes ``decay * ema + (1 - decay) *
    value``; the others (BatchNorm's step counts) are copied. It starts as the weights.

    Args:
        model: the bare model (not a DDP wrapper).
        decay: ``trainer_cfg.ema_decay``.
    """

    def __init__(self, model: torch.nn.Module, decay: float) -> None:
        self.decay = float(decay)
        self.state = {k: v.detach().clone() for k, v in model.state_dict().items()}

    @torch.no_grad()
    def update(self, model: torch.nn.Module) -> None:
        for name, value in model.state_dict().items():
            average = self.state[name]
            if average.is_floating_point():
                average.mul_(self.decay).add_(value.detach(), alpha=1.0 - self.decay)
            else:
                average.copy_(value)

    def state_dict(self) -> dict[str, torch.Tensor]:
        return self.state

    def load_state_dict(self, state: dict[str, Any]) -> None:
        own = set(self.state)
        if set(state) != own:
            missing, extra = sorted(own - set(state)), sorted(set(state) - own)
            raise KeyError(f"missing {missing[:3]}, unexpected {extra[:3]}")
        for name, value in state.items():
            if not isinstance(value, torch.Tensor) or value.shape != self.state[name].shape:
                raise ValueError(f"{name} is {kind_of(value)}")
        with torch.no_grad():
            for name, value in state.items():
                self.state[name].copy_(value)

    @contextlib.contextmanager
    def in_model(self, model: torch.nn.Module) -> Iterator[None]:
        """The model holds the average inside the block, its own state again after it."""
        own = {k: v.detach().clone() for k, v in model.state_dict().items()}
        model.load_state_dict(self.state)
        try:
            yield
        finally:
            model.load_state_dict(own)


class MetricHistory:
    """The ``with_test`` results of ``trainer_cfg.best_metric``, by iteration, in the run
    folder (``metric_history.json``), and what they decide: the best checkpoint (kept by
    ``keep_last``) and early stopping.

    Args:
        path: the file (:attr:`.run_folder.RunFolder.metric_history_file`).
        metric: the result's name, as the summaries write it without ``scalar/test/``
            (``NM/rank1``...).
        mode: ``max`` or ``min``: which end is best.
        patience: ``early_stop_patience`` (0: never stop).
    """

    def __init__(self, path: Path, metric: str, mode: str, patience: int) -> None:
        self.path, self.metric, self.mode, self.patience = path, metric, mode, int(patience)
        self.values: dict[int, float] = {}

    def load(self, up_to: int) -> None:
        """The tests of the run up to iteration ``up_to`` (a resume's), from the file.

        Raises:
            CheckpointError: the file is not this history's JSON.
        """
        self.values = {}
        if not self.path.is_file():
            return
        try:
            stored = json.loads(self.path.read_text())
            values = {int(k): float(v) for k, v in stored["values"].items()}
        except (ValueError, KeyError, TypeError, AttributeError) as exc:
            raise CheckpointError(
                f"{self.path}: is not a history of test results ({type(exc).__name__}); "
                "delete it (the best checkpoint is then chosen from the tests to come)"
            ) from None
        self.values = {i: v for i, v in sorted(values.items()) if i <= up_to}

    def record(self, iteration: int, scalars: dict[str, float]) -> None:
        """Add a test's result and write the file (the caller is rank 0).

        Raises:
            ConfigError: the test gave no such metric (the ones it gave are listed).
        """
        if self.metric not in scalars:
            found = ", ".join(sorted(scalars)) or "none"
            raise ConfigError(
                f"trainer_cfg.best_metric: the test gave no {self.metric!r}; it gave: {found}"
            )
        self.values[iteration] = float(scalars[self.metric])
        text = {"metric": self.metric, "mode": self.mode, "values": self.values}
        atomic_write_text(self.path, json.dumps(text, indent=1) + "\n")

    @property
    def best(self) -> int | None:
        """The iteration of the best result (the earliest of equal ones), or None."""
        if not self.values:
            return None
        sign = -1.0 if self.mode == "max" else 1.0
        finite = {i: v for i, v in self.values.items() if not math.isnan(v)}
        if not finite:
            return None
        return min(finite, key=lambda i: (sign * finite[i], i))

    def tests_since_best(self) -> int:
        best = self.best
        return len(self.values) if best is None else sum(1 for i in self.values if i > best)

    def should_stop(self) -> bool:
        return self.patience > 0 and self.tests_since_best() >= self.patience


@dataclass
class Staples:
    """The staples a config turns on (see the module docstring); the defaults change nothing.

    Attributes:
        accumulation: ``trainer_cfg.grad_accumulation``.
        clip_norm: ``optimizer_cfg.clip_grad_norm`` (None: off).
        clip_value: ``optimizer_cfg.clip_grad_value`` (None: off).
        warmup: the warmup of the optimizer's rates, or None.
        ema: the weights' EMA, or None.
        keep_last: ``trainer_cfg.keep_last`` (0: every checkpoint stays).
        best_metric: ``trainer_cfg.best_metric`` (None: no best, no early stopping).
        best_mode: ``trainer_cfg.best_mode``.
        patience: ``trainer_cfg.early_stop_patience``.
    """

    accumulation: int = 1
    clip_norm: float | None = None
    clip_value: float | None = None
    warmup: Warmup | None = None
    ema: WeightEMA | None = None
    keep_last: int = 0
    best_metric: str | None = None
    best_mode: str = "max"
    patience: int = 0

    @classmethod
    def from_config(
        cls,
        cfgs: dict[str, Any],
        model: torch.nn.Module | None = None,
        optimizer: torch.optim.Optimizer | None = None,
    ) -> Staples:
        """The staples of a resolved config (warmup needs the optimizer, EMA the model).

        Raises:
            ConfigError: ``best_metric`` or ``early_stop_patience`` without ``with_test``, or
                ``early_stop_patience`` without ``best_metric``.
        """
        trainer = cfgs["trainer_cfg"]
        clipping = class_section_settings("optimizer_cfg", cfgs.get("optimizer_cfg"))
        warming = class_section_settings("scheduler_cfg", cfgs.get("scheduler_cfg"))
        patience = int(trainer.get("early_stop_patience", 0))
        metric = trainer.get("best_metric")
        if patience and metric is None:
            raise ConfigError(
                "trainer_cfg.early_stop_patience: stops on trainer_cfg.best_metric, which is "
                "not set: name a with_test result (e.g. --set trainer_cfg.best_metric=NM/rank1)"
            )
        if metric is not None and not trainer.get("with_test"):
            raise ConfigError(
                "trainer_cfg.best_metric: is a with_test result, and trainer_cfg.with_test is "
                "off: set it (--set trainer_cfg.with_test=true) or unset best_metric"
            )
        decay = trainer.get("ema_decay")
        iters = int(warming["warmup_iters"])
        return cls(
            accumulation=int(trainer.get("grad_accumulation", 1)),
            clip_norm=clipping["clip_grad_norm"],
            clip_value=clipping["clip_grad_value"],
            warmup=(
                Warmup(optimizer, iters, warming["warmup_factor"])
                if iters and optimizer is not None
                else None
            ),
            ema=WeightEMA(model, decay) if decay is not None and model is not None else None,
            keep_last=int(trainer.get("keep_last", 0)),
            best_metric=metric,
            best_mode=str(trainer.get("best_mode", "max")),
            patience=patience,
        )

    def describe(self, batch: Any = None) -> str:
        """The staples that are on, in one line (``none``): what ``gaitgen check`` shows."""
        parts = []
        if self.clip_norm is not None:
            parts.append(f"gradient norm clipped to {self.clip_norm:g}")
        if self.clip_value is not None:
            parts.append(f"gradients clamped to +-{self.clip_value:g}")
        if self.accumulation > 1:
            of = f" of {batch}" if batch is not None else ""
            parts.append(f"{self.accumulation} batches{of} per optimizer step")
        if self.warmup is not None:
            parts.append(
                f"warmup over {self.warmup.iters} iterations from {self.warmup.factor:g} x lr"
            )
        if self.ema is not None:
            parts.append(f"weight EMA (decay {self.ema.decay:g})")
        if self.keep_last:
            best = " and the best" if self.best_metric else ""
            parts.append(f"last {self.keep_last} checkpoints kept{best}")
        if self.best_metric:
            parts.append(f"best by {self.best_metric} ({self.best_mode})")
        if self.patience:
            parts.append(f"early stop after {self.patience} tests without a better one")
        return "; ".join(parts) or "none"

    def training_state(self) -> dict[str, Any]:
        """The checkpoint entries of the staples that have a state (``ema``, ``warmup``)."""
        state: dict[str, Any] = {}
        if self.ema is not None:
            state["ema"] = self.ema.state_dict()
        if self.warmup is not None:
            state["warmup"] = self.warmup.state_dict()
        return state


def restore_staples(
    staples: Staples, state: dict[str, Any], path: Path, schedule: bool = True
) -> None:
    """Put a checkpoint's ``ema`` and ``warmup`` entries back into the staples.

    An entry the checkpoint lacks (a run that started without the staple) leaves the staple
    as built: the EMA starts from the restored weights, the warmup from its first step.
    ``schedule`` false (``scheduler_reset``) leaves the warmup as built too.

    Raises:
        CheckpointError: an entry is not the state of the staple: names the file and entry.
    """
    targets = {"ema": staples.ema, "warmup": staples.warmup if schedule else None}
    for key, target in targets.items():
        if target is None:
            continue
        if state.get(key) is None:
            if isinstance(target, Warmup):
                target.restart()
            continue
        entry = state[key]
        try:
            if not isinstance(entry, dict):
                raise TypeError(f"it is {kind_of(entry)}, not a mapping")
            target.load_state_dict(entry)
        except (KeyError, ValueError, TypeError, RuntimeError) as exc:
            raise CheckpointError(
                f"{path}: its '{key}' entry does not fit this run ({type(exc).__name__}: "
                f"{str(exc).splitlines()[0] if str(exc) else ''}); resume from another "
                "checkpoint of the run (--iter N), or start a new run from its weights with "
                f"--set trainer_cfg.restore_hint={path}"
            ) from None
