"""SwinGait and its Video Swin pieces: OpenGait's state dicts, outputs, fine-tuning, schedule."""

from __future__ import annotations

import math
from pathlib import Path

import pytest
import torch
import yaml
from conftest import opengait_state_dict, state_dict_shapes
from gaitgen.runtime.config import default_config, merge
from gaitgen.runtime.errors import ConfigError
from gaitgen.runtime.models.deepgaitv2 import DeepGaitV2
from gaitgen.runtime.models.swingait import SwinGait, _cosine_lr
from gaitgen.runtime.modules.swin import _shift_mask, window_partition, window_reverse

ZOO = Path(__file__).resolve().parents[1] / "runtime" / "zoo"


def build(model_cfg: dict, training: bool = False, trainer_cfg: dict | None = None) -> SwinGait:
    cfgs = merge(default_config(), {"model_cfg": model_cfg, "trainer_cfg": trainer_cfg or {}})
    return SwinGait(cfgs, is_training=training)


def zoo_model_cfg(name: str) -> dict:
    return yaml.safe_load((ZOO / name).read_text())["model_cfg"]


def tiny_cfg(class_num: int = 5) -> dict:
    return {
        "model": "SwinGait",
        "Backbone": {"mode": "p3d", "in_channels": 1, "layers": [1, 1, 2, 2], "channels": [4, 8]},
        "Transformer": {"embed_dim": 8, "num_heads": [2, 4]},
        "bin_num": [15],
        "SeparateBNNecks": {"in_channels": 8, "class_num": class_num, "parts_num": 16},
    }


# The facts of OpenGait's four SwinGait configs; Gait3D's comes from the zoo file.
OPENGAIT_CONFIGS = {
    "swingait3D_B1122C2_CCPG.yaml": ([1, 1, 2, 2], 100),
    "swingait3D_B1122C2_SUSTech1K.yaml": ([1, 1, 2, 2], 250),
    "swingait3D_B1442C2_GREW.yaml": ([1, 4, 4, 2], 20000),
}


@pytest.mark.parametrize("name", ["swingait3D_B1442C2_Gait3D.yaml", *OPENGAIT_CONFIGS])
def test_state_dict_equals_opengait(name: str) -> None:
    if name in OPENGAIT_CONFIGS:
        layers, class_num = OPENGAIT_CONFIGS[name]
        model_cfg = {
            "model": "SwinGait",
            "Backbone": {"mode": "p3d", "in_channels": 1, "layers": layers, "channels": [64, 128]},
            "bin_num": [15],
            "SeparateBNNecks": {"in_channels": 256, "class_num": class_num, "parts_num": 16},
        }
    else:
        model_cfg = zoo_model_cfg("swingait_gait3d.yaml")
    with torch.device("meta"):  # shapes only: no memory, no initialisation cost
        model = build(model_cfg)
    assert state_dict_shapes(model) == opengait_state_dict(f"swingait/{name}")


@pytest.mark.parametrize("training", [False, True])
def test_forward_shapes(training: bool) -> None:
    model = build(tiny_cfg(class_num=7), training)
    out = model([[torch.rand(2, 5, 64, 44)], torch.tensor([0, 1]), None, None, None])
    assert out["inference_feat"]["embeddings"].shape == (2, 8, 15)  # [n, c, p]
    assert out["training_feat"]["triplet"]["embeddings"].shape == (2, 8, 15)
    assert out["training_feat"]["softmax"]["logits"].shape == (2, 7, 15)
    if training:
        out["training_feat"]["softmax"]["logits"].sum().backward()
        assert model.layer0.forward_block[0].weight.grad is not None
        assert model.transformer.patch_embed.proj.weight.grad is not None


def test_variable_length_equals_one_at_a_time() -> None:
    torch.manual_seed(0)
    model = build(tiny_cfg())
    lengths = [4, 7, 2]  # 2 frames: a window shrunk to the sequence, no temporal shift
    sequences = [torch.rand(1, s, 64, 44) for s in lengths]
    with torch.no_grad():
        joined = model(
            [[torch.cat(sequences, 1)], torch.zeros(3).long(), None, None, torch.tensor([lengths])]
        )
        alone = [model([[seq], torch.zeros(1).long(), None, None, None]) for seq in sequences]
    torch.testing.assert_close(
        joined["inference_feat"]["embeddings"],
        torch.cat([out["inference_feat"]["embeddings"] for out in alone]),
        atol=1e-5,
        rtol=1e-5,
    )


def test_starter_pair_fine_tunes_from_deepgaitv2() -> None:
    """swingait.yaml loads deepgaitv2.yaml's weights with strict off, as OpenGait does."""
    source_cfg = zoo_model_cfg("deepgaitv2.yaml")
    source = DeepGaitV2(merge(default_config(), {"model_cfg": source_cfg}), is_training=False)
    model = build(zoo_model_cfg("swingait.yaml"))
    result = model.load_state_dict(source.state_dict(), strict=False)  # shapes must fit
    shared = set(source.state_dict()) - set(result.unexpected_keys)
    assert {"FCs.fc_bin", "BNNecks.fc_bin", "layer2.0.shortcut3d.weight"} <= shared
    assert all(key.startswith(("layer3", "layer4")) for key in result.unexpected_keys)
    assert all(key.startswith("transformer.") for key in result.missing_keys)
    for key in shared:
        torch.testing.assert_close(model.state_dict()[key], source.state_dict()[key])


def test_parts_num_must_count_the_repeated_strip() -> None:
    cfg = tiny_cfg()
    cfg["SeparateBNNecks"]["parts_num"] = 15
    with pytest.raises(ConfigError, match="parts_num"):
        build(cfg)


def test_unknown_transformer_key_is_refused() -> None:
    cfg = {**tiny_cfg(), "Transformer": {"embed_dims": 8}}
    with pytest.raises(ConfigError, match="embed_dims"):
        build(cfg)


def test_optimizer_groups_and_cosine_schedule() -> None:
    model = build(tiny_cfg(), training=True, trainer_cfg={"T_max_iter": 4000})
    optimizer = model.get_optimizer({"solver": "AdamW", "lr": 0.1, "weight_decay": 0.02})
    assert model.optimizer is optimizer
    grouped = [p for group in optimizer.param_groups for p in group["params"]]
    assert len(grouped) == len(set(map(id, grouped))) == len(list(model.parameters()))
    no_decay, decay, *slow = optimizer.param_groups
    assert no_decay["weight_decay"] == 0.0 and decay["weight_decay"] == 0.02
    table = model.transformer.layers[0].blocks[0].attn.relative_position_bias_table
    assert any(p is table for p in no_decay["params"])
    assert all(group["lr"] == pytest.approx(0.01) for group in slow)

    model.iteration = 1000  # the forward adjusts the lr every 1000 iterations
    model([[torch.rand(2, 3, 64, 44)], torch.tensor([0, 1]), None, None, None])
    alpha = 0.5 * (1 + math.cos(math.pi * 1000 / 4000))
    assert decay["lr"] == pytest.approx(0.1 * alpha)
    assert slow[0]["lr"] == pytest.approx(0.01 * alpha)
    _cosine_lr(optimizer, 4000, T_max_iter=4000)
    assert decay["lr"] == 1e-6
    _cosine_lr(optimizer, 1500, T_max_iter=4000)  # between updates: unchanged
    assert decay["lr"] == 1e-6


def test_windows_round_trip_and_shift_mask() -> None:
    x = torch.rand(2, 6, 6, 10, 3)  # [b, d, h, w, c]
    windows = window_partition(x, (3, 3, 5))  # [b * 8, 45, c]
    assert windows.shape == (16, 45, 3)
    torch.testing.assert_close(window_reverse(windows, (3, 3, 5), 2, 6, 6, 10), x)
    mask = _shift_mask((6, 6, 10), (3, 3, 5), (1, 1, 2), "cpu")  # [windows, N, N]
    assert mask.shape == (8, 45, 45)
    torch.testing.assert_close(mask, mask.transpose(1, 2))
    assert set(mask.unique().tolist()) == {0.0, -100.0}
    assert (mask[0] == 0).all()  # the first window holds one region only
    assert (mask[-1] != 0).any()  # the last one joins wrapped-around strips
    # no shift along an axis: that axis never separates tokens
    assert (_shift_mask((3, 6, 10), (3, 3, 5), (0, 0, 0), "cpu") == 0).all()
