"""MultiScaleGaitGraph, MSGG (Peng et al., "Learning Rich Features for Gait Recognition by
Integrating Skeletons and Silhouettes", 2021; arXiv:2110.13408).

The input is a sequence of 2-D poses of 12 joints (``body_12``: shoulders, elbows, wrists,
hips, knees, ankles, as OpenGait's ``MSGGTransform`` orders them), ``[n, T, 12, C]``. Three
spatial-temporal graph networks run side by side on three semantic scales: the joints (12
nodes), the limbs (6: each the mean of two joints) and the body parts (3); after every block,
the finer scale, averaged to the coarser one, is added to it (cross-scale message passing).
Each scale is averaged over frames and nodes; the joints and limbs feed a triplet loss each;
the body parts, through a linear layer, give the embedding (a third triplet loss) and, through
a BNNeck and a classifier, the logits.

OpenGait's config keys (``model_cfg``): ``in_channels`` (the channels of the input and of each
stage: two ``st_gcn_block`` per stage), ``out_channels``, ``num_id``, ``temporal_kernel_size``
and ``graph_cfg`` (``SpatialGraph``'s ``layout``, ``strategy``, ``max_hop``, ``dilation``).
OpenGait's forward ignores ``seqL``; here sequences joined along the frame axis (the test
phase) go through the network one at a time, so that each gets its own embedding.
"""

from __future__ import annotations

from collections.abc import Sequence

import torch
from torch import nn

from ..errors import ConfigError
from ..model import BaseModel

# per layout: nodes, edges (child, parent) per semantic level, centre nodes per level and the
# nodes OpenGait's gait_temporal strategy calls positive (the others are negative)
LAYOUTS = {
    "body_12": {
        "num_node": 12,
        "edges": {
            0: [(7, 1), (1, 0), (10, 4), (4, 6), (8, 2), (2, 3), (11, 5), (5, 9)]
            + [(9, 3), (3, 0), (9, 6), (6, 0)],
            1: [(1, 0), (4, 0), (0, 3), (2, 3), (5, 3)],
            2: [(1, 0), (2, 0)],
        },
        "center": {0: [0, 3, 6, 9], 1: [0, 3], 2: [0]},
        "positive": {0: [1, 2, 4, 5, 7, 8, 10, 11], 1: [1, 2, 4, 5], 2: [1, 2]},
    }
}
STRATEGIES = {"uniform": 1, "distance": 2, "spatial": 3, "gait_temporal": 3}


def get_hop_distance(num_node: int, edge: Sequence[tuple[int, int]], max_hop: int = 1):
    """Shortest path lengths between nodes up to ``max_hop`` steps, ``inf`` beyond: [V, V]."""
    adjacency = torch.zeros(num_node, num_node, dtype=torch.float64)
    for i, j in edge:
        adjacency[i, j] = adjacency[j, i] = 1
    hop_dis = torch.full((num_node, num_node), float("inf"), dtype=torch.float64)
    reach = torch.eye(num_node, dtype=torch.float64)
    for hop in range(max_hop + 1):
        hop_dis[(reach > 0) & torch.isinf(hop_dis)] = hop
        reach = reach @ adjacency
    return hop_dis


def normalize_digraph(A: torch.Tensor) -> torch.Tensor:
    """Divide each column by its sum (columns that sum to 0 stay 0): ``A D^-1``."""
    degree = A.sum(0)
    return A * torch.where(degree > 0, 1.0 / degree, torch.zeros_like(degree))


class SpatialGraph:
    """The skeleton graph of MSGG at three semantic levels (OpenGait's ``SpatialGraph``).

    Level 0 has the layout's joints, level 1 half as many (limbs), level 2 a quarter (body
    parts). ``get_adjacency(level)`` gives the ``[K, V, V]`` adjacency matrices of the
    partition ``strategy`` (``num_A`` = K of them).

    Args:
        layout: the joint layout; ``body_12`` (right shoulder, right elbow, right knee, right
            hip, left elbow, left knee, left shoulder, right wrist, right ankle, left hip, left
            wrist, left ankle).
        strategy: ``uniform`` (one matrix), ``distance`` (one per hop), ``spatial`` (root,
            centripetal, centrifugal) or ``gait_temporal`` (root, negative, positive nodes).
        semantic_level: kept for OpenGait's signature (the level is chosen per call).
        max_hop: the furthest hop that connects two nodes.
        dilation: the step between the hops used.
    """

    def __init__(
        self,
        layout: str = "body_12",
        strategy: str = "spatial",
        semantic_level: int = 0,
        max_hop: int = 1,
        dilation: int = 1,
    ):
        if layout not in LAYOUTS:
            raise ConfigError(
                f"model_cfg.graph_cfg.layout: unknown layout {layout!r}; available: "
                f"{sorted(LAYOUTS)}"
            )
        if strategy not in STRATEGIES:
            raise ConfigError(
                f"model_cfg.graph_cfg.strategy: unknown strategy {strategy!r}; available: "
                f"{sorted(STRATEGIES)}"
            )
        self.layout = layout
        self.strategy = strategy
        self.max_hop = max_hop
        self.dilation = dilation
        self.num_node = LAYOUTS[layout]["num_node"]
        self.num_A = STRATEGIES[strategy]

    def get_edge(self, semantic_level: int) -> tuple[list[tuple[int, int]], list[int]]:
        """The (child, parent) edges of a level, self-links included, and its centre nodes."""
        info = LAYOUTS[self.layout]
        nodes = self.num_node // 2**semantic_level
        edges = [(i, i) for i in range(nodes)] + list(info["edges"][semantic_level])
        return edges, list(info["center"][semantic_level])

    def get_adjacency(self, semantic_level: int) -> torch.Tensor:
        """The ``[num_A, V, V]`` adjacency matrices of ``semantic_level`` (float64)."""
        edge, center = self.get_edge(semantic_level)
        num_node = self.num_node // 2**semantic_level
        hop_dis = get_hop_distance(num_node, edge, max_hop=self.max_hop)
        valid_hop = list(range(0, self.max_hop + 1, self.dilation))
        connected = torch.zeros(num_node, num_node, dtype=torch.bool)
        for hop in valid_hop:
            connected |= hop_dis == hop
        normalized = normalize_digraph(connected.double())
        if self.strategy == "uniform":
            return normalized.unsqueeze(0)
        if self.strategy == "distance":
            return torch.stack([normalized * (hop_dis == hop) for hop in valid_hop])
        # entry [j, i]: node j seen from node i; split by where j lies relative to i
        if self.strategy == "spatial":
            to_center = hop_dis[:, center].amin(1)  # each node's distance to the nearest centre
            root = to_center[:, None] == to_center[None, :]
            j_farther = to_center[:, None] > to_center[None, :]  # OpenGait's "close" group
            groups = (root, j_farther, ~root & ~j_farther)
        else:  # gait_temporal
            positive = torch.zeros(num_node, dtype=torch.bool)
            positive[LAYOUTS[self.layout]["positive"][semantic_level]] = True
            root = torch.eye(num_node, dtype=torch.bool)
            groups = (root, ~root & ~positive[:, None], ~root & positive[:, None])
        matrices = []
        for hop in valid_hop:
            at_hop = normalized * (hop_dis == hop)
            if hop == 0:
                matrices.append(at_hop * groups[0])
            elif self.strategy == "spatial":  # root and centripetal joined, then centrifugal
                matrices += [at_hop * (groups[0] | groups[1]), at_hop * groups[2]]
            else:  # negative, then positive
                matrices += [at_hop * groups[1], at_hop * groups[2]]
        return torch.stack(matrices)


class SCN(nn.Module):
    """Spatial graph convolution: a 1x1 convolution per adjacency matrix, then node mixing.

    Args:
        in_channels: channels in.
        out_channels: channels out.
        kernel_size: the number of adjacency matrices (K).
        t_kernel_size, t_stride, t_padding, t_dilation: the temporal shape of the convolution
            (1, 1, 0, 1 in MSGG: the graph of one frame).
        bias: give the convolution a bias.
    """

    def __init__(
        self,
        in_channels: int,
        out_channels: int,
        kernel_size: int,
        t_kernel_size: int = 1,
        t_stride: int = 1,
        t_padding: int = 0,
        t_dilation: int = 1,
        bias: bool = True,
    ):
        super().__init__()
        self.kernel_size = kernel_size
        self.conv = nn.Conv2d(
            in_channels,
            out_channels * kernel_size,
            kernel_size=(t_kernel_size, 1),
            padding=(t_padding, 0),
            stride=(t_stride, 1),
            dilation=(t_dilation, 1),
            bias=bias,
        )

    def forward(self, x: torch.Tensor, A: torch.Tensor) -> tuple[torch.Tensor, torch.Tensor]:
        """``x`` [n, c, T, V] and ``A`` [K, V, V] -> ([n, c', T, V], A)."""
        if A.size(0) != self.kernel_size:
            raise ValueError(f"SCN: {A.size(0)} adjacency matrices given, {self.kernel_size} built")
        x = self.conv(x)
        n, kc, t, v = x.shape
        x = x.reshape(n, self.kernel_size, kc // self.kernel_size, t, v)
        return torch.einsum("nkctv,kvw->nctw", x, A).contiguous(), A


class st_gcn_block(nn.Module):  # noqa: N801 -- OpenGait's class name
    """A spatial graph convolution then a temporal one, with a residual (OpenGait's ``st_gcn_block``).

    Args:
        in_channels: channels in.
        out_channels: channels out.
        kernel_size: (temporal kernel, number of adjacency matrices); the temporal one odd.
        stride: the temporal stride.
        dropout: dropout after the temporal convolution.
        residual: add the input (or a 1x1 projection of it) to the output.
    """

    def __init__(
        self,
        in_channels: int,
        out_channels: int,
        kernel_size: Sequence[int],
        stride: int = 1,
        dropout: float = 0,
        residual: bool = True,
    ):
        super().__init__()
        temporal, spatial = kernel_size
        if temporal % 2 != 1:
            raise ConfigError(
                f"model_cfg.temporal_kernel_size must be odd (it pads equally on both sides), "
                f"got {temporal}"
            )
        self.gcn = SCN(in_channels, out_channels, spatial)
        self.tcn = nn.Sequential(
            nn.BatchNorm2d(out_channels),
            nn.ReLU(inplace=True),
            nn.Conv2d(
                out_channels, out_channels, (temporal, 1), (stride, 1), ((temporal - 1) // 2, 0)
            ),
            nn.BatchNorm2d(out_channels),
            nn.Dropout(dropout),
        )
        if not residual:
            self.residual = None
        elif in_channels == out_channels and stride == 1:
            self.residual = nn.Identity()
        else:
            self.residual = nn.Sequential(
                nn.Conv2d(in_channels, out_channels, kernel_size=1, stride=(stride, 1)),
                nn.BatchNorm2d(out_channels),
            )
        self.relu = nn.ReLU(inplace=True)

    def forward(self, x: torch.Tensor, A: torch.Tensor) -> tuple[torch.Tensor, torch.Tensor]:
        """``x`` [n, c, T, V], ``A`` [K, V, V] -> ([n, c', T', V], A)."""
        shortcut = None if self.residual is None else self.residual(x)
        x, A = self.gcn(x, A)
        x = self.tcn(x)
        if shortcut is not None:
            x = x + shortcut
        return self.relu(x), A


SCALES = ("lowSemantic", "mediumSemantic", "highSemantic")  # joints, limbs, body parts


class MultiScaleGaitGraph(BaseModel):
    """Graph networks on joints, limbs and body parts with cross-scale messages (OpenGait's MSGG)."""

    def build_network(self, model_cfg):
        in_c = list(model_cfg["in_channels"])
        out_c = model_cfg["out_channels"]
        num_id = model_cfg["num_id"]
        self.graph = SpatialGraph(**(model_cfg.get("graph_cfg") or {}))
        for level, scale in enumerate(SCALES):
            A = self.graph.get_adjacency(semantic_level=level).float()
            self.register_buffer(f"A_{scale}", A)
        kernel_size = (model_cfg["temporal_kernel_size"], self.graph.num_A)
        for scale in SCALES:
            blocks = nn.ModuleList()
            for i in range(len(in_c) - 1):
                blocks.append(st_gcn_block(in_c[i], in_c[i + 1], kernel_size, 1, residual=i > 0))
                blocks.append(st_gcn_block(in_c[i + 1], in_c[i + 1], kernel_size, 1))
            setattr(self, f"st_gcn_networks_{scale}", blocks)
        for scale in SCALES:
            shape = getattr(self, f"A_{scale}").shape
            importance = nn.ParameterList(nn.Parameter(torch.ones(shape)) for _ in blocks)
            setattr(self, f"edge_importance_{scale}", importance)
        self.fc = nn.Linear(in_c[-1], out_c)
        self.bn_neck = nn.BatchNorm1d(out_c)
        self.encoder_cls = nn.Linear(out_c, num_id, bias=False)

    def parameters_without_gradient(self) -> tuple[str, ...]:
        """The biases of the convolutions right before a batch norm (OpenGait has them): in
        training mode the norm removes every per-channel constant, so their gradient is zero
        up to rounding."""
        return ("st_gcn_networks_*.tcn.2.bias", "st_gcn_networks_*.residual.0.bias")

    @staticmethod
    def semantic_pooling(x: torch.Tensor) -> torch.Tensor:
        """The next coarser scale: the mean of the first and the second half of the nodes."""
        first, second = x.split(x.size(-1) // 2, dim=-1)
        return (first + second) / 2

    def encode(self, x: torch.Tensor) -> tuple[torch.Tensor, ...]:
        """Poses [n, T, V, C] -> joints, limbs (each [n, c, 1]), embedding [n, out, 1], logits."""
        x = x.permute(0, 3, 1, 2).contiguous()  # [n, C, T, V]
        y = self.semantic_pooling(x)
        z = self.semantic_pooling(y)
        networks = [getattr(self, f"st_gcn_networks_{scale}") for scale in SCALES]
        importances = [getattr(self, f"edge_importance_{scale}") for scale in SCALES]
        adjacencies = [getattr(self, f"A_{scale}") for scale in SCALES]
        for blocks, weights in zip(zip(*networks), zip(*importances)):
            x, _ = blocks[0](x, adjacencies[0] * weights[0])
            y, _ = blocks[1](y, adjacencies[1] * weights[1])
            z, _ = blocks[2](z, adjacencies[2] * weights[2])
            # cross-scale message passing: each finer scale, pooled, joins the coarser one
            y = y + self.semantic_pooling(x)
            z = z + self.semantic_pooling(y)
        joints = x.mean((2, 3)).unsqueeze(-1)  # [n, c, 1]
        limbs = y.mean((2, 3)).unsqueeze(-1)
        z_fc = self.fc(z.mean((2, 3)))  # [n, out]
        logits = self.encoder_cls(self.bn_neck(z_fc))
        return joints, limbs, z_fc.unsqueeze(-1), logits.unsqueeze(-1)

    def forward(self, inputs):
        ipts, labs, _, _, seqL = inputs
        poses = ipts[0]  # [n, T, V, C]
        if seqL is None:
            joints, limbs, embed, logits = self.encode(poses)
        else:  # sequences joined along T: one at a time (temporal convolutions must not mix them)
            lengths = [int(v) for v in seqL[0].tolist()]
            parts = [self.encode(seq) for seq in poses.split(lengths, dim=1)]
            joints, limbs, embed, logits = (torch.cat(items) for items in zip(*parts))
        return {
            "training_feat": {
                "triplet_joints": {"embeddings": joints, "labels": labs},
                "triplet_limbs": {"embeddings": limbs, "labels": labs},
                "triplet_bodyparts": {"embeddings": embed, "labels": labs},
                "softmax": {"logits": logits, "labels": labs},
            },
            "visual_summary": {},
            "inference_feat": {"embeddings": embed},
        }
