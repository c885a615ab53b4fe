"""Restoring a checkpoint into a model: one path for training, testing and ``extract``.

``restore_hint`` keeps OpenGait's meaning: 0 nothing, an iteration number (or ``"latest"``)
continues the run from its checkpoint, a file path loads its weights (to fine-tune from
iteration 0, or to test). Which file that is, and whether it continues the run, is decided by
:mod:`.run_folder`; here the file is loaded (``weights_only``) and its weights put into the
model, with ``restore_ckpt_strict`` from the phase's section of the config.

    restored = restore_checkpoint(run, "test", model, "latest")
    restored.iteration, restored.state["optimizer"]
"""

from __future__ import annotations

from dataclasses import dataclass
from pathlib import Path
from typing import Any

import torch

from ..checkpoint import load_checkpoint, load_model_weights
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
    load_model_weights(model, state, path, bool(run.cfgs[section]["restore_ckpt_strict"]))
    iteration = state.get("iteration")
    if iteration is None:  # a checkpoint of another tool: its name may say
        parsed = parse_checkpoint_name(path.name)
        iteration = parsed[1] if parsed is not None else 0
    return Restored(path, state, int(iteration), continues_run(hint))
