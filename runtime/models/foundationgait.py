"""FoundationGait: self-supervised pre-training of a large DeepGaitV2, then probing or fine-tuning.

OpenGait's FoundationGait line (``configs/foundationgait/``) pre-trains on many silhouette
datasets at once (``data_cfg`` a list of datasets, each ``self_supervised: true``: every
sequence is its own class) with no identity labels:

* :class:`FoundationGait_Scaling` (pre-training): a teacher and a student
  :class:`~gaitgen.runtime.modules.deepgaitv2_ssl.DeepGaitV2_SSL`, equal at the start. The
  sampler (``BilateralSampler``) lists every sequence twice; the first copies go through
  ``trainer_cfg.transform[0][0]`` to the teacher, the second through ``[0][1]`` to the
  student, which sees them in horizontal strips (``crop_list``: strips per chunk of the batch,
  :func:`~gaitgen.runtime.modules.deepgaitv2_ssl.diverse_crop_encode`). The loss is a softmax
  over the cosine similarity of each student prediction with every teacher projection (all
  processes' batches): each sequence must find its own other view. The teacher is not trained
  by the optimizer: after every step its weights move toward the student's by an exponential
  moving average whose momentum rises from ``EMA_value`` to 1 on a cosine over ``total_iter``.
  At test time the teacher's prediction head gives the embedding.
* :class:`FoundationGait_Scaling_Finetune`: the pre-trained teacher (restored with
  ``restore_ckpt_strict: false``), separate FCs and BNNecks on its L2-normalised projection,
  triplet + softmax. ``backbone_lr`` gives the learning rate of ``layer0``..``layer4`` (0: the
  stage is left out of the optimizer), ``projector_lr`` the heads', ``optimizer_cfg.lr`` the
  new layers'. Training sees the strip crops too.
* :class:`FoundationGait_Scaling_LinearProbing_Scoliosis1K`: a BNNeck over all parts of the
  projection, classifying each sequence's type folder (negative, neutral, positive).

Deliberate difference: OpenGait runs the p3d/3d temporal blocks over the frames of all the test
sequences of a batch joined together (its test configs give one sequence per GPU); here each
sequence is encoded on its own, which is the same for one sequence and independent of the
neighbours for more. OpenGait's pre-training step also needs ``torch.distributed``; here one
process works too. The EMA and cosine momentum are written here (OpenGait imports
``update_momentum`` and ``cosine_schedule`` from the ``lightly`` package).
"""

from __future__ import annotations

import copy
import math
from collections.abc import Mapping
from typing import Any

import torch
import torch.distributed as dist
import torch.nn.functional as F
from torch.utils.checkpoint import checkpoint

from ..distributed import all_gather_rows
from ..errors import ConfigError, TrainingError
from ..evaluation.scoliosis import SCOLIOSIS_CLASSES
from ..model import BaseModel
from ..modules.blocks import SeparateBNNecks, SeparateFCs
from ..modules.deepgaitv2_ssl import DeepGaitV2_SSL, diverse_crop_encode, encode_sequences


def cosine_schedule(step: int, max_steps: int, start_value: float, end_value: float) -> float:
    """A value going from ``start_value`` at step 0 to ``end_value`` at ``max_steps - 1`` on a
    half cosine, then staying there (the EMA momentum of FoundationGait's teacher)."""
    if max_steps <= 1 or step >= max_steps - 1:
        return float(end_value)
    fraction = (math.cos(math.pi * step / (max_steps - 1)) + 1) / 2
    return float(end_value - (end_value - start_value) * fraction)


@torch.no_grad()
def update_momentum(model: torch.nn.Module, model_ema: torch.nn.Module, m: float) -> None:
    """Move every parameter of ``model_ema`` toward ``model``'s: ``ema = ema * m + p * (1 - m)``
    (buffers, such as BatchNorm statistics, are left alone)."""
    ema_params = list(model_ema.parameters())
    params = list(model.parameters())
    torch._foreach_mul_(ema_params, m)
    torch._foreach_add_(ema_params, params, alpha=1.0 - m)


def _crop_list(model_cfg: Mapping[str, Any]) -> list[int]:
    crops = model_cfg.get("crop_list")
    if not isinstance(crops, list) or not crops or not all(isinstance(c, int) for c in crops):
        raise ConfigError(
            f"model_cfg.crop_list: FoundationGait needs a list of strip counts such as "
            f"[8, 4, 2, 1], got {crops!r}"
        )
    return crops


def _set_layout(sils: torch.Tensor) -> torch.Tensor:
    """[n, s, h, w] silhouettes -> [n, 1, s, h, w]."""
    if sils.dim() != 4:
        raise TrainingError(
            f"FoundationGait takes silhouettes [n, s, h, w], got {list(sils.shape)}"
        )
    return sils.unsqueeze(1)


def _crop_encoded(
    encoder: Any, sils: torch.Tensor, crop_list: list[int], bin_num: list[int]
) -> torch.Tensor:
    """The batch in ``len(crop_list)`` chunks, chunk i in ``crop_list[i]`` strips
    (:func:`diverse_crop_encode`), each recomputed in the backward pass (OpenGait's gradient
    checkpointing), the feature maps joined again."""
    chunks = torch.chunk(sils, len(crop_list))
    return torch.cat(
        [
            checkpoint(
                diverse_crop_encode, encoder, chunk, crop_list[i], bin_num, use_reentrant=False
            )
            for i, chunk in enumerate(chunks)
        ]
    )


def _images(sils: torch.Tensor) -> torch.Tensor:
    n, c, s, h, w = sils.shape
    return sils.transpose(1, 2).reshape(n * s, c, h, w)


class FoundationGait_Scaling(BaseModel):  # noqa: N801 - OpenGait's class name
    """FoundationGait's self-supervised pre-training (teacher-student, EMA teacher).

    model_cfg: ``Backbone``, ``bin_num``, ``parts_num``, ``crop_list`` (strips per chunk of
    the student's batch) and ``EMA_value`` (the teacher's starting momentum).
    """

    def build_network(self, model_cfg):
        self.teacher_backbone = DeepGaitV2_SSL(model_cfg)
        BaseModel.init_parameters(self)  # the teacher only; the student starts as its copy
        self.student_backbone = copy.deepcopy(self.teacher_backbone)
        for param in self.teacher_backbone.parameters():
            param.requires_grad = False
        self.crop_list = _crop_list(model_cfg)
        self.bin_num = list(model_cfg["bin_num"])
        if "EMA_value" not in model_cfg:
            raise ConfigError("model_cfg.EMA_value: FoundationGait_Scaling needs it (e.g. 0.99)")
        self.ema_value = float(model_cfg["EMA_value"])

    def parameters_without_gradient(self) -> tuple[str, ...]:
        # the projector's last BN shift feeds the predictor's FC then a training-mode BN, which
        # removes any constant shift: its gradient is zero (in OpenGait too)
        return ("student_backbone.projector.4.bn1d.bias",)

    def init_parameters(self) -> None:
        """Nothing: build_network initialised the teacher and copied it to the student."""

    def inputs_pretreament(self, inputs):
        """Training: the first half of the batch (the sampler lists it twice) through
        ``trainer_cfg.transform[0][0]``, the second through ``[0][1]``: ipts ``[views for the
        teacher, views for the student]``. Testing: OpenGait's default."""
        if not self.training:
            return super().inputs_pretreament(inputs)
        from ..data.pipeline import pretreat_batch
        from ..data.transforms import get_transform

        seqs, labs, typs, viws, _ = inputs
        where = "trainer_cfg.transform"
        if "_view_transforms" not in self.__dict__:
            cfg = self.engine_cfg.get("transform")
            if not (
                isinstance(cfg, list) and cfg and isinstance(cfg[0], list) and len(cfg[0]) == 2
            ):
                raise ConfigError(
                    f"{where}: FoundationGait_Scaling needs one pair of transforms, "
                    "[[{type: DA4GaitSSB}, {type: DA4GaitSSB}]] (the teacher's and the "
                    f"student's view), got {cfg!r}"
                )
            self._view_transforms = [get_transform(cfg[0][i], f"{where}[0][{i}]") for i in range(2)]
        rows = seqs[0]
        half = len(rows) // 2
        views = []
        for i, part in enumerate((rows[:half], rows[half:])):
            pretreated = pretreat_batch(
                [[part], labs, typs, viws, None], self._view_transforms[i], f"{where}[0][{i}]"
            )
            views.append(pretreated[0][0])
        return [views, labs, typs, viws, None]

    def forward(self, inputs):
        ipts, labs, typs, viws, seq_l = inputs
        if not self.training:
            sils = _set_layout(ipts[0])
            feat = self.teacher_backbone.predictor(
                self.teacher_backbone.projector(
                    encode_sequences(self.teacher_backbone, sils, seq_l)
                )
            )
            return {
                "training_feat": {},
                "visual_summary": {},
                "inference_feat": {"embeddings": F.normalize(feat, dim=1)},
            }
        if len(ipts) == 1:  # one tensor of the sampler's batch (each sequence twice): halve it
            ipts = list(torch.chunk(ipts[0], 2))
        sils_q, sils_k = _set_layout(ipts[0]), _set_layout(ipts[1])
        with torch.no_grad():
            z1 = self.teacher_backbone((sils_q, None))[3]
        student = self.student_backbone
        feat = _crop_encoded(student.encoder, sils_k, self.crop_list, self.bin_num)
        feat = student.TP(feat, None, options={"dim": 2})[0]
        p2 = student.predictor(student.projector(student.HPP(feat)))
        logits, labels = self.D(p2, z1)
        return {
            "training_feat": {"softmax": {"logits": logits, "labels": labels}},
            "visual_summary": {
                "image/encoder_q": _images(sils_q),
                "image/encoder_k": _images(sils_k),
            },
            # one per sequence of the batch: the teacher's view, then the student's
            "inference_feat": {"embeddings": torch.cat([z1, p2.detach()])},
        }

    def D(
        self, p: torch.Tensor, z: torch.Tensor
    ) -> tuple[torch.Tensor, torch.Tensor]:  # noqa: N802
        """Cosine logits [n, m, parts] of each prediction ``p`` with every process's teacher
        projection ``z`` (detached), and the index of each one's own view."""
        z = F.normalize(z.detach(), dim=1)
        p = F.normalize(p, dim=1)
        z = all_gather_rows(z)
        n = p.size(0)
        rank = dist.get_rank() if dist.is_available() and dist.is_initialized() else 0
        logits = torch.einsum("ncp,mcp->nmp", p, z)
        labels = torch.arange(rank * n, (rank + 1) * n, dtype=torch.long, device=p.device)
        return logits, labels

    def after_train_step(self, iteration: int) -> None:
        """The teacher's EMA toward the student, after each step that updated the weights."""
        momentum = cosine_schedule(
            iteration, int(self.cfgs["trainer_cfg"]["total_iter"]), self.ema_value, 1.0
        )
        update_momentum(self.student_backbone, self.teacher_backbone, momentum)


class FoundationGait_Scaling_Finetune(BaseModel):  # noqa: N801 - OpenGait's class name
    """Fine-tuning the pre-trained teacher with separate FCs and BNNecks (triplet + softmax).

    model_cfg: the backbone's keys, ``crop_list``, ``SeparateFCs``, ``SeparateBNNecks``,
    ``backbone_lr`` (5 stage rates) and ``projector_lr``.
    """

    def build_network(self, model_cfg):
        self._build_teacher(model_cfg)
        self.FCs = SeparateFCs(**model_cfg["SeparateFCs"])
        self.BNNecks = SeparateBNNecks(**model_cfg["SeparateBNNecks"])

    def _heads(self) -> list[torch.nn.Module]:
        return [self.FCs, self.BNNecks]

    def _build_teacher(self, model_cfg) -> None:
        self.teacher_backbone = DeepGaitV2_SSL(model_cfg)
        self.crop_list = _crop_list(model_cfg)
        self.bin_num = list(model_cfg["bin_num"])
        for key in ("backbone_lr", "projector_lr"):
            if key not in model_cfg:
                raise ConfigError(f"model_cfg.{key}: {type(self).__name__} needs it")
        self.backbone_lr = list(model_cfg["backbone_lr"])
        if len(self.backbone_lr) != 5:
            raise ConfigError(
                f"model_cfg.backbone_lr: one learning rate per stage layer0..layer4, got "
                f"{self.backbone_lr}"
            )
        self.projector_lr = float(model_cfg["projector_lr"])

    def parameters_without_gradient(self) -> tuple[str, ...]:
        return ("teacher_backbone.predictor.*",)  # built (OpenGait's state dict), never used

    def get_optimizer(self, optimizer_cfg):
        """OpenGait's groups: each backbone stage at its ``backbone_lr`` (left out at 0), the
        projector and predictor at ``projector_lr``, the new layers at ``optimizer_cfg.lr``."""
        from ..components import build

        lr = float(optimizer_cfg["lr"])
        groups = [
            {"params": list(getattr(self.teacher_backbone, f"layer{i}").parameters()), "lr": rate}
            for i, rate in enumerate(self.backbone_lr)
            if rate != 0
        ]
        for head in (self.teacher_backbone.projector, self.teacher_backbone.predictor):
            groups.append({"params": list(head.parameters()), "lr": self.projector_lr})
        for head in self._heads():
            groups.append({"params": list(head.parameters()), "lr": lr})
        self.optimizer = build("optimizer", optimizer_cfg, groups)
        return self.optimizer

    def _projection(self, sils: torch.Tensor, seq_l: Any) -> torch.Tensor:
        """The teacher's L2-normalised projection [n, c, p] (strip crops while training)."""
        backbone = self.teacher_backbone
        if self.training:
            feat = _crop_encoded(backbone.encoder, sils, self.crop_list, self.bin_num)
            parts = backbone.HPP(backbone.TP(feat, seq_l, options={"dim": 2})[0])
        else:
            parts = encode_sequences(backbone, sils, seq_l)
        return F.normalize(backbone.projector(parts), dim=1)

    def forward(self, inputs):
        ipts, labs, _, _, seq_l = inputs
        sils = _set_layout(ipts[0])
        embed_1 = self.FCs(self._projection(sils, seq_l))
        _, logits = self.BNNecks(embed_1)
        return {
            "training_feat": {
                "triplet": {"embeddings": embed_1, "labels": labs},
                "softmax": {"logits": logits, "labels": labs},
            },
            "visual_summary": {"image/sils": _images(sils)},
            "inference_feat": {"embeddings": embed_1},
        }


class FoundationGait_Scaling_LinearProbing_Scoliosis1K(  # noqa: N801 - OpenGait's name
    FoundationGait_Scaling_Finetune
):
    """Scoliosis screening on the pre-trained teacher: one BNNeck over all parts' features,
    three classes from each sequence's type folder (negative, neutral, positive).

    model_cfg: the backbone's keys, ``crop_list``, ``SeparateBNNecks`` (``in_channels``:
    channels times parts, ``parts_num: 1``, ``class_num: 3``), ``backbone_lr``,
    ``projector_lr``; ``SeparateFCs`` is accepted and, as in OpenGait, not built.
    """

    # the types it reads as classes, in label order (testing.check_model feeds these)
    sequence_types = SCOLIOSIS_CLASSES

    def build_network(self, model_cfg):
        self._build_teacher(model_cfg)
        self.BNNecks = SeparateBNNecks(**model_cfg["SeparateBNNecks"])

    def _heads(self) -> list[torch.nn.Module]:
        return [self.BNNecks]

    def forward(self, inputs):
        ipts, _, typs, _, seq_l = inputs
        sils = _set_layout(ipts[0])
        label_ids = self.type_classes(typs, sils.device)
        feat = self._projection(sils, seq_l)
        n, c, p = feat.shape
        _, logits = self.BNNecks(feat.reshape(n, c * p, 1))
        return {
            "training_feat": {"softmax": {"logits": logits, "labels": label_ids}},
            "visual_summary": {"image/sils": _images(sils)},
            "inference_feat": {"embeddings": logits},
        }
