"""The skeleton graph of a 2-D pose layout: OpenGait's ``Graph`` (after ST-GCN's).

``Graph(joint_format, max_hop, dilation).A`` is a ``[K, V, V]`` float64 array, one slice per hop
distance kept (``range(0, max_hop + 1, dilation)``): slice ``k`` holds the entries of the joint
pairs exactly that many bones apart, taken from the column-normalised adjacency of all pairs at
most ``max_hop`` apart (column ``j`` divided by the number of such neighbours of joint ``j``).
The layouts are the ones OpenGait's pose configs name in ``joint_format``.
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass

import numpy as np
import torch

from ..errors import ConfigError, DataError


@dataclass(frozen=True)
class _Layout:
    num_node: int
    neighbor_link: tuple[tuple[int, int], ...]
    center: int
    flip_idx: tuple[int, ...]
    connect_joint: tuple[int, ...]
    parts: tuple[tuple[int, ...], ...]


# COCO-17: nose, L/R eye, L/R ear, L/R shoulder, L/R elbow, L/R wrist, L/R hip, L/R knee, L/R ankle
_COCO = _Layout(
    num_node=17,
    neighbor_link=(
        (0, 1), (0, 2), (1, 3), (2, 4), (3, 5), (4, 6), (5, 6), (5, 7), (7, 9),
        (6, 8), (8, 10), (5, 11), (6, 12), (11, 12), (11, 13), (13, 15), (12, 14), (14, 16),
    ),  # fmt: skip
    center=0,
    flip_idx=(0, 2, 1, 4, 3, 6, 5, 8, 7, 10, 9, 12, 11, 14, 13, 16, 15),
    connect_joint=(5, 0, 0, 1, 2, 0, 0, 5, 6, 7, 8, 5, 6, 11, 12, 13, 14),
    parts=((5, 7, 9), (6, 8, 10), (11, 13, 15), (12, 14, 16), (0, 1, 2, 3, 4)),
)

# COCO-17 without the five head joints: L/R shoulder, L/R elbow, L/R wrist, L/R hip, ...
_COCO_NO_HEAD = _Layout(
    num_node=12,
    neighbor_link=(
        (0, 1), (0, 2), (2, 4), (1, 3), (3, 5), (0, 6), (1, 7), (6, 7),
        (6, 8), (8, 10), (7, 9), (9, 11),
    ),  # fmt: skip
    center=0,
    flip_idx=(1, 0, 3, 2, 5, 4, 7, 6, 9, 8, 11, 10),
    connect_joint=(3, 1, 0, 2, 4, 0, 6, 8, 10, 7, 9, 11),
    parts=((0, 2, 4), (1, 3, 5), (6, 8, 10), (7, 9, 11)),
)

# OpenPose / AlphaPose 18: nose, neck, R shoulder, R elbow, R wrist, L shoulder, L elbow,
# L wrist, R hip, R knee, R ankle, L hip, L knee, L ankle, R eye, L eye, R ear, L ear
_OPENPOSE = _Layout(
    num_node=18,
    neighbor_link=(
        (0, 1), (0, 14), (0, 15), (14, 16), (15, 17), (1, 2), (2, 3), (3, 4), (1, 5),
        (5, 6), (6, 7), (1, 8), (8, 9), (9, 10), (1, 11), (11, 12), (12, 13),
    ),  # fmt: skip
    center=1,
    flip_idx=(0, 1, 5, 6, 7, 2, 3, 4, 11, 12, 13, 8, 9, 10, 15, 14, 17, 16),
    connect_joint=(1, 1, 1, 2, 3, 1, 5, 6, 2, 8, 9, 5, 11, 12, 0, 0, 14, 15),
    parts=((5, 6, 7), (2, 3, 4), (11, 12, 13), (8, 9, 10), (0, 1, 14, 15, 16, 17)),
)

LAYOUTS = {
    "coco": _COCO,
    "coco-no-head": _COCO_NO_HEAD,
    "alphapose": _OPENPOSE,
    "openpose": _OPENPOSE,
}


def _hop_distance(num_node: int, edges: list[tuple[int, int]], max_hop: int) -> np.ndarray:
    """Bones between every pair of joints: ``[V, V]``, ``inf`` beyond ``max_hop``."""
    adjacency = np.zeros((num_node, num_node), dtype=bool)
    for i, j in edges:
        adjacency[i, j] = adjacency[j, i] = True
    distance = np.full((num_node, num_node), np.inf)
    reached = np.eye(num_node, dtype=bool)
    distance[reached] = 0
    for hop in range(1, max_hop + 1):
        reached = (reached.astype(np.int64) @ adjacency.astype(np.int64)) > 0
        distance[reached & np.isinf(distance)] = hop
    return distance


class Graph:
    """The joints, bones and hop-partitioned adjacency of a pose layout (OpenGait's Graph).

    Args:
        joint_format: ``coco`` (17 joints), ``coco-no-head`` (12), ``alphapose`` or
            ``openpose`` (the same 18 joints).
        max_hop: the farthest neighbours (in bones) the adjacency links.
        dilation: keep every ``dilation``-th hop distance from 0.

    Attributes:
        A: ``[K, V, V]`` float64, one slice per kept hop distance.
        num_node, edge (self links then bones), center (the joint poses are centred on),
        flip_idx (the joint order of the mirrored pose), connect_joint (each joint's parent
        for bone vectors), parts (joint indices of the limbs and the head).

    Raises:
        ConfigError: ``joint_format`` names no layout.
    """

    def __init__(self, joint_format: str = "coco", max_hop: int = 2, dilation: int = 1):
        if joint_format not in LAYOUTS:
            raise ConfigError(
                f"model_cfg.joint_format: {joint_format!r} is not a joint layout; use one of "
                f"{', '.join(LAYOUTS)}"
            )
        layout = LAYOUTS[joint_format]
        self.joint_format = joint_format
        self.max_hop = int(max_hop)
        self.dilation = int(dilation)
        self.num_node = layout.num_node
        self.edge = [(i, i) for i in range(self.num_node)] + list(layout.neighbor_link)
        self.center = layout.center
        self.flip_idx = list(layout.flip_idx)
        self.connect_joint = np.array(layout.connect_joint)
        self.parts = [np.array(part) for part in layout.parts]
        self.A = self._adjacency()

    def _adjacency(self) -> np.ndarray:
        distance = _hop_distance(self.num_node, self.edge, self.max_hop)
        hops = range(0, self.max_hop + 1, self.dilation)
        linked = np.isin(distance, list(hops)).astype(np.float64)
        degree = linked.sum(0)
        scale = np.divide(1.0, degree, out=np.zeros_like(degree), where=degree > 0)
        normalized = linked * scale[None, :]  # column j divided by the degree of joint j
        return np.stack([np.where(distance == hop, normalized, 0.0) for hop in hops])

    def __str__(self) -> str:
        return f"Graph({self.joint_format!r}, max_hop={self.max_hop}, dilation={self.dilation})"


def check_pose_batch(
    model: str, poses: torch.Tensor, layout: str, sizes: Sequence[int | None], joint_format: str
) -> None:
    """Raise one clear error unless a batch of poses has the shape a model takes.

    Args:
        model: the model's name, for the message.
        poses: ``ipts[0]``.
        layout: the axes, e.g. ``"[n, C, T, V, I]"``.
        sizes: the size of each axis, None where any size fits.
        joint_format: the layout of the joints (``V`` follows from it), for the message.

    Raises:
        DataError: another number of dimensions or another size of a fixed axis.
    """
    shape = list(poses.shape)
    if len(shape) == len(sizes) and all(
        want is None or have == want for have, want in zip(shape, sizes)
    ):
        return
    names = layout.strip("[]").split(", ")
    wanted = ", ".join(f"{name}={size}" for name, size in zip(names, sizes) if size is not None)
    raise DataError(
        f"{model} takes poses {layout} with {wanted} ({joint_format} joints), got a batch of "
        f"shape {shape}; check data_cfg, the transforms and model_cfg.joint_format"
    )
