"""ParsingGait (Zheng et al., "Parsing is All You Need for Accurate Gait Recognition in the
Wild", ACM MM 2023; arXiv:2308.16739).

The input is a sequence of human-parsing maps (Gait3D-Parsing's labels as numbers: 0
background, 1 head, 2 torso, 3/4 arms, 5/6 hands, 7/8 legs, 9/10 feet, 11 dress), ``[n, s, h,
w]``. A GaitBase body (a per-frame backbone, temporal max pooling, a horizontal pooling
pyramid) gives ``p`` strips; beside it, every frame's feature map is weighted by each body
part's mask (``gamma`` inside the part, ``1 - gamma`` outside, one learnt ``gamma`` per part),
pooled to one vector per part (mean + max), and the parts go through a two-layer graph
convolution (``GCN`` of ``gaitgen.runtime.modules``) over a fixed body graph: 11 fine parts,
5 coarse ones (head+torso+dress, the arms with their hands, the legs with their feet) or both.
The graph features, max-pooled over each sequence's frames, join the strips before the
separate FCs and BNNecks.

OpenGait's config keys (``model_cfg``): ``backbone_cfg``, ``SeparateFCs`` (``parts_num`` =
``sum(bin_num)`` + the graph's nodes), ``SeparateBNNecks``, ``bin_num`` and ``gcn_cfg``
(``fine_parts``, ``coarse_parts``, ``only_fine_graph``, ``only_coarse_graph``,
``combine_fine_coarse_graph``). OpenGait builds the adjacency only for CUDA inputs (it fails on
the CPU); here it is a buffer that follows the model to any device.
"""

from __future__ import annotations

import torch
import torch.nn.functional as F
from torch import nn

from ..errors import ConfigError
from ..modules.gcn import GCN
from .baseline import Baseline

# which fine parts touch (labels 1..11; every part touches itself)
FINE_GRAPH = (
    (1, 1, 0, 0, 0, 0, 0, 0, 0, 0, 1),
    (1, 1, 1, 1, 0, 0, 1, 1, 0, 0, 0),
    (0, 1, 1, 0, 1, 0, 0, 0, 0, 0, 1),
    (0, 1, 0, 1, 0, 1, 0, 0, 0, 0, 1),
    (0, 0, 1, 0, 1, 0, 0, 0, 0, 0, 0),
    (0, 0, 0, 1, 0, 1, 0, 0, 0, 0, 0),
    (0, 1, 0, 0, 0, 0, 1, 0, 1, 0, 1),
    (0, 1, 0, 0, 0, 0, 0, 1, 0, 1, 1),
    (0, 0, 0, 0, 0, 0, 1, 0, 1, 0, 0),
    (0, 0, 0, 0, 0, 0, 0, 1, 0, 1, 0),
    (1, 0, 1, 1, 0, 0, 1, 1, 0, 0, 1),
)
# the coarse parts: the trunk (head, torso, dress) joined to each limb
COARSE_GRAPH = (
    (1, 1, 1, 1, 1),
    (1, 1, 0, 0, 0),
    (1, 0, 1, 0, 0),
    (1, 0, 0, 1, 0),
    (1, 0, 0, 0, 1),
)
# the fine labels of each coarse part
COARSE_PARTS = ((1, 2, 11), (3, 5), (4, 6), (7, 9), (8, 10))
GRAPH_SWITCHES = ("only_fine_graph", "only_coarse_graph", "combine_fine_coarse_graph")


def L_Matrix(adj_npy: torch.Tensor, adj_size: int) -> torch.Tensor:
    """Symmetric normalisation ``D^-1/2 A D^-1/2`` (OpenGait's name), ``D`` counting the ones of
    each row (rows without any keep 0)."""
    adjacency = torch.as_tensor(adj_npy, dtype=torch.float64)[:adj_size, :adj_size]
    degree = (adjacency == 1).sum(1).to(torch.float64)
    scale = torch.where(degree > 0, degree.pow(-0.5), torch.zeros_like(degree))
    return scale[:, None] * adjacency * scale[None, :]


def _graph_mode(gcn_cfg: dict) -> str:
    """The first of OpenGait's three switches that is on (OpenGait checks them in this order)."""
    for key in GRAPH_SWITCHES:
        if gcn_cfg.get(key):
            return key
    raise ConfigError(
        f"model_cfg.gcn_cfg: none of {list(GRAPH_SWITCHES)} is true; set one of them to choose "
        "the fine graph, the coarse graph or both"
    )


class ParsingGait(Baseline):
    """GaitBase on parsing maps plus a graph convolution over body parts (OpenGait's ParsingGait)."""

    def build_network(self, model_cfg):
        super().build_network(model_cfg)  # GaitBase's layers, under its names

        nfeat = model_cfg["SeparateFCs"]["in_channels"]
        gcn_cfg = model_cfg["gcn_cfg"]
        self.fine_parts = gcn_cfg["fine_parts"]
        coarse_parts = gcn_cfg["coarse_parts"]
        self.graph_mode = _graph_mode(gcn_cfg)
        self.only_fine_graph = self.graph_mode == "only_fine_graph"
        self.only_coarse_graph = self.graph_mode == "only_coarse_graph"
        self.combine_fine_coarse_graph = self.graph_mode == "combine_fine_coarse_graph"
        # parameters in OpenGait's creation order (fine first), adjacencies as buffers that are
        # not saved (OpenGait keeps them as plain attributes, outside its state dict)
        if not self.only_coarse_graph:
            self.register_buffer(
                "fine_adj_npy", L_Matrix(FINE_GRAPH, len(FINE_GRAPH)).float(), persistent=False
            )
            self.gcn_fine = GCN(self.fine_parts, nfeat, nfeat, isMeanPooling=True)
            self.gammas_fine = nn.Parameter(torch.ones(self.fine_parts) * 0.75)
            labels = torch.arange(1, self.fine_parts + 1)
            self.register_buffer("fine_labels", labels[:, None], persistent=False)
        if not self.only_fine_graph:
            self.register_buffer(
                "coarse_adj_npy",
                L_Matrix(COARSE_GRAPH, len(COARSE_GRAPH)).float(),
                persistent=False,
            )
            self.gcn_coarse = GCN(coarse_parts, nfeat, nfeat, isMeanPooling=True)
            self.gammas_coarse = nn.Parameter(torch.ones(coarse_parts) * 0.75)
            # [coarse part, fine label] -> member; -1 pads parts with fewer labels
            width = max(len(part) for part in COARSE_PARTS)
            labels = torch.full((len(COARSE_PARTS), width), -1)
            for index, part in enumerate(COARSE_PARTS):
                labels[index, : len(part)] = torch.tensor(part)
            self.register_buffer("coarse_labels", labels, persistent=False)

    def parameters_without_gradient(self) -> tuple[str, ...]:
        """The graph convolutions' biases, right before their batch norms (OpenGait has them):
        in training mode the norm removes every per-feature constant, so their gradient is zero
        up to rounding."""
        return ("gcn_*.gc*.bias",)

    @staticmethod
    def part_features(
        mask_labels: torch.Tensor, z: torch.Tensor, part_labels: torch.Tensor, gammas: torch.Tensor
    ) -> torch.Tensor:
        """Each part's view of the frame features: ``gamma`` inside the part, ``1 - gamma`` outside.

        Args:
            mask_labels: the parsing label of every feature cell, [n*s, h, w] (long).
            z: the frame features, [n*s, c, h, w].
            part_labels: the labels of each part, [parts, k] (-1 for none).
            gammas: one weight per part, [parts].

        Returns:
            [n*s, parts, c, h, w].
        """
        inside = (mask_labels[:, None, None] == part_labels[None, :, :, None, None]).any(2)
        gamma = gammas[None, :, None, None]
        weight = torch.where(inside, gamma, 1.0 - gamma)  # [n*s, parts, h, w]
        return z.unsqueeze(1) * weight.unsqueeze(2)

    @staticmethod
    def PPforGCN(x: torch.Tensor) -> torch.Tensor:
        """Part pooling for the GCN: mean + max over each part's map, [n, p, c, h, w] -> [n, p, c]."""
        z = x.flatten(3)
        return z.mean(-1) + z.amax(-1)

    def get_gcn_feat(self, n, input, adj, gcn, seqL):
        """One graph's features, max-pooled over each sequence's frames: [n, parts, c].

        Args:
            n: the number of sequences in the batch (1 when they are joined with ``seqL``).
            input: the part features, [n*s, parts, c, h, w].
            adj: the graph's normalised adjacency, [parts, parts].
            gcn: the graph's GCN.
            seqL: the sequence lengths or None.
        """
        input_ps = self.PPforGCN(input)  # [n*s, parts, c]
        n_s, p, c = input_ps.shape
        output_ps = gcn(input_ps, adj).reshape(n, n_s // n, p, c)  # [n, s, parts, c]
        return self.TP(output_ps, seqL, dim=1, options={"dim": 1})[0]

    def forward(self, inputs):
        ipts, labs, _, _, seqL = inputs
        pars = ipts[0]
        if pars.dim() == 4:
            pars = pars.unsqueeze(1)  # [n, 1, s, h, w]

        outs = self.Backbone(pars)  # [n, c, s, h, w]
        n, c, s, h, w = outs.shape
        # the parsing labels at the feature map's resolution, per frame
        labels = F.interpolate(pars.squeeze(1), size=(h, w), mode="nearest")
        labels = labels.reshape(n * s, h, w).long()
        frames = outs.transpose(1, 2).reshape(n * s, c, h, w)

        graphs = []
        if not self.only_coarse_graph:
            fine = self.part_features(labels, frames, self.fine_labels, self.gammas_fine)
            graphs.append(
                self.get_gcn_feat(n, fine, self.fine_adj_npy, self.gcn_fine, seqL)
            )  # [n, 11, c]
        if not self.only_fine_graph:
            coarse = self.part_features(labels, frames, self.coarse_labels, self.gammas_coarse)
            graphs.append(
                self.get_gcn_feat(n, coarse, self.coarse_adj_npy, self.gcn_coarse, seqL)
            )  # [n, 5, c]
        outs_ps = torch.cat(graphs, 1).transpose(1, 2)  # [n, c, parts]

        outs = self.TP(outs, seqL, options={"dim": 2})[0]  # [n, c, h, w]
        feat = torch.cat([self.HPP(outs), outs_ps], dim=-1)  # [n, c, p + parts]
        embed_1 = self.FCs(feat)  # [n, c, p + parts]
        _, logits = self.BNNecks(embed_1)

        n, _, s, h, w = pars.shape
        return {
            "training_feat": {
                "triplet": {"embeddings": embed_1, "labels": labs},
                "softmax": {"logits": logits, "labels": labs},
            },
            "visual_summary": {"image/pars": pars.reshape(n * s, 1, h, w)},
            "inference_feat": {"embeddings": embed_1},
        }
