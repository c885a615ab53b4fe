"""Checkpoints: complete or absent, never half-written; loaded without running code.

A checkpoint (named and found by :mod:`gaitgen.runtime.engine.run_folder`) holds the model,
optimizer, scheduler and grad-scaler states, the iteration and the RNG states. Rank 0 writes
it to a temporary file in the same folder and renames it into place, so a crash leaves either
the old set of checkpoints or the new one. Loading uses ``torch.load(weights_only=True)``: a
checkpoint file cannot execute code.
"""

from __future__ import annotations

import logging
import random
from pathlib import Path
from typing import Any

import numpy as np
import torch

from .atomic import atomic_path
from .errors import CheckpointError

log = logging.getLogger("gaitgen")


def rng_state() -> dict[str, Any]:
    """The RNG states of torch (CPU and CUDA), numpy and Python, as tensors and plain values."""
    np_state = np.random.get_state()
    state: dict[str, Any] = {
        "torch": torch.get_rng_state(),
        "numpy": {
            "keys": torch.from_numpy(np_state[1].astype(np.int64)),
            "pos": int(np_state[2]),
            "has_gauss": int(np_state[3]),
            "cached_gaussian": float(np_state[4]),
        },
        "python": random.getstate(),
    }
    if torch.cuda.is_available():
        state["cuda"] = torch.cuda.get_rng_state_all()
    return state


def _on_cpu(value: Any) -> Any:
    """``value`` with every tensor in it (nested in dicts, lists, tuples) moved to the CPU."""
    if isinstance(value, torch.Tensor):
        return value.cpu()
    if isinstance(value, dict):
        return {key: _on_cpu(item) for key, item in value.items()}
    if isinstance(value, (list, tuple)):
        return type(value)(_on_cpu(item) for item in value)
    return value


def set_rng_state(state: Any, path: Path | str = "checkpoint") -> None:
    """Put back the RNG states :func:`rng_state` took, all of them or none.

    Each part is first set on a generator of its own, so a corrupt state (another type, a
    torch state of another size, a missing part) changes nothing.

    Raises:
        CheckpointError: the state is corrupt: names ``path``, the part and the way on.
    """
    states = _checked_rng_state(state, path)
    torch.set_rng_state(states["torch"])
    np.random.set_state(states["numpy"])
    random.setstate(states["python"])
    if "cuda" in states and torch.cuda.is_available():
        torch.cuda.set_rng_state_all(states["cuda"])


def _checked_rng_state(state: Any, path: Path | str) -> dict[str, Any]:
    """The parts of an ``rng`` entry in the form each library takes, each tried on a
    throw-away generator; a CheckpointError for the first that is corrupt."""

    def corrupt(detail: str) -> CheckpointError:
        return CheckpointError(
            f"{path}: its 'rng' entry (the RNG states a resume puts back) is corrupt: {detail}; "
            "a resume without it would not repeat the uninterrupted run exactly. Resume from "
            "another checkpoint of the run (--iter N), or start a new run from its weights "
            f"with --set trainer_cfg.restore_hint={path}"
        )

    if not isinstance(state, dict):
        raise corrupt(f"it is {kind_of(state)}, not a mapping of 'torch', 'numpy' and 'python'")
    missing = [part for part in ("torch", "numpy", "python") if part not in state]
    if missing:
        raise corrupt("it has no " + " and no ".join(f"'{part}'" for part in missing))
    # a checkpoint loaded with map_location on a GPU carries its states there; torch's
    # setters and numpy take CPU tensors
    state = _on_cpu(state)
    converters = {
        "torch": lambda value: _tried(torch.Generator().set_state, value),
        "numpy": _numpy_rng_state,
        "python": _python_rng_state,
    }
    if "cuda" in state:
        converters["cuda"] = _cuda_rng_states
    states: dict[str, Any] = {}
    for part, convert in converters.items():
        try:
            states[part] = convert(state[part])
        except (TypeError, ValueError, KeyError, IndexError, AttributeError, RuntimeError) as exc:
            message = str(exc).splitlines()[0] if str(exc) else ""
            raise corrupt(
                f"rng.{part}: {type(exc).__name__}: {message} ({kind_of(state[part])})"
            ) from None
    return states


def _tried(setter: Any, value: Any) -> Any:
    """``value`` after ``setter`` (of a throw-away generator) accepted it."""
    if not isinstance(value, torch.Tensor):
        raise TypeError("not a tensor")
    setter(value)
    return value


def _numpy_rng_state(value: Any) -> tuple[Any, ...]:
    numpy_state = (
        "MT19937",
        value["keys"].numpy().astype(np.uint32),
        int(value["pos"]),
        int(value["has_gauss"]),
        float(value["cached_gaussian"]),
    )
    np.random.RandomState().set_state(numpy_state)
    return numpy_state


def _python_rng_state(value: Any) -> tuple[Any, ...]:
    version, internal, gauss = value
    python_state = (version, tuple(internal), gauss)
    random.Random().setstate(python_state)
    return python_state


def _cuda_rng_states(value: Any) -> list[torch.Tensor]:
    if not isinstance(value, (list, tuple)):
        raise TypeError("not a list of per-device states")
    for item in value:
        if not isinstance(item, torch.Tensor) or item.dtype != torch.uint8 or item.dim() != 1:
            raise TypeError("a per-device state is not a 1-D uint8 tensor")
    return list(value)


def kind_of(value: Any) -> str:
    """``value``'s type in words for a message (``a str``), a tensor's with its dtype and shape."""
    if isinstance(value, torch.Tensor):
        return (
            f"a {str(value.dtype).removeprefix('torch.')} tensor of shape {_shape(value) or '()'}"
        )
    name = type(value).__name__
    return f"{'an' if name[0] in 'aeiou' else 'a'} {name}"


def save_checkpoint(path: Path, state: dict[str, Any]) -> Path:
    """Write ``state`` to ``path`` atomically (temp file in the same folder, then rename).

    Raises:
        GaitgenError: the disk is full or the folder cannot be written (names the path); the
            temporary file is removed and the checkpoints already there are left intact.
    """
    with atomic_path(path) as temporary:
        with open(temporary, "wb") as handle:
            writer = _RecordingWriter(handle)
            try:
                torch.save(state, writer)
            except RuntimeError:
                # torch's zip writer turns a failed write into an "unexpected pos" message;
                # the OSError it swallowed says what really happened (a full disk, mostly)
                if writer.error is not None:
                    raise writer.error from None
                raise
    return path


class _RecordingWriter:
    """A file wrapper for torch.save that remembers the OSError of a failed write."""

    def __init__(self, handle: Any) -> None:
        self.handle = handle
        self.error: OSError | None = None

    def write(self, data: Any) -> int:
        try:
            return self.handle.write(data)
        except OSError as exc:
            self.error = exc
            raise

    def flush(self) -> None:
        self.handle.flush()


def load_checkpoint(path: Path, map_location: Any = "cpu") -> dict[str, Any]:
    """Load a checkpoint safely (``weights_only=True``); errors name the file and the fix."""
    if not path.is_file():
        raise CheckpointError(f"checkpoint not found: {path}")
    try:
        state = torch.load(path, map_location=map_location, weights_only=True)
    except Exception as exc:  # noqa: BLE001 - corrupt or unsafe file: one clear message
        raise CheckpointError(
            f"{path}: cannot be loaded as a checkpoint ({type(exc).__name__}: "
            f"{str(exc).splitlines()[0] if str(exc) else ''}); it is corrupt, "
            "not a gaitgen/OpenGait checkpoint, or holds objects other than "
            "tensors and plain values"
        ) from None
    return check_checkpoint(state, path)


def check_checkpoint(state: Any, path: Path) -> dict[str, Any]:
    """The structure every reader of a checkpoint relies on, checked where it is read.

    ``model`` is a mapping of weight name -> tensor; ``iteration``, when there, a whole
    number >= 0 (returned as an int). The entries only a resume reads (optimizer,
    scheduler, scaler, RNG states) are checked when they are put back
    (:func:`restore_training_state`), so a checkpoint with a damaged one can still be
    tested or fine-tuned from.

    Raises:
        CheckpointError: names the file, the entry and what to do.
    """
    if not isinstance(state, dict) or "model" not in state:
        raise CheckpointError(f"{path}: not a checkpoint (no 'model' entry)")
    weights = state["model"]
    advice = "use a checkpoint that 'gaitgen train' or OpenGait saved"
    if not isinstance(weights, dict):
        raise CheckpointError(
            f"{path}: its 'model' entry is {kind_of(weights)}, not a state dict (a mapping of "
            f"weight name -> tensor); {advice}"
        )
    for name, value in weights.items():
        if not isinstance(name, str) or not isinstance(value, torch.Tensor):
            raise CheckpointError(
                f"{path}: its 'model' entry maps {name!r} to {kind_of(value)}; a state dict "
                f"maps weight names to tensors; {advice}"
            )
    iteration = state.get("iteration")
    if iteration is not None:
        whole = isinstance(iteration, int) or (
            isinstance(iteration, float) and iteration.is_integer()
        )
        if isinstance(iteration, bool) or not whole or iteration < 0:
            raise CheckpointError(
                f"{path}: its 'iteration' entry is {iteration!r} ({kind_of(iteration)}), not a "
                "whole number of iterations >= 0; the file is damaged or not a checkpoint of "
                "a training run: use another checkpoint of the run"
            )
        state["iteration"] = int(iteration)
    return state


def _shape(value: Any) -> str:
    return "x".join(str(d) for d in value.shape) if hasattr(value, "shape") else "?"


def _listed(items: list[str], limit: int = 4) -> str:
    shown = ", ".join(items[:limit])
    return shown + (f" and {len(items) - limit} more" if len(items) > limit else "")


def checkpoint_weights(state: dict[str, Any]) -> dict[str, Any]:
    """The model weights of a gaitgen or OpenGait checkpoint, without a DDP ``module.`` prefix.

    OpenGait saves the bare model's state dict, as gaitgen does; a state dict taken from a
    DistributedDataParallel wrapper by other tools prefixes every key with ``module.``.
    """
    weights = state["model"]
    if weights and all(key.startswith("module.") for key in weights):
        weights = {key[len("module.") :]: value for key, value in weights.items()}
    return weights


def load_model_weights(
    model: torch.nn.Module, state: dict[str, Any], path: Path, strict: bool
) -> None:
    """Load a checkpoint's model weights (``restore_ckpt_strict`` = ``strict``).

    Accepts gaitgen's and OpenGait's checkpoints (both hold the model's state dict under
    ``"model"``; :func:`load_checkpoint` checked it is one). Weights whose shape differs never
    load; missing or unexpected keys are errors unless ``strict`` is false, and even then a
    checkpoint none of whose weights the model has is an error (nothing would be restored:
    a fine-tune config such as GaitSSB's, pointed at the wrong file, would silently train
    from scratch).

    Raises:
        CheckpointError: the weights do not fit the model: the first missing, unexpected and
            mismatched keys with their shapes, and a fix that can help.
    """
    weights = checkpoint_weights(state)
    own = model.state_dict()
    missing = [key for key in own if key not in weights]
    unexpected = [key for key in weights if key not in own]
    mismatched = [
        f"{key} (checkpoint {_shape(weights[key])}, model {_shape(own[key])})"
        for key in own
        if key in weights and getattr(weights[key], "shape", None) != own[key].shape
    ]
    name = type(model).__name__
    problems = []
    if mismatched:
        problems.append(f"{len(mismatched)} with another shape: {_listed(mismatched)}")
    if strict and missing:
        shown = [f"{key} ({_shape(own[key])})" for key in missing]
        problems.append(f"{len(missing)} missing from the checkpoint: {_listed(shown)}")
    if strict and unexpected:
        shown = [f"{key} ({_shape(weights[key])})" for key in unexpected]
        problems.append(f"{len(unexpected)} not in the model: {_listed(shown)}")
    if not strict and own and len(missing) == len(own):
        shown = [f"{key} ({_shape(own[key])})" for key in missing]
        problems.append(
            f"none of its weights is the model's (restore_ckpt_strict: false restores only "
            f"matching ones): {len(missing)} missing from the checkpoint: {_listed(shown)}; "
            f"{len(unexpected)} not in the model: {_listed(unexpected) or '-'}"
        )
    if problems:
        if mismatched:
            advice = (
                "the checkpoint is of another model or another model_cfg: use the config it "
                "was trained with"
            )
        elif not strict:
            advice = "check that restore_hint names the checkpoint this config starts from"
        else:
            advice = (
                "use the config it was trained with, or set restore_ckpt_strict: false "
                "to load the matching weights only"
            )
        raise CheckpointError(
            f"{path}: does not fit model {name}: " + "; ".join(problems) + f"; {advice}"
        )
    model.load_state_dict(weights, strict=False)
    if missing or unexpected:
        log.warning(
            "%s: restored with restore_ckpt_strict=false; %d model weights not in the "
            "checkpoint (%s), %d checkpoint weights unused (%s)",
            path,
            len(missing),
            _listed(missing) or "-",
            len(unexpected),
            _listed(unexpected) or "-",
        )
