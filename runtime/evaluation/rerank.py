"""k-reciprocal re-ranking (Zhong et al., CVPR 2017), as OpenGait applies it, in torch.

Given distances among all ``N`` probe + gallery sequences (probes first):

1. each row is divided by its largest distance;
2. ``R(i)``: the ``k1``-reciprocal neighbours of ``i`` (``j`` in the ``k1 + 1`` nearest of
   ``i`` and ``i`` in those of ``j``), expanded by the ``k1/2``-reciprocal sets of its
   members that overlap ``R(i)`` by more than two thirds;
3. ``V[i, j] = exp(-d[i, j])`` over ``R(i)``, normalised per row, then averaged over the
   ``k2`` nearest neighbours (query expansion);
4. Jaccard distance ``1 - sum(min(V_i, V_j)) / sum(max(V_i, V_j))``, mixed with the
   original distance: ``(1 - lambda) * jaccard + lambda * original``.

Neighbour sets are computed for all rows at once; the Jaccard step walks probe blocks and
touches only each probe's non-zero columns. Memory grows with ``N^2`` (dense ``V``), so the
number of sequences is capped (:data:`MAX_SEQUENCES`). Arithmetic is float32 throughout
(OpenGait stores ``V`` in float16, which moves distances by about 1e-3).
"""

from __future__ import annotations

import torch
from gaitgen.runtime.errors import DataError

MAX_SEQUENCES = 15_000


def k_reciprocal_rerank(
    dist: torch.Tensor,
    num_probes: int,
    k1: int = 20,
    k2: int = 6,
    lambda_value: float = 0.3,
    probe_block: int = 8,
) -> torch.Tensor:
    """Re-ranked probe-gallery distances.

    Args:
        dist: ``[N, N]`` distances among probes (first ``num_probes`` rows) and gallery.
        num_probes: how many of the ``N`` sequences are probes.
        k1, k2, lambda_value: the method's parameters (OpenGait's names).
        probe_block: probes per Jaccard step.

    Returns:
        ``[num_probes, N - num_probes]`` distances.

    Raises:
        DataError: more than :data:`MAX_SEQUENCES` sequences.
    """
    n = dist.shape[0]
    if n > MAX_SEQUENCES:
        raise DataError(
            f"re-ranking needs dense {n} x {n} matrices; it is limited to {MAX_SEQUENCES} "
            "probe + gallery sequences: evaluate without --rerank / evaluator_cfg.rerank"
        )
    device = dist.device
    original = (dist / dist.amax(0, keepdim=True)).t().contiguous()  # [N, N], row-scaled
    depth = min(max(k1 + 1, k2), n)
    ranks = torch.topk(original, depth, dim=1, largest=False, sorted=True).indices  # [N, depth]
    rows = torch.arange(n, device=device)

    forward, reciprocal = _reciprocal(ranks, min(k1 + 1, n), rows)  # [N, k]
    half_forward, half_reciprocal = _reciprocal(ranks, min(round(k1 / 2) + 1, n), rows)

    # expansion: candidate j in R(i) brings its half set C(j) if |C(j) & R(i)| > 2/3 |C(j)|
    members = torch.zeros(n, n, dtype=torch.bool, device=device)
    members[rows[:, None].expand_as(forward)[reciprocal], forward[reciprocal]] = True
    for start in range(0, n, 512):
        stop = min(start + 512, n)
        candidates = forward[start:stop]  # [b, k]
        sets = half_forward[candidates]  # [b, k, h]
        valid = half_reciprocal[candidates]  # [b, k, h]
        in_r = members[rows[start:stop, None, None], sets] & valid  # [b, k, h]
        accept = reciprocal[start:stop] & (in_r.sum(2) > 2.0 / 3.0 * valid.sum(2))
        keep = accept[:, :, None] & valid
        block_rows = rows[start:stop, None, None].expand_as(sets)
        members[block_rows[keep], sets[keep]] = True

    weights = torch.zeros(n, n, device=device)
    for start in range(0, n, 1024):
        stop = min(start + 1024, n)
        block = torch.exp(-original[start:stop]) * members[start:stop]
        weights[start:stop] = block / block.sum(1, keepdim=True)
    del members
    if k2 != 1:
        expanded = torch.empty_like(weights)
        for start in range(0, n, 256):
            stop = min(start + 256, n)
            expanded[start:stop] = weights[ranks[start:stop, :k2]].mean(1)
        weights = expanded

    jaccard = torch.empty(num_probes, n, device=device)
    for start in range(0, num_probes, probe_block):
        stop = min(start + probe_block, num_probes)
        jaccard[start:stop] = _jaccard(weights, start, stop)
    final = jaccard.mul_(1 - lambda_value).add_(original[:num_probes], alpha=lambda_value)
    return final[:, num_probes:].contiguous()


def _reciprocal(
    ranks: torch.Tensor, k: int, rows: torch.Tensor
) -> tuple[torch.Tensor, torch.Tensor]:
    """The ``k`` nearest of each row and whether each is reciprocal (row in its ``k`` nearest)."""
    nearest = ranks[:, :k]  # [N, k]
    reciprocal = (nearest[nearest] == rows[:, None, None]).any(2)  # [N, k]
    return nearest, reciprocal


def _jaccard(weights: torch.Tensor, start: int, stop: int) -> torch.Tensor:
    """Jaccard distances ``[stop - start, N]`` of probes ``start:stop`` to every sequence."""
    probe_weights = weights[start:stop]  # [b, N]
    nonzero = probe_weights > 0
    width = max(int(nonzero.sum(1).max()), 1)
    # each probe's non-zero columns first (padding columns carry weight 0: min(0, x) = 0)
    columns = torch.argsort(nonzero.to(torch.int8), dim=1, descending=True, stable=True)[:, :width]
    values = probe_weights.gather(1, columns)  # [b, w]
    others = weights[:, columns]  # [N, b, w]
    overlap = torch.minimum(others, values[None]).sum(2).t()  # [b, N]
    return 1 - overlap / (2 - overlap)
