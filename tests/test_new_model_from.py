"""``gaitgen new-model NAME --from BASE``: a subclass of a zoo model with a derived config."""

from __future__ import annotations

import subprocess
import sys
from pathlib import Path

import pytest
import yaml
from conftest import snapshot
from typer.testing import CliRunner

from gaitgen.cli.app import app


def test_from_a_zoo_model_writes_a_subclass_its_config_and_a_test(project: Path) -> None:
    result = CliRunner().invoke(app, ["new-model", "MyGL", "--from", "GaitGL"])
    assert result.exit_code == 0, result.output
    model = (project / "demo/models/mygl.py").read_text()
    assert "from gaitgen.runtime.models.gaitgl import GaitGL" in model
    assert "class MyGL(GaitGL):" in model
    config = yaml.safe_load((project / "configs/mygl.yaml").read_text())
    zoo = yaml.safe_load(
        (Path(__file__).resolve().parents[1] / "runtime/zoo/gaitgl.yaml").read_text()
    )
    # the base's settings, with the new name and the project's data
    assert config["model_cfg"] == {**zoo["model_cfg"], "model": "MyGL"}
    assert config["loss_cfg"] == zoo["loss_cfg"]
    assert config["trainer_cfg"]["save_name"] == config["evaluator_cfg"]["save_name"] == "MyGL"
    project_data = yaml.safe_load((project / "configs/baseline.yaml").read_text())["data_cfg"]
    assert config["data_cfg"] == project_data
    assert (project / "tests/test_mygl.py").is_file()


def test_the_derived_model_equals_its_base_and_trains_as_generated(project, tiny_dataset):
    assert CliRunner().invoke(app, ["new-model", "MySet", "--from", "GaitSet"]).exit_code == 0
    from gaitgen.runtime.components import get
    from gaitgen.runtime.config import load_config

    cfgs = load_config(project / "configs/myset.yaml")
    derived = get("model", "MySet", _project(project))(cfgs, True)
    base = get("model", "GaitSet", None)(cfgs, True)
    assert derived.state_dict().keys() == base.state_dict().keys()
    base.load_state_dict(derived.state_dict())  # a GaitSet checkpoint fits it, and back

    tests = subprocess.run(
        [sys.executable, "-m", "pytest", "-q", "tests/test_myset.py"],
        cwd=project,
        capture_output=True,
        text=True,
        timeout=300,
    )
    assert tests.returncode == 0, tests.stdout + tests.stderr
    root, partition = tiny_dataset
    trained = subprocess.run(
        [
            sys.executable,
            "-m",
            "gaitgen",
            "train",
            "configs/myset.yaml",
            "--set",
            f"data_cfg.dataset_root={root}",
            "--set",
            f"data_cfg.dataset_partition={partition}",
            "--set",
            "data_cfg.synthetic=null",
            "--set",
            "data_cfg.dataset_name=tiny",
            "--set",
            "trainer_cfg.total_iter=2",
            "--set",
            "trainer_cfg.sampler.batch_size=[2,2]",
        ],
        cwd=project,
        capture_output=True,
        text=True,
        timeout=300,
    )
    assert trained.returncode == 0, trained.stderr
    assert (project / "output/tiny/MySet/MySet/checkpoints/MySet-00002.pt").is_file()


def _project(root: Path):
    from gaitgen.runtime.project import find_project

    return find_project(root)


@pytest.mark.parametrize(
    "args, message",
    [
        (
            ["new-model", "MyX", "--from", "GaitGLL"],
            "--from: unknown model 'GaitGLL' (did you mean",
        ),
        (["new-model", "GaitGL", "--from", "GaitGL"], "the new model needs a name of its own"),
        (["new-model", "GaitSet", "--from", "GaitGL"], "model name 'GaitSet' is taken"),
        (["new-model", "Mine", "--from", "BaseModel"], "--from: unknown model 'BaseModel'"),
    ],
)
def test_bad_input_is_one_error_and_writes_nothing(project, args, message) -> None:
    before = snapshot(project)
    result = CliRunner().invoke(app, args)
    assert result.exit_code == 1
    assert result.stderr.count("\n") == 1 and message in result.stderr, result.stderr
    assert snapshot(project) == before


def test_from_a_project_model_uses_its_config(project: Path) -> None:
    assert CliRunner().invoke(app, ["new-model", "Mine"]).exit_code == 0
    result = CliRunner().invoke(app, ["new-model", "MineToo", "--from", "Mine"])
    assert result.exit_code == 0, result.output
    model = (project / "demo/models/minetoo.py").read_text()
    assert "from demo.models.mine import Mine" in model
    config = yaml.safe_load((project / "configs/minetoo.yaml").read_text())
    original = yaml.safe_load((project / "configs/mine.yaml").read_text())
    assert config["model_cfg"] == {**original["model_cfg"], "model": "MineToo"}
    assert config["data_cfg"] == original["data_cfg"]
    # its generated test builds it from that config, runs it and trains two steps (in a fresh
    # interpreter: another test's project may have the same package name)
    tests = subprocess.run(
        [sys.executable, "-m", "pytest", "-q", "tests/test_minetoo.py"],
        cwd=project,
        capture_output=True,
        text=True,
        timeout=300,
    )
    assert tests.returncode == 0, tests.stdout + tests.stderr


def test_from_the_builtin_baseline_uses_the_projects_starter(project: Path) -> None:
    result = CliRunner().invoke(app, ["new-model", "MyBase", "--from", "Baseline"])
    assert result.exit_code == 0, result.output
    config = yaml.safe_load((project / "configs/mybase.yaml").read_text())
    starter = yaml.safe_load((project / "configs/baseline.yaml").read_text())
    assert config["model_cfg"] == {**starter["model_cfg"], "model": "MyBase"}
    assert (
        "from gaitgen.runtime.models.baseline import Baseline"
        in (project / "demo/models/mybase.py").read_text()
    )


def test_from_a_starter_in_another_layout_keeps_its_data(project: Path) -> None:
    """ScoNet's classes are Scoliosis1K's type folders: the project's CASIA-B-layout data
    would give it types it cannot read, so its starter's data_cfg is kept."""
    result = CliRunner().invoke(app, ["new-model", "MySco", "--from", "ScoNet"])
    assert result.exit_code == 0, result.output
    text = (project / "configs/mysco.yaml").read_text()
    config = yaml.safe_load(text)
    zoo = yaml.safe_load(
        (Path(__file__).resolve().parents[1] / "runtime/zoo/sconet.yaml").read_text()
    )
    assert config["data_cfg"] == zoo["data_cfg"]
    assert config["data_cfg"]["synthetic"]["layout"] == "scoliosis"
    assert config["model_cfg"]["SeparateBNNecks"]["class_num"] == 3
    assert "data_cfg included (SynthGait's silhouette, in the scoliosis layout)" in text
