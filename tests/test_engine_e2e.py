"""End to end: a project with its own model and loss, trained and tested on the tiny data.

The model and loss are written exactly as the README shows them; training goes through
``python -m gaitgen.runtime`` (OpenGait's entry point) and the CLI.
"""

from __future__ import annotations

import json
import subprocess
import sys
from pathlib import Path

import numpy as np
import pytest
from conftest import make_project, small_config
from typer.testing import CliRunner

from gaitgen.cli.app import app

USER_MODEL = """
import torch
from gaitgen.runtime import BaseModel, HorizontalPoolingPyramid, PackSequenceWrapper, SeparateBNNecks, SeparateFCs, SetBlockWrapper


class NewModel(BaseModel):
    def __init__(self, cfgs, is_training):
        super().__init__(cfgs, is_training)

    def build_network(self, model_cfg):
        channels = model_cfg["channels"]
        self.encoder = SetBlockWrapper(torch.nn.Sequential(
            torch.nn.Conv2d(1, channels, 3, padding=1), torch.nn.BatchNorm2d(channels), torch.nn.ReLU(),
            torch.nn.MaxPool2d(2),
            torch.nn.Conv2d(channels, channels, 3, padding=1), torch.nn.BatchNorm2d(channels), torch.nn.ReLU(),
        ))
        self.TP = PackSequenceWrapper(torch.max)
        self.HPP = HorizontalPoolingPyramid([8])
        self.FCs = SeparateFCs(8, channels, 32)
        self.BNNecks = SeparateBNNecks(8, 32, model_cfg["class_num"])

    def forward(self, inputs):
        ipts, labs, typs, viws, seqL = inputs
        sils = ipts[0]                      # [n, s, h, w]
        n, s, h, w = sils.shape
        outs = self.encoder(sils.unsqueeze(1))  # [n, c, s, h, w]
        outs = self.TP(outs, seqL, options={"dim": 2})[0]
        embed_1 = self.FCs(self.HPP(outs))
        embed, logits = self.BNNecks(embed_1)
        return {
            "training_feat": {
                "triplet": {"embeddings": embed_1, "labels": labs},
                "softmax": {"logits": logits, "labels": labs},
                "center": {"embeddings": embed_1, "labels": labs},
            },
            "visual_summary": {"image/sils": sils.view(n * s, 1, h, w)},
            "inference_feat": {"embeddings": embed_1},
        }
"""

USER_LOSS = """
import torch
from gaitgen.runtime import BaseLoss, gather_and_scale_wrapper


class NewLoss(BaseLoss):
    def __init__(self, *args, blow_up_at=0, **kwargs):
        super().__init__(*args, **kwargs)
        self.blow_up_at = blow_up_at
        self.calls = 0

    @gather_and_scale_wrapper
    def forward(self, embeddings, labels):
        self.calls += 1
        centers = torch.stack([embeddings[labels == l].mean(0) for l in labels])  # [n, c, p]
        loss = (embeddings - centers).pow(2).mean()
        if self.blow_up_at and self.calls >= self.blow_up_at:
            loss = loss * float("nan")
        self.info.update({"loss": loss.detach()})
        return loss, self.info
"""


@pytest.fixture
def user_project(tmp_path: Path, tiny_dataset) -> tuple[Path, Path]:
    package = "e2e_" + tmp_path.name[-8:].replace("-", "_")
    root = make_project(tmp_path / "proj", package)
    (root / package / "models" / "newmodel.py").write_text(USER_MODEL)
    (root / package / "losses" / "newloss.py").write_text(USER_LOSS)
    data_root, partition = tiny_dataset
    config = small_config(data_root, partition, model="NewModel", total_iter=30)
    config = config.replace(
        "  backbone_cfg:", "  channels: 16\n  class_num: 4\n  old_backbone_cfg:"
    )
    config = config.replace(
        "  - {type: CrossEntropyLoss",
        "  - {type: NewLoss, log_prefix: center, loss_term_weight: 0.1}\n  - {type: CrossEntropyLoss",
    )
    path = root / "configs" / "newmodel.yaml"
    path.write_text(config)
    return root, path


def run_runtime(config: Path, phase: str, *extra: str, cwd: Path) -> subprocess.CompletedProcess:
    return subprocess.run(
        [sys.executable, "-m", "gaitgen.runtime", "--cfgs", str(config), "--phase", phase, *extra],
        cwd=cwd,
        capture_output=True,
        text=True,
        timeout=600,
    )


def test_user_model_and_loss_train_and_test(user_project) -> None:
    root, config = user_project
    trained = run_runtime(config, "train", "--set", "trainer_cfg.save_iter=10", cwd=root)
    assert trained.returncode == 0, trained.stderr
    assert "iteration 30:" in trained.stdout and "center/loss=" in trained.stdout
    run_dir = root / "output" / "tiny" / "NewModel" / "small"
    assert sorted(p.name for p in (run_dir / "checkpoints").glob("*.pt")) == [
        "small-00010.pt",
        "small-00020.pt",
        "small-00030.pt",
    ]
    saved = (run_dir / "config.yaml").read_text()
    assert "model: NewModel" in saved and "total_iter: 30" in saved

    tested = run_runtime(config, "test", cwd=root)
    assert tested.returncode == 0, tested.stderr
    for condition in ("NM", "BG", "CL"):
        assert condition in tested.stdout
    results = json.loads((run_dir / "results.json").read_text())
    assert results["protocol"] == "CASIA-B"
    chance = 100.0 / 2  # two test identities
    assert results["conditions"]["NM"]["rank1"] > chance
    embeddings = np.load(run_dir / "embeddings.npz", allow_pickle=False)
    assert embeddings["feature"].shape == (2 * 10 * 3, 32, 8)
    assert set(embeddings["type"]) >= {"nm-01", "bg-02", "cl-01"}


def test_non_finite_loss_stops_with_the_iteration_and_keeps_a_checkpoint(user_project) -> None:
    root, config = user_project
    text = config.read_text().replace(
        "loss_term_weight: 0.1}", "loss_term_weight: 0.1, blow_up_at: 4}"
    )
    config.write_text(text)
    result = run_runtime(config, "train", cwd=root)
    assert result.returncode != 0
    assert (
        "the loss is not finite at iteration 4" in result.stderr and "center/loss" in result.stderr
    )
    assert "Traceback" not in result.stderr
    checkpoints = root / "output" / "tiny" / "NewModel" / "small" / "checkpoints"
    # save_iter is 2: iteration 2 was saved as usual, iteration 3 (the last good one) on the stop
    assert sorted(p.name for p in checkpoints.glob("*.pt")) == ["small-00002.pt", "small-00003.pt"]


def test_cli_train_resume_and_test(user_project) -> None:
    root, config = user_project
    runner = CliRunner()
    first = runner.invoke(app, ["train", str(config), "--set", "trainer_cfg.total_iter=4"])
    assert first.exit_code == 0, first.output
    resumed = subprocess.run(
        [
            sys.executable,
            "-m",
            "gaitgen",
            "train",
            str(config),
            "--iter",
            "4",
            "--set",
            "trainer_cfg.total_iter=6",
        ],
        cwd=root,
        capture_output=True,
        text=True,
    )
    assert resumed.returncode == 0, resumed.stderr
    assert "from iteration 4 to 6" in resumed.stdout
    tested = subprocess.run(
        [sys.executable, "-m", "gaitgen", "test", str(config), "--iter", "4"],
        cwd=root,
        capture_output=True,
        text=True,
    )
    assert tested.returncode == 0 and "at iteration 4" in tested.stdout, tested.stderr


@pytest.mark.parametrize(
    "change, message",
    [
        (("dataset_root: ", "dataset_root: /nonexistent/"), "/nonexistent/"),
        (
            ("model: NewModel", "model: NewModle"),
            "unknown model 'NewModle' (did you mean 'NewModel'",
        ),
        (("solver: SGD", "solver: SGDD"), "unknown optimizer 'SGDD' (did you mean 'SGD'"),
        (("type: NewLoss", "type: NewLos"), "unknown loss 'NewLos' (did you mean 'NewLoss'"),
    ],
)
def test_cli_errors_are_one_line(user_project, change, message) -> None:
    root, config = user_project
    config.write_text(config.read_text().replace(*change))
    result = subprocess.run(
        [sys.executable, "-m", "gaitgen", "train", str(config)],
        cwd=root,
        capture_output=True,
        text=True,
    )
    assert result.returncode != 0
    lines = [line for line in result.stderr.splitlines() if line.startswith("error:")]
    assert len(lines) == 1 and message in lines[0], result.stderr
    assert "Traceback" not in result.stderr
    assert not (root / "output" / "tiny" / "NewModel" / "small" / "checkpoints").exists()


def test_testing_without_a_checkpoint_says_to_train_first(user_project) -> None:
    root, config = user_project
    result = CliRunner().invoke(app, ["test", str(config)])
    assert result.exit_code == 1
    assert "no checkpoint to test" in result.output and "gaitgen train" in result.output
