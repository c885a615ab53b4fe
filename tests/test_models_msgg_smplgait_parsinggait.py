"""MultiScaleGaitGraph (2-D pose), SMPLGait (silhouettes + SMPL) and ParsingGait (parsing maps).

State dicts equal OpenGait's listings for every config of the msgg, smplgait and parsinggait
families; each model trains on random inputs of its modality's shape (every trainable
parameter gets a gradient, the loss falls: gaitgen.runtime.testing's checks, with OpenGait's
loss_cfg of the family); whole test sequences joined with seqL get the embeddings each gets
alone. OpenGait's outputs for OpenGait's weights: test_parity.py.
"""

from __future__ import annotations

import copy
from pathlib import Path

import pytest
import torch
import yaml
from conftest import opengait_state_dict, state_dict_shapes
from gaitgen.runtime.components import get
from gaitgen.runtime.config import default_config, merge
from gaitgen.runtime.errors import ConfigError, TrainingError
from gaitgen.runtime.losses.aggregator import LossAggregator
from gaitgen.runtime.models.msgg import SpatialGraph
from gaitgen.runtime.models.parsinggait import L_Matrix
from gaitgen.runtime.testing import check_gradients, check_loss_falls

# OpenGait's model_cfg of each config of the three families (configs/<family>/<file>)
MSGG = {
    "model": "MultiScaleGaitGraph",
    "in_channels": [3, 16, 32, 64, 128],
    "out_channels": 128,
    "graph_cfg": {"layout": "body_12", "strategy": "gait_temporal"},
    "temporal_kernel_size": 9,
    "num_id": 5153,
}
SMPLGAIT = {
    "model": "SMPLGait",
    "backbone_cfg": {
        "type": "Plain",
        "in_channels": 1,
        "layers_cfg": ["BC-64", "BC-64", "M", "BC-128", "BC-128", "M", "BC-256", "BC-256"],
    },
    "SeparateFCs": {"in_channels": 256, "out_channels": 256, "parts_num": 31},
    "SeparateBNNecks": {"class_num": 3000, "in_channels": 256, "parts_num": 31},
    "bin_num": [16, 8, 4, 2, 1],
}
PARSINGGAIT = {
    "model": "ParsingGait",
    "backbone_cfg": {
        "type": "ResNet9",
        "block": "BasicBlock",
        "channels": [64, 128, 256, 512],
        "layers": [1, 1, 1, 1],
        "strides": [1, 2, 2, 1],
        "maxpool": False,
    },
    "SeparateFCs": {"in_channels": 512, "out_channels": 256, "parts_num": 21},
    "SeparateBNNecks": {"class_num": 3000, "in_channels": 256, "parts_num": 21},
    "bin_num": [16],
    "gcn_cfg": {
        "fine_parts": 11,
        "coarse_parts": 5,
        "only_fine_graph": False,
        "only_coarse_graph": True,
        "combine_fine_coarse_graph": False,
    },
}
OPENGAIT_CONFIGS = {
    "msgg/msgg_OUMVLP.yaml": MSGG,
    "msgg/msgg_SUSTech1K.yaml": MSGG,
    "smplgait/smplgait.yaml": SMPLGAIT,
    "smplgait/smplgait_gait3d_parsing.yaml": SMPLGAIT,
    "parsinggait/parsinggait_gait3d_parsing.yaml": PARSINGGAIT,
}
SHARED_CONFIGS = Path(__file__).resolve().parents[2] / "shared" / "opengait" / "configs"

TRIPLET = {"type": "TripletLoss", "margin": 0.2}
SOFTMAX = {"type": "CrossEntropyLoss", "scale": 16, "log_prefix": "softmax"}
LOSSES = {
    "MultiScaleGaitGraph": [
        {**TRIPLET, "loss_term_weight": 0.3, "log_prefix": "triplet_joints"},
        {**TRIPLET, "loss_term_weight": 0.2, "log_prefix": "triplet_limbs"},
        {**TRIPLET, "loss_term_weight": 0.1, "log_prefix": "triplet_bodyparts"},
        {**SOFTMAX, "scale": 1},
    ],
    "SMPLGait": [{**TRIPLET, "log_prefix": "triplet"}, {**SOFTMAX, "loss_term_weight": 0.1}],
    "ParsingGait": [{**TRIPLET, "log_prefix": "triplet"}, SOFTMAX],
}

# small configs of each model: 8 classes
SMALL = {
    "msgg": {**MSGG, "in_channels": [3, 8, 16], "out_channels": 16, "num_id": 8},
    "smplgait": {
        **SMPLGAIT,
        "backbone_cfg": {
            "type": "Plain",
            "in_channels": 1,
            "layers_cfg": ["BC-4", "M", "BC-8", "M", "BC-8"],
        },
        "SeparateFCs": {"in_channels": 8, "out_channels": 8, "parts_num": 31},
        "SeparateBNNecks": {"class_num": 8, "in_channels": 8, "parts_num": 31},
    },
}
for graph, parts in (("only_fine_graph", 11), ("only_coarse_graph", 5)):
    SMALL[f"parsinggait-{graph}"] = {
        **PARSINGGAIT,
        "backbone_cfg": {**PARSINGGAIT["backbone_cfg"], "channels": [4, 4, 8, 8]},
        "SeparateFCs": {"in_channels": 8, "out_channels": 8, "parts_num": 16 + parts},
        "SeparateBNNecks": {"class_num": 8, "in_channels": 8, "parts_num": 16 + parts},
        "gcn_cfg": {**PARSINGGAIT["gcn_cfg"], "only_coarse_graph": False, graph: True},
    }
SMALL["parsinggait-combine_fine_coarse_graph"] = {
    **SMALL["parsinggait-only_fine_graph"],
    "SeparateFCs": {"in_channels": 8, "out_channels": 8, "parts_num": 32},
    "SeparateBNNecks": {"class_num": 8, "in_channels": 8, "parts_num": 32},
    "gcn_cfg": {**PARSINGGAIT["gcn_cfg"], "only_coarse_graph": False},
}
SMALL["parsinggait-combine_fine_coarse_graph"]["gcn_cfg"]["combine_fine_coarse_graph"] = True


def build(model_cfg: dict, training: bool = False) -> torch.nn.Module:
    cfgs = merge(default_config(), {"model_cfg": copy.deepcopy(model_cfg)})
    return get("model", model_cfg["model"])(cfgs, is_training=training)


def modality_inputs(model: str, n: int, frames: int, generator: torch.Generator) -> list:
    """Random ``ipts`` of the model's modality: poses, silhouettes + SMPL, or parsing maps."""
    if model == "MultiScaleGaitGraph":
        return [torch.randn(n, frames, 12, 3, generator=generator)]  # x, y, score of body_12
    if model == "SMPLGait":
        sils = (torch.rand(n, frames, 64, 44, generator=generator) > 0.5).float()
        return [sils, torch.randn(n, frames, 85, generator=generator)]
    labels = torch.randint(0, 12, (n, frames, 64, 44), generator=generator)
    return [labels.float()]  # Gait3D-Parsing labels 0..11


def batch(model: str, labs: torch.Tensor, frames: int = 10, seed: int = 0) -> list:
    n = len(labs)
    ipts = modality_inputs(model, n, frames, torch.Generator().manual_seed(seed))
    return [ipts, labs, ["nm-01"] * n, ["090"] * n, None]


@pytest.mark.parametrize("config", sorted(OPENGAIT_CONFIGS))
def test_state_dict_equals_opengaits(config: str) -> None:
    model_cfg = OPENGAIT_CONFIGS[config]
    if SHARED_CONFIGS.is_dir():  # beside ../shared: the facts above are OpenGait's
        assert yaml.safe_load((SHARED_CONFIGS / config).read_text())["model_cfg"] == model_cfg
    with torch.device("meta"):
        model = build(model_cfg, training=True)
    assert state_dict_shapes(model) == opengait_state_dict(config)


@pytest.mark.parametrize("name", sorted(SMALL))
def test_every_parameter_learns_from_a_training_step(name: str) -> None:
    model_cfg = SMALL[name]
    torch.manual_seed(0)
    model = build(model_cfg, training=True)
    losses = LossAggregator(LOSSES[model_cfg["model"]])
    train_batch = batch(model_cfg["model"], torch.arange(4).repeat_interleave(2))
    output = model(train_batch)
    loss, _ = losses(output["training_feat"])
    assert torch.isfinite(loss)
    loss.backward()
    check_gradients(model)
    check_loss_falls(model, losses, train_batch)


@pytest.mark.parametrize("name", sorted(SMALL))
def test_sequences_joined_with_seqL_get_the_embeddings_they_get_alone(name: str) -> None:
    model_cfg = SMALL[name]
    torch.manual_seed(0)
    model = build(model_cfg).eval()
    lengths = (7, 12)
    joined = batch(model_cfg["model"], torch.arange(1), frames=sum(lengths), seed=3)
    joined[1], joined[2], joined[3] = torch.arange(2), ["nm-01"] * 2, ["090"] * 2
    joined[4] = torch.tensor([list(lengths)])
    with torch.no_grad():
        together = model(joined)["inference_feat"]["embeddings"]
        assert together.shape[0] == 2
        start = 0
        for index, length in enumerate(lengths):
            alone = [
                [x[:, start : start + length] for x in joined[0]],
                joined[1][index : index + 1],
            ]
            alone += [["nm-01"], ["090"], None]
            single = model(alone)["inference_feat"]["embeddings"]
            torch.testing.assert_close(together[index : index + 1], single, rtol=1e-4, atol=1e-5)
            start += length


def test_msgg_output_shapes_follow_the_config() -> None:
    model = build(SMALL["msgg"], training=True)
    out = model(batch("MultiScaleGaitGraph", torch.arange(3), frames=6))
    feat = out["training_feat"]
    assert feat["triplet_joints"]["embeddings"].shape == (3, 16, 1)
    assert feat["triplet_limbs"]["embeddings"].shape == (3, 16, 1)
    assert feat["triplet_bodyparts"]["embeddings"].shape == (3, 16, 1)
    assert feat["softmax"]["logits"].shape == (3, 8, 1)
    assert out["inference_feat"]["embeddings"] is feat["triplet_bodyparts"]["embeddings"]


def test_msgg_graph_levels_halve_the_nodes_and_normalise_each_column() -> None:
    graph = SpatialGraph(layout="body_12", strategy="gait_temporal")
    for level, nodes in enumerate((12, 6, 3)):
        A = graph.get_adjacency(level)
        assert A.shape == (3, nodes, nodes)
        # the three partitions add up to the column-normalised adjacency: columns sum to 1
        torch.testing.assert_close(A.sum((0, 1)), torch.ones(nodes, dtype=A.dtype))
        assert torch.equal(A[0], torch.diag(torch.diagonal(A[0])))  # root: self-links only
    with pytest.raises(ConfigError, match=r"graph_cfg\.strategy: unknown strategy 'spatail'"):
        SpatialGraph(strategy="spatail")


def test_parsinggait_adjacency_is_the_symmetric_normalisation_and_no_state() -> None:
    coarse = L_Matrix(((1, 1, 1), (1, 1, 0), (1, 0, 1)), 3)
    assert coarse[0, 1] == pytest.approx(1 / (3 * 2) ** 0.5) and coarse[1, 2] == 0
    model = build(SMALL["parsinggait-combine_fine_coarse_graph"])
    assert model.fine_adj_npy.shape == (11, 11) and model.coarse_adj_npy.shape == (5, 5)
    assert not any("adj" in key for key in model.state_dict())  # OpenGait keeps them out too
    assert model.to(torch.float64).coarse_adj_npy.dtype == torch.float64  # follows the model


def test_parsinggait_without_a_graph_is_one_error_naming_the_keys() -> None:
    model_cfg = copy.deepcopy(SMALL["parsinggait-only_coarse_graph"])
    model_cfg["gcn_cfg"]["only_coarse_graph"] = False
    with pytest.raises(ConfigError, match=r"model_cfg\.gcn_cfg: none of .*only_fine_graph"):
        build(model_cfg)


def test_smplgait_refuses_smpl_vectors_of_another_size() -> None:
    model = build(SMALL["smplgait"])
    wrong = batch("SMPLGait", torch.arange(2), frames=4)
    wrong[0][1] = wrong[0][1][..., :72]
    with pytest.raises(TrainingError, match=r"ipts\[1\] must hold 85 SMPL numbers .*\[2, 4, 72\]"):
        model(wrong)
