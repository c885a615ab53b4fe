"""The component table: every kind found, listed, checked and built one way, and its errors."""

from __future__ import annotations

from pathlib import Path

import pytest
from conftest import make_project
from gaitgen.runtime.components import KINDS, available, build, get
from gaitgen.runtime.errors import ConfigError, ProjectError, RegistryError
from gaitgen.runtime.project import find_project, require_project

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
    cls = get("model", "MyNet", project)
    assert cls.__name__ == "MyNet" and cls.__module__ == f"{project.package}.models.mine"
    assert get("model", "Baseline", project).__name__ == "Baseline"
    dotted = get("model", f"{project.package}.models.mine.MyNet", project)
    assert dotted is cls


def test_duplicate_names_and_unknown_names(project) -> None:
    (project.models_dir / "one.py").write_text(MODEL.format(name="Twin"))
    (project.models_dir / "two.py").write_text(MODEL.format(name="Twin"))
    with pytest.raises(
        RegistryError, match=r"'Twin' is defined more than once \(.*one\.py, .*two\.py\)"
    ):
        get("model", "Twin", project)
    with pytest.raises(RegistryError, match=r"unknown model 'Baselin' \(did you mean 'Baseline'"):
        get("model", "Baselin", project)


def test_a_project_class_named_like_a_builtin_shadows_it(project, caplog) -> None:
    (project.models_dir / "baseline.py").write_text(MODEL.format(name="Baseline"))
    with caplog.at_level("WARNING", logger="gaitgen"):
        cls = get("model", "Baseline", project)
    assert cls.__module__ == f"{project.package}.models.baseline"
    assert "shadows the built-in one (baseline.py)" in caplog.text
    assert get("model", "Baseline", None).__module__ == "gaitgen.runtime.models.baseline"


def test_only_model_and_loss_subclasses_are_components(project) -> None:
    from gaitgen.runtime.components import builtin_components, project_components

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
    assert get("model", "Good", project).__name__ == "Good"
    with pytest.raises(RegistryError, match=r"broken\.py: SyntaxError"):
        get("model", "Broken", project)
    with pytest.raises(RegistryError, match=r"fails\.py: importing it failed: RuntimeError: boom"):
        get("model", "Fails", project)


def test_symlink_loops_in_the_models_folder_are_named_not_followed(project, monkeypatch) -> None:
    """Issue 17, item 18: a symlink loop in the project's models/ (a.py -> b.py -> a.py) made
    'gaitgen list' end in 'error: RuntimeError: Symlink loop from ...'; a loop, or a link to a
    folder, is never a model file: it is reported as unreadable, naming the link, and the
    other files are still found."""
    from typer.testing import CliRunner

    from gaitgen.cli.app import app

    models = project.models_dir
    (models / "good.py").write_text(MODEL.format(name="Good"))
    (models / "a.py").symlink_to("b.py")
    (models / "b.py").symlink_to("a.py")
    (models / "loop.py").symlink_to(".")
    (models / "loop").symlink_to(".")
    monkeypatch.chdir(project.root)
    result = CliRunner().invoke(app, ["list", "model"])
    assert result.exit_code == 0, result.output
    assert "Good" in result.output and "RuntimeError" not in result.output
    package = project.package
    assert (
        f"(unreadable: {package}/models/a.py: a symbolic link that loops (a.py -> b.py -> a.py) "
        "and reaches no file: remove it or point it at a Python file)"
    ) in result.output
    assert (
        f"(unreadable: {package}/models/loop.py: a folder (a symbolic link: loop.py -> .), "
        "not a Python file: rename or remove it)"
    ) in result.output
    assert get("model", "Good", project).__name__ == "Good"
    with pytest.raises(RegistryError, match=r"b\.py: a symbolic link that loops \(b\.py -> a\.py"):
        get("model", "Nope", project)


def test_a_model_or_loss_importing_a_missing_module_names_its_file_line_and_module(
    project,
) -> None:
    """Issue 17, item 18: a project model whose build imports a module that is not installed
    ended in a bare "ModuleNotFoundError: No module named 'notinstalled'" (which model
    file?); on import and on build alike it is one line naming the file, the line, the
    module and what to do."""
    from gaitgen.runtime.engine.build import build_model

    fix = "install the package that provides it (e.g. pip install notinstalled), or fix the import"
    top = project.models_dir / "top.py"
    top.write_text("import notinstalled\n" + MODEL.format(name="AtImport"))
    with pytest.raises(RegistryError) as error:
        get("model", "AtImport", project)
    assert str(error.value) == (
        f"{top}: importing it failed at line 1: module 'notinstalled' is not installed: {fix}"
    )
    inside = project.models_dir / "inside.py"
    inside.write_text(
        MODEL.format(name="AtBuild").replace(
            "        self.fc =", "        import notinstalled.sub  # optional\n        self.fc ="
        )
    )
    line = inside.read_text().splitlines().index("        import notinstalled.sub  # optional") + 1
    with pytest.raises(RegistryError) as error:
        build_model({"model_cfg": {"model": "AtBuild"}}, project, is_training=True)
    assert str(error.value) == (
        f"{inside}: building model 'AtBuild' failed at line {line}: module 'notinstalled' "
        f"is not installed: {fix}"
    )
    loss = project.losses_dir / "needs.py"
    loss.write_text(
        "from gaitgen.runtime import BaseLoss\n\n\nclass Needs(BaseLoss):\n"
        "    def __init__(self, loss_term_weight=1.0):\n"
        "        from notinstalled import thing\n"
        "        super().__init__(loss_term_weight)\n"
    )
    with pytest.raises(RegistryError, match=rf"^{loss}: building loss 'Needs' failed at line 6: "):
        build("loss", {"type": "Needs"}, project=project)


def test_a_loss_that_is_not_a_baseloss(project) -> None:
    (project.losses_dir / "plain.py").write_text("class NotALoss:\n    pass\n")
    with pytest.raises(RegistryError, match="not a subclass of BaseLoss"):
        get("loss", "NotALoss", project)


def test_optimizer_and_scheduler_by_torch_name() -> None:
    import torch

    params = [torch.nn.Parameter(torch.zeros(2))]
    optimizer = build("optimizer", {"solver": "Adam", "lr": 0.01}, params)
    assert isinstance(optimizer, torch.optim.Adam)
    scheduler = build("scheduler", {"scheduler": "StepLR", "step_size": 3}, optimizer)
    assert isinstance(scheduler, torch.optim.lr_scheduler.StepLR)
    with pytest.raises(
        RegistryError,
        match=r"optimizer_cfg\.solver: unknown optimizer 'Adm' \(did you mean 'Adam'",
    ):
        build("optimizer", {"solver": "Adm"}, params)
    with pytest.raises(
        ConfigError,
        match=r"optimizer_cfg\.momentun: SGD has no parameter 'momentun' "
        r"\(did you mean 'momentum'",
    ):
        build("optimizer", {"solver": "SGD", "lr": 0.1, "momentun": 0.9}, params)
    with pytest.raises(ConfigError, match=r"scheduler_cfg: StepLR needs 'step_size'"):
        build("scheduler", {"scheduler": "StepLR"}, optimizer)


# one misspelt name of each kind, and the member it is close to
MISSPELT = {
    "model": ("GaitSett", "GaitSet"),
    "loss": ("TripletLos", "TripletLoss"),
    "backbone": ("ResNet8", "ResNet9"),
    "sampler": ("TripletSampeler", "TripletSampler"),
    "transform": ("RandomRotat", "RandomRotate"),
    "optimizer": ("AdamWW", "AdamW"),
    "scheduler": ("MultiStepLRR", "MultiStepLR"),
    "evaluation": ("evaluate_indoor_datset", "evaluate_indoor_dataset"),
    "protocol": ("CASIA-C", "CASIA-B"),
    "generator": ("synthgat", "SynthGait"),
}


def test_every_kind_has_members_and_one_error_shape_for_an_unknown_name() -> None:
    assert set(MISSPELT) == set(KINDS)
    for kind, (wrong, meant) in MISSPELT.items():
        names = [c.name for c in available(kind)]
        assert meant in names, kind
        assert len(names) == len(set(names)), f"{kind}: a name listed twice"
        with pytest.raises(RegistryError) as caught:
            get(kind, wrong, where="somewhere.key")
        message = str(caught.value)
        assert message.startswith(f"somewhere.key: unknown {kind} {wrong!r} (did you mean ")
        assert repr(meant) in message.split(";")[0] and "; available: " in message


def test_every_built_in_of_every_kind_resolves_to_a_member_of_its_base() -> None:
    import importlib

    for kind, spec in KINDS.items():
        module, _, name = spec.base.partition(":")
        base = getattr(importlib.import_module(module), name)
        for component in available(kind):
            member = get(kind, component.name)
            if spec.table:
                continue  # data entries, not classes
            assert isinstance(member, type) and issubclass(member, base), component
            assert member.__name__ == component.name


def test_a_project_adds_members_of_any_kind_by_file(project) -> None:
    folder = project.package_dir / "transforms"
    folder.mkdir()
    (folder / "mine.py").write_text(
        "from gaitgen.runtime.data.transform_base import SequenceTransform\n\n\n"
        "class Inverted(SequenceTransform):\n"
        "    def __init__(self, strength: float = 1.0):\n"
        "        self.strength = strength\n"
    )
    assert "Inverted" in [c.name for c in available("transform", project)]
    built = build("transform", {"type": "Inverted", "strength": 2}, project=project)
    assert type(built).__name__ == "Inverted" and built.strength == 2
    with pytest.raises(ConfigError, match=r"^trainer_cfg\.transform\.strength: expected a number"):
        build("transform", {"type": "Inverted", "strength": "x"}, project=project)


def test_arguments_are_checked_one_way_for_every_kind() -> None:
    from gaitgen.runtime.components import Ignored, check_arguments
    from gaitgen.runtime.config.schema import ignored_in

    def takes(count: int, ratio: float = 0.5, name: str = "a", *, flags: list[int] | None = None):
        return count

    assert check_arguments(takes, {"count": 3, "ratio": 1}, "x") == {"count": 3, "ratio": 1}
    with pytest.raises(ConfigError, match=r"^x\.count: expected a whole number"):
        check_arguments(takes, {"count": 1.5}, "x")
    with pytest.raises(ConfigError, match=r"^x\.flags: expected a list of whole numbers or null"):
        check_arguments(takes, {"count": 1, "flags": ["a"]}, "x")
    with pytest.raises(ConfigError, match=r"^x: takes needs 'count', which the config lacks"):
        check_arguments(takes, {}, "x")
    with pytest.raises(ConfigError, match=r"^x\.nme: takes has no parameter 'nme' \(did you mean"):
        check_arguments(takes, {"count": 1, "nme": "b"}, "x")
    found: list[Ignored] = []
    kept = check_arguments(
        takes,
        {"count": 1, "img_w": 44},
        lambda path: f"c.yaml:{len(path)}",
        path=("trainer_cfg", "transform"),
        dropped=ignored_in("transform"),
        found=found,
    )
    assert kept == {"count": 1}
    assert [(i.path, i.where) for i in found] == [("trainer_cfg.transform.img_w", "c.yaml:3")]
    assert check_arguments(lambda **kw: kw, {"any": 1}, "x") == {"any": 1}


def test_a_dataset_generator_is_built_from_data_cfg_synthetic(tmp_path: Path) -> None:
    import json

    generator = build("generator", {"generator": "tiny", "subjects": 3, "frames": 2})
    partition = generator.generate(tmp_path / "tiny", tmp_path / "tiny.json")
    assert sum(len(ids) for ids in json.loads(partition.read_text()).values()) == 3
    with pytest.raises(ConfigError, match=r"^data_cfg\.synthetic\.subject: Tiny has no parameter"):
        build("generator", {"generator": "tiny", "subject": 3})
    with pytest.raises(RegistryError, match=r"unknown generator 'synthgate'.*SynthGait, Tiny"):
        build("generator", {"generator": "synthgate"})


@pytest.mark.parametrize(
    "block, message",
    [
        (
            "model_cfg:\n  model: Baseline\n  backbone_cfg: {type: ResNet9, chanels: [8]}\n",
            r":3: model_cfg\.backbone_cfg\.chanels: ResNet9 has no parameter 'chanels'",
        ),
        (
            "model_cfg: {model: Baseline}\nloss_cfg:\n  - {type: TripletLoss, margin: wide}\n",
            r":3: loss_cfg\[0\]\.margin: expected a number",
        ),
        (
            "model_cfg: {model: Baseline}\noptimizer_cfg:\n  solver: SGD\n  lr: 0.1\n  nesterof: 1\n",
            r":5: optimizer_cfg\.nesterof: SGD has no parameter 'nesterof' \(did you mean 'nesterov'",
        ),
        (
            "model_cfg: {model: Baseline}\ntrainer_cfg:\n  transform:\n"
            "    - {type: RandomRotate, prob: 0.3, degre: 10}\n",
            r":4: trainer_cfg\.transform\[0\]\.degre: RandomRotate has no parameter 'degre'",
        ),
    ],
)
def test_a_bad_argument_of_a_builtin_is_named_with_its_file_and_line(
    tmp_path: Path, block: str, message: str
) -> None:
    from gaitgen.runtime.config import load_config

    path = tmp_path / "c.yaml"
    path.write_text(block)
    with pytest.raises(ConfigError, match=message):
        load_config(path)


def test_a_string_where_a_list_is_annotated_is_refused_at_load(tmp_path: Path) -> None:
    """``--set scheduler_cfg.milestones='2'`` would silently disable the schedule."""
    from gaitgen.runtime.config import load_config

    path = tmp_path / "c.yaml"
    path.write_text("model_cfg: {model: Baseline}\n")
    with pytest.raises(
        ConfigError,
        match=r"--set .scheduler_cfg\.milestones='2'.: scheduler_cfg\.milestones: expected a list "
        r"of whole numbers \(MultiStepLR's milestones\), got '2' \(str\)",
    ):
        load_config(path, ["scheduler_cfg.milestones='2'"])
    assert load_config(path, ["scheduler_cfg.milestones=[2, 3]"])["scheduler_cfg"]["milestones"]


def test_loss_keys_opengait_drops_are_one_warning_and_the_loss_builds(tmp_path: Path) -> None:
    """OpenGait's skeletongait configs misspell loss_term_weight; OpenGait drops the key."""
    from gaitgen.runtime.config import ignored_keys, load_config
    from gaitgen.runtime.losses.aggregator import LossAggregator

    path = tmp_path / "c.yaml"
    path.write_text(
        "model_cfg: {model: Baseline}\nloss_cfg:\n"
        "  - {type: TripletLoss, margin: 0.2, log_prefix: triplet, loss_term_weights: 1.0}\n"
    )
    (item,) = ignored_keys(path)
    assert item.path == "loss_cfg[0].loss_term_weights" and item.closest == "loss_term_weight"
    assert item.where.endswith("c.yaml:3")
    losses = LossAggregator(load_config(path)["loss_cfg"])
    assert losses.losses["triplet"].loss_term_weight == 1.0
