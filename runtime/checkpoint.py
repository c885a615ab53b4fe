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


def set_rng_state(state: dict[str, Any]) -> None:
    # a checkpoint loaded with map_location on a GPU carries its states there; torch's setters
    # and numpy take CPU tensors
    state = _on_cpu(state)
    torch.set_rng_state(state["torch"])
    numpy_state = state["numpy"]
    np.random.set_state(
        (
            "MT19937",
            numpy_state["keys"].numpy().astype(np.uint32),
            numpy_state["pos"],
            numpy_state["has_gauss"],
            numpy_state["cached_gaussian"],
        )
    )
    version, internal, gauss = state["python"]
    random.setstate((version, tuple(internal), gauss))
    if "cuda" in state and torch.cuda.is_available():
        torch.cuda.set_rng_state_all(state["cuda"])


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
    if not isinstance(state, dict) or "model" not in state:
        raise CheckpointError(f"{path}: not a checkpoint (no 'model' entry)")
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
    ``"model"``). Weights whose shape differs never load; missing or unexpected keys are
    errors unless ``strict`` is false.

    Raises:
        CheckpointError: the weights do not fit the model: the first missing, unexpected and
            mismatched keys with their shapes, and a fix that can help.
    """
    weights = checkpoint_weights(state)
    if not isinstance(weights, dict):
        raise CheckpointError(f"{path}: its 'model' entry is not a state dict")
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
    if problems:
        if mismatched:
            advice = (
                "the checkpoint is of another model or another model_cfg: use the config it "
                "was trained with"
            )
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
