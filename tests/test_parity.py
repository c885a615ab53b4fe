"""The zoo equals OpenGait: given OpenGait's weights, each model gives OpenGait's outputs.

The fixtures are in this repository (tests/fixtures/opengait/parity, a few hundred kB each):
recorded from OpenGait's own networks (commit 0efafd4, CPU) for small configs, then shrunk by
tests/fixtures/opengait/make_parity_fixtures.py. So these tests run in every clone and never
skip. Each model is built from the fixture's model_cfg, loads OpenGait's state_dict strictly,
and every output is compared in eval and in train mode (BatchNorm on the batch statistics)
at atol/rtol 1e-4.
"""

from __future__ import annotations

import pytest
import torch
from conftest import PARITY_FIXTURES, parity_fixture
from gaitgen.runtime.components import get
from gaitgen.runtime.config import default_config, merge
from gaitgen.runtime.zoo import MODELS

NAMES = sorted(path.name.removesuffix(".pt.xz") for path in PARITY_FIXTURES.glob("*.pt.xz"))
# zoo models OpenGait's recording has no small fixture of (SwinGait's needs its pretrained
# DeepGaitV2 layers and a fixture nobody recorded yet)
NOT_RECORDED = {"SwinGait"}


def build(model_cfg: dict) -> torch.nn.Module:
    """The gaitgen model ``model_cfg["model"]`` names, as OpenGait builds it for testing."""
    cfgs = merge(default_config(), {"model_cfg": dict(model_cfg)})
    return get("model", model_cfg["model"])(cfgs, is_training=False)


def output_at(output: dict, key: str) -> torch.Tensor:
    """``output["training_feat"]["triplet"]["embeddings"]`` for ``"training_feat/triplet/embeddings"``."""
    for part in key.split("/"):
        output = output[part]
    return output


def test_every_zoo_model_is_compared_from_files_in_the_repository() -> None:
    compared = {parity_fixture(name)["model_cfg"]["model"] for name in NAMES}
    assert set(MODELS) - NOT_RECORDED <= compared
    assert {"GaitBase", "DeepGaitV2-2d", "DeepGaitV2-p3d", "DeepGaitV2-3d"} <= set(NAMES)


@pytest.mark.parametrize("name", NAMES)
def test_zoo_model_gives_opengaits_outputs(name: str) -> None:
    record = parity_fixture(name)
    model = build(record["model_cfg"])
    model.load_state_dict(record["state_dict"], strict=True)
    ipts, labs = record["inputs"]["ipts"], record["inputs"]["labs"]
    assert list(record["outputs"]) == ["eval", "train"]  # eval first: train moves BN's stats
    for mode, expected in record["outputs"].items():
        model.train(mode == "train")
        n = next(iter(expected.values())).shape[0]  # GaitGL eval: OpenGait's first sequence
        if mode == "eval" and "eval_n" in record:
            n = record["eval_n"]
        if "forward_seed" in record:  # OpenGait's dropout masks, drawn after this seed
            torch.manual_seed(record["forward_seed"])
        with torch.no_grad():
            got = model(([x[:n].clone() for x in ipts], labs[:n], ["nm-01"] * n, ["090"] * n, None))
        for key, want in expected.items():
            have = output_at(got, key)
            assert have.shape == want.shape, f"{name} [{mode}] {key}"
            torch.testing.assert_close(
                have.float(), want.float(), atol=1e-4, rtol=1e-4, msg=f"{name} [{mode}] {key}"
            )
