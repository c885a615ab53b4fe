"""GaitGraph2 (Teepe et al., "Towards a Deeper Understanding of Skeleton-based Gait Recognition",
CVPR Workshops 2022; arXiv:2204.07855).

GaitGraph's ResGCN (:class:`~gaitgen.runtime.models.gaitgraph1.GaitGraph1`'s network, the same
config keys) with three input branches: joints, velocities and bones (GaitGraphMultiInput's
``[n, T, V, 3, 5]``). No normalisation of the embedding (``SupConLoss_Lp`` normalises it); at
test time, with ``tta``, the embeddings of the sequence, of it played backwards and of its
mirror image (joints swapped left for right) are joined: ``[n, 3 * num_class, 1]``.
"""

from __future__ import annotations

from collections.abc import Sequence

import torch

from ..modules.graph import check_pose_batch
from .gaitgraph1 import GaitGraph1


def multi_input(pose: torch.Tensor, connect_joint: Sequence[int], center: int) -> torch.Tensor:
    """GaitGraph2's three branches from poses: ``[..., T, V, 3] (x, y, conf) -> [..., T, V, 3, 5]``.

    Branch 0, joints: x, y, conf and the position relative to the ``center`` joint. Branch 1,
    velocities: the step to the next frame (x, y), 0, conf and the y step over two frames (0 in
    the last two frames, as OpenGait's). Branch 2, bones (from each joint's ``connect_joint``):
    the vector (x, y), 0, conf and the arc cosine of its y over its length.
    """
    xy, conf = pose[..., :2], pose[..., 2:3]
    zero = torch.zeros_like(conf)
    joints = torch.cat([pose, xy - xy[..., center : center + 1, :]], dim=-1)
    frames = pose.shape[-3]
    step = torch.zeros_like(xy)
    step_two = torch.zeros_like(conf)
    if frames > 2:
        step[..., : frames - 2, :, :] = xy[..., 1 : frames - 1, :, :] - xy[..., : frames - 2, :, :]
        step_two[..., : frames - 2, :, :] = xy[..., 2:, :, 1:2] - xy[..., : frames - 2, :, 1:2]
    velocity = torch.cat([step, zero, conf, step_two], dim=-1)
    bone = xy - xy[..., list(connect_joint), :]
    length = bone.pow(2).sum(-1, keepdim=True).sqrt() + 0.0001
    bones = torch.cat([bone, zero, conf, torch.acos(bone[..., 1:2] / length)], dim=-1)
    return torch.stack([joints, velocity, bones], dim=-2)


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
