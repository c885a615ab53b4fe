"""GLN (Hou et al., "Gait Lateral Network: Learning Discriminative and Compact Representations
for Gait Recognition", ECCV 2020).

A GaitSet-like network of three frame-level stages (two convolutions each, LeakyReLU; 2x2 max
pooling between stages) and a set-level branch on the pooled maps (max over each sequence's
frames). At each stage the silhouette-level and set-level maps are joined and a lateral
connection (1x1 convolution) merges them top-down, feature-pyramid style (nearest upsampling,
addition, a 3x3 smoothing convolution), so that shallow stages receive deep semantics.
Horizontal pyramid pooling of the three merged maps and one linear map per part (``Head``)
give the embedding ``[n, c, 93]``.

Two phases, chosen by ``Lateral_pretraining``:

- ``true`` (phase 1, ``gln_phase1.yaml``): the network above, trained with the triplet loss.
- ``false`` (phase 2, ``gln_phase2.yaml``): adds the compact block (batch norm of the whole
  embedding, dropout, ReLU, a linear reduction to ``hidden_dim``, batch norm, a classifier of
  ``class_num`` identities), trained with triplet + cross-entropy, starting from phase 1's
  checkpoint (``trainer_cfg.restore_hint`` = its path, ``restore_ckpt_strict: false``).
  The embedding used for evaluation stays the pre-compact one, as in OpenGait.

OpenGait's config keys (``model_cfg``): ``in_channels`` (four numbers), ``lateral_dim``,
``hidden_dim``, ``SeparateFCs`` (``in_channels`` = ``lateral_dim``, ``parts_num`` 93),
``bin_num``, ``Lateral_pretraining``, and in phase 2 ``class_num`` and ``dropout``. Parameter
names are OpenGait's (``sil_stage_0.forward_block.0.conv.weight``, ``set_stage_1.0.conv.weight``,
``lateral_layer1.weight``, ``smooth_layer1.weight``, ``Head.fc_bin``, ``encoder_bn``,
``reduce_fc``, ``reduce_bn``, ``reduce_cls``).

OpenGait behaviour kept for reproducibility (differences from OpenGait are bugs unless they
are OpenGait's own, which are kept so that published numbers reproduce):

- The first lateral input is stage 0's pooled map joined with itself (OpenGait concatenates
  ``stage_0_sil_set`` twice; there is no set-level stage 0).
- The horizontal pyramid always uses 16, 8, 4, 2 and 1 strips (3 x 31 = 93 parts); ``bin_num``
  only sizes the compact block's first batch norm (``sum(bin_num) * 3 * hidden_dim``).
- The compact block's two batch norms have frozen biases (``requires_grad`` false).

Two deliberate differences: OpenGait's phase-2 logits are ``[n, 1, class_num]``, a layout left
from its first version (parts before classes), which its own current ``CrossEntropyLoss``
(``[n, classes, parts]``) rejects ("target out of bounds"; OpenGait issue #109). gaitgen returns
``[n, class_num, 1]``: the same logits as one part, so phase 2 trains as originally meant.
And the compact block flattens the embedding per sequence (OpenGait reshapes it to the input's
first size, which with ``seqL`` is 1 for any number of sequences and fails).
"""

from __future__ import annotations

import torch
import torch.nn.functional as F
from torch import nn

from ..errors import ConfigError
from ..model import BaseModel
from ..modules.blocks import (
    HorizontalPoolingPyramid,
    PackSequenceWrapper,
    SeparateFCs,
    SetBlockWrapper,
    frames_as_set,
)
from ..modules.setnet import conv_stage, stage_channels

# OpenGait's GLN builds its pyramid with the default strips whatever bin_num says
_PYRAMID = [16, 8, 4, 2, 1]
_PARTS = 3 * sum(_PYRAMID)  # three merged maps


def _check_sizes(model_cfg: dict, pretrain: bool) -> None:
    """Raise a ConfigError where the sizes of GLN's config do not fit together."""
    head = model_cfg["SeparateFCs"]
    if head.get("in_channels") != model_cfg["lateral_dim"]:
        raise ConfigError(
            f"model_cfg.SeparateFCs.in_channels (GLN): {head.get('in_channels')!r} must equal "
            f"lateral_dim ({model_cfg['lateral_dim']}), the width of the merged maps"
        )
    if head.get("parts_num") != _PARTS:
        raise ConfigError(
            f"model_cfg.SeparateFCs.parts_num (GLN): {head.get('parts_num')!r} must be "
            f"{_PARTS}: three merged maps, each pooled into {sum(_PYRAMID)} strips"
        )
    if pretrain:
        return
    bn_width = sum(model_cfg["bin_num"]) * 3 * model_cfg["hidden_dim"]
    if bn_width != _PARTS * head.get("out_channels", -1):
        raise ConfigError(
            "model_cfg (GLN, Lateral_pretraining false): the compact block normalises "
            f"sum(bin_num) * 3 * hidden_dim = {bn_width} values but the embedding has "
            f"{_PARTS} x SeparateFCs.out_channels = {_PARTS * head.get('out_channels', -1)}; "
            "set hidden_dim to SeparateFCs.out_channels and bin_num to [16, 8, 4, 2, 1]"
        )


class GLN(BaseModel):
    """Gait Lateral Network, phase 1 (lateral pre-training) or phase 2 (with the compact block)."""

    def build_network(self, model_cfg):
        c = stage_channels(model_cfg, "GLN")
        if "Lateral_pretraining" not in model_cfg:
            raise ConfigError(
                "model_cfg.Lateral_pretraining (GLN) is missing: true for phase 1 (lateral "
                "pre-training), false for phase 2 (adds the compact block)"
            )
        self.pretrain = bool(model_cfg["Lateral_pretraining"])
        self.bin_num = model_cfg["bin_num"]
        self.hidden_dim = model_cfg["hidden_dim"]
        lateral_dim = model_cfg["lateral_dim"]
        _check_sizes(model_cfg, self.pretrain)

        # frame-level stages (no pooling inside: MaxP_sil sits between them)
        self.sil_stage_0 = SetBlockWrapper(conv_stage(c[0], c[1], 5))
        self.sil_stage_1 = SetBlockWrapper(conv_stage(c[1], c[2]))
        self.sil_stage_2 = SetBlockWrapper(conv_stage(c[2], c[3]))
        # set-level stages: fresh layers of the same shapes as frame-level stages 1 and 2
        self.set_stage_1 = conv_stage(c[1], c[2])
        self.set_stage_2 = conv_stage(c[2], c[3])

        self.set_pooling = PackSequenceWrapper(torch.max)
        self.MaxP_sil = SetBlockWrapper(nn.MaxPool2d(kernel_size=2, stride=2))
        self.MaxP_set = nn.MaxPool2d(kernel_size=2, stride=2)

        # lateral 1x1 convolutions take a joined (silhouette-level, set-level) pair
        self.lateral_layer1 = nn.Conv2d(c[1] * 2, lateral_dim, 1, 1, 0, bias=False)
        self.lateral_layer2 = nn.Conv2d(c[2] * 2, lateral_dim, 1, 1, 0, bias=False)
        self.lateral_layer3 = nn.Conv2d(c[3] * 2, lateral_dim, 1, 1, 0, bias=False)
        self.smooth_layer1 = nn.Conv2d(lateral_dim, lateral_dim, 3, 1, 1, bias=False)
        self.smooth_layer2 = nn.Conv2d(lateral_dim, lateral_dim, 3, 1, 1, bias=False)
        self.smooth_layer3 = nn.Conv2d(lateral_dim, lateral_dim, 3, 1, 1, bias=False)

        self.HPP = HorizontalPoolingPyramid(bin_num=_PYRAMID)
        self.Head = SeparateFCs(**model_cfg["SeparateFCs"])

        if not self.pretrain:
            for key in ("class_num", "dropout"):
                if key not in model_cfg:
                    raise ConfigError(
                        f"model_cfg.{key} (GLN) is missing: phase 2 "
                        "(Lateral_pretraining false) needs class_num and dropout"
                    )
            width = sum(self.bin_num) * 3 * self.hidden_dim
            self.encoder_bn = nn.BatchNorm1d(width)
            self.encoder_bn.bias.requires_grad_(False)
            self.reduce_dp = nn.Dropout(p=model_cfg["dropout"])
            self.reduce_ac = nn.ReLU(inplace=True)
            self.reduce_fc = nn.Linear(width, self.hidden_dim, bias=False)
            self.reduce_bn = nn.BatchNorm1d(self.hidden_dim)
            self.reduce_bn.bias.requires_grad_(False)
            self.reduce_cls = nn.Linear(self.hidden_dim, model_cfg["class_num"], bias=False)

    def upsample_add(self, x: torch.Tensor, y: torch.Tensor) -> torch.Tensor:
        """``x`` upsampled 2x (nearest) plus ``y``: one top-down step of the lateral pyramid."""
        return F.interpolate(x, scale_factor=2, mode="nearest") + y

    def forward(self, inputs):
        ipts, labs, _, _, seqL = inputs
        sils = frames_as_set(ipts[0])  # [n, c, s, h, w]
        n, c, s, h, w = sils.shape

        def pool(x: torch.Tensor) -> torch.Tensor:
            return self.set_pooling(x, seqL, options={"dim": 2})[0]  # [n, c, s, ...] -> [n, c, ...]

        sil_0_outs = self.sil_stage_0(sils)  # [n, c1, s, h, w]
        sil_1_ipts = self.MaxP_sil(sil_0_outs)  # [n, c1, s, h/2, w/2]
        sil_1_outs = self.sil_stage_1(sil_1_ipts)  # [n, c2, s, h/2, w/2]
        sil_2_ipts = self.MaxP_sil(sil_1_outs)  # [n, c2, s, h/4, w/4]
        sil_2_outs = self.sil_stage_2(sil_2_ipts)  # [n, c3, s, h/4, w/4]

        stage_0_sil_set = pool(sil_0_outs)  # [n, c1, h, w]
        stage_1_sil_set = pool(sil_1_outs)  # [n, c2, h/2, w/2]
        stage_2_sil_set = pool(sil_2_outs)  # [n, c3, h/4, w/4]
        set_1_outs = self.set_stage_1(pool(sil_1_ipts)) + stage_1_sil_set
        set_2_outs = self.set_stage_2(self.MaxP_set(set_1_outs)) + stage_2_sil_set

        set1 = torch.cat((stage_0_sil_set, stage_0_sil_set), dim=1)  # OpenGait's, see above
        set2 = torch.cat((stage_1_sil_set, set_1_outs), dim=1)
        set3 = torch.cat((stage_2_sil_set, set_2_outs), dim=1)

        # top-down lateral merge, then smoothing
        set3 = self.lateral_layer3(set3)  # [n, lateral, h/4, w/4]
        set2 = self.upsample_add(set3, self.lateral_layer2(set2))  # [n, lateral, h/2, w/2]
        set1 = self.upsample_add(set2, self.lateral_layer1(set1))  # [n, lateral, h, w]
        set3, set2, set1 = (
            self.smooth_layer3(set3),
            self.smooth_layer2(set2),
            self.smooth_layer1(set1),
        )

        feature = torch.cat([self.HPP(set1), self.HPP(set2), self.HPP(set3)], -1)  # [n, l, 93]
        feature = self.Head(feature)  # [n, c_out, 93]

        training_feat = {"triplet": {"embeddings": feature, "labels": labs}}
        if not self.pretrain:
            # the compact block: a small identity classifier on a reduced embedding
            # one row per sequence: with seqL the frames of all sequences share n = 1, and
            # OpenGait's reshape(n, -1) breaks on more than one sequence per batch
            bn_feature = self.encoder_bn(feature.flatten(1))  # [sequences, c_out*93]
            reduced = self.reduce_fc(self.reduce_ac(self.reduce_dp(bn_feature)))  # [., hidden]
            logits = self.reduce_cls(self.reduce_bn(reduced))  # [., class_num]
            training_feat["softmax"] = {"logits": logits.unsqueeze(2), "labels": labs}

        return {
            "training_feat": training_feat,
            "visual_summary": {"image/sils": sils.transpose(1, 2).reshape(n * s, c, h, w)},
            "inference_feat": {"embeddings": feature},
        }
