"""Supervised contrastive losses of GaitGraph and GaitGraph2 (OpenGait's SupConLoss_Re and
SupConLoss_Lp; Khosla et al., "Supervised Contrastive Learning", NeurIPS 2020,
arXiv:2004.11362).

Every view of every sequence is an anchor; the other views of sequences of the same identity
are its positives, and every other view its contrast set. With similarities ``s`` (dot products,
or minus the p-norm distances of normalised features) divided by the temperature ``T``, an
anchor's loss is ``-(T / base_T) * mean over positives j of log(exp(s_ij) / sum over k != i of
exp(s_ik))``; the loss is the mean over anchors (over anchors with a loss above zero, for
``SupConLoss_Lp``). An anchor with no positive has loss 0.

The normaliser is a log-sum-exp, so the loss stays finite at OpenGait's temperature 0.01,
where OpenGait's float32 ``exp`` of the shifted similarities underflows to 0 (its loss is then
inf or NaN); where it does not underflow the two agree.
"""

from __future__ import annotations

import torch

from .base import BaseLoss, gather_and_scale_wrapper


def supervised_contrastive_loss(
    features: torch.Tensor,
    labels: torch.Tensor,
    temperature: float,
    base_temperature: float,
    p: float | None = None,
    reduce_zero: bool = False,
) -> torch.Tensor:
    """The supervised contrastive loss of ``features`` ``[n, views, ...]`` with ``labels`` ``[n]``.

    Args:
        features: one row of views per sequence (the trailing dimensions are flattened).
        labels: the identity of each sequence.
        temperature: the similarities are divided by it.
        base_temperature: the loss is scaled by ``temperature / base_temperature``.
        p: None for dot-product similarities; else the norm of both the normalisation and
            the distance whose negative is the similarity.
        reduce_zero: average only the anchors whose loss is above zero.

    Returns:
        A scalar.
    """
    n, views = features.shape[:2]
    # view-major: all sequences' first views, then all second views, ...
    anchors = features.reshape(n, views, -1).transpose(0, 1).reshape(n * views, -1)
    if p is None:
        similarity = anchors @ anchors.T
    else:
        normalised = torch.nn.functional.normalize(anchors, p=p, dim=1)
        similarity = -torch.cdist(normalised, normalised, p=p)
    similarity = similarity / temperature
    itself = torch.eye(n * views, dtype=torch.bool, device=features.device)
    log_prob = similarity - torch.logsumexp(similarity.masked_fill(itself, float("-inf")), 1, True)
    identity = labels.reshape(-1).repeat(views)
    positive = (identity[:, None] == identity[None, :]) & ~itself
    positive = positive.to(log_prob.dtype)
    tiny = torch.finfo(log_prob.dtype).tiny
    mean_log_prob = (positive * log_prob).sum(1) / (positive.sum(1) + tiny)
    loss = -(temperature / base_temperature) * mean_log_prob
    if reduce_zero:
        loss = loss[loss > 0]
        if not loss.numel():  # no anchor has a positive: 0 (OpenGait's mean of nothing is NaN)
            return loss.sum()
    return loss.mean()


class SupConLoss_Re(BaseLoss):  # noqa: N801  (OpenGait's name)
    """Supervised contrastive loss on dot products of several views per sequence (GaitGraph).

    ``forward(features [n, views, c], labels [n])``; the loss is scaled by
    ``temperature / 0.07`` (SupCon's base temperature), as OpenGait's.

    Args:
        temperature: the similarities are divided by it.
        loss_term_weight: factor of this loss in the total.

    Logged: ``loss``.
    """

    input_dims = {"features": 3, "labels": 1}
    input_layout = {"features": "[n, views, c]", "labels": "[n]"}

    def __init__(self, temperature: float = 0.01, loss_term_weight: float = 1.0):
        super().__init__(loss_term_weight)
        self.temperature = float(temperature)
        self.base_temperature = 0.07

    @gather_and_scale_wrapper
    def forward(self, features: torch.Tensor, labels: torch.Tensor):
        loss = supervised_contrastive_loss(
            features, labels, self.temperature, self.base_temperature
        )
        self.info = {"loss": loss.detach().clone()}
        return loss, self.info


class SupConLoss_Lp(BaseLoss):  # noqa: N801  (OpenGait's name)
    """Supervised contrastive loss on L2 distances of normalised embeddings (GaitGraph2).

    ``forward(features [n, c], labels [n])``: one view per sequence, similarities minus the
    Euclidean distances of the L2-normalised features, no extra scale, averaged over the
    anchors whose loss is above zero.

    Args:
        temperature: the similarities are divided by it.
        loss_term_weight: factor of this loss in the total.

    Logged: ``loss``.
    """

    input_dims = {"features": 2, "labels": 1}
    input_layout = {"features": "[n, c]", "labels": "[n]"}

    def __init__(self, temperature: float = 0.01, loss_term_weight: float = 1.0):
        super().__init__(loss_term_weight)
        self.temperature = float(temperature)

    @gather_and_scale_wrapper
    def forward(self, features: torch.Tensor, labels: torch.Tensor):
        loss = supervised_contrastive_loss(
            features.unsqueeze(1),
            labels,
            self.temperature,
            self.temperature,
            p=2,
            reduce_zero=True,
        )
        self.info = {"loss": loss.detach().clone()}
        return loss, self.info
