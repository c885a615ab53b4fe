"""Checks of a resolved config against the number of processes, run before anything starts.

``gaitgen train --nproc N`` calls :func:`check_launch` in the launching process, so a batch
that N processes cannot share is one line there, not a traceback from every worker; the
samplers use :func:`uneven_batch_message` for the same line when started directly.
"""

from __future__ import annotations

from collections.abc import Mapping
from typing import Any

from ..errors import ConfigError


def _divisors(total: int) -> list[int]:
    return [d for d in range(1, total + 1) if total % d == 0]


def _words(numbers: list[int]) -> str:
    text = [str(n) for n in numbers]
    return text[0] if len(text) == 1 else f"{', '.join(text[:-1])} or {text[-1]}"


def uneven_batch_message(key: str, batch_size: Any, world_size: int) -> str:
    """The one line for a training batch that ``world_size`` processes cannot split evenly.

    Args:
        key: the config key (``trainer_cfg.sampler.batch_size``).
        batch_size: ``[P, K]`` or a number of sequences.
        world_size: the number of processes.
    """
    if isinstance(batch_size, (list, tuple)):
        identities, per_identity = batch_size
        total = identities * per_identity
        what = f"P x K = {identities} x {per_identity} = {total} sequences"
        change = f"choose P x K divisible by {world_size}"
    else:
        total = int(batch_size)
        what = f"{total} sequences"
        change = f"choose a batch size divisible by {world_size}"
    fitting = [d for d in _divisors(total) if d <= 64][:6]
    return (
        f"{key}: {what} cannot be split evenly over a world size of {world_size}; {change}, "
        f"or run a number of processes that divides {total} ({_words(fitting)})"
    )


def check_launch(cfgs: Mapping[str, Any], phase: str, world_size: int) -> None:
    """Raise the error each process would raise for this world size, before launching.

    Args:
        cfgs: the resolved config (already checked by :func:`..load_config`).
        phase: ``train`` or ``test``.
        world_size: processes in all (``--nproc`` x ``--nnodes``).

    Raises:
        ConfigError: the training batch cannot be split over ``world_size`` processes.
    """
    if world_size < 1:
        raise ConfigError(f"the number of processes must be at least 1, got {world_size}")
    if phase != "train":
        return  # test batches are sharded as evenly as possible: any count works
    sampler = cfgs.get("trainer_cfg", {}).get("sampler", {})
    batch_size = sampler.get("batch_size")
    key = "trainer_cfg.sampler.batch_size"
    # [P, K] or a number of sequences, whichever sampler reads it (its own build reports any
    # other shape); every process takes an equal slice of each training batch
    if isinstance(batch_size, list) and all(isinstance(v, int) for v in batch_size):
        total = 1
        for value in batch_size:
            total *= value
    elif isinstance(batch_size, int) and not isinstance(batch_size, bool):
        total = batch_size
    else:
        return
    if total % world_size:
        raise ConfigError(uneven_batch_message(key, batch_size, world_size))
