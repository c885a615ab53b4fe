"""One code path for one process or many: the process group, the device, collectives.

The runtime never launches processes itself: torchrun (``torch.distributed.run``) or SLURM
does, and :func:`setup` reads what they put in the environment. Without any of it, the run
is a single process with no process group at all.

Environment read (torchrun): RANK, WORLD_SIZE, LOCAL_RANK, MASTER_ADDR, MASTER_PORT.
Under SLURM (``srun``) without torchrun: SLURM_PROCID, SLURM_NTASKS, SLURM_LOCALID, and
MASTER_ADDR (default: the first host of SLURM_JOB_NODELIST), MASTER_PORT (default 29500).
"""

from __future__ import annotations

import datetime
import os
import re
from dataclasses import dataclass
from typing import Any

import torch
import torch.distributed as dist

from .errors import ConfigError


@dataclass(frozen=True)
class DistContext:
    """Where this process stands: its ranks, the world size and its device."""

    rank: int = 0
    local_rank: int = 0
    world_size: int = 1
    device: torch.device = torch.device("cpu")
    backend: str | None = None

    @property
    def is_main(self) -> bool:
        return self.rank == 0

    @property
    def distributed(self) -> bool:
        return self.world_size > 1


def world_size_if_distributed() -> int:
    """The world size of the default process group, or 1 without one."""
    if dist.is_available() and dist.is_initialized():
        return dist.get_world_size()
    return 1


def expand_slurm_nodelist(nodelist: str) -> list[str]:
    """Expand SLURM's compressed host list: ``"gpu[01-03,07],cpu1"`` -> 4 + 1 names."""
    hosts: list[str] = []
    for prefix, ranges, plain in re.findall(r"([^,\[]+)\[([^\]]+)\]|([^,]+)", nodelist):
        if plain:
            hosts.append(plain)
            continue
        for part in ranges.split(","):
            if "-" in part:
                start, end = part.split("-")
                hosts += [f"{prefix}{i:0{len(start)}d}" for i in range(int(start), int(end) + 1)]
            else:
                hosts.append(prefix + part)
    return hosts


def _environment_ranks(env: dict[str, str]) -> tuple[int, int, int] | None:
    """(rank, local_rank, world_size) from torchrun's or SLURM's variables, or None."""
    if "RANK" in env and "WORLD_SIZE" in env:
        return int(env["RANK"]), int(env.get("LOCAL_RANK", 0)), int(env["WORLD_SIZE"])
    if "SLURM_PROCID" in env and "SLURM_NTASKS" in env and int(env["SLURM_NTASKS"]) > 1:
        return int(env["SLURM_PROCID"]), int(env.get("SLURM_LOCALID", 0)), int(env["SLURM_NTASKS"])
    return None


def choose_device(requested: str | None = None, local_rank: int | None = None) -> torch.device:
    """The device this process computes on: CUDA when available (or asked for), else the CPU.

    Args:
        requested: "cpu", "cuda" or None (CUDA when available, else CPU), as ``--device``.
        local_rank: with one process per GPU, this process's GPU; else the current one.

    Raises:
        ConfigError: CUDA was asked for but torch sees no CUDA device.
    """
    use_cuda = torch.cuda.is_available() if requested is None else requested.startswith("cuda")
    if not use_cuda:
        return torch.device("cpu")
    if not torch.cuda.is_available():
        raise ConfigError(
            f"--device {requested}: torch sees no CUDA device; use --device cpu or install a "
            "CUDA build of torch"
        )
    return torch.device("cuda", torch.cuda.current_device() if local_rank is None else local_rank)


def setup(device: str | None = None, timeout_minutes: float = 30.0) -> DistContext:
    """Join the process group the launcher prepared (if any) and pick this process's device.

    Args:
        device: "cpu", "cuda" or None (CUDA when available, else CPU).
        timeout_minutes: collective timeout, so a dead peer ends the job instead of hanging it.

    Returns:
        The context; the process group is initialised when the world size is above 1
        (NCCL on CUDA, gloo on CPU). The CUDA device is ``cuda:LOCAL_RANK``.
    """
    env = dict(os.environ)
    ranks = _environment_ranks(env)
    if ranks is None or ranks[2] == 1:
        return DistContext(device=choose_device(device))
    rank, local_rank, world_size = ranks
    if "RANK" not in env:  # SLURM without torchrun: give init_process_group what it reads
        os.environ.update(RANK=str(rank), WORLD_SIZE=str(world_size), LOCAL_RANK=str(local_rank))
        if "MASTER_ADDR" not in env:
            nodelist = env.get("SLURM_JOB_NODELIST") or env.get("SLURM_NODELIST")
            if not nodelist:
                raise ConfigError(
                    "running under SLURM with several tasks but neither "
                    "MASTER_ADDR nor SLURM_JOB_NODELIST is set; export MASTER_ADDR"
                )
            os.environ["MASTER_ADDR"] = expand_slurm_nodelist(nodelist)[0]
        os.environ.setdefault("MASTER_PORT", "29500")
    local = choose_device(device, local_rank)
    if local.type == "cuda":
        torch.cuda.set_device(local)
    backend = "nccl" if local.type == "cuda" else "gloo"
    if not dist.is_initialized():
        timeout = datetime.timedelta(minutes=timeout_minutes)
        kwargs: dict[str, Any] = {"backend": backend, "timeout": timeout}
        if backend == "nccl":
            kwargs["device_id"] = local
        dist.init_process_group(**kwargs, **_restart_safe_store(rank, world_size, timeout))
    return DistContext(rank, local_rank, world_size, local, backend)


def _restart_safe_store(rank: int, world_size: int, timeout: datetime.timedelta) -> dict[str, Any]:
    """After a torchrun restart, a key-value store with a fresh namespace for this attempt.

    torchrun keeps one store for the whole job; without a new prefix, restarted workers read
    the addresses their dead predecessors published and fail to connect. The first attempt
    uses the default ``env://`` rendezvous unchanged.
    """
    restart = int(os.environ.get("TORCHELASTIC_RESTART_COUNT", "0"))
    if restart == 0:
        return {}
    agent_store = os.environ.get("TORCHELASTIC_USE_AGENT_STORE", "").lower() == "true"
    store = dist.TCPStore(
        os.environ["MASTER_ADDR"],
        int(os.environ["MASTER_PORT"]),
        world_size,
        is_master=not agent_store and rank == 0,
        timeout=timeout,
    )
    return {
        "store": dist.PrefixStore(f"gaitgen/attempt-{restart}", store),
        "rank": rank,
        "world_size": world_size,
    }


def cleanup() -> None:
    """Leave the process group (if any)."""
    if dist.is_available() and dist.is_initialized():
        dist.destroy_process_group()


def barrier() -> None:
    if world_size_if_distributed() > 1:
        dist.barrier()


def _gathered_rows(tensor: torch.Tensor) -> list[torch.Tensor]:
    """Every rank's ``tensor`` (detached), in rank order; ranks may hold different numbers of
    rows: the sizes are exchanged first and the rows padded for the collective, then trimmed."""
    world_size = world_size_if_distributed()
    local_rows = torch.tensor([tensor.shape[0]], device=tensor.device)
    all_rows = [torch.zeros_like(local_rows) for _ in range(world_size)]
    dist.all_gather(all_rows, local_rows)
    rows = [int(r) for r in all_rows]
    padded = tensor.detach()
    if max(rows) != tensor.shape[0]:
        pad = torch.zeros(
            (max(rows) - tensor.shape[0], *tensor.shape[1:]),
            dtype=tensor.dtype,
            device=tensor.device,
        )
        padded = torch.cat([padded, pad])
    gathered = [torch.empty_like(padded) for _ in range(world_size)]
    dist.all_gather(gathered, padded.contiguous())
    return [g[:n] for g, n in zip(gathered, rows)]


def all_gather_rows(tensor: torch.Tensor) -> torch.Tensor:
    """Concatenate ``tensor`` from every rank along dim 0, without gradients (features)."""
    if world_size_if_distributed() == 1:
        return tensor
    return torch.cat(_gathered_rows(tensor))


def all_gather_with_grad(tensor: torch.Tensor) -> torch.Tensor:
    """Concatenate ``tensor`` from every rank along dim 0; the local slice keeps its gradient
    (what a loss under DDP needs)."""
    if world_size_if_distributed() == 1:
        return tensor
    pieces = _gathered_rows(tensor)
    pieces[dist.get_rank()] = tensor  # the local slice is the original, with its history
    return torch.cat(pieces)


def all_gather_objects(obj: Any) -> list[Any]:
    """Every rank's ``obj`` (picklable, produced by this program), in rank order."""
    world_size = world_size_if_distributed()
    if world_size == 1:
        return [obj]
    gathered: list[Any] = [None] * world_size
    dist.all_gather_object(gathered, obj)
    return gathered


def broadcast_object(obj: Any, src: int = 0) -> Any:
    """``obj`` from rank ``src`` on every rank."""
    if world_size_if_distributed() == 1:
        return obj
    box = [obj]
    dist.broadcast_object_list(box, src=src)
    return box[0]
