"""ResGCN (Song et al., "Stronger, Faster and More Explainable: A Graph Convolutional Baseline for
Skeleton-based Action Recognition", ACM MM 2020; arXiv:2010.09978): the backbone of GaitGraph
and GaitGraph2, with OpenGait's names, arguments and parameter names.

Input ``[n, I, C, T, V]``: ``I`` input branches (GaitGraph2: joints, velocities, bones) of
``C`` channels, ``T`` frames, ``V`` joints. Each branch (a :class:`ResGCNInputBranch`: BatchNorm
then ResGCN modules of ``input_branch`` channels) runs on its own; the branches are joined along
the channels and go through the main stream (``main_stream`` channels; the frames are halved by
the first module and wherever the channels change), are averaged over frames and joints and
mapped to ``num_class`` numbers by ``fcn``: the output is ``[n, num_class]``.
"""

from __future__ import annotations

from collections.abc import Sequence

import torch
from torch import nn

from ..errors import ConfigError
from .backbone import Backbone
from .graph import Graph
from .graph_blocks import (
    SpatialBasicBlock,
    SpatialBottleneckBlock,
    TemporalBasicBlock,
    TemporalBottleneckBlock,
    block_shortcut,
)

BLOCKS = ("initial", "Basic", "Bottleneck")


class ResGCNModule(nn.Module):
    """A spatial block then a temporal block, with a learnt weight per adjacency entry (``edge``).

    Args:
        in_channels, out_channels: channels of the input and output.
        block: ``initial`` (basic blocks, no shortcut), ``Basic`` (basic blocks, a shortcut
            around the module) or ``Bottleneck`` (bottleneck blocks, each with its shortcut).
        A: the adjacency ``[K, V, V]`` (gives ``edge`` its shape).
        stride: the frame stride.
        kernel_size: ``[temporal window (odd), max graph distance]``.
        reduction: the bottleneck's channel reduction.
        get_res: the first module of the main stream (its temporal block halves the frames).
        is_main: a module of the main stream.

    Raises:
        ConfigError: an unknown ``block`` or a ``kernel_size`` of the wrong form.
    """

    def __init__(
        self,
        in_channels: int,
        out_channels: int,
        block: str,
        A: torch.Tensor,  # noqa: N803
        stride: int = 1,
        kernel_size: Sequence[int] = (9, 2),
        reduction: int = 4,
        get_res: bool = False,
        is_main: bool = False,
    ):
        super().__init__()
        if block not in BLOCKS:
            raise ConfigError(f"model_cfg.block: {block!r} is not one of {', '.join(BLOCKS)}")
        if len(kernel_size) != 2 or kernel_size[0] % 2 != 1:
            raise ConfigError(
                f"ResGCNModule: kernel_size must be [odd temporal window, max graph distance], "
                f"got {list(kernel_size)}"
            )
        temporal_window_size, max_graph_distance = kernel_size
        module_res = block == "Basic"
        block_res = block == "Bottleneck"
        self.residual = block_shortcut(module_res, in_channels, out_channels, stride)
        if block == "Bottleneck":
            spatial_block, temporal_block = SpatialBottleneckBlock, TemporalBottleneckBlock
        else:
            spatial_block, temporal_block = SpatialBasicBlock, TemporalBasicBlock
        self.scn = spatial_block(
            in_channels, out_channels, max_graph_distance, block_res, reduction
        )
        self.tcn = temporal_block(
            out_channels,
            temporal_window_size,
            stride,
            block_res,
            reduction,
            get_res=get_res,
            tcn_stride=in_channels == out_channels and is_main,
        )
        self.edge = nn.Parameter(torch.ones_like(A))

    def forward(self, x: torch.Tensor, A: torch.Tensor) -> torch.Tensor:  # noqa: N803
        A = A.to(device=x.device, dtype=self.edge.dtype)  # noqa: N806
        return self.tcn(self.scn(x, A * self.edge), self.residual(x))


class ResGCNInputBranch(nn.Module):
    """One input branch: BatchNorm, an ``initial`` module, then ``block`` modules.

    Args:
        input_branch: channels, input first (``[5, 64, 32]``: two modules).
        block: the block of every module after the first.
        A: the adjacency ``[K, V, V]``, kept as the buffer ``A`` (in the state dict, as in
            OpenGait).
        input_num: the number of branches (OpenGait's signature; unused here).
        reduction: the bottleneck's channel reduction.
    """

    def __init__(
        self,
        input_branch: Sequence[int],
        block: str,
        A: torch.Tensor,  # noqa: N803
        input_num: int,
        reduction: int = 4,
    ):
        super().__init__()
        self.register_buffer("A", A)
        self.bn = nn.BatchNorm2d(input_branch[0])
        self.layers = nn.ModuleList(
            ResGCNModule(
                input_branch[i],
                input_branch[i + 1],
                "initial" if i == 0 else block,
                A,
                reduction=reduction,
            )
            for i in range(len(input_branch) - 1)
        )

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        x = self.bn(x)
        for layer in self.layers:
            x = layer(x, self.A)
        return x


class ResGCN(Backbone):
    """ResGCN: input branches joined into a main stream, pooled, then a linear map.

    Args:
        input_num: input branches (``I``).
        input_branch: channels of each branch, input first.
        main_stream: channels of the main stream, first = ``input_branch[-1]``.
        num_class: output numbers per sequence.
        reduction: the bottleneck's channel reduction.
        block: ``Basic`` or ``Bottleneck`` (see :class:`ResGCNModule`).
        graph: the adjacency ``[K, V, V]`` (GaitGraph passes ``Graph(..., max_hop=3).A``), or
            a joint layout name for that graph.

    The defaults are OpenGait's ``gaitgraph2.yaml``. ``forward``: ``[n, I, C, T, V] -> [n,
    num_class]``.
    """

    output_dims = 2

    def example_inputs(self) -> tuple[torch.Tensor, ...]:
        """Coco poses of the default branches: ``[n=2, branches=3, c=5, t=12, v=17]``."""
        return (torch.rand(2, 3, 5, 12, 17),)

    def __init__(
        self,
        input_num: int = 3,
        input_branch: Sequence[int] = (5, 64, 32),
        main_stream: Sequence[int] = (32, 128, 256),
        num_class: int = 128,
        reduction: int = 8,
        block: str = "Bottleneck",
        graph: torch.Tensor | str = "coco",
    ):
        super().__init__()
        if isinstance(graph, str):
            graph = torch.tensor(Graph(joint_format=graph, max_hop=3).A, dtype=torch.float32)
        # not in the state dict (OpenGait keeps it as a plain attribute); a buffer follows .to()
        self.register_buffer("graph", graph, persistent=False)
        self.head = nn.ModuleList(
            ResGCNInputBranch(input_branch, block, graph, input_num, reduction)
            for _ in range(input_num)
        )
        self.backbone = nn.ModuleList(
            ResGCNModule(
                main_stream[i] * (input_num if i == 0 else 1),
                main_stream[i + 1],
                block,
                graph,
                stride=1 if i == 0 or main_stream[i] == main_stream[i + 1] else 2,
                reduction=reduction,
                get_res=i == 0,
                is_main=True,
            )
            for i in range(len(main_stream) - 1)
        )
        self.global_pooling = nn.AdaptiveAvgPool2d(1)
        self.fcn = nn.Linear(main_stream[-1], num_class)

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        x = torch.cat([branch(x[:, i]) for i, branch in enumerate(self.head)], dim=1)
        for layer in self.backbone:
            x = layer(x, self.graph)
        return self.fcn(self.global_pooling(x).flatten(1))  # [n, c, t, v] -> [n, num_class]
