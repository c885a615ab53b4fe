"""GaitSSB's sampler: every batch twice, for two views of each sequence.

Fan et al., "Learning Gait Representation from Massive Unlabelled Walking Videos: A
Benchmark" (T-PAMI 2023) pre-trains without labels: each sequence of a batch is seen twice,
with other frames and other augmentations, and the model learns to match the two. OpenGait's
GaitSSB configs name this sampler (``trainer_cfg.sampler.type: BilateralSampler``).
"""

from __future__ import annotations

from collections.abc import Iterator

import torch
from torch.utils.data import Sampler

from ..config.launch import uneven_batch_message
from ..errors import ConfigError
from .sampler import check_pk_batch, check_world
from .seeds import IterationBatch, mix_seed

_EPOCH_STREAM = 1 << 41  # keeps the epoch permutations apart from other (seed, n) streams


class BilateralSampler(Sampler):
    """Endless batches of ``P * K`` distinct sequences, each listed twice.

    The training set is walked in a shuffled order, one slice of ``P * K`` after another; a
    new order is drawn when fewer than ``P * K`` sequences are left. Labels play no part.
    The batch of an iteration depends on ``(seed, iteration)`` only, so a resumed run repeats
    the uninterrupted one, and each rank takes its own contiguous slice of it. The slice is
    yielded twice over (``[a, b, c, a, b, c]``): the collate function draws the frames and
    random transforms of each position on its own, so the two copies are two views, which
    the engine hands to the model apart (``ipts`` ``(view_1, view_2)``).

    Args:
        dataset: the training set (any sized dataset).
        batch_size: ``[P, K]``; a batch holds ``P * K`` sequences, then the same again.
        batch_shuffle: accepted for OpenGait's configs; the order is always shuffled.
        rank: this process's rank.
        world_size: the number of processes; each takes ``P * K / world_size`` sequences.
        seed: batches are a function of ``(seed, iteration)`` only.
        start_iteration: the first iteration (a resumed run continues the same batches).

    Attributes:
        views: 2: the loader delivers each batch as two views
            (``((ipts_q, ipts_k), labs, typs, viws, (seqL_q, seqL_k))``, see
            :func:`gaitgen.runtime.data.batch.split_views`).
    """

    views = 2

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
        identities, per_identity = pk = check_pk_batch(batch_size)
        check_world(rank, world_size)
        self.total = identities * per_identity
        if self.total % world_size:
            raise ConfigError(
                uneven_batch_message("trainer_cfg.sampler.batch_size", pk, world_size)
            )
        if len(dataset) == 0:
            raise ConfigError("BilateralSampler: the training set is empty")
        self.dataset = dataset
        self.rank, self.per_rank = rank, self.total // world_size
        self.seed, self.start_iteration = int(seed), int(start_iteration)
        # whole batches per pass over the data (at least one: a small set is repeated)
        self.batches_per_epoch = max(1, len(dataset) // self.total)

    def global_batch(self, iteration: int) -> list[int]:
        """The ``P * K`` sequences of ``iteration`` (identical on every rank)."""
        epoch, position = divmod(iteration, self.batches_per_epoch)
        generator = torch.Generator().manual_seed(mix_seed(self.seed, _EPOCH_STREAM + epoch))
        order = torch.randperm(len(self.dataset), generator=generator)
        if len(order) < self.total:  # fewer sequences than a batch: repeat the order
            order = order.repeat(-(-self.total // len(order)))
        return order[position * self.total : (position + 1) * self.total].tolist()

    def __iter__(self) -> Iterator[IterationBatch[int]]:
        iteration = self.start_iteration
        start = self.rank * self.per_rank
        while True:
            mine = self.global_batch(iteration)[start : start + self.per_rank]
            yield IterationBatch(iteration, mine + mine, views=self.views)
            iteration += 1

    def __len__(self) -> int:
        return len(self.dataset)  # as OpenGait; the iteration never ends
