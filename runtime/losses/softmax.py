"""Cross-entropy over per-part logits (OpenGait's CrossEntropyLoss)."""

from __future__ import annotations

import torch
import torch.nn.functional as F

from .base import BaseLoss


class CrossEntropyLoss(BaseLoss):
    """Cross-entropy of every horizontal part's logits against the identity label.

    Args:
        scale: logits are multiplied by this before the softmax (they come from normalised
            features and weights, so they lie in [-1, 1]).
        label_smooth: use label smoothing.
        eps: the label-smoothing amount.
        loss_term_weight: factor of this loss in the total.
        log_accuracy: also log the training accuracy.
    """

    input_dims = {"logits": 3, "labels": 1}
    input_layout = {"logits": "[n, classes, p]", "labels": "[n]"}

    def __init__(
        self,
        scale: float = 2**4,
        label_smooth: bool = True,
        eps: float = 0.1,
        loss_term_weight: float = 1.0,
        log_accuracy: bool = False,
    ):
        super().__init__(loss_term_weight)
        self.scale = float(scale)
        self.label_smooth = bool(label_smooth)
        self.eps = float(eps)
        self.log_accuracy = bool(log_accuracy)

    def forward(self, logits: torch.Tensor, labels: torch.Tensor):
        parts = logits.size(2)  # logits [n, classes, p]
        targets = labels.long().unsqueeze(1).expand(-1, parts)  # [n, p]
        smoothing = self.eps if self.label_smooth else 0.0
        loss = F.cross_entropy(logits.float() * self.scale, targets, label_smoothing=smoothing)
        self.info = {"loss": loss.detach()}
        if self.log_accuracy:
            predictions = logits.argmax(dim=1)  # [n, p]
            self.info["accuracy"] = (predictions == targets).float().mean()
        return loss, self.info
