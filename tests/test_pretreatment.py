"""OpenGait's ``inputs_pretreament`` hook: honoured when a model overrides it, refused when a
near-miss would be silently ignored; SkeletonGaitPP trains (every parameter gets a gradient)."""

from __future__ import annotations

import ast
from pathlib import Path

import numpy as np
import pytest
import torch
import yaml
from conftest import make_project, small_config
from gaitgen.runtime import BaseModel
from gaitgen.runtime.config import default_config, merge
from gaitgen.runtime.data import build_loader
from gaitgen.runtime.data.batch import RawSequences, finish_inputs
from gaitgen.runtime.errors import TrainingError
from gaitgen.runtime.losses.aggregator import LossAggregator
from gaitgen.runtime.model import overrides_pretreatment
from gaitgen.runtime.models.baseline import Baseline
from gaitgen.runtime.models.skeletongait_pp import SkeletonGaitPP
from gaitgen.runtime.testing import check_gradients
from typer.testing import CliRunner

from gaitgen.cli.app import app

# A model whose override changes its input visibly: each silhouette sequence [T, H, W]
# becomes [T, 2, H, W] (the silhouette and its negative), so forward fails unless the override
# ran; every call is logged (phase and raw shapes) beside the project.
JOINED_MODEL = """
from pathlib import Path

import numpy as np
import torch
from torch import nn

from gaitgen.runtime import BaseModel
from gaitgen.runtime.modules import (
    HorizontalPoolingPyramid, PackSequenceWrapper, SeparateBNNecks, SeparateFCs, SetBlockWrapper,
)

LOG = Path(__file__).resolve().parents[2] / "pretreatment.log"


class Joined(BaseModel):
    def build_network(self, model_cfg):
        self.conv = SetBlockWrapper(nn.Sequential(nn.Conv2d(2, 8, 3, padding=1), nn.ReLU()))
        self.TP = PackSequenceWrapper(torch.max)
        self.HPP = HorizontalPoolingPyramid([16])
        self.FCs = SeparateFCs(16, 8, 8)
        self.BNNecks = SeparateBNNecks(16, 8, class_num=model_cfg["SeparateBNNecks"]["class_num"])

    def inputs_pretreament(self, inputs):
        seqs, labs, typs, viws, seqL = inputs
        phase = "train" if self.training else "eval"
        with LOG.open("a") as log:
            shapes = [list(np.asarray(s).shape) for s in seqs[0]]
            log.write(f"{phase} {type(labs).__name__} {seqL is not None} {shapes}\\n")
        joined = [np.stack([s, 255 - s], axis=1) for s in seqs[0]]
        return super().inputs_pretreament([[joined], labs, typs, viws, seqL])

    def forward(self, inputs):
        ipts, labs, _, _, seqL = inputs
        x = ipts[0]  # [n, s, 2, h, w]
        if x.dim() != 5 or x.shape[2] != 2 or not torch.allclose(x.sum(2), torch.ones(())):
            raise RuntimeError(f"inputs_pretreament was not applied: {list(x.shape)}")
        feat = self.HPP(self.TP(self.conv(x.transpose(1, 2)), seqL, options={"dim": 2})[0])
        embed = self.FCs(feat)
        _, logits = self.BNNecks(embed)
        return {
            "training_feat": {
                "triplet": {"embeddings": embed, "labels": labs},
                "softmax": {"logits": logits, "labels": labs},
            },
            "visual_summary": {},
            "inference_feat": {"embeddings": embed},
        }
"""


def test_an_override_is_called_in_training_and_testing(tmp_path: Path, tiny_dataset) -> None:
    root = make_project(tmp_path / "proj")
    (root / "mygait" / "models" / "joined.py").write_text(JOINED_MODEL)
    config = root / "configs" / "joined.yaml"
    text = small_config(*tiny_dataset, model="Joined", total_iter=3)
    config.write_text(text.replace("num_workers: 0", "num_workers: 1"))  # raw batches cross

    trained = CliRunner().invoke(app, ["train", str(config)])
    assert trained.exit_code == 0, trained.output
    tested = CliRunner().invoke(app, ["test", str(config)])
    assert tested.exit_code == 0, tested.output

    calls = (root / "pretreatment.log").read_text().splitlines()
    train = [line for line in calls if line.startswith("train ")]
    evals = [line for line in calls if line.startswith("eval ")]
    # OpenGait's raw batch: labs a list; fixed batches one array per sequence (2 x 2, 8 frames)
    assert train == ["train list False " + str([[8, 64, 64]] * 4)] * 3
    assert evals and all(line.startswith("eval list True [[") for line in evals)
    frames = sum(ast.literal_eval(line.split(" ", 3)[3])[0][0] for line in evals)
    cfgs = merge(default_config(), yaml.safe_load(text))
    assert frames == 12 * len(build_loader(cfgs, training=False).dataset)  # the whole test set


def test_default_pretreatment_is_the_loaders_transform(tiny_dataset) -> None:
    """Baseline keeps the default: it gives what the loader's workers give for the same batch."""
    root, partition = tiny_dataset
    cfgs = merge(default_config(), yaml.safe_load(small_config(root, partition)))
    assert not overrides_pretreatment(Baseline) and overrides_pretreatment(SkeletonGaitPP)
    model = Baseline(cfgs, is_training=False)
    done = next(iter(build_loader(cfgs, training=False)))
    raw = next(iter(build_loader(cfgs, training=False, raw_batches=True)))
    assert isinstance(raw[0], RawSequences) and isinstance(raw[1], list)
    seqs = raw[0].numpy()
    assert len(seqs) == 1 and len(seqs[0]) == 1 and seqs[0][0].dtype == np.uint8  # joined
    assert raw[4].tolist() == done[4].tolist()
    ipts, labs, typs, viws, seq_l = model.inputs_pretreament([seqs, *raw[1:]])
    torch.testing.assert_close(ipts[0], finish_inputs(done[0])[0], atol=0, rtol=0)
    assert torch.equal(labs, done[1]) and torch.equal(seq_l, done[4])
    assert (typs, viws) == (done[2], done[3])


def _cfgs() -> dict:
    return merge(default_config(), {"model_cfg": {"model": "x", "SeparateBNNecks": {}}})


def test_a_misspelt_override_is_refused_in_one_line() -> None:
    class Spelt(BaseModel):
        def build_network(self, model_cfg):
            self.layer = torch.nn.Linear(1, 1)

        def inputs_pretreatment(self, inputs):
            return inputs

    with pytest.raises(TrainingError) as error:
        Spelt(_cfgs(), is_training=True)
    assert str(error.value) == (
        "Spelt defines inputs_pretreatment, which nothing calls: the runtime calls OpenGait's "
        "spelling inputs_pretreament(self, inputs); rename it to inputs_pretreament"
    )

    class NoArgument(Spelt):
        def inputs_pretreament(self):
            return None

    with pytest.raises(TrainingError, match=r"must take the raw batch as its one argument"):
        NoArgument(_cfgs(), is_training=True)


def _skeleton_batch(n: int = 4, frames: int = 6) -> list:
    generator = torch.Generator().manual_seed(0)
    joined = torch.rand(n, frames, 3, 64, 44, generator=generator)  # [n, s, maps+sil, h, w]
    labs = torch.arange(n // 2).repeat_interleave(2)
    return [[joined], labs, ["nm-01"] * n, ["090"] * n, None]


def test_skeletongait_pp_gives_every_parameter_a_gradient() -> None:
    model_cfg = {
        "model": "SkeletonGaitPP",
        "Backbone": {"in_channels": 3, "blocks": [1, 2, 1, 1], "C": 1},
        "SeparateBNNecks": {"class_num": 2},
    }
    torch.manual_seed(0)
    model = SkeletonGaitPP(merge(default_config(), {"model_cfg": model_cfg}), is_training=True)
    losses = LossAggregator(
        [
            {"type": "TripletLoss", "margin": 0.2, "log_prefix": "triplet"},
            {"type": "CrossEntropyLoss", "scale": 16, "log_prefix": "softmax"},
        ]
    )
    batch = _skeleton_batch()
    output = model(batch)
    assert output["inference_feat"]["embeddings"].shape == (4, 128, 16)
    loss, _ = losses(output["training_feat"])
    loss.backward()
    check_gradients(model)


def test_skeletongait_pp_joins_maps_and_silhouettes_of_its_two_modalities() -> None:
    model_cfg = {
        "model": "SkeletonGaitPP",
        "Backbone": {"in_channels": 3, "blocks": [1, 1, 1, 1], "C": 1},
        "SeparateBNNecks": {"class_num": 2},
    }
    sections = {"evaluator_cfg": {"transform": [{"type": "BaseSilCuttingTransform"}]}}
    model = SkeletonGaitPP(merge(default_config(), {"model_cfg": model_cfg, **sections}), False)
    maps = np.full((5, 2, 64, 64), 255, dtype=np.uint8)
    sils = np.zeros((5, 64, 44), dtype=np.uint8)  # already cut: the maps are cut to match
    ipts, *_ = model.inputs_pretreament([[[maps], [sils]], [0], ["a"], ["b"], None])
    assert list(ipts[0].shape) == [1, 5, 3, 64, 44]
    assert ipts[0][:, :, :2].eq(1).all() and ipts[0][:, :, 2].eq(0).all()
    with pytest.raises(Exception, match="two modalities"):
        model.inputs_pretreament([[[maps]], [0], ["a"], ["b"], None])


def test_override_result_of_the_wrong_shape_is_one_line() -> None:
    from gaitgen.runtime.engine.step import model_inputs

    class Wrong(BaseModel):
        def build_network(self, model_cfg):
            self.layer = torch.nn.Linear(1, 1)

        def inputs_pretreament(self, inputs):
            return inputs[0]

    raw = RawSequences([torch.zeros(4, 8, 8, dtype=torch.uint8)], [2, 2], joined=False)
    batch = [raw, [0, 1], ["a"] * 2, ["b"] * 2, None]
    with pytest.raises(TrainingError, match=r"Wrong\.inputs_pretreament must return \[ipts"):
        model_inputs(Wrong(_cfgs(), True), batch, torch.device("cpu"))
