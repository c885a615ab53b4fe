"""GaitSet, GaitPart, GLN and the Plain backbone against OpenGait.

State dicts equal OpenGait's listings for every config of the gaitset, gaitpart and gln families
(and gaitbase_hid, GaitBase on Plain); forward shapes in train and eval mode; variable-length
batches (seqL) give each sequence the embedding it gets alone. OpenGait's outputs for
OpenGait's weights: test_parity.py.
"""

from __future__ import annotations

import copy
from pathlib import Path

import pytest
import torch
import yaml
from conftest import opengait_state_dict, state_dict_shapes
from gaitgen.runtime.config import default_config, merge
from gaitgen.runtime.errors import ConfigError
from gaitgen.runtime.losses.softmax import CrossEntropyLoss
from gaitgen.runtime.models.gaitpart import GaitPart
from gaitgen.runtime.models.gaitset import GaitSet
from gaitgen.runtime.models.gln import GLN
from gaitgen.runtime.modules.plain import Plain

ZOO = Path(__file__).resolve().parents[1] / "runtime" / "zoo"
MODELS = {"GaitSet": GaitSet, "GaitPart": GaitPart, "GLN": GLN}


def zoo_model_cfg(name: str) -> dict:
    return yaml.safe_load((ZOO / name).read_text())["model_cfg"]


def build(model_cfg: dict, training: bool = False):
    cfgs = merge(default_config(), {"model_cfg": copy.deepcopy(model_cfg)})
    torch.manual_seed(0)
    return MODELS[model_cfg["model"]](cfgs, is_training=training)


def forward(model, sils: torch.Tensor, seqL=None) -> dict:
    labs = torch.arange(sils.shape[0] if seqL is None else len(seqL[0]))
    n = len(labs)
    return model(([sils], labs, ["nm-01"] * n, ["090"] * n, seqL))


# the model_cfg facts of OpenGait's configs that have no zoo file here
GAITSET_WIDE = {
    "model": "GaitSet",
    "in_channels": [1, 64, 128, 256],
    "SeparateFCs": {"in_channels": 256, "out_channels": 256, "parts_num": 62},
    "bin_num": [16, 8, 4, 2, 1],
}
GAITPART_DEEP = {
    "model": "GaitPart",
    "backbone_cfg": {
        "type": "Plain",
        "in_channels": 1,
        "layers_cfg": ["BC-32", "BC-32", "M", "BC-64", "BC-64", "M"]
        + ["FC-128-3", "FC-128-3", "FC-256-3", "FC-256-3"],
    },
    "SeparateFCs": {"in_channels": 256, "out_channels": 256, "parts_num": 16},
    "bin_num": [16],
}
GAITBASE_HID = {
    "model": "Baseline",
    "backbone_cfg": {
        "type": "Plain",
        "in_channels": 1,
        "layers_cfg": ["BC-64", "BC-64", "M", "BC-128", "BC-128", "M"]
        + ["BC-256", "BC-256", "M", "BC-512", "BC-512"],
    },
    "SeparateFCs": {"in_channels": 512, "out_channels": 256, "parts_num": 31},
    "SeparateBNNecks": {"class_num": 500, "in_channels": 256, "parts_num": 31},
    "bin_num": [16, 8, 4, 2, 1],
}


def _gln_phase2(class_num: int) -> dict:
    cfg = zoo_model_cfg("gln_phase2_casiab.yaml")
    cfg["class_num"] = class_num
    return cfg


OPENGAIT_CONFIGS = {
    "gaitset/gaitset.yaml": lambda: zoo_model_cfg("gaitset_casiab.yaml"),
    "gaitset/gaitset_gait3d_parsing.yaml": lambda: zoo_model_cfg("gaitset_casiab.yaml"),
    "gaitset/gaitset_GREW.yaml": lambda: GAITSET_WIDE,
    "gaitset/gaitset_OUMVLP.yaml": lambda: GAITSET_WIDE,
    "gaitset/gaitset_casiae.yaml": lambda: GAITSET_WIDE,
    "gaitpart/gaitpart.yaml": lambda: zoo_model_cfg("gaitpart_casiab.yaml"),
    "gaitpart/gaitpart_gait3d_parsing.yaml": lambda: zoo_model_cfg("gaitpart_casiab.yaml"),
    "gaitpart/gaitpart_GREW.yaml": lambda: GAITPART_DEEP,
    "gaitpart/gaitpart_OUMVLP.yaml": lambda: GAITPART_DEEP,
    "gaitpart/gaitpart_casiae.yaml": lambda: GAITPART_DEEP,
    "gln/gln_phase1.yaml": lambda: zoo_model_cfg("gln_phase1_casiab.yaml"),
    "gln/gln_phase1_gait3d_parsing.yaml": lambda: zoo_model_cfg("gln_phase1_casiab.yaml"),
    "gln/gln_phase2.yaml": lambda: zoo_model_cfg("gln_phase2_casiab.yaml"),
    "gln/gln_phase2_gait3d_parsing.yaml": lambda: _gln_phase2(3000),
}


@pytest.mark.parametrize("config_name", sorted(OPENGAIT_CONFIGS))
def test_state_dict_equals_opengait(config_name: str):
    model = build(OPENGAIT_CONFIGS[config_name]())
    assert state_dict_shapes(model) == opengait_state_dict(config_name)


def test_gaitbase_hid_builds_on_plain():
    from gaitgen.runtime.models.baseline import Baseline

    cfgs = merge(default_config(), {"model_cfg": copy.deepcopy(GAITBASE_HID)})
    model = Baseline(cfgs, is_training=False)
    assert state_dict_shapes(model) == opengait_state_dict("gaitbase/gaitbase_hid.yaml")
    # three poolings and 16 strips: gaitbase_hid's 128 x 88 silhouettes
    out = model(([torch.rand(2, 3, 128, 88)], torch.arange(2), None, None, None))
    assert out["inference_feat"]["embeddings"].shape == (2, 256, 31)


# small configs: the starter zoo configs (a quarter of the channels)
SMALL = {
    "GaitSet": "gaitset.yaml",
    "GaitPart": "gaitpart.yaml",
    "GLN-phase1": "gln_phase1.yaml",
    "GLN-phase2": "gln_phase2.yaml",
}


@pytest.mark.parametrize("name", sorted(SMALL))
@pytest.mark.parametrize("training", [True, False])
def test_forward_shapes(name: str, training: bool):
    cfg = zoo_model_cfg(SMALL[name])
    model = build(cfg, training)
    out = forward(model, torch.rand(3, 5, 64, 44))
    head = cfg["SeparateFCs"]
    embed_shape = (3, head["out_channels"], head["parts_num"])
    assert out["inference_feat"]["embeddings"].shape == embed_shape
    assert out["training_feat"]["triplet"]["embeddings"].shape == embed_shape
    assert out["training_feat"]["triplet"]["labels"].tolist() == [0, 1, 2]
    assert out["visual_summary"]["image/sils"].shape == (15, 1, 64, 44)
    if name == "GLN-phase2":
        # logits as OpenGait's CrossEntropyLoss takes them: [n, classes, parts]
        logits = out["training_feat"]["softmax"]["logits"]
        assert logits.shape == (3, cfg["class_num"], 1)
        loss, _ = CrossEntropyLoss(scale=16)(logits, torch.tensor([0, 5, 23]))
        assert torch.isfinite(loss)
    else:
        assert "softmax" not in out["training_feat"]


def test_five_dimensional_input_equals_four():
    model = build(zoo_model_cfg("gaitset.yaml"))
    sils = torch.rand(2, 4, 64, 44)
    four = forward(model, sils)["inference_feat"]["embeddings"]
    five = forward(model, sils.unsqueeze(2))["inference_feat"]["embeddings"]  # [n, s, 1, h, w]
    torch.testing.assert_close(four, five)


@pytest.mark.parametrize("name", sorted(SMALL))
def test_variable_length_equals_one_at_a_time(name: str):
    model = build(zoo_model_cfg(SMALL[name]))  # eval mode: BatchNorm independent of the batch
    torch.manual_seed(1)
    lengths = [3, 7, 5]
    sequences = [torch.rand(1, length, 64, 44) for length in lengths]
    joined = forward(model, torch.cat(sequences, 1), seqL=torch.tensor([lengths]))
    embeddings = joined["inference_feat"]["embeddings"]
    assert embeddings.shape[0] == 3
    for i, sequence in enumerate(sequences):
        alone = forward(model, sequence)["inference_feat"]["embeddings"]
        torch.testing.assert_close(embeddings[i : i + 1], alone, atol=1e-5, rtol=1e-4)


def test_gln_phase1_checkpoint_restores_into_phase2():
    phase1 = build(zoo_model_cfg("gln_phase1.yaml"), training=True)
    phase2 = build(zoo_model_cfg("gln_phase2.yaml"), training=True)
    result = phase2.load_state_dict(phase1.state_dict(), strict=False)
    assert result.unexpected_keys == []
    assert {key.split(".")[0] for key in result.missing_keys} == {
        "encoder_bn",
        "reduce_fc",
        "reduce_bn",
        "reduce_cls",
    }
    # the lateral network is phase 1's: the same embedding in eval mode
    phase1.eval(), phase2.eval()
    sils = torch.rand(2, 4, 64, 44)
    torch.testing.assert_close(
        forward(phase1, sils)["inference_feat"]["embeddings"],
        forward(phase2, sils)["inference_feat"]["embeddings"],
    )
    # OpenGait freezes the compact block's batch-norm biases
    assert not phase2.encoder_bn.bias.requires_grad and not phase2.reduce_bn.bias.requires_grad


def test_plain_layers_and_names():
    plain = Plain(["BC-4", "M", "FC-8-2", "BC-6"], in_channels=1)
    assert list(state_dict_shapes(plain)) == [
        "feature.0.conv.weight",
        "feature.3.conv.weight",
        "feature.5.conv.weight",
    ]
    assert plain.feature[0].conv.kernel_size == (5, 5)  # the stem: 5x5
    assert plain.feature[3].conv.kernel_size == (3, 3)
    assert plain.feature[3].halving == 2
    assert plain(torch.rand(2, 1, 16, 12)).shape == (2, 6, 8, 6)


def test_focal_layer_sees_no_other_strip():
    torch.manual_seed(0)
    plain = Plain(["BC-2", "FC-2-1"], in_channels=1)
    x = torch.rand(1, 1, 8, 6)
    changed = x.clone()
    changed[:, :, 6:] += 1.0  # only the bottom strip changes
    top = slice(0, 3)  # rows the 5x5 stem (reach 2) and the top strip cannot see change
    torch.testing.assert_close(plain(x)[:, :, top], plain(changed)[:, :, top])


@pytest.mark.parametrize(
    "layers, message",
    [
        (["XC-8"], "cannot read layer 'XC-8'"),
        (["BC-8", "FC-8"], "cannot read layer 'FC-8'"),
        (["BC-x"], "non-integer"),
        (["M", "BC-8"], "first layer must be a convolution"),
        ([], "non-empty list"),
        ("BC-8", "non-empty list"),
    ],
)
def test_plain_bad_layers(layers, message: str):
    with pytest.raises(ConfigError, match=message):
        Plain(layers)


def test_config_errors_name_the_key():
    part = copy.deepcopy(zoo_model_cfg("gaitpart.yaml"))
    part["SeparateFCs"]["parts_num"] = 8
    with pytest.raises(ConfigError, match="SeparateFCs.parts_num"):
        build(part)
    gln = copy.deepcopy(zoo_model_cfg("gln_phase1.yaml"))
    gln["SeparateFCs"]["parts_num"] = 31
    with pytest.raises(ConfigError, match="must be 93"):
        build(gln)
    del gln["Lateral_pretraining"]
    with pytest.raises(ConfigError, match="Lateral_pretraining"):
        build(gln)
    gln2 = copy.deepcopy(zoo_model_cfg("gln_phase2.yaml"))
    gln2["hidden_dim"] = 16
    with pytest.raises(ConfigError, match="compact block"):
        build(gln2)
    gaitset = copy.deepcopy(zoo_model_cfg("gaitset.yaml"))
    gaitset["in_channels"] = [1, 8, 16]
    with pytest.raises(ConfigError, match="in_channels"):
        build(gaitset)
