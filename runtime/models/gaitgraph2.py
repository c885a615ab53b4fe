"""GaitGraph2 (Teepe et al., "Towards a Deeper Understanding of Skeleton-based Gait Recognition",
CVPR Workshops 2022; arXiv:2204.07855).

GaitGraph's ResGCN (:class:`~gaitgen.runtime.models.gaitgraph1.GaitGraph1`'s network, the same
config keys) with three input branches: joints, velocities and bones (GaitGraphMultiInput's
``[n, T, V, 3, 5]``). No normalisation of the embedding (``SupConLoss_Lp`` normalises it); at
test time, with ``tta``, the embeddings of the sequence, of it played backwards and of its
mirror image (joints swapped left for right) are joined: ``[n, 3 * num_class, 1]``.
"""

from __future__ import annotations

import torch

from ..modules.graph import check_pose_batch
from ..modules.pose_features import multi_input
from .gaitgraph1 import GaitGraph1


class GaitGraph2(GaitGraph1):
    """GaitGraph2: ResGCN over joints, velocities and bones (OpenGait's GaitGraph2)."""

    def forward(self, inputs):
        ipts, labs, _, _, _ = inputs
        sizes = (None, None, self.graph.num_node, self.input_num, self.input_branch[0])
        check_pose_batch("GaitGraph2", ipts[0], "[n, T, V, I, C]", sizes, self.joint_format)
        pose = ipts[0]  # [n, T, V, I, C]
        n, t, v, i, c = pose.shape
        x = pose
        if not self.training and self.tta:
            raw = pose[:, :, :, 0, :3]  # x, y, conf of the joints branch
            connect, center = self.graph.connect_joint.tolist(), self.graph.center
            backwards = multi_input(raw.flip(1), connect, center)
            mirrored = multi_input(raw[:, :, self.graph.flip_idx], connect, center)
            x = torch.cat([x, backwards, mirrored], dim=0)
        x = self.ResGCN(x.permute(0, 3, 4, 1, 2).contiguous())  # [n', I, C, T, V] -> [n', c]
        if not self.training and self.tta:
            x = torch.cat(x.split(n), dim=1)  # [n, 3c]
        return {
            "training_feat": {"SupConLoss": {"features": x, "labels": labs}},
            "visual_summary": {"image/pose": pose.reshape(n * t, 1, i * v, c)},
            "inference_feat": {"embeddings": x.unsqueeze(-1)},
        }
