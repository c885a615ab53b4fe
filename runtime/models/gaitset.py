"""GaitSet (Chao et al., "GaitSet: Regarding Gait as a Set for Cross-View Gait Recognition",
AAAI 2019; arXiv:1811.06186).

A gait sequence is an unordered set of silhouettes. Three frame-level stages of two convolutions
each (LeakyReLU, 2x2 max pooling after the first two) see every frame on its own; after each
stage a set pooling (max over the frames of each sequence) gives a set-level map, and a second,
"global" branch (``gl_block2``/``gl_block3``, the same layer shapes as stages 2 and 3) refines
the pooled maps and adds the next pooled stage to them (multilayer global pipeline). Horizontal
pyramid pooling of the last frame-level map and of the global map, joined along the part axis,
goes through one linear map per part (``Head``): the embedding ``[n, c, p]``, trained with the
triplet loss alone.

OpenGait's config keys (``model_cfg``): ``in_channels`` (four numbers: input, stage 1, 2, 3
channels), ``SeparateFCs`` (``in_channels`` = ``in_channels[3]``, ``out_channels``,
``parts_num`` = 2 x ``sum(bin_num)``), ``bin_num``. Parameter names are OpenGait's
(``set_block1.forward_block.0.conv.weight``, ``gl_block2.0.conv.weight``, ``Head.fc_bin``).
"""

from __future__ import annotations

import torch

from ..model import BaseModel
from ..modules.blocks import (
    HorizontalPoolingPyramid,
    PackSequenceWrapper,
    SeparateFCs,
    SetBlockWrapper,
    frames_as_set,
)
from ..modules.setnet import conv_stage, stage_channels


class GaitSet(BaseModel):
    """GaitSet: frame-level CNN, set pooling and a global pipeline (OpenGait's GaitSet)."""

    def build_network(self, model_cfg):
        c = stage_channels(model_cfg, "GaitSet")
        # frame-level stages, each applied to every frame of the set
        self.set_block1 = SetBlockWrapper(conv_stage(c[0], c[1], 5, pool=True))
        self.set_block2 = SetBlockWrapper(conv_stage(c[1], c[2], 3, pool=True))
        self.set_block3 = SetBlockWrapper(conv_stage(c[2], c[3], 3, pool=False))
        # the global pipeline on set-level maps: fresh layers of the same shapes as stages 2, 3
        self.gl_block2 = conv_stage(c[1], c[2], 3, pool=True)
        self.gl_block3 = conv_stage(c[2], c[3], 3, pool=False)
        self.set_pooling = PackSequenceWrapper(torch.max)
        self.Head = SeparateFCs(**model_cfg["SeparateFCs"])
        self.HPP = HorizontalPoolingPyramid(bin_num=model_cfg["bin_num"])

    def forward(self, inputs):
        ipts, labs, _, _, seqL = inputs
        sils = frames_as_set(ipts[0])  # [n, c, s, h, w]
        n, c, s, h, w = sils.shape

        outs = self.set_block1(sils)  # [n, c1, s, h/2, w/2]
        gl = self.set_pooling(outs, seqL, options={"dim": 2})[0]  # [n, c1, h/2, w/2]
        gl = self.gl_block2(gl)  # [n, c2, h/4, w/4]

        outs = self.set_block2(outs)  # [n, c2, s, h/4, w/4]
        gl = gl + self.set_pooling(outs, seqL, options={"dim": 2})[0]
        gl = self.gl_block3(gl)  # [n, c3, h/4, w/4]

        outs = self.set_block3(outs)  # [n, c3, s, h/4, w/4]
        outs = self.set_pooling(outs, seqL, options={"dim": 2})[0]  # [n, c3, h/4, w/4]
        gl = gl + outs

        # horizontal pyramid of the set-level map and of the global map
        feature = torch.cat([self.HPP(outs), self.HPP(gl)], -1)  # [n, c3, p]
        embs = self.Head(feature)  # [n, c_out, p]

        return {
            "training_feat": {"triplet": {"embeddings": embs, "labels": labs}},
            "visual_summary": {"image/sils": sils.transpose(1, 2).reshape(n * s, c, h, w)},
            "inference_feat": {"embeddings": embs},
        }
