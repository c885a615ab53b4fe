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

from collections.abc import Sequence

import torch

from ..errors import DataError
from .baseline import Baseline


class ScoNet(Baseline):
    """OpenGait's ScoNet: GaitBase classifying each sequence's type (scoliosis screening)."""

    # OpenGait's mapping, lowercase only: negative -> 0, neutral -> 1, positive -> 2
    sequence_types = ("negative", "neutral", "positive")

    def type_classes(self, typs: Sequence[str], device: torch.device) -> torch.Tensor:
        """The class index of each sequence from its type, as OpenGait's ScoNet maps them.

        Raises:
            DataError: a type is not one of :attr:`sequence_types` (OpenGait raises KeyError).
        """
        index = {name: i for i, name in enumerate(self.sequence_types)}
        if typs is None:
            raise DataError(
                "ScoNet takes its class from each sequence's type, but the batch carries no "
                "types (inputs[2] is None): pass the loader's [ipts, labs, typs, viws, seqL]"
            )
        unknown = sorted({str(t) for t in typs if t not in index})
        if unknown:
            accepted = ", ".join(repr(name) for name in self.sequence_types)
            raise DataError(
                f"ScoNet takes its class from each sequence's type (the <type> folder of "
                f"<id>/<type>/<view>), which must be one of {accepted} (lowercase, as "
                f"OpenGait's ScoNet maps them); got {', '.join(repr(t) for t in unknown)}: "
                "name the type folders so (Scoliosis1K's own layout)"
            )
        return torch.tensor([index[t] for t in typs], dtype=torch.long, device=device)

    def forward(self, inputs):
        ipts, labs, typs, viws, seqL = inputs
        classes = self.type_classes(typs, ipts[0].device)
        retval = super().forward(inputs)
        softmax = retval["training_feat"]["softmax"]
        softmax["labels"] = classes  # the classifier learns the type; the triplet the identity
        retval["inference_feat"]["embeddings"] = softmax["logits"]  # [n, 3, p]
        return retval
