"""Shell completion: config files for CONFIG arguments, model and loss names, no torch on TAB."""

from __future__ import annotations

import json
import os
import subprocess
import sys
from pathlib import Path

import pytest
from typer.testing import CliRunner

from gaitgen.cli.app import app
from gaitgen.cli.completion import (
    complete_config,
    complete_model_name,
    component_candidates,
    config_candidates,
)
from gaitgen.generate.project import init_project

runner = CliRunner()

MODEL = """
from gaitgen.runtime import BaseModel


class MyGait(BaseModel):
    def build_network(self, model_cfg):
        self.width = 1

    def forward(self, inputs):
        return inputs


class Helper:
    pass
"""


@pytest.fixture(scope="module")
def project(tmp_path_factory) -> Path:
    root = tmp_path_factory.mktemp("completion") / "proj"
    init_project(root, name="proj")
    (root / "configs" / "ablations").mkdir()
    (root / "configs" / "ablations" / "wide.yaml").write_text("model_cfg: {}\n")
    (root / "configs" / "notes.txt").write_text("not a config\n")
    (root / "proj" / "models" / "mygait.py").write_text(MODEL)
    return root


def test_configs_of_the_project_complete_from_anywhere_in_it(project):
    assert config_candidates("", project) == [
        "configs/",
        "configs/ablations/wide.yaml",
        "configs/baseline.yaml",
        "proj/",
        "tests/",
    ]
    assert config_candidates("configs/b", project) == ["configs/baseline.yaml"]
    assert config_candidates("./configs/a", project) == [
        "./configs/ablations/",
        "./configs/ablations/wide.yaml",
    ]
    assert config_candidates("../configs/", project / "tests") == [
        "../configs/ablations/",
        "../configs/ablations/wide.yaml",
        "../configs/baseline.yaml",
    ]
    absolute = str(project / "configs" / "base")
    assert config_candidates(absolute, project) == [str(project / "configs" / "baseline.yaml")]


def test_outside_a_project_yaml_files_of_the_typed_folder_complete(tmp_path):
    (tmp_path / "a.yaml").write_text("{}")
    (tmp_path / "b.yml").write_text("{}")
    (tmp_path / ".hidden.yaml").write_text("{}")
    (tmp_path / "c.json").write_text("{}")
    assert config_candidates("", tmp_path) == ["a.yaml", "b.yml"]


def test_model_and_loss_names_built_in_and_of_the_project(project, monkeypatch):
    models = dict(component_candidates("model", "", project))
    assert models["MyGait"] == "model (proj/models/mygait.py)"
    assert models["Baseline"] == "model (built-in)"
    assert "Helper" not in models and "BaseModel" not in models
    assert [name for name, _ in component_candidates("model", "my", project)] == ["MyGait"]
    losses = [name for name, _ in component_candidates("loss", "trip", project)]
    assert losses == ["TripletLoss"]
    monkeypatch.chdir(project)  # the typer callbacks complete from the current folder
    assert ("MyGait", "model (proj/models/mygait.py)") in complete_model_name("M")
    assert complete_config("configs/base") == ["configs/baseline.yaml"]


def test_a_broken_project_gives_no_candidates_rather_than_a_traceback(tmp_path, monkeypatch):
    (tmp_path / "pyproject.toml").write_text("[tool.gaitgen\nbroken")
    monkeypatch.chdir(tmp_path)
    assert isinstance(complete_model_name(""), list)
    assert isinstance(complete_config(""), list)


PROBE = """
import json, sys
from gaitgen.cli.app import main
sys.argv = ["gaitgen"]  # the completion variable is named after the program
try:
    main()
except SystemExit:
    pass
print("HEAVY=" + json.dumps([m for m in ("torch", "numpy", "copier") if m in sys.modules]))
"""


def test_tab_in_a_real_shell_session_completes_configs_without_torch(project):
    env = {
        **os.environ,
        "_GAITGEN_COMPLETE": "complete_bash",
        "COMP_WORDS": "gaitgen train configs/",
        "COMP_CWORD": "2",
    }
    done = subprocess.run(
        [sys.executable, "-c", PROBE], cwd=project, env=env, capture_output=True, text=True
    )
    words, heavy = done.stdout.rsplit("HEAVY=", 1)
    assert words.split() == [
        "configs/ablations/",
        "configs/ablations/wide.yaml",
        "configs/baseline.yaml",
    ]
    assert json.loads(heavy) == []


def test_show_completion_prints_the_shell_script(monkeypatch):
    # With shellingham installed, Typer makes --show-completion a flag and detects the shell
    # from the parent processes, which fails ("Shell  not supported.") when the tests run under
    # no shell (CI, a background job). Typer's own switch makes it take the shell's name, as a
    # user on a machine without shellingham types it; the app is built at invoke, so set first.
    monkeypatch.setenv("_TYPER_COMPLETE_TEST_DISABLE_SHELL_DETECTION", "1")
    result = runner.invoke(app, ["--show-completion", "bash"])
    assert result.exit_code == 0, (result.output, repr(result.exception))
    assert "_GAITGEN_COMPLETE=complete_bash" in result.stdout
    help_text = runner.invoke(app, ["--help"]).stdout
    assert "--install-completion" in help_text
