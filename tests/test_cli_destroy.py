"""``gaitgen destroy``, Rails-style names, ``init``'s git repository, and a shareable project."""

from __future__ import annotations

import shutil
import subprocess
from pathlib import Path

import pytest
import yaml
from conftest import snapshot
from typer.testing import CliRunner

from gaitgen.cli.app import app
from gaitgen.generate.record import RECORD_FILE

runner = CliRunner()


def test_a_snake_case_name_becomes_a_camel_case_class_in_a_snake_case_file(project: Path):
    result = runner.invoke(app, ["new-model", "my_bad_name"])
    assert result.exit_code == 0, result.output
    assert (
        "note: model name 'my_bad_name' became class MyBadName in my_bad_name.py "
        "(Python class names are CamelCase)" in result.output
    )
    assert "class MyBadName(BaseModel):" in (project / "demo/models/my_bad_name.py").read_text()
    config = yaml.safe_load((project / "configs/my_bad_name.yaml").read_text())
    assert config["model_cfg"]["model"] == "MyBadName"
    assert "next: gaitgen train configs/my_bad_name.yaml" in result.output
    plain = runner.invoke(app, ["new-model", "MyGait"])
    assert plain.exit_code == 0 and "note:" not in plain.output  # CamelCase stays as typed
    assert (project / "demo/models/mygait.py").is_file()


def test_destroy_model_removes_what_new_model_wrote(project: Path):
    before = snapshot(project)
    assert runner.invoke(app, ["new-model", "MyGait"]).exit_code == 0
    record = (project / RECORD_FILE).read_text()
    assert "demo/models/mygait.py" in record and str(project) not in record

    dry = runner.invoke(app, ["destroy", "model", "MyGait", "--dry-run"])
    assert dry.exit_code == 0, dry.output
    assert "remove  configs/mygait.yaml" in dry.output and "nothing was removed" in dry.output
    assert (project / "configs/mygait.yaml").is_file()

    done = runner.invoke(app, ["destroy", "model", "MyGait"])
    assert done.exit_code == 0, done.output
    for path in ("demo/models/mygait.py", "configs/mygait.yaml", "tests/test_mygait.py"):
        assert f"remove  {path}" in done.output and not (project / path).exists()
    after = {k: v for k, v in snapshot(project).items() if not k.startswith(".gaitgen")}
    assert after == before
    again = runner.invoke(app, ["destroy", "model", "MyGait"])
    assert again.exit_code == 1 and "no model MyGait in this project" in again.stderr


def test_destroy_keeps_an_edited_file_unless_forced(project: Path):
    assert runner.invoke(app, ["new-model", "my_gait"]).exit_code == 0
    model = project / "demo/models/my_gait.py"
    model.write_text(model.read_text() + "# my change\n")
    refused = runner.invoke(app, ["destroy", "model", "MyGait"])
    assert refused.exit_code == 1
    assert "edited  demo/models/my_gait.py" in refused.output
    assert (
        "demo/models/my_gait.py changed since gaitgen generated it; nothing was removed "
        "(--force removes it anyway)" in refused.stderr
    )
    assert model.is_file() and (project / "configs/my_gait.yaml").is_file()
    forced = runner.invoke(app, ["destroy", "model", "my_gait", "--force"])
    assert forced.exit_code == 0, forced.output
    assert not model.exists() and not (project / "configs/my_gait.yaml").exists()


def test_destroy_loss_takes_its_entry_out_of_the_config(project: Path):
    config = project / "configs/baseline.yaml"
    original = config.read_text()
    made = runner.invoke(app, ["new-loss", "MyLoss", "--config", "configs/baseline.yaml"])
    assert made.exit_code == 0, made.output
    assert "type: MyLoss" in config.read_text()
    other = project / "configs/other.yaml"
    other.write_text(config.read_text())  # a copy the user made: destroy names it, keeps it
    done = runner.invoke(app, ["destroy", "loss", "MyLoss"])
    assert done.exit_code == 0, done.output
    assert "update  configs/baseline.yaml" in done.output
    assert config.read_text() == original  # comments and all
    assert not (project / "demo/losses/myloss.py").exists()
    assert "note: configs/other.yaml still names MyLoss" in done.output
    assert "type: MyLoss" in other.read_text()


def test_destroy_an_unrecorded_model_only_with_force(project: Path):
    assert runner.invoke(app, ["new-model", "MyGait"]).exit_code == 0
    (project / RECORD_FILE).unlink()  # as a project made before the record existed
    refused = runner.invoke(app, ["destroy", "model", "MyGait"])
    assert refused.exit_code == 1 and "edited  configs/mygait.yaml" in refused.output
    assert runner.invoke(app, ["destroy", "model", "MyGait", "--force"]).exit_code == 0
    assert not (project / "demo/models/mygait.py").exists()


@pytest.mark.skipif(shutil.which("git") is None, reason="git is not installed")
def test_init_makes_a_git_repository_with_a_first_commit(tmp_path: Path):
    result = runner.invoke(app, ["init", str(tmp_path / "lab"), "--defaults"])
    assert result.exit_code == 0, result.output
    assert "git repository made, with a first commit of the project" in result.output
    log = subprocess.run(
        ["git", "log", "--oneline"], cwd=tmp_path / "lab", capture_output=True, text=True
    )
    assert "gaitgen init" in log.stdout
    status = subprocess.run(
        ["git", "status", "--porcelain"], cwd=tmp_path / "lab", capture_output=True, text=True
    )
    assert status.stdout == ""  # everything committed
    plain = runner.invoke(app, ["init", str(tmp_path / "bare"), "--defaults", "--no-git"])
    assert plain.exit_code == 0 and not (tmp_path / "bare/.git").exists()


def test_init_without_git_says_so_in_one_line(tmp_path: Path, monkeypatch):
    monkeypatch.setattr(shutil, "which", lambda name: None)
    result = runner.invoke(app, ["init", str(tmp_path / "lab"), "--defaults"])
    assert result.exit_code == 0, result.output
    assert "git is not installed, so the project is not a git repository" in result.output
    assert not (tmp_path / "lab/.git").exists()


def test_a_project_records_no_path_of_the_machine_that_made_it(tmp_path: Path):
    from gaitgen.generate.project import init_project
    from gaitgen.generate.render import project_template_dir

    root = tmp_path / "lab"
    init_project(root, name="lab")
    machine_paths = (str(tmp_path), str(project_template_dir()), str(Path.home()))
    for path in root.rglob("*"):
        if path.is_file():
            text = path.read_text(encoding="utf-8")
            assert not any(p in text for p in machine_paths), path
    answers = (root / ".copier-answers.yml").read_text()
    assert "_src_path: gaitgen:templates/project\n" in answers
    readme = (root / "README.md").read_text()
    assert "pip install gaitgen" not in readme
    assert 'pip install -e ".[dev]"' in readme and "/path/to/gaitgen" in readme
