"""GaitEdge's first phase (Liang et al., "GaitEdge: Beyond Plain End-to-end Gait Recognition
for Better Practicality", ECCV 2022): a silhouette segmenter, OpenGait's ``Segmentation``.

Each RGB frame (``ipts[0]``, ``[n, s, 3, h, w]``) goes through the backbone (``U_Net``) to one
logit per pixel; the sigmoid is trained against the silhouette (``ipts[1]``, ``[n, s, h, w]``,
in [0, 1]) by ``BinaryCrossEntropyLoss`` (``bce``), and the test phase hands the thresholded
prediction and the silhouette to ``evaluate_segmentation`` as ``pred`` and ``mask``
(``[n*s, 1, h, w]``): this model has no embeddings. OpenGait's config keys: backbone_cfg.
"""

from __future__ import annotations

from collections.abc import Mapping
from typing import Any

import torch

from ..model import BaseModel


class Segmentation(BaseModel):
    """OpenGait's Segmentation: per-frame silhouettes from RGB frames."""

    def build_network(self, model_cfg: Mapping[str, Any]) -> None:
        self.Backbone = self.get_backbone(model_cfg["backbone_cfg"])

    def forward(self, inputs):
        ipts, labs, typs, viws, seqL = inputs
        rgbs, sils = ipts[0], ipts[1]
        n, s, c, h, w = rgbs.shape
        rgbs = rgbs.reshape(n * s, c, h, w)
        sils = sils.reshape(n * s, 1, h, w)
        logits = torch.sigmoid(self.Backbone(rgbs))  # [n*s, 1, h, w], probabilities
        pred = (logits > 0.5).float()
        return {
            "training_feat": {"bce": {"logits": logits, "labels": sils}},
            "visual_summary": {"image/sils": sils, "image/logits": logits, "image/pred": pred},
            "inference_feat": {"pred": pred, "mask": sils},
        }
