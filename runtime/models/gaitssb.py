"""GaitSSB (Fan et al., "Learning Gait Representation from Massive Unlabelled Walking Videos: A
Benchmark", T-PAMI 2023): self-supervised pre-training on silhouettes, then fine-tuning.

:class:`GaitSSB_Pretrain` learns without labels, SimSiam-style: every sequence of a batch is
seen as two views (other frames, other augmentations: ``BilateralSampler`` lists each twice and
the loader delivers them as ``((ipts_q, ipts_k), labs, typs, viws, (seqL_q, seqL_k))``). Both
go through one encoder (a ResNet9 per frame, temporal max, a 31-part horizontal pyramid), a
projector and a predictor; each view's prediction is compared, by cosine similarity per part,
with the other view's projection of every sequence of the batch (gathered from all processes,
no gradient): the logits ``[n, m, p]`` of two cross-entropy terms whose right class is the
sequence itself. At test time the embedding is the normalised prediction.

:class:`GaitSSB_Finetune` keeps the encoder and projector (restored from the pre-training's
checkpoint through ``trainer_cfg.restore_hint`` with ``restore_ckpt_strict: false``, as
OpenGait's finetune configs do) and adds a cosine head (``head0``) trained with a triplet loss.
``backbone_lr`` gives each ResNet stage its learning rate; a stage at 0 is frozen (run without
gradient), as is the stem, always. Every 1000 iterations a learning rate fallen under 1e-4
is put back to 1e-4 (OpenGait's ``maintain_non_zero_learning_rate``).

OpenGait's config keys: ``backbone_cfg``, ``parts_num``; the fine-tune also ``backbone_lr``
(four rates) and ``projector_lr``.
"""

from __future__ import annotations

import contextlib
from collections.abc import Mapping
from typing import Any

import torch
import torch.distributed as dist
import torch.nn.functional as F
from torch import nn

from ..distributed import all_gather_rows, world_size_if_distributed
from ..errors import ConfigError, DataError
from ..model import BaseModel
from ..modules.blocks import (
    HorizontalPoolingPyramid,
    PackSequenceWrapper,
    SeparateFCs,
    SetBlockWrapper,
    frames_as_set,
)
from ..modules.parallel_bn import ParallelBN1d

_STAGES = ("layer1", "layer2", "layer3", "layer4")
_WIDTHS = (44, 88)  # what OpenGait's GaitSSB encoder accepts (64x44 or 128x88 silhouettes)
_LEAST_LR = 1e-4  # maintain_non_zero_learning_rate's floor
_LR_CHECK_EVERY = 1000


def _mlp(parts: int, channels: int, hidden: int, last_norm: bool) -> nn.Sequential:
    """Part-wise FC, BN, ReLU, FC (, BN): GaitSSB's projector (``last_norm``) and predictor."""
    layers = [
        SeparateFCs(parts, channels, hidden),
        ParallelBN1d(parts, hidden),
        nn.ReLU(inplace=True),
        SeparateFCs(parts, hidden, channels),
    ]
    if last_norm:
        layers.append(ParallelBN1d(parts, channels))
    return nn.Sequential(*layers)


def _set_image(sils: torch.Tensor) -> torch.Tensor:
    """A set ``[n, c, s, h, w]`` as frames ``[n * s, c, h, w]`` (the visual summary)."""
    n, c, s, h, w = sils.shape
    return sils.transpose(1, 2).reshape(n * s, c, h, w)


def _check_width(sils: torch.Tensor, name: str) -> None:
    if sils.size(-1) not in _WIDTHS:
        raise DataError(
            f"{name} takes silhouettes 44 or 88 pixels wide, got {sils.size(-1)}: cut the "
            "frames' sides in the transform (BaseSilCuttingTransform or DA4GaitSSB with "
            "cutting, e.g. 10 for 64x64 frames)"
        )


def _build_encoder(model: BaseModel, model_cfg: Mapping[str, Any]) -> int:
    """Give ``model`` the encoder both GaitSSB models share (OpenGait's names: ``Backbone``,
    ``TP``, ``HPP``, ``projector``); returns its channels."""
    model.p = model_cfg["parts_num"]
    model.Backbone = SetBlockWrapper(model.get_backbone(model_cfg["backbone_cfg"]))
    model.TP = PackSequenceWrapper(torch.max)
    model.HPP = HorizontalPoolingPyramid([16, 8, 4, 2, 1])
    channels = model_cfg["backbone_cfg"]["channels"][-1]
    model.projector = _mlp(model.p, channels, channels, last_norm=True)
    return channels


class GaitSSB_Pretrain(BaseModel):  # noqa: N801 (OpenGait's class name)
    """GaitSSB's self-supervised pre-training (two views per sequence; see the module)."""

    def build_network(self, model_cfg: Mapping[str, Any]) -> None:
        channels = _build_encoder(self, model_cfg)
        self.predictor = _mlp(self.p, channels, channels, last_norm=False)

    def encoder(self, inputs: tuple[torch.Tensor, Any]) -> torch.Tensor:
        """Silhouette sets ``[n, 1, s, h, w]`` and their ``seqL`` -> part features ``[n, c, p]``."""
        sils, seq_l = inputs
        _check_width(sils, type(self).__name__)
        outs = self.Backbone(sils)  # [n, c, s, h, w]
        outs = self.TP(outs, seq_l, options={"dim": 2})[0]  # [n, c, h, w]
        return self.HPP(outs)  # [n, c, p]

    def forward(self, inputs):
        if not self.training:
            ipts, _, _, _, seq_l = inputs
            feat = self.encoder((frames_as_set(ipts[0]), seq_l))
            feat = self.predictor(self.projector(feat))
            return {
                "training_feat": {},
                "visual_summary": {},
                "inference_feat": {"embeddings": F.normalize(feat, dim=1)},
            }
        (ipts_q, ipts_k), _, _, _, (seq_q, seq_k) = inputs
        sils_q, sils_k = frames_as_set(ipts_q[0]), frames_as_set(ipts_k[0])
        z1 = self.projector(self.encoder((sils_q, seq_q)))
        p1 = self.predictor(z1)
        z2 = self.projector(self.encoder((sils_k, seq_k)))
        p2 = self.predictor(z2)
        logits1, labels1 = self.D(p1, z2)
        logits2, labels2 = self.D(p2, z1)
        return {
            "training_feat": {
                "softmax1": {"logits": logits1, "labels": labels1},
                "softmax2": {"logits": logits2, "labels": labels2},
            },
            "visual_summary": {
                "image/encoder_q": _set_image(sils_q),
                "image/encoder_k": _set_image(sils_k),
            },
            # OpenGait returns None here; the first view's embeddings, as the test phase
            # computes them, keep the output contract every model shares
            "inference_feat": {"embeddings": F.normalize(p1, dim=1)},
        }

    def D(
        self, p: torch.Tensor, z: torch.Tensor
    ) -> tuple[torch.Tensor, torch.Tensor]:  # noqa: N802
        """Cosine similarities ``[n, m, p]`` of predictions ``p`` with every process's
        projections ``z`` (stop-gradient), and the index of each sequence's own projection."""
        n = p.size(0)
        p = F.normalize(p, dim=1)
        z = all_gather_rows(F.normalize(z.detach(), dim=1))  # [m, c, p]
        logits = torch.einsum("ncp,mcp->nmp", p, z)
        rank = dist.get_rank() if world_size_if_distributed() > 1 else 0
        labels = torch.arange(rank * n, (rank + 1) * n, dtype=torch.long, device=p.device)
        return logits, labels


class GaitSSB_Finetune(BaseModel):  # noqa: N801 (OpenGait's class name)
    """GaitSSB fine-tuned with labels from the pre-trained encoder (see the module)."""

    def build_network(self, model_cfg: Mapping[str, Any]) -> None:
        channels = _build_encoder(self, model_cfg)
        self.backbone_lr = [float(lr) for lr in model_cfg["backbone_lr"]]
        self.projector_lr = float(model_cfg["projector_lr"])
        if len(self.backbone_lr) != len(_STAGES):
            raise ConfigError(
                f"model_cfg.backbone_lr: one learning rate per ResNet stage ({len(_STAGES)}), "
                f"got {model_cfg['backbone_lr']!r}"
            )
        # stages with no learning rate stay fixed (OpenGait's fix_layer)
        self.fix_layer = [s for s, lr in zip(_STAGES, self.backbone_lr) if lr == 0]
        self.head0 = SeparateFCs(self.p, channels, channels, norm=True)

    def get_optimizer(self, optimizer_cfg: Mapping[str, Any]) -> torch.optim.Optimizer:
        """OpenGait's groups: each stage with a non-zero ``backbone_lr`` at that rate, the
        projector at ``projector_lr``, the head at ``optimizer_cfg.lr``."""
        from ..components import build

        block = self.Backbone.forward_block
        groups = [
            {"params": list(getattr(block, stage).parameters()), "lr": lr}
            for stage, lr in zip(_STAGES, self.backbone_lr)
            if lr != 0
        ]
        groups.append({"params": list(self.projector.parameters()), "lr": self.projector_lr})
        groups.append({"params": list(self.head0.parameters()), "lr": optimizer_cfg["lr"]})
        self.optimizer = build("optimizer", optimizer_cfg, groups)
        return self.optimizer

    def parameters_without_gradient(self) -> tuple[str, ...]:
        """The stem (always run without gradient) and the stages at ``backbone_lr`` 0."""
        stem = ("Backbone.forward_block.conv1.*", "Backbone.forward_block.bn1.*")
        return stem + tuple(f"Backbone.forward_block.{stage}.*" for stage in self.fix_layer)

    def encoder(self, inputs: tuple[torch.Tensor, Any]) -> torch.Tensor:
        """Silhouette sets ``[n, 1, s, h, w]`` and their ``seqL`` -> part features ``[n, c, p]``;
        the stem and the fixed stages (all of them at test time) run without gradient."""
        sils, seq_l = inputs
        n, c, s, h, w = sils.shape
        block = self.Backbone.forward_block
        fixed = _STAGES if not self.training else self.fix_layer
        outs = sils.transpose(1, 2).reshape(n * s, c, h, w)
        with torch.no_grad():
            outs = block.relu(block.bn1(block.conv1(outs)))
        for stage in _STAGES:
            frozen = torch.no_grad() if stage in fixed else contextlib.nullcontext()
            with frozen:
                outs = getattr(block, stage)(outs)
        outs = outs.reshape(n, s, *outs.shape[1:]).transpose(1, 2)  # [n, c, s, h, w]
        outs = self.TP(outs, seq_l, options={"dim": 2})[0]  # [n, c, h, w]
        return self.HPP(outs)  # [n, c, p]

    def forward(self, inputs):
        if self.training:
            self.maintain_non_zero_learning_rate()
        ipts, labs, _, _, seq_l = inputs
        sils = frames_as_set(ipts[0])
        feat = self.projector(self.encoder((sils, seq_l)))
        embed = self.head0(F.normalize(feat, dim=1))  # [n, c, p]
        return {
            "training_feat": {"triplet": {"embeddings": embed, "labels": labs}},
            "visual_summary": {"image/sils": _set_image(sils)},
            "inference_feat": {"embeddings": embed},
        }

    def maintain_non_zero_learning_rate(self) -> None:
        """Every 1000 iterations, raise any learning rate under 1e-4 to 1e-4 (OpenGait's)."""
        if self.optimizer is None or self.iteration % _LR_CHECK_EVERY:
            return
        for group in self.optimizer.param_groups:
            if group["lr"] < _LEAST_LR:
                group["lr"] = _LEAST_LR
