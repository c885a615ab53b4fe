"""DeepGaitV2 (Fan et al., "Exploring Deep Models for Practical Gait Recognition", 2023).

A deep residual network on silhouette sets: a 3x3 stem and a 2-D residual stage per frame,
then three stages of residual blocks whose kind the config chooses (``Backbone.mode``):
``2d`` (per frame), ``p3d`` (per-frame 3x3 convolutions with a temporal 3x1x1 branch) or
``3d`` (3x3x3 convolutions). Stages 2 and 3 halve height and width. Temporal max pooling,
16 horizontal strips (mean + max), separate FCs (the triplet embedding, ``channels[3] ->
channels[2]`` per strip) and separate BNNecks (the classifier).

OpenGait's config keys (model_cfg):
    Backbone: {mode: 2d | p3d | 3d, in_channels, layers: [4 ints], channels: [4 ints]}
    SeparateBNNecks: {class_num}
    use_emb2 (optional, default false): evaluate on the BNNeck features instead of the FCs'.

Input: silhouettes ``[n, s, h, w]`` (or ``[n, s, c, h, w]``) 44 or 88 pixels wide, as
OpenGait requires (``BaseSilCuttingTransform`` cuts 64x64 silhouettes to 64x44).

Parameter names equal OpenGait's: an OpenGait checkpoint loads with ``strict=True`` and gives
OpenGait's outputs (``../shared/parity/DeepGaitV2-{2d,p3d,3d}.pt``).

One deliberate difference: with variable-length input (``seqL``; sequences joined along
the frame axis) OpenGait runs the temporal convolutions of the p3d/3d stages over the joined
frames, so each sequence's embedding depends on its neighbours in the batch. Here those stages
run one sequence at a time, so each embedding equals the one the sequence gets alone (which is
OpenGait's output for a test batch of one sequence per GPU). Fixed-length batches are
computed exactly as OpenGait does. A 3d backbone with ``layers[0] > 1`` works here; in
OpenGait it fails at forward (a 3-D stride given to a 2-D block).
"""

from __future__ import annotations

from typing import Any

import torch

from ..errors import ConfigError
from ..model import BaseModel
from ..modules.blocks import (
    HorizontalPoolingPyramid,
    PackSequenceWrapper,
    SeparateBNNecks,
    SeparateFCs,
)
from ..modules.deepgaitv2_stages import add_deepgaitv2_stages, deepgaitv2_backbone

_WIDTHS = (44, 88)


def _to_set_layout(sils: torch.Tensor) -> torch.Tensor:
    """OpenGait's input layout to the set layout: [n, s, h, w] or [n, s, c, h, w] -> [n, c, s, h, w]."""
    if sils.dim() == 4:
        return sils.unsqueeze(1)
    return sils.transpose(1, 2).contiguous()


def _split_sequences(x: torch.Tensor, seqL: Any) -> list[torch.Tensor]:
    """The sequences of a joined batch ``[1, c, sum(s), h, w]``, each ``[1, c, s_i, h, w]``."""
    lengths = [int(v) for v in seqL[0].tolist()]
    return list(x.split(lengths, dim=2))


class DeepGaitV2(BaseModel):
    """DeepGaitV2 in its 2d, p3d and 3d modes, configured by OpenGait's DeepGaitV2 configs."""

    def build_network(self, model_cfg):
        mode, in_channels, layers, channels = deepgaitv2_backbone(model_cfg, "DeepGaitV2")
        if "class_num" not in (model_cfg.get("SeparateBNNecks") or {}):
            raise ConfigError("model_cfg.SeparateBNNecks.class_num: DeepGaitV2 needs it")
        self.mode = mode
        self.inference_use_emb2 = bool(model_cfg.get("use_emb2", False))
        add_deepgaitv2_stages(self, mode, in_channels, layers, channels)

        self.FCs = SeparateFCs(16, channels[3], channels[2])
        self.BNNecks = SeparateBNNecks(
            16, channels[2], class_num=model_cfg["SeparateBNNecks"]["class_num"]
        )
        self.TP = PackSequenceWrapper(torch.max)
        self.HPP = HorizontalPoolingPyramid(bin_num=[16])

    def _temporal_stages(self, x: torch.Tensor) -> torch.Tensor:
        return self.layer4(self.layer3(self.layer2(x)))  # [n, c, s, h, w]

    def forward(self, inputs):
        ipts, labs, _, _, seqL = inputs
        sils = _to_set_layout(ipts[0])  # [n, c, s, h, w]
        if sils.size(-1) not in _WIDTHS:
            raise ConfigError(
                f"DeepGaitV2 takes silhouettes {_WIDTHS[0]} or {_WIDTHS[1]} pixels wide, got "
                f"{sils.size(-1)} (input {list(sils.shape)}): cut 64x64 silhouettes to 64x44 "
                "with the transform BaseSilCuttingTransform (trainer_cfg / evaluator_cfg)"
            )
        n, c, s, h, w = sils.shape

        out1 = self.layer1(self.layer0(sils))  # per frame: [n, c0, s, h, w]
        if seqL is not None and self.mode != "2d":
            # Temporal convolutions must not see the neighbouring sequences' frames.
            pooled = [
                self._temporal_stages(part).max(dim=2)[0] for part in _split_sequences(out1, seqL)
            ]
            outs = torch.cat(pooled)  # [len(seqL), c, h', w']
        else:
            outs = self.TP(self._temporal_stages(out1), seqL, options={"dim": 2})[0]

        feat = self.HPP(outs)  # [n, c, 16]
        embed_1 = self.FCs(feat)  # [n, c2, 16]
        embed_2, logits = self.BNNecks(embed_1)  # [n, c2, 16], [n, class_num, 16]
        embed = embed_2 if self.inference_use_emb2 else embed_1

        return {
            "training_feat": {
                "triplet": {"embeddings": embed_1, "labels": labs},
                "softmax": {"logits": logits, "labels": labs},
            },
            "visual_summary": {"image/sils": sils.transpose(1, 2).reshape(n * s, c, h, w)},
            "inference_feat": {"embeddings": embed},
        }
