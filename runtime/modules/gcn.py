"""The graph convolution network of ParsingGait, under OpenGait's names (``backbones/gcn.py``).

``GCN`` (a backbone a config can name by ``type``) is two ``GraphConvolution`` layers (Kipf and
Welling, arXiv:1609.02907) with dropout 0.5 before each and a ReLU after each. A graph
convolution maps every node's features ``[.., nodes, in]`` through one shared weight, mixes
the nodes with the adjacency, adds a bias and batch-normalises every (node, channel) pair.
``Normalize`` is OpenGait's L-p normalisation over dimension 1.
"""

from __future__ import annotations

import math

import torch
import torch.nn.functional as F
from torch import nn

from .backbone import Backbone


class Normalize(nn.Module):
    """Divide by the L-``power`` norm over dimension 1 (OpenGait's ``Normalize``)."""

    def __init__(self, power: int = 2):
        super().__init__()
        self.power = power

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        norm = x.pow(self.power).sum(1, keepdim=True).pow(1.0 / self.power)
        return x / norm


class GraphConvolution(nn.Module):
    """One graph convolution: ``BN(adj @ (x @ weight) + bias)`` over ``adj_size`` nodes.

    Args:
        in_features: channels per node in.
        out_features: channels per node out.
        adj_size: the number of nodes (the batch norm has ``out_features * adj_size`` channels).
        bias: add a learnt bias per output channel.
    """

    def __init__(self, in_features: int, out_features: int, adj_size: int = 9, bias: bool = True):
        super().__init__()
        self.in_features = in_features
        self.out_features = out_features
        self.adj_size = adj_size
        self.weight = nn.Parameter(torch.empty(in_features, out_features))
        if bias:
            self.bias = nn.Parameter(torch.empty(out_features))
        else:
            self.register_parameter("bias", None)
        self.reset_parameters()
        self.bn = nn.BatchNorm1d(out_features * adj_size)

    def reset_parameters(self) -> None:
        """Uniform in ``[-1/sqrt(out), 1/sqrt(out)]``, weight and bias (OpenGait's init)."""
        bound = 1.0 / math.sqrt(self.weight.size(1))
        nn.init.uniform_(self.weight, -bound, bound)
        if self.bias is not None:
            nn.init.uniform_(self.bias, -bound, bound)

    def forward(self, input: torch.Tensor, adj: torch.Tensor) -> torch.Tensor:
        """``input`` [b, nodes, in] and ``adj`` [nodes, nodes] or [b, nodes, nodes] -> [b, nodes, out]."""
        mixed = torch.matmul(adj, torch.matmul(input, self.weight))  # [b, nodes, out]
        if self.bias is not None:
            mixed = mixed + self.bias
        b, nodes, channels = mixed.shape
        return self.bn(mixed.reshape(b, nodes * channels)).reshape(b, nodes, channels)

    def extra_repr(self) -> str:
        return f"{self.in_features} -> {self.out_features}, nodes={self.adj_size}"


class GCN(Backbone):
    """Two graph convolutions with dropout 0.5 before and a ReLU after each (ParsingGait's GCN).

    Args:
        adj_size: the number of graph nodes (body parts).
        nfeat: channels per node in.
        nhid: channels per node in the hidden and the output layer.
        isMeanPooling: kept for OpenGait's signature; the network does not read it.
    """

    example_arguments = {"adj_size": 5, "nfeat": 8, "nhid": 6}
    output_dims = 3

    def example_inputs(self) -> tuple[torch.Tensor, ...]:
        """Features of 2 x ``adj_size`` nodes and an evenly weighted adjacency."""
        nodes = self.adj_size
        return torch.rand(2, nodes, self.gc1.in_features), torch.full((nodes, nodes), 1 / nodes)

    def __init__(self, adj_size: int, nfeat: int, nhid: int, isMeanPooling: bool = True):
        super().__init__()
        self.adj_size = adj_size
        self.nhid = nhid
        self.isMeanPooling = isMeanPooling
        self.gc1 = GraphConvolution(nfeat, nhid, adj_size)
        self.gc2 = GraphConvolution(nhid, nhid, adj_size)

    def forward(self, x: torch.Tensor, adj: torch.Tensor) -> torch.Tensor:
        """``x`` [b, nodes, nfeat], ``adj`` the (normalised) adjacency -> [b, nodes, nhid]."""
        x = F.dropout(x, 0.5, training=self.training)
        x = F.relu(self.gc1(x, adj))
        x = F.dropout(x, 0.5, training=self.training)
        return F.relu(self.gc2(x, adj))
