"""Training batches as a function of ``(seed, rank, iteration)``: the seeds and the record that
carries a batch's iteration to the process that builds it.

The samplers draw the batch of an iteration from ``mix_seed(seed, iteration)`` and yield it as
an :class:`IterationBatch`; the dataset reads its sequences into another one (same iteration);
the collate function draws the batch's frames and random transforms from
``mix_seed(frame_seed(seed, rank), iteration)``. Nothing depends on which worker process built
a batch or on how many batches came before, so a resumed run repeats the uninterrupted one.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Generic, TypeVar

_MASK64 = (1 << 64) - 1
_FRAME_STREAM = 1 << 40  # keeps the frame seeds apart from the samplers' (seed, iteration) ones


def mix_seed(seed: int, stream: int) -> int:
    """A well-spread 63-bit seed for ``(seed, stream)`` (splitmix64 finaliser).

    Args:
        seed: the seed to derive from.
        stream: what the derived seed is for (an iteration, a rank...).

    Returns:
        A seed for ``torch.Generator.manual_seed``; close inputs give unrelated outputs.
    """
    z = (seed * 0x9E3779B97F4A7C15 + stream + 0x632BE59BD9B4E019) & _MASK64
    z = ((z ^ (z >> 30)) * 0xBF58476D1CE4E5B9) & _MASK64
    z = ((z ^ (z >> 27)) * 0x94D049BB133111EB) & _MASK64
    return (z ^ (z >> 31)) >> 1


def frame_seed(seed: int, rank: int) -> int:
    """The seed of rank ``rank``'s frame sampling and random transforms (mixed with each
    batch's iteration by the collate function)."""
    return mix_seed(mix_seed(seed, _FRAME_STREAM), rank)


T = TypeVar("T")


@dataclass(frozen=True)
class IterationBatch(Generic[T]):
    """A training batch and its iteration, as the endless samplers yield them.

    The sampler yields the dataset indices of this rank's slice; the dataset turns them into
    the sequences read for them, keeping the iteration; the collate function seeds the batch's
    frames and random transforms from it.

    Args:
        iteration: the training iteration the batch is for.
        items: the dataset indices (from a sampler) or the sequences (from the dataset).
        views: how many times the batch lists each sequence (2 for ``BilateralSampler``:
            ``[a, b, c, a, b, c]``, each position sampled and transformed on its own, so the
            model gets two views of every sequence; see :func:`.batch.split_views`).
    """

    iteration: int
    items: list[T]
    views: int = 1
