"""SwinGait (Fan et al., "Exploring Deep Models for Practical Gait Recognition", 2023).

DeepGaitV2's convolutional front (a 3x3 stem and a 2-D residual stage per frame, then one
pseudo-3D residual stage halving height and width), the feature maps resized to 30x20, then
a two-stage Video Swin Transformer (patches 1x2x2, windows 3x3x5 of frames x height x width;
the first stage ends with LayerNorm + a linear map doubling the channels). Temporal max
pooling, a horizontal pyramid (``bin_num`` strips, mean + max), the last strip appended once
more (detached), separate FCs and BNNecks; the appended strip is dropped from the outputs.

OpenGait's config keys (model_cfg):
    Backbone: {in_channels, layers: [conv stage 1, conv stage 2, swin stage 1, swin stage 2],
               channels: [2 ints], mode (ignored: the conv stage is always p3d)}
    bin_num: [15]                                   (strips of the 15 rows of tokens)
    SeparateBNNecks: {in_channels, class_num, parts_num}  (parts_num = sum(bin_num) + 1)
Optional, gaitgen only (defaults are OpenGait's fixed values, so OpenGait's configs build
OpenGait's network): ``Transformer: {input_size: [30, 20], embed_dim: 256, num_heads:
[16, 32], window_size: [3, 3, 5], drop_path_rate: 0.1}``. The FCs map ``2 * embed_dim`` to
``SeparateBNNecks.in_channels`` per strip (OpenGait: 512 -> 256).

Training as in OpenGait: fine-tuned from a DeepGaitV2 p3d checkpoint (``trainer_cfg.
restore_hint`` a path, ``restore_ckpt_strict: false``: stem, conv stages, FCs and BNNecks
share names and shapes when DeepGaitV2's channels[3] = 2 * embed_dim and channels[2] =
SeparateBNNecks.in_channels). :meth:`SwinGait.get_optimizer` builds OpenGait's parameter
groups (no weight decay on the transformer's norms, patch embedding and position tables;
0.1x learning rate on the convolutional layers, FCs and BNNecks), and while training the
learning rates follow OpenGait's cosine decay to ``trainer_cfg.T_max_iter`` (updated every
1000 iterations, 1e-6 from then on) once an optimizer is attached as ``model.optimizer``.

With variable-length input (``seqL``) the temporal layers run one sequence at a time, so each
embedding equals the one the sequence gets alone (OpenGait's windows and temporal
convolutions would mix neighbouring sequences of the joined batch).
"""

from __future__ import annotations

import logging
import math
from collections.abc import Mapping
from typing import Any

import torch
import torch.nn.functional as F
from torch import nn

from ..errors import ConfigError
from ..model import BaseModel
from ..modules.blocks import (
    HorizontalPoolingPyramid,
    PackSequenceWrapper,
    SeparateBNNecks,
    SeparateFCs,
    SetBlockWrapper,
)
from ..modules.resblocks import BasicBlock2D, BasicBlockP3D, conv3x3, make_res_layer
from ..modules.swin import SwinTransformer3D

log = logging.getLogger(__name__)

_TRANSFORMER_DEFAULTS = {
    "input_size": [30, 20],
    "embed_dim": 256,
    "num_heads": [16, 32],
    "window_size": [3, 3, 5],
    "drop_path_rate": 0.1,
}
# Parameter names that get no weight decay (OpenGait's list, matched as substrings).
_NO_DECAY = ("patch_embed", "norm", "relative_position_bias_table")


class _Resize(nn.Module):
    # nn.UpsamplingBilinear2d (bilinear, corners aligned) without its deprecation warning.
    def __init__(self, size: list[int]):
        super().__init__()
        self.size = tuple(size)

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        return F.interpolate(x, size=self.size, mode="bilinear", align_corners=True)


def _cosine_lr(
    optimizer: torch.optim.Optimizer,
    iteration: int,
    iteration_per_epoch: int = 1000,
    T_max_iter: int = 10000,
    min_lr: float = 1e-6,
) -> None:
    """OpenGait's SwinGait schedule: every ``iteration_per_epoch`` iterations before
    ``T_max_iter``, lr = max(initial_lr * (1 + cos(pi * it / T_max_iter)) / 2, min_lr);
    at ``T_max_iter`` lr = min_lr; otherwise unchanged."""
    if iteration < T_max_iter and iteration % iteration_per_epoch == 0:
        alpha = 0.5 * (1.0 + math.cos(math.pi * iteration / T_max_iter))
        for group in optimizer.param_groups:
            group["lr"] = max(group.setdefault("initial_lr", group["lr"]) * alpha, min_lr)
    elif iteration == T_max_iter:
        for group in optimizer.param_groups:
            group["lr"] = min_lr


class SwinGait(BaseModel):
    """SwinGait: DeepGaitV2's convolutional front and a 3-D Swin Transformer."""

    def __init__(self, cfgs: Mapping[str, Any], is_training: bool):
        trainer_cfg = cfgs.get("trainer_cfg") or {}
        # OpenGait reads trainer_cfg.T_max_iter; a config without it decays over total_iter.
        self.T_max_iter = int(trainer_cfg.get("T_max_iter", trainer_cfg.get("total_iter", 10000)))
        self.optimizer: torch.optim.Optimizer | None = None
        self._warned_no_optimizer = False
        super().__init__(cfgs, is_training)

    def build_network(self, model_cfg):
        backbone = model_cfg.get("Backbone") or {}
        missing = [key for key in ("in_channels", "layers", "channels") if key not in backbone]
        if missing:
            raise ConfigError(f"model_cfg.Backbone: SwinGait needs the keys {missing}")
        layers, channels = list(backbone["layers"]), list(backbone["channels"])
        if len(layers) != 4 or len(channels) < 2:
            raise ConfigError(
                "model_cfg.Backbone: SwinGait needs 4 layers (2 conv + 2 transformer stages) "
                f"and 2 channels (got layers {layers}, channels {channels})"
            )
        necks = dict(model_cfg.get("SeparateBNNecks") or {})
        bin_num = list(model_cfg.get("bin_num") or [])
        missing = [k for k in ("in_channels", "class_num", "parts_num") if k not in necks]
        if missing or not bin_num:
            raise ConfigError(
                f"model_cfg: SwinGait needs bin_num and SeparateBNNecks {missing or ''}".strip()
            )
        if int(necks["parts_num"]) != sum(bin_num) + 1:
            raise ConfigError(
                f"model_cfg.SeparateBNNecks.parts_num: SwinGait needs sum(bin_num) + 1 = "
                f"{sum(bin_num) + 1} (the last strip is counted twice), got {necks['parts_num']}"
            )
        unknown = set(model_cfg.get("Transformer") or {}) - set(_TRANSFORMER_DEFAULTS)
        if unknown:
            raise ConfigError(
                f"model_cfg.Transformer: unknown keys {sorted(unknown)}; "
                f"known: {sorted(_TRANSFORMER_DEFAULTS)}"
            )
        swin = {**_TRANSFORMER_DEFAULTS, **(model_cfg.get("Transformer") or {})}

        self.layer0 = SetBlockWrapper(
            nn.Sequential(
                conv3x3(backbone["in_channels"], channels[0], 1),
                nn.BatchNorm2d(channels[0]),
                nn.ReLU(inplace=True),
            )
        )
        self.layer1 = SetBlockWrapper(
            make_res_layer(BasicBlock2D, channels[0], channels[0], [1, 1], layers[0], "2d")
        )
        self.layer2 = make_res_layer(
            BasicBlockP3D, channels[0], channels[1], [2, 2], layers[1], "p3d"
        )
        self.ulayer = SetBlockWrapper(_Resize(swin["input_size"]))
        embed_dim = int(swin["embed_dim"])
        self.transformer = SwinTransformer3D(
            patch_size=[1, 2, 2],
            in_chans=channels[1],
            embed_dim=embed_dim,
            depths=[layers[2], layers[3]],
            num_heads=list(swin["num_heads"]),
            window_size=list(swin["window_size"]),
            downsample=[1, 0],
            drop_path_rate=float(swin["drop_path_rate"]),
            patch_norm=True,
        )
        self.FCs = SeparateFCs(
            necks["parts_num"], in_channels=2 * embed_dim, out_channels=necks["in_channels"]
        )
        self.BNNecks = SeparateBNNecks(**necks)
        self.TP = PackSequenceWrapper(torch.max)
        self.HPP = HorizontalPoolingPyramid(bin_num=bin_num)

    def init_parameters(self) -> None:
        """OpenGait's SwinGait initialisation: linears ~ truncated N(0, 0.02), LayerNorms
        (1, 0), convolutions Xavier, BatchNorms weight ~ N(1, 0.02)."""
        for module in self.modules():
            if isinstance(module, nn.Linear):
                nn.init.trunc_normal_(module.weight, std=0.02)
                if module.bias is not None:
                    nn.init.zeros_(module.bias)
            elif isinstance(module, nn.LayerNorm):
                nn.init.ones_(module.weight)
                nn.init.zeros_(module.bias)
            elif isinstance(module, (nn.Conv3d, nn.Conv2d, nn.Conv1d)):
                nn.init.xavier_uniform_(module.weight)
                if module.bias is not None:
                    nn.init.zeros_(module.bias)
            elif isinstance(module, (nn.BatchNorm3d, nn.BatchNorm2d, nn.BatchNorm1d)):
                if module.affine:
                    nn.init.normal_(module.weight, 1.0, 0.02)
                    nn.init.zeros_(module.bias)

    def get_optimizer(self, optimizer_cfg: Mapping[str, Any]) -> torch.optim.Optimizer:
        """OpenGait's optimizer of SwinGait (parameter groups as the module docstring says);
        it is also attached as ``self.optimizer`` so that training follows the cosine decay."""
        from ..components import build

        lr = float(optimizer_cfg["lr"])
        decay = float(optimizer_cfg.get("weight_decay", 0.0))
        named = list(self.transformer.named_parameters())
        groups = [
            {
                "params": [p for n, p in named if any(k in n for k in _NO_DECAY)],
                "lr": lr,
                "weight_decay": 0.0,
            },
            {
                "params": [p for n, p in named if not any(k in n for k in _NO_DECAY)],
                "lr": lr,
                "weight_decay": decay,
            },
        ]
        for part in (self.FCs, self.BNNecks, self.layer0, self.layer1, self.layer2):
            groups.append(
                {"params": list(part.parameters()), "lr": lr * 0.1, "weight_decay": decay}
            )
        self.optimizer = build("optimizer", optimizer_cfg, groups)
        return self.optimizer

    def _adjust_learning_rate(self) -> None:
        if self.optimizer is not None:
            _cosine_lr(self.optimizer, self.iteration, T_max_iter=self.T_max_iter)
        elif not self._warned_no_optimizer:
            self._warned_no_optimizer = True
            log.warning(
                "SwinGait: no optimizer attached (model.optimizer); OpenGait's cosine decay to "
                "trainer_cfg.T_max_iter=%d is not applied, scheduler_cfg alone sets the lr",
                self.T_max_iter,
            )

    def _temporal_layers(self, x: torch.Tensor) -> torch.Tensor:
        out = self.ulayer(self.layer2(x))  # [n, c1, s, 30, 20]
        return self.transformer(out)  # [n, 2 * embed_dim, s, 15, 10]

    def forward(self, inputs):
        if self.training:
            self._adjust_learning_rate()
        ipts, labs, _, _, seqL = inputs
        sils = ipts[0]
        sils = sils.unsqueeze(1) if sils.dim() == 4 else sils.transpose(1, 2).contiguous()
        n, c, s, h, w = sils.shape  # [n, c, s, h, w]

        out1 = self.layer1(self.layer0(sils))  # per frame: [n, c0, s, h, w]
        if seqL is not None:
            # Temporal convolutions and windows must not see the neighbouring sequences.
            lengths = [int(v) for v in seqL[0].tolist()]
            parts = out1.split(lengths, dim=2)
            outs = torch.cat([self._temporal_layers(part).max(dim=2)[0] for part in parts])
        else:
            outs = self.TP(self._temporal_layers(out1), seqL, options={"dim": 2})[0]

        feat = self.HPP(outs)  # [n, c, p - 1]
        feat = torch.cat([feat, feat[:, :, -1:].detach()], dim=-1)  # [n, c, p]
        embed_1 = self.FCs(feat)  # [n, c', p]
        embed_2, logits = self.BNNecks(embed_1)  # [n, c', p], [n, class_num, p]
        embed_1 = embed_1[:, :, :-1].contiguous()  # the repeated strip is left out
        logits = logits[:, :, :-1].contiguous()

        return {
            "training_feat": {
                "triplet": {"embeddings": embed_1, "labels": labs},
                "softmax": {"logits": logits, "labels": labs},
            },
            "visual_summary": {"image/sils": sils.transpose(1, 2).reshape(n * s, c, h, w)},
            "inference_feat": {"embeddings": embed_1},
        }
