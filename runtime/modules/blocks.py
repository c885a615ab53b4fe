"""Set-level building blocks shared by gait models (OpenGait's module names and signatures)."""

from __future__ import annotations

from collections.abc import Callable, Sequence
from typing import Any

import torch
import torch.nn.functional as F
from torch import nn


class BasicConv2d(nn.Module):
    """A bias-free 2-D convolution."""

    def __init__(
        self,
        in_channels: int,
        out_channels: int,
        kernel_size: int,
        stride: int = 1,
        padding: int = 0,
        **kwargs: Any,
    ):
        super().__init__()
        self.conv = nn.Conv2d(
            in_channels,
            out_channels,
            kernel_size,
            stride=stride,
            padding=padding,
            bias=False,
            **kwargs,
        )

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        return self.conv(x)


def frames_as_set(sils: torch.Tensor) -> torch.Tensor:
    """A model's input frames as a set ``[n, c, s, h, w]``.

    ``ipts[0]`` is ``[n, s, h, w]`` for silhouettes (one channel) or ``[n, s, c, h, w]``
    for several channels; sequences joined with ``seqL`` are ``n = 1``.
    """
    if sils.dim() == 4:
        return sils.unsqueeze(1)  # [n, 1, s, h, w]
    return sils.transpose(1, 2).contiguous()  # [n, s, c, h, w] -> [n, c, s, h, w]


class SetBlockWrapper(nn.Module):
    """Apply a frame-level 2-D module to every frame of a set: [n, c, s, h, w] -> [n, c', s, h', w']."""

    def __init__(self, forward_block: nn.Module):
        super().__init__()
        self.forward_block = forward_block

    def forward(self, x: torch.Tensor, *args: Any, **kwargs: Any) -> torch.Tensor:
        n, c, s, h, w = x.size()
        frames = x.transpose(1, 2).reshape(n * s, c, h, w)  # [n*s, c, h, w]
        out = self.forward_block(frames, *args, **kwargs)  # [n*s, c', h', w']
        return out.reshape(n, s, *out.shape[1:]).transpose(1, 2).contiguous()


class PackSequenceWrapper(nn.Module):
    """Pool a set along its frame axis, one sequence at a time when lengths vary.

    With ``seqL`` None the batch is [n, c, s, ...] and ``pooling_func`` runs once; otherwise
    the sequences are concatenated along ``dim`` (``[1, c, sum(s), ...]``) and ``seqL`` [1, n]
    holds their lengths: each is pooled on its own and the results are stacked.
    Called as in OpenGait: ``TP(x, seqL, options={"dim": 2})[0]`` for ``torch.max``.
    """

    def __init__(self, pooling_func: Callable[..., Any]):
        super().__init__()
        self.pooling_func = pooling_func

    def forward(
        self,
        seqs: torch.Tensor,
        seqL: torch.Tensor | None,
        dim: int = 2,
        options: dict[str, Any] | None = None,
    ) -> Any:
        options = options or {}
        if seqL is None:
            return self.pooling_func(seqs, **options)
        lengths = [int(v) for v in seqL[0].tolist()]
        pooled = [self.pooling_func(part, **options) for part in seqs.split(lengths, dim)]
        if isinstance(pooled[0], tuple):  # e.g. torch.max -> (values, indices)
            return [torch.cat(items) for items in zip(*pooled)]
        return torch.cat(pooled)


class HorizontalPoolingPyramid(nn.Module):
    """Split the feature map into horizontal strips and pool each: [n, c, h, w] -> [n, c, p].

    Each strip is pooled with mean + max; ``bin_num`` lists the strip counts of the pyramid
    levels (``p = sum(bin_num)``); ``h`` must be divisible by every bin count.
    """

    def __init__(self, bin_num: Sequence[int] | None = None):
        super().__init__()
        self.bin_num = list(bin_num) if bin_num is not None else [16, 8, 4, 2, 1]

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        n, c = x.shape[:2]
        features = []
        for bins in self.bin_num:
            strips = x.reshape(n, c, bins, -1)  # [n, c, bins, h*w/bins]
            features.append(strips.mean(-1) + strips.amax(-1))
        return torch.cat(features, -1)


class SeparateFCs(nn.Module):
    """One linear map per part: [n, c_in, p] -> [n, c_out, p]."""

    def __init__(self, parts_num: int, in_channels: int, out_channels: int, norm: bool = False):
        super().__init__()
        self.p = parts_num
        self.fc_bin = nn.Parameter(
            nn.init.xavier_uniform_(torch.zeros(parts_num, in_channels, out_channels))
        )
        self.norm = norm

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        parts_first = x.permute(2, 0, 1).contiguous()  # [p, n, c_in]
        weight = F.normalize(self.fc_bin, dim=1) if self.norm else self.fc_bin
        return parts_first.matmul(weight).permute(1, 2, 0).contiguous()  # [n, c_out, p]


class SeparateBNNecks(nn.Module):
    """BNNeck per part (Luo et al., "Bag of Tricks"): batch norm, then per-part classifiers.

    Returns the normalised features [n, c, p] and the logits [n, class_num, p]; with
    ``norm`` the features and classifier weights are L2-normalised (cosine logits).
    """

    def __init__(
        self,
        parts_num: int,
        in_channels: int,
        class_num: int,
        norm: bool = True,
        parallel_BN1d: bool = True,
    ):
        super().__init__()
        self.p = parts_num
        self.class_num = class_num
        self.norm = norm
        self.fc_bin = nn.Parameter(
            nn.init.xavier_uniform_(torch.zeros(parts_num, in_channels, class_num))
        )
        self.parallel_BN1d = parallel_BN1d
        if parallel_BN1d:
            self.bn1d = nn.BatchNorm1d(in_channels * parts_num)
        else:
            self.bn1d = clones(nn.BatchNorm1d(in_channels), parts_num)

    def forward(self, x: torch.Tensor) -> tuple[torch.Tensor, torch.Tensor]:
        n, c, p = x.shape
        if self.parallel_BN1d:
            x = self.bn1d(x.reshape(n, c * p)).reshape(n, c, p)
        else:
            x = torch.stack([bn(x[:, :, i]) for i, bn in enumerate(self.bn1d)], dim=2)
        feature = x.permute(2, 0, 1).contiguous()  # [p, n, c]
        if self.norm:
            feature = F.normalize(feature, dim=-1)
            logits = feature.matmul(F.normalize(self.fc_bin, dim=1))  # [p, n, class_num]
        else:
            logits = feature.matmul(self.fc_bin)
        return feature.permute(1, 2, 0).contiguous(), logits.permute(1, 2, 0).contiguous()


class FocalConv2d(nn.Module):
    """GaitPart's focal convolution: one bias-free convolution applied to horizontal strips.

    With ``halving`` h > 0 the input is cut into 2**h strips of equal height, each convolved
    on its own (no information crosses a strip border), and the results are joined again;
    ``halving=0`` is a plain convolution. Extra keyword arguments go to ``nn.Conv2d``.
    """

    def __init__(
        self,
        in_channels: int,
        out_channels: int,
        kernel_size: int,
        halving: int,
        **kwargs: Any,
    ):
        super().__init__()
        self.halving = halving
        self.conv = nn.Conv2d(in_channels, out_channels, kernel_size, bias=False, **kwargs)

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        if self.halving == 0:
            return self.conv(x)
        strip_height = x.size(2) // 2**self.halving
        return torch.cat([self.conv(strip) for strip in x.split(strip_height, 2)], 2)


class BasicConv3d(nn.Module):
    """A 3-D convolution over [n, c, s, h, w] (bias-free unless asked), as OpenGait's."""

    def __init__(
        self,
        in_channels: int,
        out_channels: int,
        kernel_size: Any = (3, 3, 3),
        stride: Any = (1, 1, 1),
        padding: Any = (1, 1, 1),
        bias: bool = False,
        **kwargs: Any,
    ):
        super().__init__()
        self.conv3d = nn.Conv3d(
            in_channels,
            out_channels,
            kernel_size=kernel_size,
            stride=stride,
            padding=padding,
            bias=bias,
            **kwargs,
        )

    def forward(self, ipts: torch.Tensor) -> torch.Tensor:
        return self.conv3d(ipts)  # [n, c, s, h, w] -> [n, c', s', h', w']


def clones(module: nn.Module, count: int) -> nn.ModuleList:
    """``count`` independent deep copies of ``module`` (OpenGait's ``utils.clones``)."""
    import copy

    return nn.ModuleList(copy.deepcopy(module) for _ in range(count))
