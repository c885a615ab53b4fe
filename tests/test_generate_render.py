"""The templates render, for several names, into black-stable, ruff-clean code that imports.

One project is made with ``init_project`` (the real copier template, whose pyproject.toml
carries the ruff/black settings generated code must satisfy); the files of several models and
losses are rendered into it in memory and written with the generator's own plan/apply.
"""

from __future__ import annotations

import importlib.util
import shutil
import subprocess
import sys
from pathlib import Path

import pytest
import yaml
from gaitgen.runtime.project import require_project

from gaitgen.generate.loss import loss_files
from gaitgen.generate.model import model_files
from gaitgen.generate.plan import apply, plan
from gaitgen.generate.project import init_project
from gaitgen.generate.render import format_python, render_python

MODEL_NAMES = ["MyGait", "A", "Gait3DV2", "AVeryLongModelNameThatStillFitsOnOneLineOfCode"]
LOSS_NAMES = [("PairLoss", True), ("PerSampleLoss", False), ("L", True)]


@pytest.fixture(scope="module")
def rendered(tmp_path_factory):
    """A project holding the generated files of every name above, and their paths."""
    root = tmp_path_factory.mktemp("render") / "proj"
    init_project(root, package="renderlab")
    project = require_project(root)
    files = []
    for name in MODEL_NAMES:
        files += model_files(project, name)
    for name, pairwise in LOSS_NAMES:
        files += loss_files(project, name, pairwise=pairwise).files
    apply(plan(files), root=root, echo=lambda status, path: None)
    return project, files


def test_every_python_file_is_black_stable(rendered):
    _, files = rendered
    python = [f for f in files if f.path.suffix == ".py"]
    assert len(python) == 2 * len(MODEL_NAMES) + 2 * len(LOSS_NAMES)
    for file in python:
        assert format_python(file.content) == file.content, file.path.name


@pytest.mark.skipif(shutil.which("ruff") is None, reason="ruff is not installed")
def test_generated_project_passes_ruff(rendered):
    project, _ = rendered
    result = subprocess.run(
        ["ruff", "check", "--no-cache", "."], cwd=project.root, capture_output=True, text=True
    )
    assert result.returncode == 0, result.stdout + result.stderr


def test_configs_parse_and_match_the_model(rendered):
    _, files = rendered
    configs = [f for f in files if f.path.suffix == ".yaml"]
    assert len(configs) == len(MODEL_NAMES)
    for file, name in zip(configs, MODEL_NAMES):
        cfgs = yaml.safe_load(file.content)
        assert cfgs["model_cfg"]["model"] == name
        # the model's training_feat keys, as the seed's: no routing in model_cfg
        assert [entry["log_prefix"] for entry in cfgs["loss_cfg"]] == ["triplet", "softmax"]
        assert "loss_inputs" not in cfgs["model_cfg"]
        assert cfgs["trainer_cfg"]["save_name"] == name
        # the project's SynthGait (40 subjects) trains on 24 identities
        assert cfgs["model_cfg"]["SeparateBNNecks"]["class_num"] == 24
        assert cfgs["data_cfg"]["synthetic"]["generator"] == "synthgait"


def _import(path: Path):
    spec = importlib.util.spec_from_file_location(f"generated_{path.stem}", path)
    module = importlib.util.module_from_spec(spec)
    spec.loader.exec_module(module)
    return module


def test_models_and_losses_import_and_subclass_the_contract(rendered):
    from gaitgen.runtime import BaseLoss, BaseModel

    project, _ = rendered
    for name in MODEL_NAMES:
        module = _import(project.models_dir / f"{name.lower()}.py")
        assert issubclass(getattr(module, name), BaseModel)
    for name, pairwise in LOSS_NAMES:
        cls = getattr(_import(project.losses_dir / f"{name.lower()}.py"), name)
        assert issubclass(cls, BaseLoss)
        # pairwise losses are wrapped to gather across processes; per-sample ones are not
        assert hasattr(cls.forward, "__wrapped__") == pairwise


def _render_class(template: str, name: str) -> type:
    namespace: dict = {}
    source = render_python(template, class_name=name, module_name=name.lower(), prefix="p")
    exec(compile(source, template, "exec"), namespace)
    return namespace[name]


def test_generated_losses_compute_real_losses():
    """The pairwise loss is lower for well-separated identities; the focal loss for right logits."""
    import torch

    pair = _render_class("loss_pairwise.py.jinja", "Pair")()
    labels = torch.tensor([0, 0, 1, 1])
    separated = torch.tensor([[1.0, 0.0], [1.0, 0.0], [0.0, 1.0], [0.0, 1.0]]).unsqueeze(-1)
    mixed = torch.tensor([[1.0, 0.0], [0.0, 1.0], [1.0, 0.0], [0.0, 1.0]]).unsqueeze(-1)
    assert float(pair(embeddings=separated, labels=labels)[0]) < 1e-6
    assert float(pair(embeddings=mixed, labels=labels)[0]) > 0.5

    focal = _render_class("loss_per_sample.py.jinja", "Focal")()
    right = torch.tensor([[1.0, -1.0], [-1.0, 1.0]]).unsqueeze(-1)  # [n, classes, 1]
    loss_right, info = focal(logits=right, labels=torch.tensor([0, 1]))
    assert float(info["accuracy"]) == 1.0
    loss_wrong, info = focal(logits=-right, labels=torch.tensor([0, 1]))
    assert float(info["accuracy"]) == 0.0
    assert float(loss_right) < 1e-6 < float(loss_wrong)


def test_generated_model_runs_the_runtime_checks(rendered):
    from gaitgen.runtime import testing

    project, _ = rendered
    sys.path.insert(0, str(project.root))
    try:
        cls = importlib.import_module("renderlab.models.mygait").MyGait
        output = testing.check_model(cls, project.configs_dir / "mygait.yaml")
    finally:
        sys.path.remove(str(project.root))
    assert set(output["training_feat"]) == {"triplet", "softmax"}
    assert output["training_feat"]["triplet"]["embeddings"].shape[1:] == (64, 16)  # [n, c, p]
    assert output["training_feat"]["softmax"]["logits"].shape[1:] == (24, 16)
