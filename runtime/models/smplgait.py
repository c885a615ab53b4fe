"""SMPLGait (Zheng et al., "Gait Recognition in the Wild with Dense 3D Representations and A
Benchmark", CVPR 2022; arXiv:2204.02569).

Two inputs per sequence: silhouettes ``ipts[0]`` ``[n, s, h, w]`` and SMPL parameters
``ipts[1]`` ``[n, s, 85]`` (3 camera, 72 pose in axis-angle, 10 shape). A GaitBase body (a
per-frame backbone, temporal max pooling, a horizontal pooling pyramid, separate FCs and
BNNecks) sees the silhouettes; three fully connected layers turn each frame's SMPL vector into
a 16x16 matrix, added to the identity, that multiplies every channel of that frame's feature
map (zero-padded on the right to 16x16) before the temporal pooling: the 3-D body re-weights
the silhouette features.

OpenGait's config keys (``model_cfg``): ``backbone_cfg`` (its output must be 16 rows high and at
most 16 wide: 64x44 or 64x64 silhouettes after two poolings), ``SeparateFCs``,
``SeparateBNNecks``, ``bin_num``. The SMPL layers (``fc1``-``fc3``, ``bn1``-``bn3``) are fixed
by the model.
"""

from __future__ import annotations

import torch
import torch.nn.functional as F
from torch import nn

from ..errors import TrainingError
from ..modules.blocks import (
    frames_as_set,
)
from .baseline import Baseline

SMPL_SIZE = 85  # 3 camera + 72 pose + 10 shape numbers per frame
MAP_SIZE = 16  # the SMPL branch gives a 16x16 matrix per frame


class SMPLGait(Baseline):
    """GaitBase on silhouettes, its frame features transformed by matrices from SMPL (OpenGait's)."""

    def build_network(self, model_cfg):
        super().build_network(model_cfg)  # GaitBase's layers, under its names

        # the SMPL branch: 85 -> 128 -> 256 -> 256 = 16 x 16
        self.fc1 = nn.Linear(SMPL_SIZE, 128)
        self.fc2 = nn.Linear(128, 256)
        self.fc3 = nn.Linear(256, MAP_SIZE * MAP_SIZE)
        self.bn1 = nn.BatchNorm1d(128)
        self.bn2 = nn.BatchNorm1d(256)
        self.bn3 = nn.BatchNorm1d(MAP_SIZE * MAP_SIZE)
        self.dropout2 = nn.Dropout(p=0.2)
        self.dropout3 = nn.Dropout(p=0.2)

    def parameters_without_gradient(self) -> tuple[str, ...]:
        """``fc1``'s bias, right before ``bn1`` (OpenGait has it): in training mode the norm
        removes every per-channel constant, so its gradient is zero up to rounding."""
        return ("fc1.bias",)

    def smpl_transform(self, smpls: torch.Tensor) -> torch.Tensor:
        """Each frame's SMPL vector as a 16x16 matrix plus the identity: [n, s, 85] -> [n, s, 16, 16]."""
        n, s, d = smpls.shape
        if d != SMPL_SIZE:
            raise TrainingError(
                f"SMPLGait: ipts[1] must hold {SMPL_SIZE} SMPL numbers per frame "
                f"([n, s, {SMPL_SIZE}]), got {list(smpls.shape)}"
            )
        sps = smpls.reshape(n * s, d)
        sps = F.relu(self.bn1(self.fc1(sps)))
        sps = F.relu(self.bn2(self.dropout2(self.fc2(sps))))
        sps = F.relu(self.bn3(self.dropout3(self.fc3(sps))))
        identity = torch.eye(MAP_SIZE, dtype=sps.dtype, device=sps.device)
        return sps.reshape(n, s, MAP_SIZE, MAP_SIZE) + identity

    def forward(self, inputs):
        ipts, labs, _, _, seqL = inputs
        sils = frames_as_set(ipts[0])  # [n, 1, s, h, w]
        smpls = ipts[1]  # [n, s, 85]

        transform = self.smpl_transform(smpls)  # [n, s, 16, 16]
        outs = self.Backbone(sils)  # [n, c, s, h, w]
        n, c, s, h, w = outs.shape
        if h != MAP_SIZE or w > MAP_SIZE:
            raise TrainingError(
                f"SMPLGait: the backbone's feature maps must be {MAP_SIZE} high and at most "
                f"{MAP_SIZE} wide to meet the 16x16 SMPL matrices, got {h}x{w}; feed 64-pixel-"
                "high silhouettes to a backbone that pools twice (OpenGait's Plain config)"
            )
        # [n, c, s, 16, w] padded with zero columns to 16x16, times the frame's matrix
        outs = F.pad(outs, (0, MAP_SIZE - w))
        outs = torch.matmul(outs, transform.unsqueeze(1))  # [n, c, s, 16, 16]

        outs = self.TP(outs, seqL, options={"dim": 2})[0]  # [n, c, h, w]
        feat = self.HPP(outs)  # [n, c, p]
        embed_1 = self.FCs(feat)  # [n, c, p]
        _, logits = self.BNNecks(embed_1)

        n, _, s, h, w = sils.shape
        return {
            "training_feat": {
                "triplet": {"embeddings": embed_1, "labels": labs},
                "softmax": {"logits": logits, "labels": labs},
            },
            "visual_summary": {"image/sils": sils.transpose(1, 2).reshape(n * s, 1, h, w)},
            "inference_feat": {"embeddings": embed_1},
        }
