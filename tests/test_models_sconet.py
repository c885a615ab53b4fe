"""ScoNet against OpenGait: its state dict, its classes from the sequence types, the model checks.

OpenGait's outputs for OpenGait's weights (types included): test_parity.py.
"""

from __future__ import annotations

import copy
from pathlib import Path

import pytest
import torch
import yaml
from conftest import opengait_state_dict, state_dict_shapes
from gaitgen.runtime.config import default_config, merge
from gaitgen.runtime.errors import DataError
from gaitgen.runtime.models.sconet import ScoNet
from gaitgen.runtime.testing import check_model

ZOO_CONFIG = Path(__file__).resolve().parents[1] / "runtime" / "zoo" / "sconet_scoliosis1k.yaml"


def small_config() -> dict:
    """The zoo's full-size ScoNet with an eighth of the channels."""
    cfgs = yaml.safe_load(ZOO_CONFIG.read_text())
    model_cfg = cfgs["model_cfg"]
    model_cfg["backbone_cfg"]["channels"] = [8, 16, 32, 64]
    model_cfg["SeparateFCs"].update(in_channels=64, out_channels=32)
    model_cfg["SeparateBNNecks"]["in_channels"] = 32
    return cfgs


def build(model_cfg: dict, training: bool) -> ScoNet:
    torch.manual_seed(0)
    return ScoNet(merge(default_config(), {"model_cfg": copy.deepcopy(model_cfg)}), training)


def test_full_size_state_dict_equals_opengait() -> None:
    model = build(yaml.safe_load(ZOO_CONFIG.read_text())["model_cfg"], training=False)
    assert state_dict_shapes(model) == opengait_state_dict("sconet/sconet_scoliosis1k.yaml")


def test_model_checks_with_scoliosis_types(tmp_path: Path) -> None:
    path = tmp_path / "sconet.yaml"
    path.write_text(yaml.safe_dump(small_config()))
    output = check_model("ScoNet", path)  # random batch of 4: the types in turn
    softmax = output["training_feat"]["softmax"]
    assert softmax["labels"].tolist() == [0, 1, 2, 0]  # negative, neutral, positive, negative
    assert output["training_feat"]["triplet"]["labels"].tolist() == [0, 0, 1, 1]  # identities
    assert softmax["logits"].shape == (4, 3, 16)
    assert output["inference_feat"]["embeddings"] is softmax["logits"]


@pytest.mark.parametrize("training", [True, False])
def test_an_unknown_type_is_one_data_error(training: bool) -> None:
    model = build(small_config()["model_cfg"], training)
    sils = torch.rand(3, 4, 64, 44)
    inputs = [[sils], torch.arange(3), ["negative", "Positive", "nm-01"], ["000"] * 3, None]
    with pytest.raises(DataError) as caught:
        model(inputs)
    assert str(caught.value) == (
        "ScoNet takes its class from each sequence's type (the <type> folder of "
        "<id>/<type>/<view>), which must be one of 'negative', 'neutral', 'positive' "
        "(lowercase, as OpenGait's ScoNet maps them); got 'Positive', 'nm-01': name the type "
        "folders so (Scoliosis1K's own layout)"
    )
    inputs[2] = None
    with pytest.raises(DataError, match="the batch carries no types"):
        model(inputs)
