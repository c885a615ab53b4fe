"""``gaitgen check``: the report of a good config, --print-config, and one line per problem."""

from __future__ import annotations

import re
from pathlib import Path

import pytest
import yaml
from conftest import make_project, small_config
from typer.testing import CliRunner

from gaitgen.cli.app import app

runner = CliRunner()


@pytest.fixture
def project(tmp_path: Path, tiny_dataset) -> tuple[Path, Path]:
    """A project whose configs/small.yaml trains the small Baseline on the tiny data."""
    root = make_project(tmp_path / "proj", package="checkproj")
    config = root / "configs" / "small.yaml"
    config.write_text(small_config(*tiny_dataset))
    return root, config


def run(*args: str) -> tuple[int, str, str]:
    result = runner.invoke(app, ["check", *map(str, args)])
    return result.exit_code, result.stdout, result.stderr


def error_lines(err: str) -> list[str]:
    lines = err.strip().splitlines()
    assert lines and all(line.startswith("error: ") for line in lines), err
    assert "Traceback" not in err
    return lines


def test_good_config_reports_everything_and_writes_nothing(project) -> None:
    root, config = project
    code, out, err = run(config, "--device", "cpu")
    assert code == 0, out + err
    assert err == ""
    assert "Baseline: " in out and " parameters" in out
    assert "Backbone: " in out and "FCs: 32,768" in out  # SeparateFCs: 16 parts x 64 x 32
    # P x K = 2 x 2 training batch; all 4 training ids are softmax classes
    assert "triplet: embeddings [4, 32, 16] float32, labels [4] int64 -> TripletLoss" in out
    assert "softmax: logits [4, 4, 16] float32, labels [4] int64 -> CrossEntropyLoss" in out
    # the test batch as the test phase feeds it: 8 whole sequences joined, with seqL
    assert "8 sequences; ipts[0] [1, 96, 64, 44] uint8; seqL [1, 8] (12, 12" in out
    assert "embeddings: [8, 32, 16] float32" in out
    assert "FLOPs/seq" in out and "(inference, 12 frames on average)" in out
    assert "max RSS" in out and "train step" in out and "eval forward" in out
    assert out.rstrip().endswith("ok: no problems found")
    assert not (root / "output").exists()
    assert "evaluation      CASIA-B (evaluate_indoor_dataset, metric euc)" in out


def test_an_evaluation_test_would_refuse_is_found_by_check_and_test_before_embedding(
    project,
) -> None:
    root, config = project
    config.write_text(config.read_text() + "evaluator_cfg:\n  eval_func: evaluate_real_scene\n")
    code, _, err = run(config, "--device", "cpu")
    assert code == 1
    assert any(
        "evaluate_real_scene does not evaluate dataset 'CASIA-B' (a view protocol)" in line
        for line in error_lines(err)
    ), err
    tested = runner.invoke(app, ["test", str(config)])  # no checkpoint either: eval is first
    assert tested.exit_code == 1 and "evaluate_real_scene" in tested.stderr, tested.output


def test_print_config_prints_the_merged_yaml_only(project) -> None:
    _, config = project
    code, out, _ = run(config, "--print-config", "--set", "trainer_cfg.total_iter=7")
    assert code == 0
    cfgs = yaml.safe_load(out)
    assert cfgs["trainer_cfg"]["total_iter"] == 7
    assert cfgs["model_cfg"]["model"] == "Baseline"
    assert "optimizer_reset" in cfgs["trainer_cfg"]  # a packaged default, merged in
    assert "ok: no problems" not in out and "train step" not in out


def test_missing_config_is_one_line(tmp_path: Path) -> None:
    code, out, err = run(tmp_path / "nope.yaml")
    assert code == 1 and out == ""
    (line,) = error_lines(err)
    assert "config file not found" in line and "nope.yaml" in line


def test_unknown_model_is_a_problem_and_the_rest_is_still_checked(project) -> None:
    _, config = project
    text = config.read_text().replace("model: Baseline", "model: Baselin")
    config.write_text(text.replace("solver: SGD", "solver: SGDD"))
    code, out, err = run(config, "--device", "cpu")
    assert code == 1
    model_line, solver_line = error_lines(err)
    assert "'Baselin'" in model_line and "did you mean 'Baseline'" in model_line
    assert "optimizer_cfg.solver" in solver_line and "'SGDD'" in solver_line
    assert re.search(r"train batch +4 sequences", out)  # the loaders were checked all the same
    assert "losses" in out and "TripletLoss" in out
    assert "2 problem(s) found" in out


def test_unknown_solver_and_missing_data_each_give_a_line(project) -> None:
    _, config = project
    text = config.read_text().replace("solver: SGD", "solver: SGDD")
    config.write_text(_replace_root(text, "/nonexistent/tiny"))
    code, out, err = run(config, "--device", "cpu")
    assert code == 1
    lines = error_lines(err)
    assert any("optimizer_cfg.solver" in line and "SGDD" in line for line in lines), lines
    assert any("/nonexistent/tiny" in line for line in lines), lines
    assert "random (the training loader failed)" in out


def test_a_loss_without_its_training_feat_key_is_named(project) -> None:
    _, config = project
    config.write_text(config.read_text().replace("log_prefix: softmax", "log_prefix: ce"))
    code, out, err = run(config, "--device", "cpu")
    assert code == 1
    lines = error_lines(err)
    assert len(lines) == 2, lines  # the key without a loss, the loss without a key
    assert "training_feat key 'softmax' has no loss" in lines[0]
    assert "loss_cfg[1] (CrossEntropyLoss, log_prefix 'ce') gets nothing" in lines[1]
    assert "-> NO LOSS" in out


def test_a_loss_with_inputs_from_is_shown_beside_its_source(project) -> None:
    _, config = project
    extra = "  - {type: TripletLoss, log_prefix: hard, inputs_from: triplet, margin: 0.5}\n"
    config.write_text(config.read_text().replace("model_cfg:", extra + "model_cfg:", 1))
    code, out, err = run(config, "--device", "cpu")
    assert code == 0, out + err
    assert "-> TripletLoss, TripletLoss (log_prefix 'hard', inputs_from)" in out


def _replace_root(text: str, new_root: str) -> str:
    lines = []
    for line in text.splitlines():
        if line.strip().startswith("dataset_root:"):
            line = line.split("dataset_root:")[0] + f"dataset_root: {new_root}"
        lines.append(line)
    return "\n".join(lines) + "\n"


def test_keys_opengait_ignores_are_notes_not_problems(project) -> None:
    _, config = project
    text = config.read_text().replace(
        "  log_iter: 2\n", "  log_iter: 2\n  enable_distributed: true\n"
    )
    config.write_text(text)
    code, out, err = run(config, "--device", "cpu")
    assert code == 0, out + err
    assert re.search(r"ignored keys +1, accepted as OpenGait does", out)
    (note,) = [line for line in out.splitlines() if line.startswith("note: ")]
    assert "trainer_cfg.enable_distributed" in note
    assert "error:" not in err


BROKEN_MODEL = """
import torch
from gaitgen.runtime import BaseModel


class BrokenNet(BaseModel):
    def build_network(self, model_cfg):
        self.fc = torch.nn.Linear(7, 3)

    def forward(self, inputs):
        ipts, labs, typs, viws, seqL = inputs
        return self.fc(ipts[0])  # [n, s, h, w] @ [7, 3]: the shapes do not fit
"""


def test_a_model_whose_forward_fails_is_named(project) -> None:
    root, config = project
    (root / "checkproj" / "models" / "broken.py").write_text(BROKEN_MODEL)
    config.write_text(config.read_text().replace("model: Baseline", "model: BrokenNet"))
    code, out, err = run(config, "--device", "cpu")
    assert code == 1
    (line,) = error_lines(err)
    assert line.startswith("error: BrokenNet.forward (train): RuntimeError: mat1 and mat2")
    assert "BrokenNet: 24 parameters" in out and "fc: 24" in out


def test_invalid_yaml_is_one_line_with_its_line_number(project) -> None:
    _, config = project
    config.write_text(config.read_text().replace("model_cfg:", "model_cfg: [", 1))
    code, out, err = run(config)
    assert code == 1 and out == ""
    (line,) = error_lines(err)
    assert "small.yaml:" in line and "YAML" in line


def test_a_synthetic_dataset_is_generated_into_data_not_output(project) -> None:
    root, config = project
    data = root / "data" / "tiny"
    text = _replace_root(config.read_text(), str(data))
    text = text.replace(
        "  num_workers: 0\n",
        "  num_workers: 0\n  synthetic: {generator: tiny, subjects: 6, frames: 12}\n",
    )
    lines = []
    for line in text.splitlines():  # the partition goes with the generated data
        if line.strip().startswith("dataset_partition:"):
            line = f"  dataset_partition: {data / 'partition.json'}"
        lines.append(line)
    config.write_text("\n".join(lines) + "\n")
    code, out, err = run(config, "--device", "cpu")
    assert code == 0, out + err
    assert out.startswith("generating the tiny dataset"), out
    assert (data / "partition.json").is_file() and (data / "006").is_dir()
    assert not (root / "output").exists()
    # made in the machine's dataset cache: a second project (here, the link gone) only links it
    assert data.is_symlink()
    data.unlink()
    code, out, err = run(config, "--device", "cpu")
    assert code == 0, out + err
    assert "generating" not in out
    assert out.startswith(f"{data} -> "), out
    assert "cached for every project" in out.splitlines()[0]


def test_cuda_asked_for_without_one_is_one_line(project) -> None:
    import torch

    if torch.cuda.is_available():
        pytest.skip("this machine has CUDA")
    _, config = project
    code, out, err = run(config, "--device", "cuda")
    assert code == 1 and out == ""
    (line,) = error_lines(err)
    assert "--device cuda" in line and "--device cpu" in line


def test_train_and_test_print_the_same_resolved_config_as_check(project) -> None:
    root, config = project
    child = root / "configs" / "short.yaml"
    child.write_text("_base_: small.yaml\ntrainer_cfg:\n  total_iter: 3\n")
    outputs = []
    for command in ("check", "train", "test"):
        result = runner.invoke(
            app, [command, str(child), "--print-config", "--set", "~trainer_cfg.log_iter"]
        )
        assert result.exit_code == 0, result.output
        outputs.append(result.stdout)
    assert outputs[0] == outputs[1] == outputs[2]
    cfgs = yaml.safe_load(outputs[0])
    assert cfgs["trainer_cfg"]["total_iter"] == 3  # the config over its base
    assert cfgs["trainer_cfg"]["log_iter"] == 100  # deleted: the packaged default
    assert cfgs["model_cfg"]["model"] == "Baseline" and "_base_" not in cfgs  # from the base
    assert not (root / "output").exists()  # nothing trained, nothing tested


def test_print_config_of_a_missing_config_is_one_line(tmp_path: Path) -> None:
    result = runner.invoke(app, ["train", str(tmp_path / "nope.yaml"), "--print-config"])
    assert result.exit_code == 1 and result.stdout == ""
    (line,) = error_lines(result.stderr)
    assert "config file not found" in line
