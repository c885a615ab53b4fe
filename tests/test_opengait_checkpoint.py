"""Checkpoints written the way OpenGait writes them restore for testing, resuming and fine-tuning.

OpenGait's ``save_ckpt`` stores ``{"model", "optimizer", "scheduler", "iteration"}`` (no RNG,
no grad scaler) with a plain ``torch.save`` at
``output/<dataset>/<model>/<save_name>/checkpoints/<save_name>-<iter:05d>.pt``: the same place
gaitgen's run folder keeps its own.
"""

from __future__ import annotations

import json
from pathlib import Path

import pytest
import torch
from conftest import small_config
from gaitgen.runtime.components import build
from gaitgen.runtime.config import load_config
from gaitgen.runtime.models.baseline import Baseline
from typer.testing import CliRunner

from gaitgen.cli.app import app


def _opengait_checkpoint(config: Path, iteration: int, model: torch.nn.Module | None = None):
    """Write an OpenGait-style checkpoint of the config's model; return (path, state)."""
    cfgs = load_config(config)
    torch.manual_seed(7)
    model = model or Baseline(cfgs, is_training=True)
    optimizer = build("optimizer", cfgs["optimizer_cfg"], model.parameters())
    scheduler = build("scheduler", cfgs["scheduler_cfg"], optimizer)
    state = {
        "model": model.state_dict(),
        "optimizer": optimizer.state_dict(),
        "scheduler": scheduler.state_dict(),
        "iteration": iteration,
    }
    folder = config.parent / "output" / "tiny" / "Baseline" / "small" / "checkpoints"
    folder.mkdir(parents=True, exist_ok=True)
    path = folder / f"small-{iteration:05d}.pt"
    torch.save(state, path)  # exactly as OpenGait saves: no atomic write, no extra entries
    return path, state


@pytest.fixture
def config(tmp_path: Path, tiny_dataset) -> Path:
    root, partition = tiny_dataset
    path = tmp_path / "small.yaml"
    path.write_text(small_config(root, partition, total_iter=6))
    return path


def test_an_opengait_checkpoint_is_tested_by_iteration(config: Path, monkeypatch) -> None:
    monkeypatch.chdir(config.parent)
    _opengait_checkpoint(config, 5)
    result = CliRunner().invoke(app, ["test", str(config), "--iter", "5"])
    assert result.exit_code == 0, result.output
    assert "at iteration 5" in result.output
    results = json.loads((config.parent / "output/tiny/Baseline/small/results.json").read_text())
    assert results["protocol"] == "CASIA-B" and "NM" in results["conditions"]


def test_an_opengait_checkpoint_resumes_with_its_optimizer_and_schedule(
    config: Path, monkeypatch
) -> None:
    monkeypatch.chdir(config.parent)
    _, state = _opengait_checkpoint(config, 4)
    result = CliRunner().invoke(app, ["train", str(config), "--iter", "4"])
    assert result.exit_code == 0, result.output
    assert "from iteration 4 to 6" in result.output
    saved = torch.load(
        config.parent / "output/tiny/Baseline/small/checkpoints/small-00006.pt", weights_only=True
    )
    assert saved["iteration"] == 6
    # the schedule went on from OpenGait's: 4 steps restored, 2 more taken
    assert saved["scheduler"]["last_epoch"] == state["scheduler"]["last_epoch"] + 2
    assert not torch.equal(saved["model"]["FCs.fc_bin"], state["model"]["FCs.fc_bin"])


def test_an_opengait_checkpoint_file_fine_tunes_from_iteration_zero(
    config: Path, monkeypatch, tmp_path: Path
) -> None:
    monkeypatch.chdir(config.parent)
    path, state = _opengait_checkpoint(config, 40)
    elsewhere = tmp_path / "pretrained" / "GaitBase-40.pt"
    elsewhere.parent.mkdir()
    path.rename(elsewhere)
    result = CliRunner().invoke(
        app,
        [
            "train",
            str(config),
            "--set",
            f"trainer_cfg.restore_hint={elsewhere}",
            "--set",
            "trainer_cfg.total_iter=2",
        ],
    )
    assert result.exit_code == 0, result.output
    assert "from iteration 0 to 2" in result.output
    assert f"restored {elsewhere}" in result.output or str(elsewhere) in result.output


def test_a_checkpoint_of_another_model_is_one_clear_error(config: Path, monkeypatch) -> None:
    monkeypatch.chdir(config.parent)
    other = torch.nn.Sequential(torch.nn.Linear(3, 2))
    path, _ = _opengait_checkpoint(config, 5, model=other)
    before = path.read_bytes()
    result = CliRunner().invoke(app, ["test", str(config), "--iter", "5"])
    assert result.exit_code == 1
    lines = [line for line in result.output.splitlines() if line.startswith("error:")]
    assert len(lines) == 1, result.output
    assert "does not fit model Baseline" in lines[0]
    assert "missing from the checkpoint: Backbone.forward_block.conv1.conv.weight" in lines[0]
    assert "not in the model: 0.weight (2x3)" in lines[0]
    assert path.read_bytes() == before
    assert not (config.parent / "output/tiny/Baseline/small/results.json").exists()
