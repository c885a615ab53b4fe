"""GaitBase (Fan et al., "OpenGait: Revisiting Gait Recognition Toward Better Practicality", CVPR 2023).

Per frame a ResNet9-style backbone; temporal max pooling per sequence; a horizontal pooling
pyramid; separate FCs per part (the triplet embedding) and separate BNNecks (the classifier).
OpenGait's config keys: backbone_cfg, SeparateFCs, SeparateBNNecks, bin_num.
"""

from __future__ import annotations

import torch

from ..model import BaseModel
from ..modules.blocks import (
    HorizontalPoolingPyramid,
    PackSequenceWrapper,
    SeparateBNNecks,
    SeparateFCs,
    SetBlockWrapper,
    frames_as_set,
)


class Baseline(BaseModel):
    """GaitBase: the baseline of OpenGait, configured by OpenGait's Baseline configs."""

    def build_network(self, model_cfg):
        self.Backbone = SetBlockWrapper(self.get_backbone(model_cfg["backbone_cfg"]))
        self.FCs = SeparateFCs(**model_cfg["SeparateFCs"])
        self.BNNecks = SeparateBNNecks(**model_cfg["SeparateBNNecks"])
        self.TP = PackSequenceWrapper(torch.max)
        self.HPP = HorizontalPoolingPyramid(bin_num=model_cfg["bin_num"])

    def forward(self, inputs):
        ipts, labs, _, _, seqL = inputs
        sils = frames_as_set(ipts[0])  # [n, c, s, h, w]
        n, c, s, h, w = sils.shape

        outs = self.Backbone(sils)  # [n, c, s, h, w]
        outs = self.TP(outs, seqL, options={"dim": 2})[0]  # [n, c, h, w]
        feat = self.HPP(outs)  # [n, c, p]
        embed_1 = self.FCs(feat)  # [n, c, p]
        _, logits = self.BNNecks(embed_1)  # [n, class_num, p]

        return {
            "training_feat": {
                "triplet": {"embeddings": embed_1, "labels": labs},
                "softmax": {"logits": logits, "labels": labs},
            },
            "visual_summary": {"image/sils": sils.transpose(1, 2).reshape(n * s, c, h, w)},
            "inference_feat": {"embeddings": embed_1},
        }
