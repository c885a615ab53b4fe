"""Restoring a checkpoint into a model: one path for training, testing and ``extract``.

``restore_hint`` keeps OpenGait's meaning: 0 nothing, an iteration number (or ``"latest"``)
continues the run from its checkpoint, a file path loads its weights (to fine-tune from
iteration 0, or to test). Which file that is, and whether it continues the run, is decided by
:mod:`.run_folder`; here the file is loaded (``weights_only``) and its weights put into the
model, with ``restore_ckpt_strict`` from the phase's section of the config. A training run
then puts back the rest (:func:`restore_training_state`): optimizer, scheduler, grad scaler
and RNG states, each checked to be a state of what it restores.

    restored = restore_checkpoint(run, "test", model, "latest")
    restored.iteration, restored.state["optimizer"]
"""

from __future__ import annotations

from dataclasses import dataclass
from pathlib import Path
from typing import Any

import torch

from ..checkpoint import (
    check_checkpoint,
    kind_of,
    load_checkpoint,
    load_model_weights,
    set_rng_state,
)
from ..errors import CheckpointError
from .run import Run
from .run_folder import continues_run, parse_checkpoint_name


@dataclass
class Restored:
    """A checkpoint whose weights are in the model.

    Attributes:
        path: the file.
        state: everything it holds (optimizer, scheduler, scaler, RNG states...).
        iteration: its ``iteration`` entry, else the one in its file name, else 0.
        continues: the run goes on from it (an iteration or "latest") rather than starting
            from its weights at iteration 0 (a file path).
    """

    path: Path
    state: dict[str, Any]
    iteration: int
    continues: bool


def restore_checkpoint(
    run: Run,
    phase: str,
    model: torch.nn.Module,
    hint: Any,
    map_location: Any = "cpu",
) -> Restored | None:
    """Load the checkpoint ``hint`` names (in ``phase``'s run folder) into ``model``.

    Args:
        run: the resolved run.
        phase: ``train`` or ``test``: which run folder and which section's
            ``restore_ckpt_strict`` apply.
        model: the built model (not a DDP wrapper).
        hint: a ``restore_hint`` value; 0 restores nothing.
        map_location: where the checkpoint's tensors are loaded.

    Returns:
        What was restored, or None for a hint of 0 (or "latest" with no checkpoint yet).

    Raises:
        CheckpointError: the file is missing, unreadable, or does not fit the model.
    """
    section = "trainer_cfg" if phase == "train" else "evaluator_cfg"
    path = run.run_folder(phase).resolve_restore_hint(hint, run.checkpoint_search)
    if path is None:
        return None
    state = load_checkpoint(path, map_location=map_location)
    weights = state
    if phase == "test" and run.cfgs["evaluator_cfg"].get("use_ema"):
        weights = ema_weights(state, path)
    load_model_weights(model, weights, path, bool(run.cfgs[section]["restore_ckpt_strict"]))
    iteration = state.get("iteration")
    if iteration is None:  # a checkpoint of another tool: its name may say
        parsed = parse_checkpoint_name(path.name)
        iteration = parsed[1] if parsed is not None else 0
    return Restored(path, state, int(iteration), continues_run(hint))


def ema_weights(state: dict[str, Any], path: Path) -> dict[str, Any]:
    """A checkpoint whose ``model`` is the ``ema`` entry (``evaluator_cfg.use_ema``).

    Raises:
        CheckpointError: the checkpoint has no ``ema`` entry, or it is not a state dict.
    """
    if state.get("ema") is None:
        raise CheckpointError(
            f"{path}: has no 'ema' entry (the run trained without trainer_cfg.ema_decay), "
            "which evaluator_cfg.use_ema tests: set evaluator_cfg.use_ema: false, or train "
            "with trainer_cfg.ema_decay (e.g. 0.999)"
        )
    return check_checkpoint({"model": state["ema"]}, path)


# flags of torch's optimizers that say how a step runs, not which optimizer it is: a state
# of another torch version may have more or fewer of them
_OPTIMIZER_FLAGS = frozenset(
    {"foreach", "maximize", "capturable", "differentiable", "fused", "decoupled_weight_decay"}
)

# the exceptions torch's load_state_dict raises for a state of another layout
_STATE_ERRORS = (KeyError, ValueError, TypeError, IndexError, AttributeError, RuntimeError)


def restore_training_state(
    state: dict[str, Any],
    path: Path,
    optimizer: torch.optim.Optimizer | None,
    scheduler: Any,
    scaler: Any,
    rng: bool,
) -> None:
    """Put a checkpoint's training state back: optimizer, scheduler, grad scaler, RNG.

    Args:
        state: what :func:`load_checkpoint` returned.
        path: its file, for messages.
        optimizer: restored from ``state["optimizer"]``; None leaves it as built
            (``optimizer_reset``).
        scheduler: restored from ``state["scheduler"]``; None leaves it (``scheduler_reset``).
        scaler: the grad scaler of a float16 run, restored from a non-empty
            ``state["scaler"]``; None leaves it.
        rng: put the RNG states back (a resume, not a start from a file's weights).

    An entry the checkpoint lacks (OpenGait saves no scaler and no RNG states) is left as
    built.

    Raises:
        CheckpointError: an entry is not a state of the object it restores (another
            optimizer or scheduler, another parameter layout, corrupt RNG states): names
            the file, the entry and the setting that starts it afresh.
    """
    if optimizer is not None and state.get("optimizer") is not None:
        _load_entry(
            optimizer,
            state,
            "optimizer",
            path,
            _optimizer_difference,
            "set trainer_cfg.optimizer_reset: true to start the optimizer afresh, or train "
            "with the optimizer_cfg the checkpoint was saved with",
        )
    if scheduler is not None and state.get("scheduler") is not None:
        _load_entry(
            scheduler,
            state,
            "scheduler",
            path,
            _scheduler_difference,
            "set trainer_cfg.scheduler_reset: true to start the schedule afresh, or train "
            "with the scheduler_cfg the checkpoint was saved with",
        )
    if scaler is not None and _has_state(state.get("scaler")):  # {}: saved without float16
        _load_entry(
            scaler,
            state,
            "scaler",
            path,
            lambda target, entry: "",
            "resume from another checkpoint of the run (--iter N), or start a new run from "
            f"its weights with --set trainer_cfg.restore_hint={path}",
        )
    if rng and "rng" in state:
        set_rng_state(state["rng"], path)


def _has_state(entry: Any) -> bool:
    """Whether a checkpoint entry holds something (a tensor, a string... counts: checked)."""
    return entry is not None and not (isinstance(entry, dict) and not entry)


def _load_entry(
    target: Any,
    state: dict[str, Any],
    key: str,
    path: Path,
    difference: Any,
    advice: str,
) -> None:
    """``target.load_state_dict(state[key])``, or a CheckpointError naming the file and key."""
    entry = state[key]
    name = type(target).__name__
    if not isinstance(entry, dict):
        detail = f"it is {kind_of(entry)}, not a state dict"
    else:
        detail = difference(target, entry)
        if not detail:
            try:
                target.load_state_dict(entry)
                return
            except _STATE_ERRORS as exc:
                message = str(exc).splitlines()[0] if str(exc) else ""
                detail = f"{type(exc).__name__}: {message}"
    raise CheckpointError(
        f"{path}: its '{key}' entry does not fit this config's {key} ({name}): "
        f"{detail}; {advice}"
    )


def _optimizer_difference(optimizer: torch.optim.Optimizer, entry: dict[str, Any]) -> str:
    """Why ``entry`` is the state of another kind of optimizer, or "" when it is not."""
    groups = entry.get("param_groups")
    if not isinstance(groups, list) or not all(isinstance(g, dict) for g in groups):
        return "its 'param_groups' is not a list of mappings"
    own = set(optimizer.param_groups[0]) if optimizer.param_groups else set()
    foreign = sorted({key for group in groups for key in group} - own - _OPTIMIZER_FLAGS)
    if not foreign:
        return ""
    held = entry.get("state")
    kept = sorted(
        {k for s in held.values() if isinstance(s, dict) for k in s}
        if isinstance(held, dict)
        else set()
    )
    buffers = f" and buffers {', '.join(kept)}" if kept else ""
    return f"it is another optimizer's state, with settings {', '.join(foreign)}{buffers}"


def _scheduler_difference(scheduler: Any, entry: dict[str, Any]) -> str:
    """Why ``entry`` is the state of another kind of scheduler, or "" when it is not."""
    lacking = sorted(key for key in scheduler.state_dict() if not key.startswith("_"))
    lacking = [key for key in lacking if key not in entry]
    if not lacking:
        return ""
    return f"it is another scheduler's state, without {', '.join(lacking)}"
