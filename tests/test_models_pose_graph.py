"""The pose-graph models (GaitGraph1, GaitGraph2, GaitTR) and their blocks: OpenGait's state dicts
for all 18 of its configs, the skeleton graph's adjacency, GaitGraph2's input features against a
loop reference, and a training step through each model (OpenGait's outputs for its weights:
test_parity.py)."""

from __future__ import annotations

import math

import numpy as np
import pytest
import torch
from conftest import opengait_listing, state_dict_shapes
from gaitgen.runtime.config import default_config, merge
from gaitgen.runtime.errors import ConfigError, DataError
from gaitgen.runtime.losses.aggregator import LossAggregator
from gaitgen.runtime.models.gaitgraph1 import GaitGraph1
from gaitgen.runtime.models.gaitgraph2 import GaitGraph2, multi_input
from gaitgen.runtime.models.gaittr import GaitTR
from gaitgen.runtime.modules import Graph, ResGCN
from gaitgen.runtime.testing import check_gradients, check_loss_falls

CONFIGS = [
    *(
        f"gaitgraph1/gaitgraph1_phase1{suffix}.yaml"
        for suffix in ("", "_GREW", "_Gait3D", "_OUMVLP", "_OUMVLP17")
    ),
    *(
        f"gaitgraph2/gaitgraph2{suffix}.yaml"
        for suffix in ("", "_CCPG", "_GREW", "_Gait3D", "_OUMVLP", "_OUMVLP17", "_SUSTech1K")
    ),
    *(
        f"gaittr/gaittr_{name}.yaml"
        for name in ("CCPG", "GREW", "Gait3D", "OUMVLP", "OUMVLP17", "SUSTech1K")
    ),
]
MODELS = {"GaitGraph1": GaitGraph1, "GaitGraph2": GaitGraph2, "GaitTR": GaitTR}


def build(model_cfg: dict, training: bool = False) -> torch.nn.Module:
    cfgs = merge(default_config(), {"model_cfg": dict(model_cfg)})
    return MODELS[model_cfg["model"]](cfgs, is_training=training)


@pytest.mark.parametrize("config", CONFIGS)
def test_every_opengait_config_builds_opengaits_state_dict(config: str) -> None:
    listing = opengait_listing(config)
    model = build(listing["model_cfg"])
    assert type(model).__name__ == listing["model"]
    assert state_dict_shapes(model) == listing["state_dict"]
    assert sum(p.numel() for p in model.parameters()) == listing["params"]


# --- the skeleton graph -------------------------------------------------------------------


def test_graph_adjacency_by_hand() -> None:
    graph = Graph("coco", max_hop=1)
    a = graph.A
    assert a.shape == (2, 17, 17)
    # left shoulder (5): itself, left ear (3), right shoulder (6), left elbow (7), left hip (11)
    assert a[0, 5, 5] == pytest.approx(1 / 5)
    assert a[1, 7, 5] == pytest.approx(1 / 5)  # column j is divided by joint j's degree
    assert a[1, 5, 7] == pytest.approx(1 / 3)  # left elbow: itself, shoulder, wrist
    assert a[1, 5, 9] == 0  # shoulder - wrist is two bones
    np.testing.assert_allclose(a.sum(axis=(0, 1)), np.ones(17))


def test_graph_hops_and_dilation() -> None:
    far = Graph("coco", max_hop=3).A
    assert far.shape == (4, 17, 17)
    assert far[2, 0, 3] > 0 and far[1, 0, 3] == 0 and far[3, 0, 3] == 0  # nose - eye - ear
    assert far[:, 0, 16].sum() == 0  # nose to ankle: more than 3 bones
    np.testing.assert_allclose(far.sum(axis=(0, 1)), np.ones(17))
    dilated = Graph("coco", max_hop=2, dilation=2).A
    assert dilated.shape == (2, 17, 17) and dilated[1, 0, 3] > 0 and dilated[:, 0, 1].sum() == 0


def test_graph_layouts() -> None:
    np.testing.assert_array_equal(Graph("alphapose").A, Graph("openpose").A)
    openpose = Graph("openpose")
    assert openpose.num_node == 18 and openpose.center == 1  # the neck
    no_head = Graph("coco-no-head")
    assert no_head.A.shape == (3, 12, 12)
    for layout in ("coco", "coco-no-head", "openpose"):
        flip = Graph(layout).flip_idx
        assert sorted(flip) == list(range(len(flip))) and [flip[i] for i in flip] == sorted(flip)


def test_unknown_joint_format_is_one_clear_error() -> None:
    with pytest.raises(ConfigError, match="'coco18'.*coco, coco-no-head, alphapose, openpose"):
        Graph("coco18")


def test_gaittr_channels_its_attention_cannot_split_are_one_clear_error() -> None:
    cfg = {"model": "GaitTR", "in_channels": [10, 32, 48], "num_class": 16, "joint_format": "coco"}
    with pytest.raises(ConfigError, match=r"model_cfg.in_channels: \[10, 32, 48\].*multiple of 32"):
        build(cfg)


# --- GaitGraph2's input features ------------------------------------------------------------


def reference_multi_input(pose: torch.Tensor, connect: list[int], center: int) -> torch.Tensor:
    """GaitGraph2's joints/velocity/bones features, one number at a time."""
    frames, joints, _ = pose.shape
    out = torch.zeros(frames, joints, 3, 5, dtype=pose.dtype)
    for t in range(frames):
        for v in range(joints):
            x, y, conf = pose[t, v].tolist()
            out[t, v, 0] = torch.tensor(
                [x, y, conf, x - pose[t, center, 0], y - pose[t, center, 1]]
            )
            if t < frames - 2:
                step = pose[t + 1, v, :2] - pose[t, v, :2]
                out[t, v, 1, :2] = step
                out[t, v, 1, 4] = pose[t + 2, v, 1] - pose[t, v, 1]
            out[t, v, 1, 3] = conf
            bx = x - pose[t, connect[v], 0].item()
            by = y - pose[t, connect[v], 1].item()
            length = math.sqrt(bx * bx + by * by) + 0.0001
            out[t, v, 2] = torch.tensor([bx, by, 0.0, conf, math.acos(by / length)])
    return out


def test_multi_input_matches_a_loop_reference() -> None:
    graph = Graph("coco")
    pose = torch.rand(2, 5, 17, 3, dtype=torch.float64)
    got = multi_input(pose, graph.connect_joint.tolist(), graph.center)
    assert got.shape == (2, 5, 17, 3, 5)
    for n in range(2):
        expected = reference_multi_input(pose[n], graph.connect_joint.tolist(), graph.center)
        torch.testing.assert_close(got[n], expected)


# --- shapes and a training step -------------------------------------------------------------

SMALL = {
    "GaitGraph1": {
        "model": "GaitGraph1",
        "joint_format": "coco",
        "input_num": 1,
        "reduction": 4,
        "block": "Bottleneck",
        "input_branch": [3, 16, 8],
        "main_stream": [8, 16, 32],
        "num_class": 16,
        "tta": True,
    },
    "GaitGraph2": {
        "model": "GaitGraph2",
        "joint_format": "alphapose",
        "input_num": 3,
        "reduction": 4,
        "block": "Basic",
        "input_branch": [5, 16, 8],
        "main_stream": [8, 16, 32],
        "num_class": 16,
        "tta": True,
    },
    "GaitTR": {
        "model": "GaitTR",
        "in_channels": [10, 32, 32, 64],
        "num_class": 16,
        "joint_format": "coco",
    },
}
LOSSES = {
    "GaitGraph1": {"type": "SupConLoss_Re", "temperature": 0.1, "log_prefix": "SupConLoss"},
    "GaitGraph2": {"type": "SupConLoss_Lp", "temperature": 0.1, "log_prefix": "SupConLoss"},
    "GaitTR": {"type": "TripletLoss", "margin": 0.3, "log_prefix": "triplet"},
}


def pose_batch(name: str, n: int = 4, frames: int = 12) -> list:
    """Random poses in each model's input layout (the loader's, after its transforms)."""
    generator = torch.Generator().manual_seed(0)
    joints = Graph(SMALL[name]["joint_format"]).num_node
    shape = {
        "GaitGraph1": (n, 3, frames, joints, 1),  # [n, C, T, V, I]
        "GaitGraph2": (n, frames, joints, 3, 5),  # [n, T, V, I, C]
        "GaitTR": (n, frames, 10, joints, 1),  # [n, T, C, V, M]
    }[name]
    labels = torch.arange(n) // 2
    return [[torch.rand(*shape, generator=generator)], labels, ["nm-01"] * n, ["090"] * n, None]


@pytest.mark.parametrize("name", sorted(SMALL))
def test_training_step_reaches_every_parameter_and_lowers_the_loss(name: str) -> None:
    torch.manual_seed(0)
    model = build(SMALL[name], training=True)
    losses = LossAggregator([LOSSES[name]])
    batch = pose_batch(name)
    loss, info = losses(model(batch)["training_feat"])
    assert torch.isfinite(loss) and loss > 0, info
    loss.backward()
    check_gradients(model)
    check_loss_falls(model, losses, batch)


@pytest.mark.parametrize("name", sorted(SMALL))
def test_eval_embeddings_are_one_per_sequence(name: str) -> None:
    model = build(SMALL[name]).eval()
    with torch.no_grad():
        embeddings = model(pose_batch(name, n=3))["inference_feat"]["embeddings"]
    # GaitGraph2 joins the embeddings of the sequence, reversed and mirrored (tta)
    channels = 3 * 16 if name == "GaitGraph2" else 16
    assert embeddings.shape == (3, channels, 1) and torch.isfinite(embeddings).all()


def test_gaitgraph1_without_tta_and_its_training_views() -> None:
    model = build({**SMALL["GaitGraph1"], "tta": False}).eval()
    batch = pose_batch("GaitGraph1", n=3)
    with torch.no_grad():
        embeddings = model(batch)["inference_feat"]["embeddings"]
        assert embeddings.shape == (3, 16, 1)
        torch.testing.assert_close(embeddings.norm(dim=1), torch.ones(3, 1))  # L2-normalised
        model.train()
        features = model(batch)["training_feat"]["SupConLoss"]["features"]
    assert features.shape == (3, 2, 16)  # the two halves of each sequence


def test_resgcn_keeps_its_graph_out_of_the_state_dict_and_follows_the_model() -> None:
    backbone = ResGCN()  # OpenGait's gaitgraph2.yaml
    keys = backbone.state_dict()
    assert "graph" not in keys and "head.0.A" in keys  # as OpenGait's
    backbone = backbone.double().eval()
    with torch.no_grad():
        out = backbone(torch.rand(2, 3, 5, 12, 17, dtype=torch.float64))
    assert out.shape == (2, 128) and out.dtype == torch.float64


def test_unknown_block_is_one_clear_error() -> None:
    with pytest.raises(ConfigError, match="'Bottle'.*initial, Basic, Bottleneck"):
        build({**SMALL["GaitGraph1"], "block": "Bottle"})


@pytest.mark.parametrize("name", sorted(SMALL))
def test_poses_of_another_layout_are_one_clear_error(name: str) -> None:
    model = build(SMALL[name]).eval()
    batch = pose_batch(name, n=2)
    joints = -3 if name == "GaitGraph2" else -2  # the V axis
    wrong = torch.cat([batch[0][0], batch[0][0]], dim=joints)  # twice the joints
    with pytest.raises(DataError, match=f"{name} takes poses .*V=.*got a batch of shape"):
        model([[wrong], *batch[1:]])
