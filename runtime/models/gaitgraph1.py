"""GaitGraph (Teepe et al., "GaitGraph: Graph Convolutional Network for Skeleton-Based Gait
Recognition", ICIP 2021; arXiv:2101.11228).

A ResGCN (``gaitgen.runtime.modules.ResGCN``) over 2-D poses, on the skeleton graph of
``joint_format`` with hops up to 3, gives an L2-normalised embedding per sequence, trained with a
supervised contrastive loss (``SupConLoss_Re``). In training the two halves of each sequence
are two views of it (``features`` ``[n, 2, c]``); at test time, with ``tta``, the embedding is
the mean of those of the sequence and of the sequence played backwards.

Input ``ipts[0]``: ``[n, C, T, V, I]`` (GaitGraph1Input's layout: channels x, y, confidence).
OpenGait's config keys (``model_cfg``): ``joint_format``, ``input_num``, ``block``,
``input_branch``, ``main_stream``, ``num_class``, ``reduction``, ``tta``. Parameter names are
OpenGait's (``ResGCN.head.0.layers.0.scn.conv.gcn.weight``, ``ResGCN.fcn.weight``).
"""

from __future__ import annotations

import torch
import torch.nn.functional as F

from ..model import BaseModel
from ..modules.graph import Graph, check_pose_batch
from ..modules.resgcn import ResGCN


class GaitGraph1(BaseModel):
    """GaitGraph: ResGCN embeddings of 2-D pose sequences (OpenGait's GaitGraph1)."""

    def build_network(self, model_cfg):
        self.joint_format = model_cfg["joint_format"]
        self.input_num = model_cfg["input_num"]
        self.block = model_cfg["block"]
        self.input_branch = model_cfg["input_branch"]
        self.main_stream = model_cfg["main_stream"]
        self.num_class = model_cfg["num_class"]
        self.reduction = model_cfg["reduction"]
        self.tta = model_cfg["tta"]
        self.graph = Graph(joint_format=self.joint_format, max_hop=3)
        self.ResGCN = ResGCN(
            input_num=self.input_num,
            input_branch=self.input_branch,
            main_stream=self.main_stream,
            num_class=self.num_class,
            reduction=self.reduction,
            block=self.block,
            graph=torch.tensor(self.graph.A, dtype=torch.float32),
        )

    def forward(self, inputs):
        ipts, labs, _, _, _ = inputs
        sizes = (None, self.input_branch[0], None, self.graph.num_node, self.input_num)
        check_pose_batch("GaitGraph1", ipts[0], "[n, C, T, V, I]", sizes, self.joint_format)
        pose = ipts[0].permute(0, 2, 3, 4, 1).contiguous()  # [n, C, T, V, I] -> [n, T, V, I, C]
        n, t, v, i, c = pose.shape
        x = pose
        if self.training:  # the two halves of each sequence: two views of it
            x = torch.cat([x[:, : t // 2], x[:, t // 2 :]], dim=0)
        elif self.tta:  # and the sequence played backwards
            x = torch.cat([x, x.flip(1)], dim=0)
        x = self.ResGCN(x.permute(0, 3, 4, 1, 2).contiguous())  # [n', I, C, T, V] -> [n', c]
        x = F.normalize(x, dim=1, p=2)
        if self.training:
            embed = torch.stack(x.split(n), dim=1)  # [n, 2, c]
        elif self.tta:
            first, backwards = x.split(n)
            embed = ((first + backwards) / 2).unsqueeze(-1)  # [n, c, 1]
        else:
            embed = x.unsqueeze(-1)
        return {
            "training_feat": {"SupConLoss": {"features": embed, "labels": labs}},
            "visual_summary": {"image/pose": pose.view(n * t, 1, i * v, c)},
            "inference_feat": {"embeddings": embed},
        }
