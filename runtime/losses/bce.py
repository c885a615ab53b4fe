"""Binary cross-entropy of per-pixel probabilities (OpenGait's BinaryCrossEntropyLoss)."""

from __future__ import annotations

import torch

from ..evaluation.segmentation import mean_iou
from .base import BaseLoss


class BinaryCrossEntropyLoss(BaseLoss):
    """Pixel-wise binary cross-entropy of a segmenter's probabilities against the masks.

    The model gives probabilities (after its sigmoid), as GaitEdge's ``Segmentation`` does;
    ``eps`` keeps the logarithms finite. Logs the mean loss, the hardest pixel's loss and the
    per-frame IoU of the thresholded prediction (``miou``).

    Args:
        loss_term_weight: factor of this loss in the total.
        eps: added inside the logarithms.
    """

    input_dims = {"logits": 4, "labels": 4}
    input_layout = {"logits": "[n, 1, h, w] probabilities", "labels": "[n, 1, h, w]"}

    def __init__(self, loss_term_weight: float = 1.0, eps: float = 1.0e-9):
        super().__init__(loss_term_weight)
        self.eps = float(eps)

    def forward(self, logits: torch.Tensor, labels: torch.Tensor):
        labels = labels.float()
        logits = logits.float()
        loss = -(
            labels * torch.log(logits + self.eps) + (1 - labels) * torch.log(1 - logits + self.eps)
        )
        self.info.update(
            {
                "loss": loss.mean().detach().clone(),
                "hard_loss": loss.max().detach().clone(),
                "miou": mean_iou((logits > 0.5).float(), labels),
            }
        )
        return loss.mean(), self.info
