"""BaseModel, the building blocks and GaitBase: shapes and the model contract of README.md."""

from __future__ import annotations

import pytest
import torch
from conftest import FIXTURES
from gaitgen.runtime import (
    Baseline,
    BaseModel,
    HorizontalPoolingPyramid,
    PackSequenceWrapper,
    SeparateBNNecks,
    SeparateFCs,
    SetBlockWrapper,
)
from gaitgen.runtime.config import load_config
from gaitgen.runtime.errors import TrainingError
from gaitgen.runtime.model import check_model_output
from gaitgen.runtime.testing import random_batch


def test_set_block_wrapper_applies_per_frame() -> None:
    conv = torch.nn.Conv2d(1, 4, 3, padding=1)
    x = torch.randn(2, 1, 5, 8, 6)  # [n, c, s, h, w]
    out = SetBlockWrapper(conv)(x)
    assert out.shape == (2, 4, 5, 8, 6)
    assert torch.allclose(out[1, :, 3], conv(x[1, :, 3].unsqueeze(0))[0], atol=1e-6)


def test_pack_sequence_wrapper_pools_each_sequence() -> None:
    seqs = torch.randn(1, 3, 7, 2, 2)  # two sequences of 3 and 4 frames concatenated
    seq_lengths = torch.tensor([[3, 4]])
    pooled = PackSequenceWrapper(torch.max)(seqs, seq_lengths, options={"dim": 2})[0]
    assert pooled.shape == (2, 3, 2, 2)
    assert torch.equal(pooled[0], seqs[0, :, :3].max(1)[0])
    assert torch.equal(pooled[1], seqs[0, :, 3:].max(1)[0])
    fixed = PackSequenceWrapper(torch.max)(torch.randn(2, 3, 4, 2, 2), None, options={"dim": 2})[0]
    assert fixed.shape == (2, 3, 2, 2)


def test_hpp_separate_fcs_and_bnnecks_shapes() -> None:
    x = torch.randn(3, 8, 16, 11)
    feat = HorizontalPoolingPyramid([16, 8])(x)
    assert feat.shape == (3, 8, 24)
    strip = x[:, :, :1, :].reshape(3, 8, -1)
    assert torch.allclose(feat[:, :, 0], strip.mean(-1) + strip.max(-1)[0])
    embed = SeparateFCs(24, 8, 5)(feat)
    assert embed.shape == (3, 5, 24)
    features, logits = SeparateBNNecks(24, 5, class_num=7)(embed)
    assert features.shape == (3, 5, 24) and logits.shape == (3, 7, 24)
    assert torch.allclose(features.norm(dim=1), torch.ones(3, 24), atol=1e-5)


def test_opengait_gaitbase_config_builds_the_full_size_model() -> None:
    cfgs = load_config(FIXTURES / "opengait" / "gaitbase_da_casiab.yaml")
    model = Baseline(cfgs, is_training=True)
    parameters = sum(p.numel() for p in model.parameters())
    assert 7.0e6 < parameters < 7.6e6  # GaitBase: 7.3 M parameters


def test_baseline_forward_fixed_and_variable_length(small_config_file) -> None:
    cfgs = load_config(small_config_file)
    model = Baseline(cfgs, is_training=True)
    output = model(random_batch(cfgs, identities=2, per_identity=2, frames=6))
    check_model_output(output, "Baseline")
    assert output["inference_feat"]["embeddings"].shape == (4, 32, 16)
    assert output["training_feat"]["softmax"]["logits"].shape == (4, 4, 16)
    model.eval()
    sils = torch.rand(1, 5 + 7, 64, 44)  # two sequences of 5 and 7 frames, concatenated
    labs = torch.tensor([0, 1])
    out = model([[sils], labs, ["nm-01"] * 2, ["000"] * 2, torch.tensor([[5, 7]])])
    assert out["inference_feat"]["embeddings"].shape == (2, 32, 16)
    alone = model([[sils[:, :5]], labs[:1], ["nm-01"], ["000"], None])
    assert torch.allclose(
        out["inference_feat"]["embeddings"][0], alone["inference_feat"]["embeddings"][0], atol=1e-5
    )


def test_base_model_contract_errors() -> None:
    class ReturnsSomething(BaseModel):
        def build_network(self, model_cfg):
            return torch.nn.Linear(1, 1)

    with pytest.raises(TypeError, match="must set attributes and return None"):
        ReturnsSomething({"model_cfg": {}}, True)
    with pytest.raises(TrainingError, match=r"returned no \['visual_summary'\]"):
        check_model_output({"training_feat": {}, "inference_feat": {}}, "M")
    with pytest.raises(TrainingError, match=r"must be \[n, c, p\]"):
        check_model_output(
            {
                "training_feat": {},
                "visual_summary": {},
                "inference_feat": {"embeddings": torch.zeros(2, 3)},
            },
            "M",
        )


class _IgnoresSeqL(Baseline):
    """GaitBase that drops seqL: whole test sequences joined become one embedding."""

    def forward(self, inputs):
        ipts, labs, typs, viws, _ = inputs
        output = super().forward([ipts, labs[:1] if len(labs) else labs, typs, viws, None])
        output["training_feat"] = {}
        return output


def test_a_model_ignoring_seql_is_named_with_the_fix(small_config_file) -> None:
    from gaitgen.runtime.model import check_embeddings
    from gaitgen.runtime.testing import check_whole_sequences, joined_batch

    cfgs = load_config(small_config_file)
    model = _IgnoresSeqL(cfgs, is_training=False).eval()
    batch = joined_batch(cfgs, lengths=(4, 5, 6))
    with torch.no_grad():
        embeddings = model(batch)["inference_feat"]["embeddings"]
        with pytest.raises(
            TrainingError,
            match=r"_IgnoresSeqL.forward returned 1 embeddings for a test batch of 3 sequences "
            r"joined along the frame axis with seqL \[4, 5, 6\]: the model must pool each "
            r"sequence on its own using seqL",
        ):
            check_embeddings("_IgnoresSeqL", embeddings, batch)
        with pytest.raises(TrainingError, match="must pool each sequence on its own"):
            check_whole_sequences(model, cfgs)
        check_whole_sequences(Baseline(cfgs, is_training=False).eval(), cfgs)  # a right model


class _GroupedBaseline(Baseline):
    """GaitBase whose head learns 10x slower: parameter groups through OpenGait's hook."""

    def get_optimizer(self, optimizer_cfg):
        head = list(self.FCs.parameters()) + list(self.BNNecks.parameters())
        rest = [p for p in self.parameters() if all(p is not h for h in head)]
        lr = optimizer_cfg["lr"]
        return torch.optim.SGD([{"params": rest}, {"params": head, "lr": lr / 10}], lr=lr)


def test_the_trainer_builds_the_optimizer_through_the_models_hooks(small_config_file) -> None:
    from gaitgen.runtime.engine.build import build_optimization

    cfgs = load_config(small_config_file)
    model = _GroupedBaseline(cfgs, is_training=True)
    optimizer, scheduler = build_optimization(model, cfgs)
    assert model.optimizer is optimizer
    assert [group["lr"] for group in optimizer.param_groups] == [0.05, 0.005]
    assert scheduler.optimizer is optimizer  # get_scheduler schedules self.optimizer
    plain = Baseline(cfgs, is_training=True)
    default, _ = build_optimization(plain, cfgs)
    assert len(default.param_groups) == 1 and default.defaults["momentum"] == 0.9
