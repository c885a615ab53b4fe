"""Stopping a training run cleanly: on SIGTERM or Ctrl-C, and after a failed step.

SLURM and Kubernetes send SIGTERM some seconds before they kill a job; Ctrl-C sends SIGINT.
Either only sets a flag here. The training loop looks at it between iterations (all ranks
agree through one small all-reduce, so they stop at the same iteration), saves a checkpoint
of the current iteration and exits:

- SIGTERM: exit code 143 (128 + 15), "stopped by SIGTERM at iteration N; saved PATH";
- SIGINT:  exit code 130 (128 + 2),  "interrupted at iteration N; saved PATH".

Under torchrun the workers exit 0 instead, so the agent neither restarts them nor reports a
failure; the launching ``gaitgen train`` reports the stop with the code above. A second
Ctrl-C, two seconds or more after the first, stops at once without saving.

When a step fails (a non-finite loss), its forward has already changed the BatchNorm
statistics: :func:`buffers_snapshot` before each step and :func:`restore_buffers` after a
failure give back the last good state, which is saved only if :func:`weights_finite`.
"""

from __future__ import annotations

import os
import signal
import time
from typing import Any

import torch
import torch.distributed as dist

SIGNAL_EXIT_CODES = {signal.SIGTERM: 143, signal.SIGINT: 130}
_SECOND_PRESS_AFTER_S = 2.0  # a terminal and torchrun's agent both deliver one Ctrl-C


class StopRequest:
    """Catches SIGTERM and SIGINT while installed; :meth:`agreed` tells the loop to stop."""

    def __init__(self) -> None:
        self.signum: int | None = None
        self._received_at = 0.0
        self._previous: dict[int, Any] = {}

    def install(self) -> StopRequest:
        for signum in SIGNAL_EXIT_CODES:
            try:
                self._previous[signum] = signal.signal(signum, self._handle)
            except ValueError:  # not the main thread: leave the signals to the caller
                break
        return self

    def uninstall(self) -> None:
        for signum, handler in self._previous.items():
            signal.signal(signum, handler)
        self._previous.clear()

    def _handle(self, signum: int, frame: Any) -> None:
        # a signal handler only records: logging or saving here could deadlock on a lock
        # the interrupted code holds
        now = time.monotonic()
        if (
            signum == signal.SIGINT
            and self.signum == signal.SIGINT
            and now - self._received_at >= _SECOND_PRESS_AFTER_S
        ):
            raise KeyboardInterrupt
        if self.signum is None:
            self.signum, self._received_at = signum, now

    def agreed(self, distributed: bool, device: torch.device) -> int | None:
        """The signal to stop for, the same on every rank (an all-reduce when distributed)."""
        if not distributed:
            return self.signum
        flag = torch.tensor([self.signum or 0], dtype=torch.int64, device=device)
        dist.all_reduce(flag, op=dist.ReduceOp.MAX)
        return int(flag.item()) or None


def buffers_snapshot(model: torch.nn.Module) -> list[tuple[torch.Tensor, torch.Tensor]]:
    """Copies of the model's buffers (BatchNorm statistics), to undo a failed forward.

    A forward that ends in a non-finite loss has already updated the running statistics
    with its non-finite activations; the "last good" checkpoint must not hold them.
    """
    return [(buffer, buffer.detach().clone()) for buffer in model.buffers()]


def restore_buffers(snapshot: list[tuple[torch.Tensor, torch.Tensor]]) -> None:
    """Put back the buffers :func:`buffers_snapshot` copied."""
    with torch.no_grad():
        for buffer, saved in snapshot:
            buffer.copy_(saved)


def weights_finite(model: torch.nn.Module, ctx: Any) -> bool:
    """Whether every floating tensor of the model's state is finite, on every rank."""
    finite = all(
        bool(torch.isfinite(value).all())
        for value in model.state_dict().values()
        if value.is_floating_point()
    )
    flag = torch.tensor([int(finite)], dtype=torch.int32, device=ctx.device)
    if ctx.distributed:
        dist.all_reduce(flag, op=dist.ReduceOp.MIN)
    return bool(flag.item())


def signal_name(signum: int) -> str:
    return signal.Signals(signum).name


def exit_code_for(signum: int) -> int:
    """The exit code of a run stopped by ``signum`` (0 for a worker under torchrun)."""
    if "TORCHELASTIC_RUN_ID" in os.environ:
        return 0
    return SIGNAL_EXIT_CODES.get(signal.Signals(signum), 128 + int(signum))


def stop_message(signum: int, iteration: int, saved: str) -> str:
    """The one line printed when a run stops for ``signum``."""
    if signum == signal.SIGINT:
        return f"interrupted at iteration {iteration}; {saved}"
    return f"stopped by {signal_name(signum)} at iteration {iteration}; {saved}"
