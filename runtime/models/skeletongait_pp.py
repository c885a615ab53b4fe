"""SkeletonGait++ (Fan et al., "SkeletonGait: Gait Recognition Using Skeleton Maps", AAAI 2024).

Two branches, one for the skeleton maps (2 channels: limbs and joints) and one for the
silhouettes, each a 3x3 stem and a 2-D residual stage per frame; :class:`AttentionFusion`
weighs them per position; then DeepGaitV2's pseudo-3D stages (2 and 3 halve height and
width), temporal max pooling, 16 horizontal strips, separate FCs and separate BNNecks.

Data: each sequence folder holds the skeleton maps ``[T, 2, 64, 64]`` (``0_heatmap.pkl``)
and the silhouettes ``[T, H, W]`` (``1_sil.pkl``) with the same frame counts
(``data_cfg.data_in_use: [true, true]``). :meth:`SkeletonGaitPP.inputs_pretreament`
(OpenGait's hook, which gaitgen honours: see ``runtime/model.py``) joins them into
``[T, 3, H, W]`` before the config's transform runs, so both get the same augmentation; the
transform is then one for the joined modality (``- type: BaseSilCuttingTransform``).
Silhouettes already cut to 64x44 get maps cut to the same width.

OpenGait's config keys (model_cfg):
    Backbone: {in_channels (read by OpenGait, unused), blocks: [4 ints], C: width multiplier}
    SeparateBNNecks: {class_num}
    use_emb2 (optional, default false): evaluate on the BNNeck features instead of the FCs'.

Input to forward: ``ipts[0]`` ``[n, s, 3, h, w]`` (maps, maps, silhouette), 44, 48, 88 or 96
pixels wide. Parameter names equal OpenGait's: an OpenGait checkpoint loads with
``strict=True`` and gives OpenGait's outputs (``tests/fixtures/opengait/parity/
SkeletonGaitPP.pt.xz``, and ``SkeletonGaitPP-pretreat.pt.xz`` for the pretreatment). As in
OpenGait, the temporal convolutions of a test batch joined along the frame axis (``seqL``)
see the neighbouring sequences' edge frames.
"""

from __future__ import annotations

from collections.abc import Mapping
from typing import Any

import numpy as np
import torch
from torch import nn

from ..errors import ConfigError, DataError
from ..model import BaseModel
from ..modules.blocks import (
    HorizontalPoolingPyramid,
    PackSequenceWrapper,
    SeparateBNNecks,
    SeparateFCs,
    SetBlockWrapper,
)
from ..modules.fusion import AttentionFusion
from ..modules.resblocks import BasicBlock2D, BasicBlockP3D, conv3x3, make_res_layer

_WIDTHS = (44, 48, 88, 96)


def _backbone(model_cfg: Mapping[str, Any]) -> tuple[list[int], int]:
    """(blocks, C) of model_cfg.Backbone, checked."""
    backbone = model_cfg.get("Backbone")
    if not isinstance(backbone, Mapping) or not {"blocks", "C"} <= set(backbone):
        raise ConfigError(
            "model_cfg.Backbone: SkeletonGaitPP needs a Backbone mapping {in_channels, blocks: "
            "[4 ints], C}"
        )
    blocks = list(backbone["blocks"])
    if len(blocks) != 4:
        raise ConfigError(f"model_cfg.Backbone.blocks: SkeletonGaitPP needs 4 ints, got {blocks}")
    if "class_num" not in (model_cfg.get("SeparateBNNecks") or {}):
        raise ConfigError("model_cfg.SeparateBNNecks.class_num: SkeletonGaitPP needs it")
    return blocks, int(backbone["C"])


def _stem(in_channels: int, planes: int) -> SetBlockWrapper:
    return SetBlockWrapper(
        nn.Sequential(
            conv3x3(in_channels, planes, 1), nn.BatchNorm2d(planes), nn.ReLU(inplace=True)
        )
    )


def join_maps_and_silhouettes(maps: np.ndarray, sils: np.ndarray) -> np.ndarray:
    """One sequence's skeleton maps ``[T, 2, h, w]`` and silhouettes ``[T, H, W]`` as
    ``[T, 3, H, W]``; square maps are cut to the width of narrower silhouettes (64x44).

    Raises:
        DataError: the shapes do not fit together.
    """
    sils = sils[:, np.newaxis]  # [T, 1, H, W]
    if sils.shape[-2] != sils.shape[-1] and maps.shape[-2] == maps.shape[-1]:
        cut = (sils.shape[-2] - sils.shape[-1]) // 2
        maps = maps[..., cut : maps.shape[-1] - cut]
    if maps.ndim != 4 or maps.shape[0] != sils.shape[0] or maps.shape[2:] != sils.shape[2:]:
        raise DataError(
            f"SkeletonGaitPP: skeleton maps of shape {list(maps.shape)} do not fit silhouettes "
            f"of shape {list(sils.shape[:1] + sils.shape[2:])}: they need [T, 2, H, W] and "
            "[T, H, W] with the same T (data_cfg.data_in_use picks maps, then silhouettes)"
        )
    return np.concatenate([maps, sils.astype(maps.dtype, copy=False)], axis=1)


class SkeletonGaitPP(BaseModel):
    """SkeletonGait++: skeleton maps and silhouettes, fused by attention (OpenGait's configs)."""

    def build_network(self, model_cfg):
        blocks, width = _backbone(model_cfg)
        self.inference_use_emb = bool(model_cfg.get("use_emb2", False))
        planes = [32 * width, 64 * width, 128 * width, 256 * width]

        self.sil_layer0 = _stem(1, planes[0])
        self.map_layer0 = _stem(2, planes[0])
        self.sil_layer1 = SetBlockWrapper(
            make_res_layer(BasicBlock2D, planes[0], planes[0], [1, 1], blocks[0], "2d")
        )
        self.map_layer1 = SetBlockWrapper(
            make_res_layer(BasicBlock2D, planes[0], planes[0], [1, 1], blocks[0], "2d")
        )
        self.fusion = AttentionFusion(planes[0])
        self.layer2 = make_res_layer(BasicBlockP3D, planes[0], planes[1], [2, 2], blocks[1], "p3d")
        self.layer3 = make_res_layer(BasicBlockP3D, planes[1], planes[2], [2, 2], blocks[2], "p3d")
        self.layer4 = make_res_layer(BasicBlockP3D, planes[2], planes[3], [1, 1], blocks[3], "p3d")

        self.FCs = SeparateFCs(16, planes[3], planes[2])
        self.BNNecks = SeparateBNNecks(
            16, planes[2], class_num=model_cfg["SeparateBNNecks"]["class_num"]
        )
        self.TP = PackSequenceWrapper(torch.max)
        self.HPP = HorizontalPoolingPyramid(bin_num=[16])

    def inputs_pretreament(self, inputs):
        """Join each sequence's skeleton maps and silhouettes into one ``[T, 3, H, W]``
        modality, then run the config's transform on it (:meth:`BaseModel.inputs_pretreament`).

        Raises:
            ConfigError: the batch does not hold exactly two modalities.
        """
        seqs, labs, typs, viws, seqL = inputs
        if len(seqs) != 2:
            raise ConfigError(
                f"data_cfg.data_in_use: SkeletonGaitPP reads two modalities per sequence "
                f"(skeleton maps [T, 2, 64, 64], then silhouettes [T, H, W]), got {len(seqs)}"
            )
        joined = [join_maps_and_silhouettes(maps, sils) for maps, sils in zip(*seqs)]
        return super().inputs_pretreament([[joined], labs, typs, viws, seqL])

    def forward(self, inputs):
        ipts, labs, _, _, seqL = inputs
        joined = ipts[0].transpose(1, 2).contiguous()  # [n, 3, s, h, w]
        if joined.dim() != 5 or joined.size(1) != 3 or joined.size(-1) not in _WIDTHS:
            raise ConfigError(
                f"SkeletonGaitPP takes [n, s, 3, h, w] (maps and silhouette joined by its "
                f"inputs_pretreament), {_WIDTHS} pixels wide, got {list(ipts[0].shape)}: cut "
                "64x64 frames with BaseSilCuttingTransform (trainer_cfg / evaluator_cfg)"
            )
        n, c, s, h, w = joined.shape
        maps, sils = joined[:, :2], joined[:, 2:]

        map1 = self.map_layer1(self.map_layer0(maps))  # [n, c0, s, h, w]
        sil1 = self.sil_layer1(self.sil_layer0(sils))
        out = self.layer4(self.layer3(self.layer2(self.fusion(sil1, map1))))  # [n, c3, s, h', w']

        pooled = self.TP(out, seqL, options={"dim": 2})[0]  # [n, c3, h', w']
        feat = self.HPP(pooled)  # [n, c3, 16]
        embed_1 = self.FCs(feat)  # [n, c2, 16]
        embed_2, logits = self.BNNecks(embed_1)  # [n, c2, 16], [n, class_num, 16]
        embed = embed_2 if self.inference_use_emb else embed_1

        return {
            "training_feat": {
                "triplet": {"embeddings": embed_1, "labels": labs},
                "softmax": {"logits": logits, "labels": labs},
            },
            "visual_summary": {
                "image/sils": (joined * 255.0).transpose(1, 2).reshape(n * s, c, h, w),
            },
            "inference_feat": {"embeddings": embed},
        }
