"""``gaitgen init``, ``new-model``, ``new-loss`` and ``list`` through the real CLI (CliRunner).

The tests assert exit codes and the files on disk, not help text.
"""

from __future__ import annotations

import shutil
import sys
from pathlib import Path

import pytest
import yaml
from conftest import snapshot
from gaitgen.runtime import zoo
from typer.testing import CliRunner

from gaitgen.cli.app import app

if sys.version_info >= (3, 11):
    import tomllib
else:  # pragma: no cover
    import tomli as tomllib


# the zoo's starter configs (runtime/zoo/*.yaml)
ZOO = Path(zoo.__file__).parent
FIXTURES = Path(__file__).parent / "fixtures"


@pytest.fixture(scope="module")
def runner() -> CliRunner:
    return CliRunner()


def statuses(output: str) -> dict[str, str]:
    """``{path: status}`` from the generator's status lines."""
    found = {}
    for line in output.splitlines():
        parts = line.split()
        if len(parts) == 2 and parts[0] in {
            "create",
            "identical",
            "conflict",
            "overwrite",
            "update",
        }:
            found[parts[1]] = parts[0]
    return found


# --- init ----------------------------------------------------------------------------------


def test_init_defaults_makes_the_documented_layout(pristine):
    files = set(snapshot(pristine))
    assert {
        ".copier-answers.yml",
        ".gitignore",
        "README.md",
        "pyproject.toml",
        "configs/baseline.yaml",
        "demo/__init__.py",
        "demo/models/__init__.py",
        "demo/losses/__init__.py",
        "tests/test_project.py",
    } <= files
    pyproject = tomllib.loads((pristine / "pyproject.toml").read_text())
    assert pyproject["tool"]["gaitgen"] == {
        "package": "demo",
        "default_config": "configs/baseline.yaml",
    }
    assert any(dep.startswith("gaitgen") for dep in pyproject["project"]["dependencies"])
    answers = yaml.safe_load((pristine / ".copier-answers.yml").read_text())
    assert answers["package"] == "demo" and answers["project_name"] == "demo"
    assert "_src_path" in answers
    ignored = (pristine / ".gitignore").read_text().splitlines()
    assert "data/" in ignored and "output/" in ignored


def test_init_starter_config_is_a_small_baseline_on_synthgait(pristine):
    cfgs = yaml.safe_load((pristine / "configs" / "baseline.yaml").read_text())
    assert cfgs["model_cfg"]["model"] == "Baseline"
    assert cfgs["data_cfg"]["synthetic"]["subjects"] == 40
    assert cfgs["model_cfg"]["SeparateBNNecks"]["class_num"] == 24  # round(0.6 * 40)
    assert [loss["log_prefix"] for loss in cfgs["loss_cfg"]] == ["triplet", "softmax"]
    assert cfgs["trainer_cfg"]["total_iter"] <= 1000


def test_init_answer_flags_are_used_without_questions(runner, tmp_path):
    dest = tmp_path / "My Lab"
    result = runner.invoke(
        app, ["init", str(dest), "--package", "gaitlab", "--name", "gait-lab", "--description", "X"]
    )
    assert result.exit_code == 0, result.output
    assert (dest / "gaitlab" / "models" / "__init__.py").is_file()
    pyproject = tomllib.loads((dest / "pyproject.toml").read_text())
    assert pyproject["project"]["name"] == "gait-lab"
    assert pyproject["project"]["description"] == "X"
    assert pyproject["tool"]["gaitgen"]["package"] == "gaitlab"


def test_init_defaults_derive_a_valid_package_from_the_folder(runner, tmp_path):
    result = runner.invoke(app, ["init", str(tmp_path / "3d-lab"), "--defaults"])
    assert result.exit_code == 0, result.output
    assert (tmp_path / "3d-lab" / "gait_3d_lab" / "models").is_dir()
    assert "package gait_3d_lab" in result.output


@pytest.mark.parametrize("args", [["--package", "Bad-Name"], ["--name", "bad name!"]])
def test_init_bad_answers_fail_with_one_line_and_no_folder(runner, tmp_path, args):
    result = runner.invoke(app, ["init", str(tmp_path / "p"), *args])
    assert result.exit_code != 0
    assert result.stderr.startswith("error: ") and result.stderr.count("\n") == 1
    assert not (tmp_path / "p").exists()


def test_init_on_a_full_disk_names_the_project_folder(runner, tmp_path, monkeypatch):
    """Issue 17, item 18: a full disk during init said 'while writing a file' (copier's
    writes carry no file name); it names the project folder."""
    import errno

    def full(self, data):
        raise OSError(errno.ENOSPC, "No space left on device")

    monkeypatch.setattr(Path, "write_bytes", full)
    result = runner.invoke(app, ["init", str(tmp_path / "proj"), "--defaults"])
    assert result.exit_code == 1
    assert result.output == (
        f"error: no space left on device while writing {tmp_path / 'proj'}: free some space\n"
    )


def test_init_refuses_a_non_empty_folder_unless_forced(runner, tmp_path):
    dest = tmp_path / "busy"
    dest.mkdir()
    (dest / "notes.txt").write_text("mine")
    result = runner.invoke(app, ["init", str(dest), "--defaults"])
    assert result.exit_code != 0 and "not empty" in result.stderr
    assert sorted(p.name for p in dest.iterdir()) == ["notes.txt"]
    result = runner.invoke(app, ["init", str(dest), "--defaults", "--force"])
    assert result.exit_code == 0, result.output
    assert (dest / "configs" / "baseline.yaml").is_file()
    assert (dest / "notes.txt").read_text() == "mine"


# --- new-model -----------------------------------------------------------------------------


def test_new_model_writes_model_config_and_test(runner, project):
    result = runner.invoke(app, ["new-model", "MyGait"])
    assert result.exit_code == 0, result.output
    assert statuses(result.output) == {
        "demo/models/mygait.py": "create",
        "configs/mygait.yaml": "create",
        "tests/test_mygait.py": "create",
    }
    assert "class MyGait(BaseModel):" in (project / "demo/models/mygait.py").read_text()
    assert "from demo.models.mygait import MyGait" in (project / "tests/test_mygait.py").read_text()
    cfgs = yaml.safe_load((project / "configs/mygait.yaml").read_text())
    assert cfgs["model_cfg"]["model"] == "MyGait"
    # data_cfg is copied, comments included, from the project's default config
    assert (
        "# relative paths resolve against the project root"
        in (project / "configs/mygait.yaml").read_text()
    )
    baseline = yaml.safe_load((project / "configs/baseline.yaml").read_text())
    assert cfgs["data_cfg"] == baseline["data_cfg"]
    assert (
        cfgs["trainer_cfg"]["sampler"]["batch_size"]
        == baseline["trainer_cfg"]["sampler"]["batch_size"]
    )


@pytest.mark.parametrize(
    ("name", "message"),
    [
        ("3D", "not a valid Python class name"),
        ("class", "keyword"),
        ("../x", "not a valid Python class name"),
        ("Baseline", "taken"),
        ("TripletLoss", "taken"),
        ("BaseModel", "base class of every model"),
        ("BaseLoss", "base class of every loss"),
        ("G" * 300, "at most 100 characters"),
    ],
)
def test_new_model_bad_names_fail_with_one_line_and_change_nothing(runner, project, name, message):
    before = snapshot(project)
    result = runner.invoke(app, ["new-model", name])
    assert result.exit_code != 0
    assert result.stderr.count("\n") == 1 and message in result.stderr
    assert result.stderr.startswith("error: ")
    assert snapshot(project) == before


def test_second_new_model_of_a_name_fails_and_changes_nothing(runner, project):
    assert runner.invoke(app, ["new-model", "MyGait"]).exit_code == 0
    (project / "demo/models/mygait.py").write_text("class MyGait:\n    'edited'\n")
    before = snapshot(project)
    result = runner.invoke(app, ["new-model", "MyGait"])
    assert result.exit_code != 0
    assert result.stderr.count("\n") == 1 and "taken" in result.stderr
    assert snapshot(project) == before


def test_new_model_dry_run_writes_nothing(runner, project):
    before = snapshot(project)
    result = runner.invoke(app, ["new-model", "MyGait", "--dry-run"])
    assert result.exit_code == 0, result.output
    assert set(statuses(result.output).values()) == {"create"}
    assert snapshot(project) == before


def test_new_model_force_overwrites_changed_files_only(runner, project):
    assert runner.invoke(app, ["new-model", "MyGait"]).exit_code == 0
    generated = (project / "demo/models/mygait.py").read_text()
    (project / "demo/models/mygait.py").write_text(generated + "# my edit\n")
    result = runner.invoke(app, ["new-model", "MyGait", "--force"])
    assert result.exit_code == 0, result.output
    assert statuses(result.output) == {
        "demo/models/mygait.py": "overwrite",
        "configs/mygait.yaml": "identical",
        "tests/test_mygait.py": "identical",
    }
    assert (project / "demo/models/mygait.py").read_text() == generated


def test_new_model_conflict_writes_none_of_the_files(runner, project):
    (project / "tests/test_other.py").write_text("# someone's test\n")
    before = snapshot(project)
    result = runner.invoke(app, ["new-model", "Other"])
    assert result.exit_code != 0
    assert statuses(result.output)["tests/test_other.py"] == "conflict"
    assert "nothing was written" in result.stderr
    assert snapshot(project) == before


def test_generators_outside_a_project_say_how_to_make_one(runner, tmp_path, monkeypatch):
    monkeypatch.chdir(tmp_path)
    for args in (["new-model", "MyGait"], ["new-loss", "MyLoss"]):
        result = runner.invoke(app, args)
        assert result.exit_code != 0
        assert "gaitgen init" in result.stderr
    assert list(tmp_path.iterdir()) == []


# --- new-loss ------------------------------------------------------------------------------


def test_new_loss_without_config_prints_the_entry(runner, project):
    result = runner.invoke(app, ["new-loss", "MyLoss"])
    assert result.exit_code == 0, result.output
    assert statuses(result.output) == {
        "demo/losses/myloss.py": "create",
        "tests/test_myloss.py": "create",
    }
    entry = result.output.split("add to loss_cfg in your config:\n")[1].split("(inputs_from")[0]
    assert yaml.safe_load(entry) == [
        {
            "type": "MyLoss",
            "log_prefix": "myloss",
            "inputs_from": "triplet",
            "loss_term_weight": 1.0,
            "margin": 1.0,
        }
    ]
    assert "@gather_and_scale_wrapper" in (project / "demo/losses/myloss.py").read_text()


def test_new_loss_with_config_edits_it_keeping_comments(runner, project):
    assert runner.invoke(app, ["new-model", "MyGait"]).exit_code == 0
    config = project / "configs/mygait.yaml"
    config.write_text(config.read_text().replace("  margin: 0.2", "  margin: 0.2  # tuned"))
    old_text = config.read_text()
    result = runner.invoke(
        app, ["new-loss", "MyLoss", "--config", "configs/mygait.yaml", "--prefix", "myloss"]
    )
    assert result.exit_code == 0, result.output
    assert statuses(result.output)["configs/mygait.yaml"] == "update"
    text = config.read_text()
    assert all(line in text.splitlines() for line in old_text.splitlines())  # nothing lost
    cfgs = yaml.safe_load(text)
    assert cfgs["loss_cfg"][-1] == {
        "type": "MyLoss",
        "log_prefix": "myloss",
        "inputs_from": "triplet",  # the loss of the config that takes embeddings
        "loss_term_weight": 1.0,
        "margin": 1.0,
    }
    assert "loss_inputs" not in cfgs["model_cfg"]  # the model is not told anything
    assert "note:" not in result.output


def test_new_loss_per_sample_gets_the_logits(runner, project):
    assert runner.invoke(app, ["new-model", "MyGait"]).exit_code == 0
    args = ["new-loss", "Focal", "--no-pairwise", "--config", "configs/mygait.yaml"]
    assert runner.invoke(app, args).exit_code == 0
    cfgs = yaml.safe_load((project / "configs/mygait.yaml").read_text())
    assert cfgs["loss_cfg"][-1] == {
        "type": "Focal",
        "log_prefix": "focal",
        "inputs_from": "softmax",
        "loss_term_weight": 1.0,
        "scale": 16.0,
        "gamma": 2.0,
    }
    assert "@gather_and_scale_wrapper" not in (project / "demo/losses/focal.py").read_text()


def test_new_loss_wires_into_a_zoo_config_and_a_from_config(runner, project):
    shutil.copy(ZOO / "gaitgl.yaml", project / "configs/gl.yaml")
    assert runner.invoke(app, ["new-model", "MySet", "--from", "GaitSet"]).exit_code == 0
    for config, pairwise, source in (
        ("configs/gl.yaml", "--no-pairwise", "softmax"),
        ("configs/myset.yaml", "--pairwise", "triplet"),
    ):
        name = "Ce" + Path(config).stem.capitalize()
        result = runner.invoke(app, ["new-loss", name, pairwise, "--config", config])
        assert result.exit_code == 0, result.output
        entry = yaml.safe_load((project / config).read_text())["loss_cfg"][-1]
        assert (entry["type"], entry["inputs_from"]) == (name, source)
        assert "note:" not in result.output


def test_new_loss_never_reads_the_model(runner, project):
    config = project / "configs/other.yaml"
    config.write_text(
        (project / "configs/baseline.yaml").read_text().replace("model: Baseline", "model: Nowhere")
    )
    result = runner.invoke(app, ["new-loss", "MyLoss", "--config", "configs/other.yaml"])
    assert result.exit_code == 0, result.output
    assert yaml.safe_load(config.read_text())["loss_cfg"][-1]["inputs_from"] == "triplet"


def test_new_loss_follows_the_loss_classes_not_the_prefix_names(runner, project):
    # a project loss that inherits TripletLoss.forward, under a prefix of its own; and an
    # earlier new loss with inputs_from, which a second one must not chain from
    (project / "demo/losses/hard.py").write_text(
        "from gaitgen.runtime import TripletLoss\n\n\nclass Hard(TripletLoss):\n"
        '    """Triplet loss, another margin."""\n'
    )
    config = project / "configs/baseline.yaml"
    text = config.read_text().replace(
        "TripletLoss\n    log_prefix: triplet", "Hard\n    log_prefix: h"
    )
    config.write_text(text)
    for name in ("First", "Second"):
        args = ["new-loss", name, "--config", "configs/baseline.yaml"]
        assert runner.invoke(app, args).exit_code == 0
    entries = yaml.safe_load(config.read_text())["loss_cfg"]
    assert [entry.get("inputs_from") for entry in entries] == [None, None, "h", "h"]


def test_new_loss_on_a_config_without_a_fitting_loss_says_what_to_do(runner, project):
    config = project / "configs/one.yaml"
    shutil.copy(ZOO / "gaitset.yaml", config)  # TripletLoss only: no logits
    args = ["new-loss", "Focal", "--no-pairwise", "--config", "configs/one.yaml"]
    result = runner.invoke(app, args)
    assert result.exit_code == 0, result.output
    assert "note: no loss in configs/one.yaml's loss_cfg takes logits" in result.output
    assert '"focal": {"logits": ..., "labels": labs}' in result.output
    entry = yaml.safe_load(config.read_text())["loss_cfg"][-1]
    assert entry["log_prefix"] == "focal" and "inputs_from" not in entry


def test_an_older_project_s_model_with_loss_inputs_keeps_training(runner, project):
    """A model generated before inputs_from reads model_cfg.loss_inputs itself: its config
    still loads and trains, and new-loss --config wires a loss into it the new way."""
    from gaitgen.runtime import testing

    shutil.copy(FIXTURES / "old_generated_model.py", project / "demo/models/oldgait.py")
    assert runner.invoke(app, ["new-model", "Scratch"]).exit_code == 0
    config = project / "configs/oldgait.yaml"
    config.write_text(
        (project / "configs/scratch.yaml")
        .read_text()
        .replace("model: Scratch", "model: OldGait")
        .replace(
            "  SeparateBNNecks:",
            "  loss_inputs:\n    triplet: embeddings\n    softmax: logits\n  SeparateBNNecks:",
        )
    )
    result = runner.invoke(app, ["new-loss", "MyLoss", "--config", "configs/oldgait.yaml"])
    assert result.exit_code == 0, result.output
    cfgs = yaml.safe_load(config.read_text())
    assert cfgs["model_cfg"]["loss_inputs"] == {"triplet": "embeddings", "softmax": "logits"}
    assert cfgs["loss_cfg"][-1]["inputs_from"] == "triplet"
    imported, path = set(sys.modules), list(sys.path)
    try:
        gradients = testing.loss_gradients(config)
    finally:  # the next test's project is another "demo": forget this one's modules
        for name in set(sys.modules) - imported:
            if name.split(".")[0] == "demo":
                del sys.modules[name]
        sys.path[:] = path
    assert set(gradients) == {"triplet", "softmax", "myloss"}
    assert gradients["myloss"] > 0


def test_new_loss_with_a_taken_prefix_fails_and_changes_nothing(runner, project):
    before = snapshot(project)
    args = ["new-loss", "MyLoss", "--config", "configs/baseline.yaml", "--prefix", "triplet"]
    result = runner.invoke(app, args)
    assert result.exit_code != 0
    assert "already uses log_prefix 'triplet'" in result.stderr
    assert snapshot(project) == before


def test_new_loss_dry_run_with_config_writes_nothing(runner, project):
    before = snapshot(project)
    args = ["new-loss", "MyLoss", "--config", "configs/baseline.yaml", "--dry-run"]
    result = runner.invoke(app, args)
    assert result.exit_code == 0, result.output
    assert statuses(result.output)["configs/baseline.yaml"] == "update"
    assert snapshot(project) == before


@pytest.mark.parametrize(
    "text, message",
    [
        ("loss_cfg: 5\n", "bad.yaml: loss_cfg is 5; expected a loss"),
        ("loss_cfg: [1\n", "bad.yaml:2:1: invalid YAML"),
        (b"loss_cfg: []\n# \xff\xfe\n", "bad.yaml: not a UTF-8 text file"),
    ],
)
def test_new_loss_with_a_broken_config_is_one_line_naming_it(runner, project, text, message):
    path = project / "configs" / "bad.yaml"
    path.write_bytes(text if isinstance(text, bytes) else text.encode())
    before = snapshot(project) if isinstance(text, str) else None
    result = runner.invoke(app, ["new-loss", "MyLoss", "--config", "configs/bad.yaml"])
    assert result.exit_code != 0
    assert result.stderr.count("\n") == 1 and message in result.stderr, result.stderr
    if before is not None:
        assert snapshot(project) == before
    assert not (project / "demo/losses/myloss.py").exists()


def test_new_loss_and_model_refuse_a_target_that_is_not_utf8(runner, project):
    (project / "demo/losses/myloss.py").write_bytes(b"# \xff\xfe latin-1\n")
    result = runner.invoke(app, ["new-loss", "MyLoss", "--force"])
    assert result.exit_code != 0
    assert result.stderr.count("\n") == 1 and "myloss.py: exists and is not UTF-8" in result.stderr
    assert not (project / "tests/test_myloss.py").exists()
    (project / "configs/other.yaml").write_bytes(b"\xff")
    result = runner.invoke(app, ["new-model", "Other"])
    assert result.exit_code != 0 and "other.yaml: exists and is not UTF-8" in result.stderr
    assert not (project / "demo/models/other.py").exists()


# --- list ----------------------------------------------------------------------------------


def test_list_shows_builtin_and_project_components(runner, project):
    assert runner.invoke(app, ["new-model", "MyGait"]).exit_code == 0
    result = runner.invoke(app, ["list"])
    assert result.exit_code == 0, result.output
    lines = [line.split() for line in result.output.splitlines()]
    assert ["MyGait", "project", "demo/models/mygait.py"] in lines
    # built-in models show their full-size parameter count before the file
    assert any(
        line[:4] == ["Baseline", "built-in", "7.31", "M"] and line[4].endswith("baseline.py")
        for line in lines
        if len(line) == 5
    )
    assert any(line[:2] == ["TripletLoss", "built-in"] for line in lines)
    from gaitgen.runtime.components import KINDS

    for spec in KINDS.values():  # every kind of the component table, each with members
        header = next(line for line in lines if line and line[0] == spec.plural)
        assert int(header[1].strip("()")) > 0, header
    assert any(line[:2] == ["ResNet9", "built-in"] for line in lines)
    assert any(line[:3] == ["SGD", "built-in", "torch.optim"] for line in lines)


def test_list_kind_filter_and_bad_kind(runner, project):
    for args in (["list", "loss"], ["list", "--kind", "loss"], ["list", "losses"]):
        result = runner.invoke(app, args)
        assert result.exit_code == 0, result.output
        assert "TripletLoss" in result.output and "Baseline" not in result.output
    result = runner.invoke(app, ["list", "optimizer"])
    assert result.exit_code == 0 and "AdamW" in result.output and "Triplet" not in result.output
    result = runner.invoke(app, ["list", "optimiser"])
    assert result.exit_code != 0
    assert "KIND 'optimiser' is not a kind (did you mean 'optimizer'?)" in result.stderr


def test_generators_editing_one_config_at_once_take_turns(project):
    """Issue 17, item 2: four ``new-loss --config`` at once all said ok while the config kept
    only some of the losses; they now take turns on the project's lock."""
    import subprocess

    names = ["LossA", "LossB", "LossC", "LossD"]
    # a sleep between reading the config and writing it back widens the window in which,
    # unlocked, every process reads the same old config
    slow = (
        "import sys, time; from gaitgen.generate import plan; write = plan._write_all; "
        "plan._write_all = lambda files: (time.sleep(0.5), write(files)); "
        "from gaitgen.cli.app import main; sys.argv = ['gaitgen', *sys.argv[1:]]; main()"
    )
    processes = [
        subprocess.Popen(
            [sys.executable, "-c", slow, "new-loss", name, "--config", "configs/baseline.yaml"],
            cwd=project,
            stdout=subprocess.PIPE,
            stderr=subprocess.STDOUT,
            text=True,
        )
        for name in names
    ]
    outputs = [process.communicate(timeout=120)[0] for process in processes]
    assert [process.returncode for process in processes] == [0] * 4, outputs
    losses = yaml.safe_load((project / "configs/baseline.yaml").read_text())["loss_cfg"]
    assert sorted(entry["type"] for entry in losses if entry["type"] in names) == names
    for name in names:
        assert (project / f"demo/losses/{name.lower()}.py").is_file()
