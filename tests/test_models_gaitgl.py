"""GaitGL: OpenGait's state dicts for its five configs, forward shapes, any test batch size,
variable lengths equal to one sequence at a time, and a whole test batch at once giving
OpenGait's embedding (OpenGait's outputs for its weights: test_parity.py)."""

from __future__ import annotations

from pathlib import Path

import pytest
import torch
import yaml
from conftest import opengait_state_dict, parity_fixture, state_dict_shapes
from gaitgen.runtime.config import default_config, merge
from gaitgen.runtime.errors import ConfigError, DataError
from gaitgen.runtime.models.gaitgl import GaitGL
from gaitgen.runtime.modules.gaitgl_layers import GLConv
from gaitgen.runtime.modules.pooling import GeMHPP

ZOO = Path(__file__).resolve().parents[1] / "runtime" / "zoo"

# model_cfg and dataset of the two OpenGait configs without a zoo file of their own
GREW = {"model": "GaitGL", "channels": [32, 64, 128, 256], "class_num": 20000}
GAIT3D_PARSING = {"model": "GaitGL", "channels": [32, 64, 128], "class_num": 3000}


def _zoo(name: str) -> tuple[dict, str]:
    raw = yaml.safe_load((ZOO / name).read_text())
    return raw["model_cfg"], raw["data_cfg"]["dataset_name"]


def _build(model_cfg: dict, dataset: str = "CASIA-B", training: bool = False) -> GaitGL:
    overrides = {"model_cfg": dict(model_cfg), "data_cfg": {"dataset_name": dataset}}
    return GaitGL(merge(default_config(), overrides), is_training=training)


def _inputs(sils: torch.Tensor, seqL: torch.Tensor | None = None, n: int | None = None) -> list:
    n = sils.size(0) if n is None else n
    return [[sils], torch.arange(n) % 3, ["nm-01"] * n, ["090"] * n, seqL]


SMALL = {"model": "GaitGL", "channels": [4, 8, 8], "class_num": 5}
SMALL_DEEP = {"model": "GaitGL", "channels": [4, 4, 8, 8], "class_num": 5}
SMALL_BNNECK = {
    **SMALL_DEEP,
    "SeparateBNNecks": {"class_num": 5, "in_channels": 8, "parts_num": 64},
}


@pytest.mark.parametrize(
    "config, source",
    [
        ("gaitgl/gaitgl.yaml", "gaitgl_casiab.yaml"),
        ("gaitgl/gaitgl_OUMVLP.yaml", "gaitgl_oumvlp.yaml"),
        ("gaitgl/gaitgl_GREW_BNNeck.yaml", "gaitgl_grew_bnneck.yaml"),
        ("gaitgl/gaitgl_GREW.yaml", (GREW, "GREW")),
        ("gaitgl/gaitgl_gait3d_parsing.yaml", (GAIT3D_PARSING, "Gait3D-Parsing")),
    ],
)
def test_state_dict_equals_opengaits(config: str, source) -> None:
    model_cfg, dataset = _zoo(source) if isinstance(source, str) else source
    with torch.device("meta"):  # shapes only: the GREW heads hold 328 M weights
        model = _build(model_cfg, dataset, training=True)
    assert state_dict_shapes(model) == opengait_state_dict(config)


@pytest.mark.parametrize("model_cfg", [SMALL, SMALL_DEEP, SMALL_BNNECK])
@pytest.mark.parametrize("training", [True, False])
def test_forward_shapes(model_cfg: dict, training: bool) -> None:
    model = _build(model_cfg, training=training)
    torch.manual_seed(0)
    out = model(_inputs(torch.rand(3, 7, 64, 44)))
    assert set(out) == {"training_feat", "visual_summary", "inference_feat"}
    assert out["inference_feat"]["embeddings"].shape == (3, 8, 64)
    assert out["training_feat"]["triplet"]["embeddings"].shape == (3, 8, 64)
    assert out["training_feat"]["softmax"]["logits"].shape == (3, 5, 64)
    assert out["visual_summary"]["image/sils"].shape == (3 * 7, 1, 64, 44)


def test_bnneck_head_feeds_triplet_the_features_before_the_neck() -> None:
    model = _build(SMALL_BNNECK)
    assert not model.Bn_head and not hasattr(model, "Head1")
    out = model(_inputs(torch.rand(2, 6, 64, 44)))
    embed = out["training_feat"]["triplet"]["embeddings"]
    # the neck's output is L2-normalised per part; the triplet embedding (Head0's) is not
    assert torch.allclose(out["inference_feat"]["embeddings"].norm(dim=1), torch.ones(2, 64))
    assert not torch.allclose(embed.norm(dim=1), torch.ones(2, 64))


@pytest.mark.parametrize("model_cfg", [SMALL, SMALL_DEEP])
def test_joined_sequences_give_each_one_alone(model_cfg: dict) -> None:
    """seqL batches (lengths 1, 2, 5, 6, 5: tiled, not multiples of 3, repeated) == one at a time."""
    model = _build(model_cfg)
    torch.manual_seed(1)
    lengths = [1, 2, 5, 6, 5]
    joined = torch.rand(1, sum(lengths), 64, 44)
    with torch.no_grad():
        out = model(_inputs(joined, torch.tensor([lengths]), n=len(lengths)))
        alone = [
            model(_inputs(part))["inference_feat"]["embeddings"]
            for part in joined.split(lengths, 1)
        ]
    got = out["inference_feat"]["embeddings"]
    assert got.shape == (len(lengths), 8, 64)
    torch.testing.assert_close(got, torch.cat(alone), atol=1e-5, rtol=1e-5)
    assert out["visual_summary"]["image/sils"].shape[0] == 3 + 4 + 5 + 6 + 5


def test_test_batch_of_many_sequences_gives_each_one_alone() -> None:
    model = _build(SMALL)
    torch.manual_seed(2)
    sils = torch.rand(4, 9, 64, 44)
    with torch.no_grad():
        batch = model(_inputs(sils))["inference_feat"]["embeddings"]
        alone = [model(_inputs(sils[i : i + 1]))["inference_feat"]["embeddings"] for i in range(4)]
    torch.testing.assert_close(batch, torch.cat(alone), atol=1e-5, rtol=1e-5)


def test_frames_of_a_joined_batch_do_not_leak_across_sequences() -> None:
    """Changing the second sequence leaves the first one's embedding as it was."""
    model = _build(SMALL)
    torch.manual_seed(3)
    joined = torch.rand(1, 12, 64, 44)
    seqL = torch.tensor([[6, 6]])
    with torch.no_grad():
        before = model(_inputs(joined, seqL, n=2))["inference_feat"]["embeddings"]
        joined[:, 6:] = torch.rand(1, 6, 64, 44)
        after = model(_inputs(joined, seqL, n=2))["inference_feat"]["embeddings"]
    torch.testing.assert_close(before[0], after[0])
    assert not torch.allclose(before[1], after[1])


def test_bad_configs_and_inputs_are_named() -> None:
    with pytest.raises(ConfigError, match="model_cfg.channels"):
        _build({"model": "GaitGL", "channels": [32, 64], "class_num": 5})
    with pytest.raises(ConfigError, match="OUMVLP"):
        _build({"model": "GaitGL", "channels": [32, 64, 128], "class_num": 5}, "OUMVLP")
    with pytest.raises(ConfigError, match="class_num"):
        _build({"model": "GaitGL", "channels": [4, 8, 8]})
    model = _build(SMALL)
    with pytest.raises(DataError, match=r"\[n, s, h, w\]"):
        model(_inputs(torch.rand(2, 6, 3, 64, 44)))
    with pytest.raises(DataError, match="64 equal bins"):
        model(_inputs(torch.rand(2, 6, 32, 22)))


def test_glconv_local_branch_convolves_each_strip_alone() -> None:
    torch.manual_seed(4)
    layer = GLConv(2, 3, halving=2)
    for height in (16, 18):  # equal strips (folded into the batch) and a shorter last one
        x = torch.rand(2, 2, 5, height, 6)
        strips = x.split(height // 4, 3)
        local = torch.cat([layer.local_conv3d(s) for s in strips], 3)
        want = torch.nn.functional.leaky_relu(layer.global_conv3d(x))
        want = want + torch.nn.functional.leaky_relu(local)
        torch.testing.assert_close(layer(x), want)
    joined = GLConv(2, 3, halving=1, fm_sign=True)(torch.rand(1, 2, 3, 8, 4))
    assert joined.shape == (1, 3, 3, 16, 4)  # global and local stacked along the height


def test_gemhpp_moves_between_mean_and_max() -> None:
    torch.manual_seed(5)
    x = torch.rand(2, 3, 4, 6) + 0.1
    mean = GeMHPP(bin_num=[4, 1], p=1.0)(x)
    want = torch.cat([x.mean(-1), x.reshape(2, 3, 1, -1).mean(-1)], -1)
    torch.testing.assert_close(mean, want)
    high = GeMHPP(bin_num=[4], p=200.0)(x)
    torch.testing.assert_close(high, x.amax(-1), atol=0.02, rtol=0.02)
    assert [name for name, _ in GeMHPP().named_parameters()] == ["p"]


def test_a_whole_eval_batch_gives_opengaits_embedding_of_its_first_sequence() -> None:
    """OpenGait's GaitGL takes one sequence at a time at test time; gaitgen's takes a batch,
    and its first sequence's embedding is OpenGait's (the rest: test_parity.py)."""
    record = parity_fixture("GaitGL")
    model = GaitGL(merge(default_config(), {"model_cfg": dict(record["model_cfg"])}), False)
    model.load_state_dict(record["state_dict"], strict=True)
    ipts, labs = record["inputs"]["ipts"], record["inputs"]["labs"]
    assert len(labs) > 1
    with torch.no_grad():
        whole = model(
            ([x.clone() for x in ipts], labs, ["nm-01"] * len(labs), ["090"] * len(labs), None)
        )
    want = record["outputs"]["eval"]["inference_feat/embeddings"]
    assert want.shape[0] == 1
    torch.testing.assert_close(
        whole["inference_feat"]["embeddings"][:1], want, atol=1e-4, rtol=1e-4
    )
