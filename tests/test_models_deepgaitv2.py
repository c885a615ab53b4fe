"""DeepGaitV2 and its residual blocks: OpenGait's state dicts, outputs, variable-length input."""

from __future__ import annotations

from pathlib import Path

import pytest
import torch
import yaml
from conftest import opengait_state_dict, state_dict_shapes
from gaitgen.runtime.config import default_config, merge
from gaitgen.runtime.errors import ConfigError
from gaitgen.runtime.models.deepgaitv2 import DeepGaitV2
from gaitgen.runtime.modules.resblocks import (
    BasicBlock2D,
    BasicBlock3D,
    BasicBlockP3D,
    make_res_layer,
)

ZOO = Path(__file__).resolve().parents[1] / "runtime" / "zoo"
TINY_CHANNELS = [4, 8, 8, 16]


def build(model_cfg: dict, training: bool = False) -> DeepGaitV2:
    return DeepGaitV2(merge(default_config(), {"model_cfg": model_cfg}), is_training=training)


def tiny_cfg(mode: str, layers=(1, 1, 1, 1), channels=TINY_CHANNELS, class_num: int = 5) -> dict:
    return {
        "model": "DeepGaitV2",
        "Backbone": {
            "mode": mode,
            "in_channels": 1,
            "layers": list(layers),
            "channels": list(channels),
        },
        "SeparateBNNecks": {"class_num": class_num},
    }


def run(model: DeepGaitV2, sils: torch.Tensor, seqL=None, labs=None) -> dict:
    labs = torch.zeros(len(sils), dtype=torch.long) if labs is None else labs
    with torch.no_grad():
        return model([[sils], labs, None, None, seqL])


# The facts of OpenGait's six DeepGaitV2 configs (all p3d); CASIA-B's comes from the zoo file.
OPENGAIT_CONFIGS = {
    "DeepGaitV2_ccpg.yaml": ([1, 1, 1, 1], 100),
    "DeepGaitV2_gait3d.yaml": ([1, 4, 4, 1], 3000),
    "DeepGaitV2_grew.yaml": ([1, 4, 4, 1], 20000),
    "DeepGaitV2_oumvlp.yaml": ([1, 1, 1, 1], 5153),
    "DeepGaitV2_sustech1k.yaml": ([1, 1, 1, 1], 250),
}


@pytest.mark.parametrize("name", ["DeepGaitV2_casiab.yaml", *OPENGAIT_CONFIGS])
def test_state_dict_equals_opengait(name: str) -> None:
    if name == "DeepGaitV2_casiab.yaml":
        model_cfg = yaml.safe_load((ZOO / "deepgaitv2_casiab.yaml").read_text())["model_cfg"]
    else:
        layers, class_num = OPENGAIT_CONFIGS[name]
        model_cfg = tiny_cfg("p3d", layers, [64, 128, 256, 512], class_num)
    with torch.device("meta"):  # shapes only: no memory, no initialisation cost
        model = build(model_cfg)
    assert state_dict_shapes(model) == opengait_state_dict(f"deepgaitv2/{name}")


@pytest.mark.parametrize("mode", ["2d", "p3d", "3d"])
@pytest.mark.parametrize("training", [False, True])
def test_forward_shapes(mode: str, training: bool) -> None:
    model = build(tiny_cfg(mode, class_num=7), training)
    out = model([[torch.rand(3, 5, 64, 44)], torch.tensor([0, 1, 2]), None, None, None])
    assert out["inference_feat"]["embeddings"].shape == (3, TINY_CHANNELS[2], 16)
    assert out["training_feat"]["triplet"]["embeddings"].shape == (3, TINY_CHANNELS[2], 16)
    assert out["training_feat"]["softmax"]["logits"].shape == (3, 7, 16)
    assert out["visual_summary"]["image/sils"].shape == (15, 1, 64, 44)
    if training:  # the graph reaches the first convolution
        out["training_feat"]["softmax"]["logits"].sum().backward()
        assert model.layer0.forward_block[0].weight.grad is not None


@pytest.mark.parametrize("mode", ["2d", "p3d", "3d"])
def test_variable_length_equals_one_at_a_time(mode: str) -> None:
    torch.manual_seed(0)
    model = build(tiny_cfg(mode))
    lengths = [4, 7, 5]
    sequences = [torch.rand(1, s, 64, 44) for s in lengths]
    joined = run(model, torch.cat(sequences, 1), torch.tensor([lengths]), torch.zeros(3).long())
    alone = torch.cat([run(model, seq)["inference_feat"]["embeddings"] for seq in sequences])
    torch.testing.assert_close(joined["inference_feat"]["embeddings"], alone, atol=1e-5, rtol=1e-5)


def test_use_emb2_evaluates_the_bnneck_features() -> None:
    model = build({**tiny_cfg("2d"), "use_emb2": True})
    out = run(model, torch.rand(2, 3, 64, 44))
    features, _ = model.BNNecks(out["training_feat"]["triplet"]["embeddings"])
    torch.testing.assert_close(out["inference_feat"]["embeddings"], features)


def test_silhouettes_of_the_wrong_width_are_refused() -> None:
    with pytest.raises(ConfigError, match="BaseSilCuttingTransform"):
        run(build(tiny_cfg("p3d")), torch.rand(1, 3, 64, 64))


def test_unknown_mode_is_refused() -> None:
    with pytest.raises(ConfigError, match="Backbone.mode"):
        build(tiny_cfg("4d"))


def test_3d_backbone_with_several_first_stage_blocks_runs() -> None:
    # OpenGait gives the later 2-D blocks of stage 1 a 3-D stride there, which fails.
    out = run(build(tiny_cfg("3d", layers=(2, 1, 1, 1))), torch.rand(1, 4, 64, 44))
    assert out["inference_feat"]["embeddings"].shape == (1, TINY_CHANNELS[2], 16)


def test_blocks_keep_or_stride_the_shape() -> None:
    x = torch.rand(2, 4, 3, 8, 6)  # [n, c, s, h, w]
    assert BasicBlockP3D(4, 4)(x).shape == x.shape
    assert make_res_layer(BasicBlockP3D, 4, 6, [2, 2], 2, "p3d")(x).shape == (2, 6, 3, 4, 3)
    assert make_res_layer(BasicBlock3D, 4, 6, [1, 2, 2], 2, "3d")(x).shape == (2, 6, 3, 4, 3)
    frames = torch.rand(2, 4, 8, 6)
    assert make_res_layer(BasicBlock2D, 4, 6, [2, 2], 2, "2d")(frames).shape == (2, 6, 4, 3)
    # no projection where neither the stride nor the width changes: an identity shortcut
    assert make_res_layer(BasicBlock2D, 4, 4, [1, 1], 1, "2d")[0].downsample is None
    with pytest.raises(ValueError, match="stride"):
        BasicBlock3D(4, 4, stride=[4, 1, 1])
