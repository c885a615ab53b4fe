"""GaitSSB's fine-tune: OpenGait's optimizer groups, frozen stages, learning-rate floor; the
encoder's width check. (Outputs: tests/test_parity.py; training: tests/test_zoo.py.)"""

from __future__ import annotations

import pytest
import torch
from gaitgen.runtime.components import get
from gaitgen.runtime.config import load_config
from gaitgen.runtime.errors import DataError
from gaitgen.runtime.zoo import ZOO_DIR


def _model(name: str):
    cfgs = load_config(ZOO_DIR / f"{name}.yaml")
    return get("model", cfgs["model_cfg"]["model"], None)(cfgs, is_training=True), cfgs


def test_finetune_optimizer_groups_and_frozen_stages():
    model, cfgs = _model("gaitssb_finetune")
    optimizer = model.get_optimizer(cfgs["optimizer_cfg"])
    block = model.Backbone.forward_block
    groups = [(group["lr"], {id(p) for p in group["params"]}) for group in optimizer.param_groups]
    expected = [
        (0.001, {id(p) for p in block.layer2.parameters()}),
        (0.001, {id(p) for p in block.layer3.parameters()}),
        (0.001, {id(p) for p in block.layer4.parameters()}),
        (0.01, {id(p) for p in model.projector.parameters()}),
        (0.1, {id(p) for p in model.head0.parameters()}),
    ]
    assert groups == expected  # layer1 (backbone_lr 0) and the stem are in no group
    model(
        [[torch.rand(4, 5, 64, 44)], torch.tensor([0, 0, 1, 1]), ["nm-01"] * 4, ["090"] * 4, None]
    )["training_feat"]["triplet"]["embeddings"].sum().backward()
    assert block.conv1.conv.weight.grad is None and block.layer1[0].conv1.weight.grad is None
    assert block.layer2[0].conv1.weight.grad is not None


def test_finetune_raises_small_learning_rates_every_1000_iterations():
    model, cfgs = _model("gaitssb_finetune")
    model.get_optimizer(cfgs["optimizer_cfg"])
    batch = [[torch.rand(2, 3, 64, 44)], torch.tensor([0, 1]), ["nm-01"] * 2, ["090"] * 2, None]
    for group in model.optimizer.param_groups:
        group["lr"] = 1e-6
    model.iteration = 999
    model(batch)
    assert all(group["lr"] == 1e-6 for group in model.optimizer.param_groups)
    model.iteration = 2000
    model(batch)
    assert all(group["lr"] == 1e-4 for group in model.optimizer.param_groups)


def test_pretrain_names_the_widths_it_takes():
    model, _ = _model("gaitssb_pretrain")
    batch = [[torch.rand(2, 3, 64, 64)], torch.tensor([0, 1]), ["nm-01"] * 2, ["090"] * 2, None]
    with pytest.raises(DataError, match="44 or 88 pixels wide, got 64: cut the frames"):
        model.eval()(batch)
