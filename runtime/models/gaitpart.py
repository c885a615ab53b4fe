"""GaitPart (Fan et al., "GaitPart: Temporal Part-based Model for Gait Recognition", CVPR 2020).

A frame-level backbone of focal convolutions (``Plain``: convolutions applied to horizontal
strips, so that each body part learns its own fine-grained features), horizontal pooling of
every frame into parts (mean + max per strip), and a temporal feature aggregator per part
(micro-motion capture: two local-window templates weighted by a learnt attention over time,
max-pooled over the frames of each sequence). One linear map per part (``Head``) gives the
embedding ``[n, c, p]``, trained with the triplet loss alone.

OpenGait's config keys (``model_cfg``): ``backbone_cfg`` (``type: Plain``, ``layers_cfg``,
``in_channels``), ``SeparateFCs`` (``in_channels`` = the backbone's last channels, which is also
the aggregator's width; ``out_channels``; ``parts_num`` = ``sum(bin_num)``), ``bin_num``.
Parameter names are OpenGait's (``Backbone.forward_block.feature.0.conv.weight``,
``TFA.pooling_func.conv1d3x1.<part>.0.conv.weight``, ``Head.fc_bin``).
"""

from __future__ import annotations

from ..errors import ConfigError
from ..model import BaseModel
from ..modules.blocks import (
    HorizontalPoolingPyramid,
    PackSequenceWrapper,
    SeparateFCs,
    SetBlockWrapper,
    frames_as_set,
)
from ..modules.gaitpart_layers import TemporalFeatureAggregator


class GaitPart(BaseModel):
    """GaitPart: focal-convolution backbone and per-part temporal aggregation (OpenGait's)."""

    def build_network(self, model_cfg):
        head_cfg = model_cfg["SeparateFCs"]
        parts = sum(model_cfg["bin_num"])
        if head_cfg.get("parts_num") != parts:
            raise ConfigError(
                f"model_cfg.SeparateFCs.parts_num (GaitPart): {head_cfg.get('parts_num')!r} "
                f"must equal sum(bin_num) = {parts}: the aggregator has one network per part"
            )
        self.Backbone = SetBlockWrapper(self.get_backbone(model_cfg["backbone_cfg"]))
        self.Head = SeparateFCs(**head_cfg)
        self.HPP = SetBlockWrapper(HorizontalPoolingPyramid(bin_num=model_cfg["bin_num"]))
        # the aggregator runs once per sequence when lengths vary (seqL)
        self.TFA = PackSequenceWrapper(
            TemporalFeatureAggregator(
                in_channels=head_cfg["in_channels"], parts_num=head_cfg["parts_num"]
            )
        )

    def forward(self, inputs):
        ipts, labs, _, _, seqL = inputs
        sils = frames_as_set(ipts[0])  # [n, c, s, h, w]
        n, c, s, h, w = sils.shape

        out = self.Backbone(sils)  # [n, c, s, h, w]
        out = self.HPP(out)  # [n, c, s, p]
        out = self.TFA(out, seqL)  # [n, c, p]
        embs = self.Head(out)  # [n, c_out, p]

        return {
            "training_feat": {"triplet": {"embeddings": embs, "labels": labs}},
            "visual_summary": {"image/sils": sils.transpose(1, 2).reshape(n * s, c, h, w)},
            "inference_feat": {"embeddings": embs},
        }
