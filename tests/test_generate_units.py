"""Unit tests of the generator's parts: names, YAML text edits, plan/apply (no torch, no CLI)."""

from __future__ import annotations

from pathlib import Path

import pytest
import yaml
from gaitgen.runtime.errors import GenerateError
from gaitgen.runtime.project import Project

from gaitgen.generate import yaml_edit
from gaitgen.generate.names import (
    check_name_free,
    default_package_name,
    module_name,
    validate_class_name,
    validate_package_name,
    validate_prefix,
)
from gaitgen.generate.plan import PlannedFile, apply, plan

# --- names -------------------------------------------------------------------------------


@pytest.mark.parametrize("name", ["MyGait", "A", "Gait3D"])
def test_valid_class_names_pass(name):
    assert validate_class_name(name, "model") == name


@pytest.mark.parametrize(
    "name, class_name, module",
    [
        ("Res_Net2", "ResNet2", "res_net2"),
        ("mygait", "Mygait", "mygait"),
        ("my_bad_name", "MyBadName", "my_bad_name"),
        ("MyGait", "MyGait", "mygait"),
    ],
)
def test_names_are_normalised_as_rails_does(name, class_name, module):
    from gaitgen.generate.names import module_name

    assert validate_class_name(name, "model") == class_name
    assert module_name(name) == module


@pytest.mark.parametrize(
    ("name", "reason"),
    [
        ("3D", "not a valid Python class name"),
        ("../x", "not a valid Python class name"),
        ("", "not a valid Python class name"),
        ("_Hidden", "not a valid Python class name"),
        ("My-Gait", "not a valid Python class name"),
        ("Gäit", "not a valid Python class name"),
        ("class", "keyword"),
        ("None", "keyword"),
        ("match", "keyword"),
        ("Exception", "built-in"),
        ("BaseModel", "base class of every model"),
        ("BaseLoss", "base class of every loss"),
        ("SequenceTransform", "base class of every transform"),
        ("A" * 101, "at most 100 characters"),
    ],
)
def test_invalid_class_names_fail_with_the_reason(name, reason):
    with pytest.raises(GenerateError, match=reason):
        validate_class_name(name, "model")


def test_module_name_is_lowercase():
    assert module_name("MyGait") == "mygait"


def _project(tmp_path: Path) -> Project:
    (tmp_path / "pkg" / "models").mkdir(parents=True)
    (tmp_path / "pkg" / "losses").mkdir(parents=True)
    return Project(root=tmp_path.resolve(), package="pkg")


def test_runtime_building_block_names_are_refused(tmp_path):
    with pytest.raises(GenerateError, match="public name of gaitgen.runtime"):
        check_name_free("SetBlockWrapper", _project(tmp_path), "model")


def test_builtin_names_are_taken_even_with_force(tmp_path):
    project = _project(tmp_path)
    with pytest.raises(GenerateError, match="Baseline.*built-in"):
        check_name_free("Baseline", project, "model")
    with pytest.raises(GenerateError, match="TripletLoss.*built-in"):
        check_name_free("TripletLoss", project, "loss", replaceable=tmp_path / "x.py")


def test_project_names_are_taken_unless_force_regenerates_the_same_file(tmp_path):
    project = _project(tmp_path)
    model_file = project.models_dir / "mine.py"
    model_file.write_text("class Mine:\n    pass\n")
    with pytest.raises(GenerateError, match="Mine.*pkg/models/mine.py"):
        check_name_free("Mine", project, "loss")  # models and losses share one namespace
    check_name_free("Mine", project, "model", replaceable=model_file)  # no error
    with pytest.raises(GenerateError):
        check_name_free("Mine", project, "model", replaceable=project.models_dir / "other.py")
    check_name_free("Fresh", project, "model")  # free name: no error


@pytest.mark.parametrize(
    ("folder", "package"),
    [("demo", "demo"), ("My-Gait Lab", "my_gait_lab"), ("3d", "gait_3d"), ("class", "gait_class")],
)
def test_default_package_name_is_a_valid_package(folder, package):
    assert default_package_name(folder) == package
    assert validate_package_name(package) == package


@pytest.mark.parametrize("package", ["Demo", "my-pkg", "1abc", "import", "gaitgen", "torch"])
def test_invalid_package_names_fail(package):
    with pytest.raises(GenerateError, match="--package"):
        validate_package_name(package)


def test_prefix_validation():
    assert validate_prefix("my_loss2") == "my_loss2"
    with pytest.raises(GenerateError, match="--prefix"):
        validate_prefix("my loss")


# --- YAML text edits ---------------------------------------------------------------------

CONFIG = """\
# top comment
data_cfg:
  dataset_name: X  # keep me

loss_cfg:
  # the triplet loss
  - type: TripletLoss
    log_prefix: triplet
    margin: 0.2

# model comment
model_cfg:
  model: MyGait
  SeparateFCs:
    parts_num: 16  # inline comment
  channels: [16, 32]
"""

ENTRY = {"type": "MyLoss", "log_prefix": "myloss", "loss_term_weight": 1.0, "margin": 1.0}


def test_append_list_item_keeps_comments_and_other_content():
    text = yaml_edit.append_list_item(CONFIG, "loss_cfg", ENTRY, "c.yaml")
    for line in CONFIG.splitlines():
        assert line in text.splitlines()  # nothing removed or changed
    data = yaml.safe_load(text)
    assert data["loss_cfg"][-1] == ENTRY
    assert data["loss_cfg"][0]["type"] == "TripletLoss"
    # inserted right after the last item, before the blank line and the next section's comment
    assert "    margin: 1.0\n\n# model comment" in text


def test_append_list_item_turns_a_single_mapping_into_a_list():
    text = "loss_cfg:\n  type: TripletLoss  # one loss\n  margin: 0.2\nmodel_cfg:\n  model: A\n"
    edited = yaml_edit.append_list_item(text, "loss_cfg", ENTRY, "c.yaml")
    data = yaml.safe_load(edited)
    assert data["loss_cfg"] == [{"type": "TripletLoss", "margin": 0.2}, ENTRY]
    assert data["model_cfg"] == {"model": "A"}
    assert "# one loss" in edited


def test_append_list_item_with_items_at_the_keys_indentation():
    text = "loss_cfg:\n- type: TripletLoss\n  margin: 0.2\nmodel_cfg:\n  model: A\n"
    data = yaml.safe_load(yaml_edit.append_list_item(text, "loss_cfg", ENTRY, "c.yaml"))
    assert data["loss_cfg"] == [{"type": "TripletLoss", "margin": 0.2}, ENTRY]
    assert data["model_cfg"] == {"model": "A"}


def test_append_list_item_adds_a_missing_key_or_fills_an_empty_list():
    data = yaml.safe_load(
        yaml_edit.append_list_item("model_cfg:\n  model: A", "loss_cfg", ENTRY, "c")
    )
    assert data == {"model_cfg": {"model": "A"}, "loss_cfg": [ENTRY]}
    data = yaml.safe_load(yaml_edit.append_list_item("loss_cfg: []\n", "loss_cfg", ENTRY, "c"))
    assert data == {"loss_cfg": [ENTRY]}


def test_append_list_item_refuses_flow_style():
    with pytest.raises(GenerateError, match="c.yaml line 1.*by hand"):
        yaml_edit.append_list_item("loss_cfg: [{type: A}]\n", "loss_cfg", ENTRY, "c.yaml")


def test_block_text_returns_the_block_with_its_comments():
    block = yaml_edit.block_text(CONFIG, "data_cfg")
    assert block == "data_cfg:\n  dataset_name: X  # keep me\n"


# --- plan and apply ----------------------------------------------------------------------


def _echo_into(lines):
    return lambda status, path: lines.append((status, path))


def test_plan_statuses(tmp_path):
    (tmp_path / "same.txt").write_text("a")
    (tmp_path / "other.txt").write_text("old")
    files = [
        PlannedFile(tmp_path / "new.txt", "n"),
        PlannedFile(tmp_path / "same.txt", "a"),
        PlannedFile(tmp_path / "other.txt", "new"),
    ]
    assert [a.status for a in plan(files)] == ["create", "identical", "conflict"]
    assert [a.status for a in plan(files, force=True)] == ["create", "identical", "overwrite"]
    edited = [PlannedFile(tmp_path / "other.txt", "new", edit=True)]
    assert [a.status for a in plan(edited)] == ["update"]


def test_apply_writes_nothing_when_one_file_conflicts(tmp_path):
    (tmp_path / "taken.py").write_text("mine")
    files = [PlannedFile(tmp_path / "sub" / "a.py", "a"), PlannedFile(tmp_path / "taken.py", "b")]
    lines = []
    with pytest.raises(GenerateError, match="taken.py already exists.*nothing was written"):
        apply(plan(files), root=tmp_path, echo=_echo_into(lines))
    assert lines == [("create", "sub/a.py"), ("conflict", "taken.py")]
    assert not (tmp_path / "sub").exists()
    assert (tmp_path / "taken.py").read_text() == "mine"


def test_apply_dry_run_and_real_run(tmp_path):
    files = [PlannedFile(tmp_path / "a" / "b.py", "b"), PlannedFile(tmp_path / "c.py", "c")]
    assert apply(plan(files), root=tmp_path, dry_run=True, echo=_echo_into([])) == []
    assert list(tmp_path.iterdir()) == []
    written = apply(plan(files), root=tmp_path, echo=_echo_into([]))
    assert written == [tmp_path / "a" / "b.py", tmp_path / "c.py"]
    assert (tmp_path / "a" / "b.py").read_text() == "b"
    assert sorted(p.name for p in tmp_path.rglob("*")) == ["a", "b.py", "c.py"]  # no temp files
