"""Batch-all triplet loss per horizontal part (OpenGait's TripletLoss)."""

from __future__ import annotations

import torch
import torch.nn.functional as F

from .base import BaseLoss, gather_and_scale_wrapper


def pairwise_euclidean(x: torch.Tensor, y: torch.Tensor) -> torch.Tensor:
    """Euclidean distances per part: x [p, n, c], y [p, m, c] -> [p, n, m]."""
    x2 = x.pow(2).sum(-1, keepdim=True)  # [p, n, 1]
    y2 = y.pow(2).sum(-1).unsqueeze(1)  # [p, 1, m]
    inner = torch.matmul(x, y.transpose(1, 2))  # [p, n, m]
    # Clamped above zero: sqrt has an infinite slope at 0, and rounding can make a sequence's
    # squared distance to itself slightly negative; both would turn the gradient into NaN.
    return (x2 + y2 - 2 * inner).clamp_min(1e-12).sqrt()


class TripletLoss(BaseLoss):
    """Batch-all triplet loss, averaged over the triplets that violate the margin.

    Every (anchor, positive, negative) triple of the batch counts, the anchor being its own
    positive as in OpenGait; the loss of each part is the mean over its non-zero triplets and
    the result is ``[p]`` (the aggregator takes the mean over parts).

    Args:
        margin: the margin between positive and negative distances.
        loss_term_weight: factor of this loss in the total.

    Logged: ``loss``, ``hard_loss`` (the largest triplet loss), ``loss_num`` (triplets above
    zero) and ``mean_dist`` (mean pairwise distance), each averaged over parts.
    """

    input_dims = {"embeddings": 3, "labels": 1}
    input_layout = {"embeddings": "[n, c, p]", "labels": "[n]"}

    def __init__(self, margin: float = 0.2, loss_term_weight: float = 1.0):
        super().__init__(loss_term_weight)
        self.margin = float(margin)

    @gather_and_scale_wrapper
    def forward(self, embeddings: torch.Tensor, labels: torch.Tensor):
        parts_first = embeddings.permute(2, 0, 1).contiguous().float()  # [p, n, c]
        dist = pairwise_euclidean(parts_first, parts_first)  # [p, n, n]
        same = labels.unsqueeze(0) == labels.unsqueeze(1)  # [n, n]
        losses = self._triplet_losses(dist, same)  # [p, triplets]
        loss_num = (losses > 0).sum(-1).float()  # [p]
        loss_avg = losses.sum(-1) / loss_num.clamp_min(1.0)  # [p]
        hard_loss = losses.max(-1)[0] if losses.shape[-1] else loss_avg.detach() * 0
        self.info = {
            "loss": loss_avg.detach().mean(),
            "hard_loss": hard_loss.detach().mean(),
            "loss_num": loss_num.mean(),
            "mean_dist": dist.detach().mean(),
        }
        return loss_avg, self.info

    def _triplet_losses(self, dist: torch.Tensor, same: torch.Tensor) -> torch.Tensor:
        """relu(d(a, pos) - d(a, neg) + margin) for every valid triple -> [p, triplets]."""
        parts, n, _ = dist.shape
        positives_per_anchor = same.sum(1)
        if bool((positives_per_anchor == positives_per_anchor[0]).all()):
            # P x K batches: the same number of positives for every anchor, so the
            # positives and negatives of each anchor reshape into dense blocks.
            k = int(positives_per_anchor[0])
            ap = dist[:, same].view(parts, n, k, 1)  # [p, n, k, 1]
            an = dist[:, ~same].view(parts, n, 1, n - k)  # [p, n, 1, n-k]
            return F.relu(ap - an + self.margin).view(parts, -1)
        # Uneven identity counts: score every (a, i, j) and keep the valid triples.
        valid = same.unsqueeze(2) & ~same.unsqueeze(1)  # [n, n, n]
        diff = dist.unsqueeze(3) - dist.unsqueeze(2) + self.margin  # [p, n, n, n]
        return F.relu(diff[:, valid])  # [p, triplets]
