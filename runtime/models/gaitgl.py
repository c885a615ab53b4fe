"""GaitGL (Lin et al., "Gait Recognition via Effective Global-Local Feature Representation and
Local Temporal Aggregation", ICCV 2021; arXiv 2011.01461).

What it computes, on silhouettes [n, s, h, w]: a 3-D convolution over (frames, height, width);
local temporal aggregation (LTA: a (3, 1, 1) convolution with stride 3, one step per three
frames); global-local convolutions (GLConv: a whole-map 3-D convolution plus one applied to
horizontal strips on their own), with a spatial max pooling after the first; temporal max
pooling per sequence; generalised-mean horizontal pooling into 64 parts (GeMHPP, learnt
exponent); separate FCs per part (Head0). The head is GaitGL's own (BatchNorm1d over the
channels, then per-part classifier FCs, Head1) or, when ``model_cfg`` has
``SeparateBNNecks``, a BNNeck (OpenGait's gaitgl_GREW_BNNeck.yaml).

Config keys (OpenGait's): ``channels`` (3 entries: the CASIA-B network; 4: the deeper
OU-MVLP/GREW network, two GLConvs per stage and a fourth stage), ``class_num`` (the
classifier of GaitGL's own head), ``SeparateBNNecks`` (optional: ``class_num``,
``in_channels``, ``parts_num`` = 64, and SeparateBNNecks' other arguments).

Which network is built. OpenGait picks the deeper one by ``data_cfg.dataset_name`` ("OUMVLP"
or "GREW"), which breaks for any other dataset with four channels (its CASIA-B network with a
256-channel head fails at the first forward) and for those two with three (an IndexError).
Here ``len(channels)`` picks it, which gives OpenGait's network, parameter for parameter,
wherever OpenGait's works (all of its GaitGL configs), and a working network for the rest; a
dataset named OUMVLP or GREW with three channels is refused with a message, as OpenGait cannot
build it either.

Differences from OpenGait, none in the numbers:
- Test batches of any size. OpenGait's GaitGL refuses more than one sequence per test batch
  (it ignores ``seqL`` in eval mode); here a fixed-length batch is run as it is, and with
  ``seqL`` (sequences joined along the frame axis) the convolutions run one sequence at a
  time (sequences of equal length together), so each sequence gives the embedding it gives
  alone: a 3-D convolution over joined sequences would mix the frames at every border, and
  the stride-3 LTA would misalign every sequence whose start is not a multiple of 3. The
  convolutional part has no batch norm, so this is exact in train mode too.
- Sequences shorter than 3 frames are tiled to 3 (1 frame) or 4 (2 frames) as OpenGait
  does, here per sequence also when ``seqL`` is given.

OpenGait behaviour kept: GeMHPP cuts the flattened h * w values of each channel into 64 bins
(for 64 x 44 silhouettes the rows of the last map: the last GLConv stacks its global and local
32-row maps into 64 rows), and ``visual_summary`` shows the tiled silhouettes.
"""

from __future__ import annotations

from collections.abc import Mapping
from typing import Any

import torch
from torch import nn

from ..config.schema import test_data_cfg
from ..errors import ConfigError, DataError
from ..model import BaseModel
from ..modules.blocks import BasicConv3d, PackSequenceWrapper, SeparateBNNecks, SeparateFCs
from ..modules.gaitgl_layers import GLConv
from ..modules.pooling import GeMHPP

PARTS = 64  # GeMHPP's bins and the parts of Head0/Head1: fixed in OpenGait's GaitGL
DEEP_DATASETS = ("OUMVLP", "GREW")  # where OpenGait builds the deeper network


def _conv3x3x3(in_channels: int, out_channels: int) -> BasicConv3d:
    return BasicConv3d(in_channels, out_channels, (3, 3, 3), (1, 1, 1), (1, 1, 1))


def _lta(channels: int) -> nn.Sequential:
    """Local temporal aggregation: frames (3t, 3t+1, 3t+2) -> one step t."""
    return nn.Sequential(
        BasicConv3d(channels, channels, (3, 1, 1), (3, 1, 1), (0, 0, 0)),
        nn.LeakyReLU(inplace=True),
    )


def _channels(model_cfg: Mapping[str, Any], dataset_name: Any) -> list[int]:
    channels = model_cfg.get("channels")
    if (
        not isinstance(channels, (list, tuple))
        or len(channels) not in (3, 4)
        or not all(isinstance(c, int) and not isinstance(c, bool) and c > 0 for c in channels)
    ):
        raise ConfigError(
            f"model_cfg.channels: GaitGL expects 3 positive integers (the CASIA-B network, "
            f"e.g. [32, 64, 128]) or 4 (the OU-MVLP/GREW network, e.g. [32, 64, 128, 256]), "
            f"got {channels!r}"
        )
    if len(channels) == 3 and dataset_name in DEEP_DATASETS:
        raise ConfigError(
            f"model_cfg.channels: data_cfg.dataset_name {dataset_name!r} asks OpenGait's "
            f"GaitGL for its deeper network, which needs 4 channel counts "
            f"(OpenGait's: [32, 64, 128, 256]), got {list(channels)}"
        )
    return list(channels)


class GaitGL(BaseModel):
    """GaitGL, configured by OpenGait's GaitGL configs (``channels``, ``class_num``, ...)."""

    def build_network(self, model_cfg):
        dataset_name = test_data_cfg(self.cfgs).get("dataset_name")
        in_c = _channels(model_cfg, dataset_name)
        if len(in_c) == 4:
            # OU-MVLP / GREW: two 3-D convolutions, two GLConvs per stage, a fourth stage.
            self.conv3d = nn.Sequential(
                _conv3x3x3(1, in_c[0]),
                nn.LeakyReLU(inplace=True),
                _conv3x3x3(in_c[0], in_c[0]),
                nn.LeakyReLU(inplace=True),
            )
            self.LTA = _lta(in_c[0])
            self.GLConvA0 = nn.Sequential(
                GLConv(in_c[0], in_c[1], halving=1, fm_sign=False),
                GLConv(in_c[1], in_c[1], halving=1, fm_sign=False),
            )
            self.MaxPool0 = nn.MaxPool3d(kernel_size=(1, 2, 2), stride=(1, 2, 2))
            self.GLConvA1 = nn.Sequential(
                GLConv(in_c[1], in_c[2], halving=1, fm_sign=False),
                GLConv(in_c[2], in_c[2], halving=1, fm_sign=False),
            )
            self.GLConvB2 = nn.Sequential(
                GLConv(in_c[2], in_c[3], halving=1, fm_sign=False),
                GLConv(in_c[3], in_c[3], halving=1, fm_sign=True),
            )
        else:
            # CASIA-B (and every other dataset): one GLConv per stage, 8 strips.
            self.conv3d = nn.Sequential(_conv3x3x3(1, in_c[0]), nn.LeakyReLU(inplace=True))
            self.LTA = _lta(in_c[0])
            self.GLConvA0 = GLConv(in_c[0], in_c[1], halving=3, fm_sign=False)
            self.MaxPool0 = nn.MaxPool3d(kernel_size=(1, 2, 2), stride=(1, 2, 2))
            self.GLConvA1 = GLConv(in_c[1], in_c[2], halving=3, fm_sign=False)
            self.GLConvB2 = GLConv(in_c[2], in_c[2], halving=3, fm_sign=True)

        self.TP = PackSequenceWrapper(torch.max)
        self.HPP = GeMHPP(bin_num=[PARTS])
        self.Head0 = SeparateFCs(PARTS, in_c[-1], in_c[-1])
        if "SeparateBNNecks" in model_cfg:
            necks = model_cfg["SeparateBNNecks"]
            if not isinstance(necks, Mapping):
                raise ConfigError(
                    f"model_cfg.SeparateBNNecks: expected a mapping (class_num, in_channels, "
                    f"parts_num), got {necks!r}"
                )
            self.BNNecks = SeparateBNNecks(**necks)
            self.Bn_head = False
        else:
            if "class_num" not in model_cfg:
                raise ConfigError(
                    "model_cfg.class_num: GaitGL's head needs the number of training "
                    "identities (or give model_cfg.SeparateBNNecks for a BNNeck head)"
                )
            self.Bn = nn.BatchNorm1d(in_c[-1])
            self.Head1 = SeparateFCs(PARTS, in_c[-1], model_cfg["class_num"])
            self.Bn_head = True

    def _trunk(self, sils: torch.Tensor) -> torch.Tensor:
        """Convolutions and temporal max of sequences of one length: [n, 1, s, h, w] -> [n, c, h', w']."""
        outs = self.LTA(self.conv3d(sils))  # [n, c0, s // 3, h, w]
        outs = self.MaxPool0(self.GLConvA0(outs))  # [n, c1, s // 3, h / 2, w / 2]
        outs = self.GLConvB2(self.GLConvA1(outs))  # [n, c, s // 3, h', w / 2]
        return self.TP(outs, None, options={"dim": 2})[0]  # [n, c, h', w']

    def forward(self, inputs):
        ipts, labs, _, _, seqL = inputs
        sils = ipts[0]
        if sils.dim() == 5 and sils.size(2) == 1:
            sils = sils.squeeze(2)  # [n, s, 1, h, w] -> [n, s, h, w]
        if sils.dim() != 4:
            raise DataError(
                f"GaitGL takes silhouettes [n, s, h, w] (one channel), got a batch of shape "
                f"{list(sils.shape)}; check data_cfg and the transforms"
            )
        if seqL is None:
            sequences = [_tile_short(sils.unsqueeze(1))]  # [n, 1, s, h, w]
        else:
            lengths = [int(v) for v in seqL[0].tolist()]
            sequences = [_tile_short(part.unsqueeze(1)) for part in sils.split(lengths, 1)]
        feat = self._pool_sequences(sequences)  # [n, c, h', w']
        feat = self.HPP(feat)  # [n, c, p]
        gait = self.Head0(feat)  # [n, c, p]
        if self.Bn_head:  # GaitGL's own head: BN over the channels, then classifiers
            bnft = self.Bn(gait)  # [n, c, p]
            logits = self.Head1(bnft)  # [n, class_num, p]
            embed = bnft
        else:  # a BNNeck
            bnft, logits = self.BNNecks(gait)  # [n, c, p], [n, class_num, p]
            embed = gait

        shown = torch.cat([seq.reshape(-1, *seq.shape[-2:]) for seq in sequences])
        return {
            "training_feat": {
                "triplet": {"embeddings": embed, "labels": labs},
                "softmax": {"logits": logits, "labels": labs},
            },
            "visual_summary": {"image/sils": shown.unsqueeze(1)},  # [frames, 1, h, w]
            "inference_feat": {"embeddings": bnft},
        }

    def _pool_sequences(self, sequences: list[torch.Tensor]) -> torch.Tensor:
        """Run the trunk once per distinct length and put the results back in order."""
        if len(sequences) == 1:
            return self._trunk(sequences[0])
        by_length: dict[int, list[int]] = {}
        for index, seq in enumerate(sequences):
            by_length.setdefault(seq.size(2), []).append(index)
        pooled: list[torch.Tensor | None] = [None] * len(sequences)
        for indices in by_length.values():
            out = self._trunk(torch.cat([sequences[i] for i in indices]))  # [k, c, h', w']
            for row, index in enumerate(indices):
                pooled[index] = out[row : row + 1]
        return torch.cat(pooled)  # [n, c, h', w']


def _tile_short(sils: torch.Tensor) -> torch.Tensor:
    """Repeat sequences of 1 or 2 frames to 3 or 4 (LTA needs 3): [n, 1, s, h, w]."""
    frames = sils.size(2)
    if frames == 0:
        raise DataError("GaitGL got a sequence with no frames; check seqL and the sampler")
    if frames < 3:
        return sils.repeat(1, 1, 3 if frames == 1 else 2, 1, 1)
    return sils
