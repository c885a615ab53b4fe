"""ScoNet (Zhou et al., "Gait Patterns as Biomarkers: A Video-Based Approach for Classifying
Scoliosis", MICCAI 2024).

GaitBase's network (``Baseline``: ResNet9-style backbone per frame, temporal max pooling,
horizontal pooling pyramid, separate FCs and BNNecks) trained as a three-class screener on
Scoliosis1K: the classifier's labels are not the identities but the sequence types, which
Scoliosis1K's folders name ``negative``, ``neutral`` or ``positive``, and the test phase's
embeddings are the class logits ``[n, 3, p]`` (what ``evaluate_scoliosis`` reads). The triplet
loss still pulls sequences of one identity together. OpenGait's config keys: backbone_cfg,
SeparateFCs, SeparateBNNecks (class_num 3), bin_num.
"""

from __future__ import annotations

from ..evaluation.scoliosis import SCOLIOSIS_CLASSES
from .baseline import Baseline


class ScoNet(Baseline):
    """OpenGait's ScoNet: GaitBase classifying each sequence's type (scoliosis screening)."""

    # OpenGait's mapping, lowercase only: negative -> 0, neutral -> 1, positive -> 2
    sequence_types = SCOLIOSIS_CLASSES

    def forward(self, inputs):
        ipts, labs, typs, viws, seqL = inputs
        classes = self.type_classes(typs, ipts[0].device)
        retval = super().forward(inputs)
        softmax = retval["training_feat"]["softmax"]
        softmax["labels"] = classes  # the classifier learns the type; the triplet the identity
        retval["inference_feat"]["embeddings"] = softmax["logits"]  # [n, 3, p]
        return retval
