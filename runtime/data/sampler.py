"""Batch samplers: P x K identities for training, contiguous shards for inference.

No sampler communicates between processes. ``TripletSampler`` derives each global batch from
``(seed, iteration)`` with its own ``torch.Generator``, so every rank computes the same batch
and keeps its own contiguous slice; ``InferenceSampler`` gives rank ``r`` the ordered index
range ``[start_r, end_r)``, so per-rank features concatenated in rank order are in dataset
order. Every public class in this file is listed to users as a sampler.
"""

from __future__ import annotations

from collections.abc import Iterator

import torch
from torch.utils.data import Sampler

from ..config.launch import uneven_batch_message
from ..errors import ConfigError
from .seeds import IterationBatch, mix_seed


def check_world(rank: int, world_size: int) -> None:
    """A sampler's rank must be one of the world's processes."""
    if world_size < 1 or not 0 <= rank < world_size:
        raise ValueError(f"rank {rank} is not within a world of {world_size} process(es)")


def check_pk_batch(batch_size: object) -> list[int]:
    """``trainer_cfg.sampler.batch_size`` as ``[P, K]``: two whole numbers above 0.

    Raises:
        ConfigError: anything else, naming the key.
    """
    if (
        not isinstance(batch_size, (list, tuple))
        or len(batch_size) != 2
        or not all(isinstance(v, int) and not isinstance(v, bool) and v > 0 for v in batch_size)
    ):
        raise ConfigError(
            "trainer_cfg.sampler.batch_size: expected [P, K] (identities, sequences per "
            f"identity), got {batch_size!r}"
        )
    return list(batch_size)


def _choose(count: int, wanted: int, generator: torch.Generator) -> torch.Tensor:
    """``wanted`` positions among ``count``: without replacement when there are enough."""
    if count >= wanted:
        return torch.randperm(count, generator=generator)[:wanted]
    return torch.randint(0, count, (wanted,), generator=generator)


class TripletSampler(Sampler):
    """Endless P x K batches: P identities without replacement, K sequences each.

    Args:
        dataset: a GaitDataSet (``label_set``, ``indices_dict``).
        batch_size: ``[P, K]``.
        batch_shuffle: shuffle the order of the sequences within each batch.
        rank: this process's rank.
        world_size: the number of processes; each gets ``P * K / world_size`` sequences.
        seed: batches are a function of ``(seed, iteration)`` only.
        start_iteration: the first iteration (a resumed run continues the same batches).
    """

    def __init__(
        self,
        dataset,
        batch_size: list[int],
        batch_shuffle: bool = False,
        rank: int = 0,
        world_size: int = 1,
        seed: int = 0,
        start_iteration: int = 0,
    ) -> None:
        key = "trainer_cfg.sampler.batch_size"
        self.batch_size = check_pk_batch(batch_size)
        check_world(rank, world_size)
        self.dataset = dataset
        self.batch_shuffle = bool(batch_shuffle)
        self.rank, self.world_size = rank, world_size
        self.seed, self.start_iteration = int(seed), int(start_iteration)
        identities, per_identity = self.batch_size
        total = identities * per_identity
        if total % world_size != 0:
            raise ConfigError(uneven_batch_message(key, self.batch_size, world_size))
        if len(dataset.label_set) < identities:
            raise ConfigError(
                f"{key}: P = {identities} identities per batch, but the training set has only "
                f"{len(dataset.label_set)}; lower P or add identities"
            )
        self.per_rank = total // world_size
        self._pools = [torch.tensor(dataset.indices_dict[label]) for label in dataset.label_set]

    def global_batch(self, iteration: int) -> list[int]:
        """The whole P x K batch of ``iteration`` (identical on every rank)."""
        generator = torch.Generator().manual_seed(mix_seed(self.seed, iteration))
        identities, per_identity = self.batch_size
        chosen = torch.randperm(len(self._pools), generator=generator)[:identities]
        parts = []
        for identity in chosen.tolist():
            pool = self._pools[identity]
            parts.append(pool[_choose(len(pool), per_identity, generator)])
        batch = torch.cat(parts)
        if self.batch_shuffle:
            batch = batch[torch.randperm(len(batch), generator=generator)]
        return batch.tolist()

    def batch_for(self, iteration: int) -> list[int]:
        """This rank's contiguous slice of the batch of ``iteration``."""
        start = self.rank * self.per_rank
        return self.global_batch(iteration)[start : start + self.per_rank]

    def __iter__(self) -> Iterator[IterationBatch[int]]:
        iteration = self.start_iteration
        while True:
            yield IterationBatch(iteration, self.batch_for(iteration))
            iteration += 1

    def __len__(self) -> int:
        return len(self.dataset)  # as OpenGait; the iteration never ends


def _shard_bounds(size: int, rank: int, world_size: int) -> tuple[int, int]:
    """``[start, end)`` of rank ``rank`` when ``size`` items are split as evenly as possible."""
    base, extra = divmod(size, world_size)
    start = rank * base + min(rank, extra)
    return start, start + base + (1 if rank < extra else 0)


class InferenceSampler(Sampler):
    """Ordered batches of one contiguous shard of the dataset per rank.

    Rank ``r`` gets the indices ``shard_indices = range(start_r, end_r)`` (shards differ in
    size by at most one); concatenating the ranks' outputs in rank order gives dataset
    order. ``batch_size`` is the global batch, as in OpenGait: each rank takes
    ``ceil(batch_size / world_size)`` sequences at a time (any size works with any world).

    Args:
        dataset: the test set.
        batch_size: sequences per global batch.
        rank: this process's rank.
        world_size: the number of processes.
    """

    def __init__(self, dataset, batch_size: int, rank: int = 0, world_size: int = 1) -> None:
        if isinstance(batch_size, bool) or not isinstance(batch_size, int) or batch_size < 1:
            raise ConfigError(
                f"evaluator_cfg.sampler.batch_size: expected a whole number >= 1, got {batch_size!r}"
            )
        check_world(rank, world_size)
        self.dataset = dataset
        self.batch_size = batch_size
        self.rank, self.world_size = rank, world_size
        self.per_rank = -(-batch_size // world_size)
        start, end = _shard_bounds(len(dataset), rank, world_size)
        self.shard_indices = range(start, end)

    def __iter__(self) -> Iterator[list[int]]:
        shard = self.shard_indices
        for first in range(0, len(shard), self.per_rank):
            yield list(shard[first : first + self.per_rank])

    def __len__(self) -> int:
        """The number of batches this rank yields."""
        return -(-len(self.shard_indices) // self.per_rank)


class CommonSampler(Sampler):
    """Endless batches of ``batch_size`` sequences drawn at random with replacement.

    Sharded like :class:`TripletSampler` (same batch on every rank from ``(seed, iteration)``,
    a contiguous slice per rank).
    """

    def __init__(
        self,
        dataset,
        batch_size: int,
        batch_shuffle: bool = False,
        rank: int = 0,
        world_size: int = 1,
        seed: int = 0,
        start_iteration: int = 0,
    ) -> None:
        key = "trainer_cfg.sampler.batch_size"
        if isinstance(batch_size, bool) or not isinstance(batch_size, int) or batch_size < 1:
            raise ConfigError(f"{key}: expected a whole number >= 1, got {batch_size!r}")
        if batch_size % world_size != 0:
            raise ConfigError(uneven_batch_message(key, batch_size, world_size))
        check_world(rank, world_size)
        self.dataset = dataset
        self.batch_size = batch_size
        self.batch_shuffle = bool(batch_shuffle)
        self.rank, self.world_size = rank, world_size
        self.seed, self.start_iteration = int(seed), int(start_iteration)
        self.per_rank = batch_size // world_size

    def global_batch(self, iteration: int) -> list[int]:
        """The whole batch of ``iteration`` (identical on every rank)."""
        generator = torch.Generator().manual_seed(mix_seed(self.seed, iteration))
        return torch.randint(0, len(self.dataset), (self.batch_size,), generator=generator).tolist()

    def __iter__(self) -> Iterator[IterationBatch[int]]:
        iteration = self.start_iteration
        start = self.rank * self.per_rank
        while True:
            yield IterationBatch(
                iteration, self.global_batch(iteration)[start : start + self.per_rank]
            )
            iteration += 1

    def __len__(self) -> int:
        return len(self.dataset)
