"""End to end through the real CLI: init -> new-model -> new-loss -> the project's own tests,
and (slow) -> train -> test with the new loss in use, on a tiny dataset.
"""

from __future__ import annotations

import json
import shutil
import subprocess
import sys
from pathlib import Path

import pytest
from typer.testing import CliRunner

from gaitgen.cli.app import app


@pytest.fixture(scope="module")
def walked(tmp_path_factory) -> Path:
    """A project after init, new-model MyGait and two new-loss runs (one per kind)."""
    root = tmp_path_factory.mktemp("walk") / "demo"
    runner = CliRunner()
    steps = [
        ["init", str(root), "--defaults"],
        ["new-model", "MyGait"],
        ["new-loss", "MyLoss", "--config", "configs/mygait.yaml", "--prefix", "myloss"],
        ["new-loss", "Focal", "--no-pairwise", "--config", "configs/mygait.yaml"],
    ]
    with pytest.MonkeyPatch.context() as patch:
        for step in steps:
            result = runner.invoke(app, step)
            assert result.exit_code == 0, (step, result.output)
            patch.chdir(root)  # the generators run inside the new project
    return root


def run(args: list[str], cwd: Path, timeout: int = 300) -> subprocess.CompletedProcess:
    return subprocess.run(args, cwd=cwd, capture_output=True, text=True, timeout=timeout)


def test_generated_project_tests_pass(walked):
    result = run([sys.executable, "-m", "pytest", "-q", "-p", "no:cacheprovider"], walked)
    assert result.returncode == 0, result.stdout[-3000:] + result.stderr[-2000:]
    # test_project.py: 2 configs + 1 model + 2 losses; test_mygait.py: 3; one per loss: 2
    assert "10 passed" in result.stdout, result.stdout[-2000:]


@pytest.mark.skipif(shutil.which("ruff") is None, reason="ruff is not installed")
def test_generated_project_is_black_and_ruff_clean(walked):
    result = run(["ruff", "check", "--no-cache", "."], walked)
    assert result.returncode == 0, result.stdout
    result = run([sys.executable, "-m", "black", "--check", "-q", "."], walked)
    assert result.returncode == 0, result.stderr


@pytest.mark.slow
def test_train_and_test_use_the_new_loss(walked, tmp_path):
    """The issue's walk: new-loss --config, then train and test the config (tiny data, CPU)."""
    from gaitgen.runtime.tiny_data import generate_dataset

    data = tmp_path / "tiny"
    partition = generate_dataset(data, subjects=6, frames=12, seed=0)  # 4 training ids
    overrides = [
        f"data_cfg.dataset_root={data}",
        f"data_cfg.dataset_partition={partition}",
        "data_cfg.synthetic=null",
        "data_cfg.num_workers=0",
        "model_cfg.SeparateBNNecks.class_num=4",
    ]
    train_overrides = [
        "trainer_cfg.total_iter=2",
        "trainer_cfg.log_iter=1",
        "trainer_cfg.sampler.batch_size=[2,2]",
        "trainer_cfg.sampler.frames_num_fixed=8",
    ]
    sets = [arg for value in overrides + train_overrides for arg in ("--set", value)]
    gaitgen = [sys.executable, "-m", "gaitgen"]
    trained = run([*gaitgen, "train", "configs/mygait.yaml", "--device", "cpu", *sets], walked)
    assert trained.returncode == 0, trained.stdout[-3000:] + trained.stderr[-3000:]
    log = trained.stdout + trained.stderr
    assert "myloss/loss" in log and "focal/loss" in log  # both generated losses ran

    sets = [arg for value in overrides for arg in ("--set", value)]
    tested = run([*gaitgen, "test", "configs/mygait.yaml", "--device", "cpu", *sets], walked)
    assert tested.returncode == 0, tested.stdout[-3000:] + tested.stderr[-3000:]
    results = list((walked / "output").rglob("results.json"))
    assert len(results) == 1
    assert json.loads(results[0].read_text())["conditions"]


def test_new_loss_joins_a_zoo_config_by_config_alone(project, tiny_dataset):
    """``gaitgen new-loss MyLoss --config`` on a copy of a zoo starter config (GaitGL): the
    config edit alone makes training run the new loss, its term logged under its log_prefix."""
    from gaitgen.runtime import zoo

    shutil.copy(Path(zoo.__file__).parent / "gaitgl.yaml", project / "configs" / "gl.yaml")
    result = CliRunner().invoke(app, ["new-loss", "MyLoss", "--config", "configs/gl.yaml"])
    assert result.exit_code == 0, result.output
    root, partition = tiny_dataset
    overrides = [
        f"data_cfg.dataset_root={root}",
        f"data_cfg.dataset_partition={partition}",
        "data_cfg.synthetic=null",
        "data_cfg.num_workers=0",
        "model_cfg.class_num=4",
        "trainer_cfg.total_iter=2",
        "trainer_cfg.log_iter=1",
        "trainer_cfg.sampler.batch_size=[2,2]",
    ]
    sets = [arg for value in overrides for arg in ("--set", value)]
    gaitgen = [sys.executable, "-m", "gaitgen"]
    trained = run([*gaitgen, "train", "configs/gl.yaml", "--device", "cpu", *sets], project)
    assert trained.returncode == 0, trained.stdout[-3000:] + trained.stderr[-3000:]
    assert "myloss/loss" in trained.stdout + trained.stderr  # the new loss's term, logged
    (scalars,) = (project / "output").rglob("scalars.jsonl")
    logged = [json.loads(line) for line in scalars.read_text().splitlines()]
    assert all(row["myloss/loss"] > 0 for row in logged if "triplet/loss" in row)
    assert sum("myloss/loss" in row for row in logged) == 2  # both iterations
