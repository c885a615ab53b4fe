"""Finding models and losses by class name in a project, by dotted path, and the errors."""

from __future__ import annotations

from pathlib import Path

import pytest
from conftest import make_project
from gaitgen.runtime.errors import ProjectError, RegistryError
from gaitgen.runtime.project import find_project, require_project
from gaitgen.runtime.registry import build_optimizer, build_scheduler, resolve

MODEL = """
from gaitgen.runtime import BaseModel
import torch


class {name}(BaseModel):
    def build_network(self, model_cfg):
        self.fc = torch.nn.Linear(2, 2)

    def forward(self, inputs):
        return {{}}
"""


@pytest.fixture
def project(tmp_path: Path):
    root = make_project(tmp_path / "proj", package="regpkg_" + tmp_path.name[-6:].replace("-", "_"))
    return find_project(root / "configs")


def test_project_discovery_walks_up(project, tmp_path: Path) -> None:
    assert project is not None and project.root == (tmp_path / "proj").resolve()
    deep = project.configs_dir / "a" / "b"
    deep.mkdir(parents=True)
    assert find_project(deep / "x.yaml") == project
    assert find_project(tmp_path) is None
    with pytest.raises(ProjectError, match="gaitgen init"):
        require_project(tmp_path)


def test_invalid_tool_gaitgen_table(tmp_path: Path) -> None:
    (tmp_path / "pyproject.toml").write_text('[tool.gaitgen]\npackage = "not a name"\n')
    with pytest.raises(ProjectError, match=r"\[tool\.gaitgen\] needs package"):
        find_project(tmp_path)


def test_project_model_found_by_class_name(project) -> None:
    (project.models_dir / "mine.py").write_text(MODEL.format(name="MyNet"))
    cls = resolve("model", "MyNet", project)
    assert cls.__name__ == "MyNet" and cls.__module__ == f"{project.package}.models.mine"
    assert resolve("model", "Baseline", project).__name__ == "Baseline"
    dotted = resolve("model", f"{project.package}.models.mine.MyNet", project)
    assert dotted is cls


def test_duplicate_names_and_unknown_names(project) -> None:
    (project.models_dir / "one.py").write_text(MODEL.format(name="Twin"))
    (project.models_dir / "two.py").write_text(MODEL.format(name="Twin"))
    with pytest.raises(
        RegistryError, match=r"'Twin' is defined more than once \(.*one\.py, .*two\.py\)"
    ):
        resolve("model", "Twin", project)
    with pytest.raises(RegistryError, match=r"unknown model 'Baselin' \(did you mean 'Baseline'"):
        resolve("model", "Baselin", project)


def test_a_project_class_named_like_a_builtin_shadows_it(project, caplog) -> None:
    (project.models_dir / "baseline.py").write_text(MODEL.format(name="Baseline"))
    with caplog.at_level("WARNING", logger="gaitgen"):
        cls = resolve("model", "Baseline", project)
    assert cls.__module__ == f"{project.package}.models.baseline"
    assert "shadows the built-in one (baseline.py)" in caplog.text
    assert resolve("model", "Baseline", None).__module__ == "gaitgen.runtime.models.baseline"


def test_only_model_and_loss_subclasses_are_components(project) -> None:
    from gaitgen.runtime.catalog import builtin_components, project_components

    (project.models_dir / "layers.py").write_text(
        "import torch\nfrom gaitgen.runtime import Baseline, BaseModel\n\n"
        "class Helper(torch.nn.Module):\n    pass\n\n"
        "class Later(Middle):\n    pass\n\n"
        "class Middle(Baseline):\n    pass\n"
    )
    names = {c.name for c in project_components(project, "model")}
    assert names == {"Middle", "Later"}  # through a built-in model, in any order in the file
    builtin = {c.name for c in builtin_components("model")}
    assert "Baseline" in builtin and "BaseModel" not in builtin
    assert not builtin & {"SetBlockWrapper", "BasicConv2d"}


def test_one_broken_file_does_not_hide_the_others(project) -> None:
    (project.models_dir / "good.py").write_text(MODEL.format(name="Good"))
    (project.models_dir / "broken.py").write_text("class Broken(:\n")
    (project.models_dir / "fails.py").write_text(
        MODEL.format(name="Fails") + "\nraise RuntimeError('boom')\n"
    )
    assert resolve("model", "Good", project).__name__ == "Good"
    with pytest.raises(RegistryError, match=r"broken\.py: SyntaxError"):
        resolve("model", "Broken", project)
    with pytest.raises(RegistryError, match=r"fails\.py: importing it failed: RuntimeError: boom"):
        resolve("model", "Fails", project)


def test_a_loss_that_is_not_a_baseloss(project) -> None:
    (project.losses_dir / "plain.py").write_text("class NotALoss:\n    pass\n")
    with pytest.raises(RegistryError, match="not a subclass of BaseLoss"):
        resolve("loss", "NotALoss", project)


def test_optimizer_and_scheduler_by_torch_name() -> None:
    import torch

    params = [torch.nn.Parameter(torch.zeros(2))]
    optimizer = build_optimizer({"solver": "Adam", "lr": 0.01}, params)
    assert isinstance(optimizer, torch.optim.Adam)
    scheduler = build_scheduler({"scheduler": "StepLR", "step_size": 3}, optimizer)
    assert isinstance(scheduler, torch.optim.lr_scheduler.StepLR)
    from gaitgen.runtime.errors import ConfigError

    with pytest.raises(
        RegistryError, match=r"unknown torch\.optim class 'Adm' \(did you mean 'Adam'"
    ):
        build_optimizer({"solver": "Adm"}, params)
    with pytest.raises(ConfigError, match=r"optimizer_cfg \(SGD\): unknown parameter 'momentun'"):
        build_optimizer({"solver": "SGD", "lr": 0.1, "momentun": 0.9}, params)
