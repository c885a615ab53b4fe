"""FoundationGait's backbone: DeepGaitV2 with a pyramid of strips and SimSiam-style heads.

``DeepGaitV2_SSL`` (OpenGait's name) is DeepGaitV2's residual network (a 3x3 stem, a 2-D
stage, then three stages of ``Backbone.mode`` blocks; stages 2 and 3 halve height and width),
temporal max pooling, a horizontal pooling pyramid (``bin_num``, e.g. ``[16, 8, 4, 2, 1]``:
31 parts), a projector (separate FC, :class:`ParallelBN1d`, ReLU, separate FC,
:class:`ParallelBN1d`) and a predictor (separate FC, BN, ReLU, separate FC). The models of
``runtime/models/foundationgait.py`` hold one (the EMA teacher) or two (teacher and student).

:func:`diverse_crop_encode` is FoundationGait's crop augmentation: half of a batch is encoded as
horizontal strips, the other half as strips offset by half a strip, and the strip features are
stacked back into whole feature maps. :func:`pooled_features` is the temporal pooling and strip
pyramid, one sequence at a time when the batch joins sequences of different lengths.
"""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from typing import Any

import torch
import torch.nn.functional as F
from torch import nn

from ..errors import ConfigError, TrainingError
from .blocks import (
    HorizontalPoolingPyramid,
    PackSequenceWrapper,
    SeparateFCs,
)
from .deepgaitv2_stages import add_deepgaitv2_stages, deepgaitv2_backbone
from .parallel_bn import ParallelBN1d


def _checked_backbone(model_cfg: Mapping[str, Any]) -> tuple[str, int, list[int], list[int]]:
    """(mode, in_channels, layers, channels) of ``model_cfg.Backbone``, and the parts, checked."""
    backbone = model_cfg.get("Backbone")
    if isinstance(backbone, Mapping) and "mode" not in backbone:
        raise ConfigError("model_cfg.Backbone: FoundationGait needs the keys ['mode']")
    mode, in_channels, layers, channels = deepgaitv2_backbone(model_cfg, "FoundationGait")
    for key in ("parts_num", "bin_num"):
        if key not in model_cfg:
            raise ConfigError(f"model_cfg.{key}: FoundationGait needs it")
    parts = sum(int(b) for b in model_cfg["bin_num"])
    if int(model_cfg["parts_num"]) != parts:
        raise ConfigError(
            f"model_cfg.parts_num: {model_cfg['parts_num']} but bin_num "
            f"{list(model_cfg['bin_num'])} gives {parts} parts; set parts_num: {parts}"
        )
    return mode, in_channels, layers, channels


class DeepGaitV2_SSL(nn.Module):  # noqa: N801 - OpenGait's class name
    """DeepGaitV2 with a strip pyramid, a projector and a predictor (OpenGait's parameters).

    Args:
        model_cfg: ``Backbone {mode, in_channels, layers, channels}``, ``bin_num`` and
            ``parts_num`` (the sum of ``bin_num``).
    """

    def __init__(self, model_cfg: Mapping[str, Any]):
        super().__init__()
        mode, in_channels, layers, channels = _checked_backbone(model_cfg)
        self.mode = mode
        add_deepgaitv2_stages(self, mode, in_channels, layers, channels)

        self.p = int(model_cfg["parts_num"])
        out_channels = hidden = channels[3]
        self.projector = nn.Sequential(
            SeparateFCs(self.p, out_channels, hidden),
            ParallelBN1d(self.p, hidden),
            nn.ReLU(inplace=True),
            SeparateFCs(self.p, hidden, out_channels),
            ParallelBN1d(self.p, out_channels),
        )
        self.predictor = nn.Sequential(
            SeparateFCs(self.p, out_channels, hidden),
            ParallelBN1d(self.p, hidden),
            nn.ReLU(inplace=True),
            SeparateFCs(self.p, hidden, out_channels),
        )
        self.TP = PackSequenceWrapper(torch.max)
        self.HPP = HorizontalPoolingPyramid(bin_num=list(model_cfg["bin_num"]))

    def encoder(self, sils: torch.Tensor) -> torch.Tensor:
        """The last stage's feature maps: [n, c, s, h, w] -> [n, c4, s, h/4, w/4]."""
        out = self.layer1(self.layer0(sils))
        return self.layer4(self.layer3(self.layer2(out)))

    def forward(self, inputs: Sequence[Any]) -> tuple[torch.Tensor, ...]:
        """OpenGait's output: (feature maps, pooled maps, parts, projection, prediction).

        Args:
            inputs: ``(sils [n, c, s, h, w], seqL)``; ``seqL`` (sequences joined along the
                frames) pools each sequence on its own.
        """
        sils, seq_l = inputs
        feat = self.encoder(sils)
        feat_tp = self.TP(feat, seq_l, options={"dim": 2})[0]
        feat_hpp = self.HPP(feat_tp)
        z1 = self.projector(feat_hpp)
        return feat, feat_tp, feat_hpp, z1, self.predictor(z1)


def _strips(x: torch.Tensor, count: int) -> torch.Tensor:
    """[n, c, s, count * k, w] -> [n * count, c, s, k, w]: horizontal strips as samples."""
    n, c, s, h, w = x.shape
    strips = x.reshape(n, c, s, count, h // count, w).permute(0, 3, 1, 2, 4, 5)
    return strips.reshape(n * count, c, s, h // count, w)


def _stacked(x: torch.Tensor, count: int) -> torch.Tensor:
    """The inverse of :func:`_strips`: [n * count, c, s, k, w] -> [n, c, s, count * k, w]."""
    nc, c, s, k, w = x.shape
    n = nc // count
    return x.reshape(n, count, c, s, k, w).permute(0, 2, 3, 1, 4, 5).reshape(n, c, s, count * k, w)


def diverse_crop_encode(
    encoder: Any, x: torch.Tensor, num_part: int, bin_num: Sequence[int]
) -> torch.Tensor:
    """FoundationGait's strip crops: the backbone's feature maps of a batch seen in strips.

    With ``num_part`` 1 the whole batch is encoded. Otherwise the first half of the batch is
    cut into ``num_part`` horizontal strips and the second half, padded by half a strip above
    and below, into ``num_part + 1``; every strip is encoded as its own sample (one forward,
    so BatchNorm sees them together) and the strips' features are stacked back, the second
    half's cut by half a strip's features at each end, so both halves keep their height.

    Args:
        encoder: the backbone's ``encoder`` ([n, c, s, h, w] -> its last feature maps).
        x: silhouettes [n, c, s, h, w], n even.
        num_part: the strips per sequence.
        bin_num: ``model_cfg.bin_num`` (its first entry sets the feature-map crop, as
            OpenGait computes it).

    Raises:
        TrainingError: an odd batch, or a height the strips do not divide.
    """
    n, _, _, h, _ = x.shape
    if num_part == 1:
        return encoder(x)
    if n % 2:
        raise TrainingError(
            f"FoundationGait's strip crops need an even number of sequences per crop group, "
            f"got {n}: make the batch a multiple of 2 * len(model_cfg.crop_list)"
        )
    win = h // num_part
    if win * num_part != h or win % 2:
        raise TrainingError(
            f"model_cfg.crop_list: {num_part} strips do not cut a {h}-pixel-high silhouette "
            "into equal even-height strips"
        )
    first, second = x[: n // 2], x[n // 2 :]
    second = F.pad(second, (0, 0, win // 2, win // 2))
    feat = encoder(torch.cat([_strips(first, num_part), _strips(second, num_part + 1)]))
    split = n // 2 * num_part
    feat1 = _stacked(feat[:split], num_part)
    feat2 = _stacked(feat[split:], num_part + 1)
    crop = win // 8 // (16 // int(bin_num[0]))
    feat2 = feat2[..., crop:-crop, :]
    return torch.cat([feat1, feat2])


def pooled_features(
    backbone: DeepGaitV2_SSL, feat: torch.Tensor, seq_l: torch.Tensor | None
) -> torch.Tensor:
    """Temporal max pooling and the strip pyramid of feature maps: [n, c, s, h, w] -> [n, c, p]."""
    pooled = backbone.TP(feat, seq_l, options={"dim": 2})[0]
    return backbone.HPP(pooled)


def encode_sequences(backbone: DeepGaitV2_SSL, sils: torch.Tensor, seq_l: Any) -> torch.Tensor:
    """The pooled parts [len(seqL), c, p] of sequences joined along the frames (``seqL``).

    The temporal blocks of a p3d or 3d backbone run one sequence at a time, so no sequence's
    features depend on its neighbours in the batch (OpenGait runs them over the joined frames;
    for one sequence per batch, as its FoundationGait test configs give, the two agree).
    Without ``seqL`` the whole batch is encoded at once.
    """
    if seq_l is None or backbone.mode == "2d":
        return pooled_features(backbone, backbone.encoder(sils), seq_l)
    lengths = [int(v) for v in torch.as_tensor(seq_l).reshape(-1).tolist()]
    parts = [
        pooled_features(backbone, backbone.encoder(part), None)
        for part in sils.split(lengths, dim=2)
    ]
    return torch.cat(parts)
