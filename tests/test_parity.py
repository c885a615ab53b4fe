"""The zoo equals OpenGait: given OpenGait's weights, each model gives OpenGait's outputs.

The fixtures are in this repository (tests/fixtures/opengait/parity, a few hundred kB each;
MultiScaleGaitGraph's 5.6 MB, its weights being most of it): recorded from OpenGait's own
networks (commit 0efafd4, CPU) for small configs, then shrunk by
tests/fixtures/opengait/make_parity_fixtures.py. So these tests run in every clone and never
skip. Each model is built from the fixture's model_cfg, loads OpenGait's state_dict strictly,
and every output is compared in eval and in train mode (BatchNorm on the batch statistics)
at atol/rtol 1e-4, fed as ../shared/parity/check_parity.py feeds it: the recorded types, views
and seqL, the first ``eval_n`` sequences in eval mode, ``torch.manual_seed(forward_seed)``
right before every forward (dropout must draw as OpenGait's does), and ``train_inputs``
(GaitSSB_Pretrain's two-view batch) to the train forward where recorded.
"""

from __future__ import annotations

import pytest
import torch
from conftest import PARITY_FIXTURES, parity_fixture
from gaitgen.runtime.components import get
from gaitgen.runtime.config import default_config, merge
from gaitgen.runtime.zoo import MODELS

STEMS = sorted(path.name.removesuffix(".pt.xz") for path in PARITY_FIXTURES.glob("*.pt.xz"))
# <Name>-pretreat: OpenGait's inputs_pretreament on raw batches (test_pretreatment_...)
PRETREAT = [name for name in STEMS if name.endswith("-pretreat")]
NAMES = [name for name in STEMS if name not in PRETREAT]
# zoo models OpenGait's recording has no small fixture of (SwinGait's needs its pretrained
# DeepGaitV2 layers and a fixture nobody recorded yet)
# no OpenGait fixture recorded (FoundationGait's were checked against OpenGait's code outside
# the repository when they were written)
NOT_RECORDED = {
    "SwinGait",
    "FoundationGait_Scaling",
    "FoundationGait_Scaling_Finetune",
    "FoundationGait_Scaling_LinearProbing_Scoliosis1K",
}


def build(model_cfg: dict, **sections: dict) -> torch.nn.Module:
    """The gaitgen model ``model_cfg["model"]`` names, as OpenGait builds it for testing."""
    cfgs = merge(default_config(), {"model_cfg": dict(model_cfg), **sections})
    return get("model", model_cfg["model"])(cfgs, is_training=False)


def output_at(output: dict, key: str) -> torch.Tensor:
    """``output["training_feat"]["triplet"]["embeddings"]`` for ``"training_feat/triplet/embeddings"``."""
    for part in key.split("/"):
        output = output[part]
    return output


def test_every_zoo_model_is_compared_from_files_in_the_repository() -> None:
    compared = {parity_fixture(name)["model_cfg"]["model"] for name in NAMES}
    assert set(MODELS) - NOT_RECORDED <= compared
    for model in compared - set(MODELS):  # recorded, no zoo config yet: still a built-in
        assert get("model", model).__module__.startswith("gaitgen.runtime.models."), model
    assert {"GaitBase", "DeepGaitV2-2d", "DeepGaitV2-p3d", "DeepGaitV2-3d"} <= set(NAMES)


@pytest.mark.parametrize("name", NAMES)
def test_zoo_model_gives_opengaits_outputs(name: str) -> None:
    record = parity_fixture(name)
    model = build(record["model_cfg"])
    model.load_state_dict(record["state_dict"], strict=True)
    inputs = record["inputs"]
    ipts, labs = inputs["ipts"], inputs["labs"]
    typs = list(inputs.get("typs") or ["nm-01"] * len(labs))
    viws = list(inputs.get("viws") or ["090"] * len(labs))
    assert list(record["outputs"]) == ["eval", "train"]  # eval first: train moves BN's stats
    for mode, expected in record["outputs"].items():
        model.train(mode == "train")
        if "eval_n" in record:
            n = record["eval_n"] if mode == "eval" else len(labs)
        else:  # GaitGL eval: OpenGait's first sequence
            n = next(iter(expected.values())).shape[0]
        if "forward_seed" in record:
            torch.manual_seed(record["forward_seed"])
        with torch.no_grad():
            batch = [x[:n].clone() for x in ipts], labs[:n], typs[:n], viws[:n], inputs.get("seqL")
            if mode == "train" and "train_inputs" in record:  # two views (GaitSSB_Pretrain)
                two = record["train_inputs"]
                views = tuple([x.clone() for x in view] for view in two["ipts"])
                batch = views, two["labs"], two["typs"], two["viws"], tuple(two["seqL"])
            got = model(batch)
        for key, want in expected.items():
            have = output_at(got, key)
            assert have.shape == want.shape, f"{name} [{mode}] {key}"
            torch.testing.assert_close(
                have.float(), want.float(), atol=1e-4, rtol=1e-4, msg=f"{name} [{mode}] {key}"
            )


def outputs_match(got: dict, expected: dict, where: str) -> None:
    for key, want in expected.items():
        have = output_at(got, key)
        assert have.shape == want.shape, f"{where} {key}"
        torch.testing.assert_close(
            have.float(), want.float(), atol=1e-4, rtol=1e-4, msg=f"{where} {key}"
        )


@pytest.mark.parametrize("name", PRETREAT)
def test_pretreatment_gives_opengaits_inputs_and_outputs(name: str) -> None:
    """The model's inputs_pretreament on OpenGait's raw batches (numpy, as its collate makes
    them) gives OpenGait's pretreated batch, and forward on it OpenGait's outputs."""
    record = parity_fixture(name)
    weights = record["weights"]  # those of <Name>.pt, rounded as OpenGait ran them
    source = parity_fixture(weights["from"])["state_dict"]
    dtype = getattr(torch, weights["dtype"])
    state = {k: (v.to(dtype).float() if v.is_floating_point() else v) for k, v in source.items()}
    transform = [{"type": "BaseSilCuttingTransform"}]  # skeletongait++_GREW.yaml's evaluator's
    assert repr(transform) in record["notes"]
    model = build(record["model_cfg"], evaluator_cfg={"transform": transform})
    model.load_state_dict(state, strict=True)
    model.eval()
    assert set(record["pretreatment"]) == {"fixed", "all_ordered", "fixed_sil44"}
    for kind, batch in record["pretreatment"].items():
        raw = batch["raw"]
        seqs = [[a.numpy().copy() for a in modality] for modality in raw["seqs"]]
        seq_l = None if raw["seqL"] is None else raw["seqL"].numpy().copy()
        inputs = [seqs, list(raw["labs"]), list(raw["typs"]), list(raw["viws"]), seq_l]
        ipts, labs, typs, viws, seq_l = model.inputs_pretreament(inputs)
        want = batch["pretreated"]
        assert len(ipts) == len(want["ipts"]) == 1, kind
        torch.testing.assert_close(ipts[0], want["ipts"][0], atol=1e-6, rtol=0, msg=kind)
        assert torch.equal(labs, want["labs"].long()), kind
        assert (seq_l is None) == (want["seqL"] is None), kind
        if seq_l is not None:
            assert torch.equal(seq_l, want["seqL"].long()), kind
        assert (typs, viws) == (list(raw["typs"]), list(raw["viws"])), kind
        torch.manual_seed(record["forward_seed"])
        with torch.no_grad():
            got = model([ipts, labs, typs, viws, seq_l])
        outputs_match(got, batch["outputs"]["eval"], f"{name} [{kind}]")
