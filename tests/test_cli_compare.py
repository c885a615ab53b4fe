"""``gaitgen compare``: runs side by side from results.json files and run folders."""

from __future__ import annotations

import csv
import importlib.util
import io
import json
from pathlib import Path

import pytest
import torch
import yaml
from typer.testing import CliRunner

from gaitgen.cli.app import app
from gaitgen.cli.compare_table import human_count, human_duration, latex_escape

runner = CliRunner()
HAS_MATPLOTLIB = importlib.util.find_spec("matplotlib") is not None


def casia_results(nm: float, bg: float, cl: float, metric: str = "euc") -> dict:
    def condition(value):
        return {"rank1": value, "per_view": {"000": value}, "per_pair": {"000": {"000": None}}}

    return {
        "protocol": "CASIA-B",
        "metric": metric,
        "conditions": {"NM": condition(nm), "BG": condition(bg), "CL": condition(cl)},
    }


GREW = {
    "protocol": "GREW",
    "metric": "euc",
    "conditions": {
        "overall": {"rank1": 50.0, "rank5": 60.0, "rank10": 70.0, "mAP": 40.0, "mINP": 10.0}
    },
}


def model_cfg(embedding: int) -> dict:
    """A small Baseline; ``embedding`` (SeparateFCs' out_channels) sets its size."""
    return {
        "model": "Baseline",
        "backbone_cfg": {
            "type": "ResNet9",
            "block": "BasicBlock",
            "channels": [8, 16, 32, 64],
            "layers": [1, 1, 1, 1],
            "strides": [1, 2, 2, 1],
            "maxpool": False,
        },
        "SeparateFCs": {"in_channels": 64, "out_channels": embedding, "parts_num": 16},
        "SeparateBNNecks": {"class_num": 4, "in_channels": embedding, "parts_num": 16},
        "bin_num": [16],
    }


def parameters_of(embedding: int) -> int:
    """The small Baseline's parameters, counted here without gaitgen's counter."""
    from gaitgen.runtime.models.baseline import Baseline

    model = Baseline({"model_cfg": model_cfg(embedding)}, is_training=False)
    return sum(p.numel() for p in model.parameters())


def make_run(
    root: Path,
    save_name: str,
    results: dict | None,
    iterations: tuple[int, ...] = (10, 20),
    embedding: int = 8,
) -> Path:
    """A run folder as train + test leave it: config, checkpoint, scalars, results."""
    folder = root / "output" / "SynthGait" / "Baseline" / save_name
    (folder / "checkpoints").mkdir(parents=True)
    (folder / "summary").mkdir()
    config = {
        "data_cfg": {"dataset_name": "SynthGait"},
        "model_cfg": model_cfg(embedding),
        "trainer_cfg": {"save_name": save_name},
    }
    (folder / "config.yaml").write_text(yaml.safe_dump(config))
    state = {"fc.weight": torch.zeros(6, 1)}  # compare reads the iteration from the name only
    for iteration in iterations:
        path = folder / "checkpoints" / f"{save_name}-{iteration:05d}.pt"
        torch.save({"model": state, "iteration": iteration}, path)
    lines = []
    for number, iteration in enumerate(iterations):
        record = {"iteration": iteration, "time": 1.7e9 + number, "elapsed": 30.0 * (number + 1)}
        lines.append(
            json.dumps({**record, "triplet/loss": 1.0 / (number + 1), "learning_rate": 0.1})
        )
    (folder / "summary" / "scalars.jsonl").write_text("\n".join(lines) + "\n{cut by a cra")
    if results is not None:
        (folder / "results.json").write_text(json.dumps(results))
    return folder


@pytest.fixture
def two_runs(tmp_path, monkeypatch):
    monkeypatch.chdir(tmp_path)
    make_run(tmp_path, "small", casia_results(90.0, 80.0, 50.5))
    make_run(tmp_path, "large_lr", casia_results(95.25, 70.0, 60.0), embedding=4096)
    return tmp_path


def test_the_table_shows_each_run_with_its_numbers_size_and_time(two_runs):
    result = runner.invoke(app, ["compare", "output/SynthGait/Baseline/*"])  # quoted glob
    assert result.exit_code == 0, result.output
    lines = result.stdout.splitlines()
    assert lines[0].split() == [
        "run", "model", "dataset", "iter", "protocol", "NM", "BG", "CL", "params", "time",
    ]  # fmt: skip
    rows = {line.split()[0]: line.split() for line in lines[1:]}
    assert rows["small"] == [
        "small", "Baseline", "SynthGait", "20", "CASIA-B", "(euc)", "90.00", "80.00", "50.50",
        human_count(parameters_of(8)), "1m", "00s",
    ]  # fmt: skip
    assert rows["large_lr"][6:10] == ["95.25", "70.00", "60.00", human_count(parameters_of(4096))]


def test_markdown_latex_and_csv(two_runs):
    markdown = runner.invoke(app, ["compare", "output", "--format", "markdown"]).stdout
    assert markdown.splitlines()[0].startswith("| run | model | dataset | iter | protocol | NM |")
    assert "| **95.25** |" in markdown and "| **80.00** |" in markdown  # the best is bold
    latex = runner.invoke(app, ["compare", "output", "--format", "latex"]).stdout
    assert latex.startswith("\\begin{tabular}{llllrrrrr") or "\\toprule" in latex
    assert "large\\_lr & Baseline & SynthGait & 20 & CASIA-B (euc) & \\textbf{95.25}" in latex
    assert latex.rstrip().endswith("\\bottomrule\n\\end{tabular}")
    table = list(csv.reader(io.StringIO(runner.invoke(app, ["compare", ".", "-f", "csv"]).stdout)))
    assert table[0][-2:] == ["params", "time"]
    assert {row[0]: row[5:] for row in table[1:]}["small"] == [
        "90.0",
        "80.0",
        "50.5",
        str(parameters_of(8)),
        "60.0",
    ]


def test_out_writes_the_format_of_its_suffix(two_runs):
    result = runner.invoke(app, ["compare", "output", "--out", "table.tex"])
    assert result.exit_code == 0, result.output
    assert "wrote table.tex" in result.stdout
    assert (two_runs / "table.tex").read_text().startswith("\\begin{tabular}")
    assert not list(two_runs.glob(".table.tex.*"))  # the atomic writer's temporary is gone


def test_out_never_replaces_a_compared_file_and_needs_force_over_a_file(two_runs):
    results = next(two_runs.glob("output/**/results.json"))
    before = results.read_bytes()
    for target in (str(results), str(results.parent / "table.md")):
        result = runner.invoke(app, ["compare", str(results.parent), "--out", target, "--force"])
        assert result.exit_code == 1 and "being compared" in result.stderr, result.output
    assert results.read_bytes() == before and not (results.parent / "table.md").exists()
    (two_runs / "table.md").write_text("mine\n")
    result = runner.invoke(app, ["compare", "output", "--out", "table.md"])
    assert result.exit_code == 1
    assert result.stderr == "error: --out: table.md exists; add --force to replace it\n"
    assert (two_runs / "table.md").read_text() == "mine\n"
    result = runner.invoke(app, ["compare", "output", "--out", "table.md", "--force"])
    assert result.exit_code == 0 and (two_runs / "table.md").read_text().startswith("|")


def test_a_results_file_alone_and_a_run_folder(two_runs, tmp_path_factory):
    other = tmp_path_factory.mktemp("elsewhere") / "results.json"
    other.write_text(json.dumps(casia_results(10, 20, 30, metric="cos")))
    result = runner.invoke(app, ["compare", str(other), "output/SynthGait/Baseline/small"])
    assert result.exit_code == 0, result.output
    assert "CASIA-B (cos)" in result.stdout and "10.00" in result.stdout
    assert "note: the runs use 2 protocol settings" in result.stderr


def test_different_protocols_are_compared_on_what_they_share(two_runs):
    make_run(two_runs, "grew", GREW)
    result = runner.invoke(
        app, ["compare", "output/SynthGait/Baseline/small", "output/SynthGait/Baseline/grew"]
    )
    assert result.exit_code == 1
    assert result.stderr.count("\n") == 1
    assert result.stderr.startswith("error: nothing to compare: the results share no condition")
    # a CASIA-B variant with one more condition: the three shared ones are shown, with a note
    extra = casia_results(1, 2, 3)
    extra["conditions"]["CL-UP"] = extra["conditions"]["CL"]
    make_run(two_runs, "extra", extra)
    result = runner.invoke(
        app, ["compare", "output/SynthGait/Baseline/small", "output/SynthGait/Baseline/extra"]
    )
    assert result.exit_code == 0
    assert "CL-UP" not in result.stdout
    assert (
        result.stderr
        == "note: the runs use 1 protocol settings (CASIA-B (euc)); showing the 3 of 4 columns they all have\n"
    )


@pytest.mark.parametrize(
    "arguments, message",
    [
        (["missing.json"], "error: missing.json: no such file or folder"),
        (["nothing/*/results.json"], "error: nothing/*/results.json: no file or folder matches"),
        (["bad.json"], "error: bad.json: not a results file of 'gaitgen test'"),
        (["output", "--format", "html"], "error: --format: unknown format 'html'"),
        (["empty"], "error: empty: no run folder"),
    ],
)
def test_bad_inputs_are_one_line(two_runs, arguments, message):
    (two_runs / "bad.json").write_text(json.dumps({"rank1": 3}))
    (two_runs / "empty").mkdir()
    result = runner.invoke(app, ["compare", *arguments])
    assert result.exit_code == 1
    assert result.stderr.startswith(message) and result.stderr.count("\n") == 1


@pytest.mark.skipif(not HAS_MATPLOTLIB, reason="matplotlib is not installed")
def test_plot_draws_the_curves_of_all_runs(two_runs):
    result = runner.invoke(app, ["compare", "output", "--plot", "curves.png"])
    assert result.exit_code == 0, result.output
    assert "wrote curves.png" in result.stdout
    assert (two_runs / "curves.png").read_bytes()[:8] == b"\x89PNG\r\n\x1a\n"


def test_plot_without_matplotlib_says_how_to_install_it(two_runs, monkeypatch):
    import builtins

    real_import = builtins.__import__

    def no_matplotlib(name, *args, **kwargs):
        if name.split(".")[0] == "matplotlib":
            raise ImportError("No module named 'matplotlib'")
        return real_import(name, *args, **kwargs)

    monkeypatch.setattr(builtins, "__import__", no_matplotlib)
    result = runner.invoke(app, ["compare", "output", "--plot", "curves.png"])
    assert result.exit_code == 1
    assert result.stderr == (
        "error: --plot needs matplotlib, which is not installed: pip install 'gaitgen[plot]'\n"
    )
    assert not (two_runs / "curves.png").exists()


def test_training_time_adds_the_segments_of_a_resumed_run(two_runs):
    from gaitgen.cli.compare_runs import find_runs

    scalars = two_runs / "output/SynthGait/Baseline/small/summary/scalars.jsonl"
    with scalars.open("a") as handle:  # a resumed run: the writer's clock starts again
        handle.write('\n{"iteration": 30, "elapsed": 5.0, "triplet/loss": 0.1}\n')
    (record,) = find_runs([scalars.parents[1]])
    assert record.training_seconds == 65.0
    assert record.curves["triplet/loss"] == ([10, 20, 30], [1.0, 0.5, 0.1])
    assert record.iteration == 20  # the latest checkpoint's
    assert record.parameters == parameters_of(8)  # of the model its config.yaml builds
    results = scalars.parents[1] / "results.json"
    results.write_text(json.dumps({**json.loads(results.read_text()), "iteration": 10}))
    assert find_runs([scalars.parents[1]])[0].iteration == 10  # the one tested, when recorded


def test_helpers():
    assert latex_escape("a_b & 50% #1 {x}") == "a\\_b \\& 50\\% \\#1 \\{x\\}"
    assert [human_duration(s) for s in (5, 75, 7300)] == ["5s", "1m 15s", "2h 01m"]


@pytest.mark.skipif(
    importlib.util.find_spec("tensorboard") is None, reason="tensorboard is not installed"
)
def test_a_run_with_only_tensorboard_events_gives_its_curves(two_runs):
    from gaitgen.runtime.engine.summary import SummaryWriter

    from gaitgen.cli.compare_runs import find_runs

    folder = make_run(two_runs, "tb_only", casia_results(1, 2, 3))
    (folder / "summary" / "scalars.jsonl").unlink()
    writer = SummaryWriter(folder / "summary")
    for iteration in (5, 10, 15):
        writer.write(
            {"scalar/triplet/loss": 1.0 / iteration, "scalar/learning_rate": 0.1}, iteration
        )
    writer.close()
    (folder / "summary" / "scalars.jsonl").unlink()
    (record,) = find_runs([folder])
    steps, values = record.curves["triplet/loss"]
    assert steps == [5, 10, 15] and values[0] == pytest.approx(0.2)
    assert record.training_seconds is not None and record.training_seconds >= 0


def test_a_config_whose_model_does_not_build_shows_no_size_and_says_why(two_runs):
    config = two_runs / "output/SynthGait/Baseline/small/config.yaml"
    config.write_text(config.read_text().replace("model: Baseline", "model: Vanished"))
    result = runner.invoke(app, ["compare", "output"])
    assert result.exit_code == 0, result.output
    rows = {line.split()[0]: line.split() for line in result.stdout.splitlines()[1:]}
    assert rows["small"][9] == "-" and rows["large_lr"][9] == human_count(parameters_of(4096))
    (note,) = result.stderr.splitlines()
    assert note.startswith(f"note: {config.relative_to(two_runs)}: parameters not counted")
    assert "Vanished" in note


def test_compare_and_the_trainer_list_the_same_checkpoints(two_runs):
    from gaitgen.runtime.engine.run_folder import RunFolder

    from gaitgen.cli.compare_runs import find_runs

    folder = RunFolder(two_runs / "output/SynthGait/Baseline/small", "small")
    (folder.checkpoint_dir / "other-00090.pt").write_bytes(b"another run's")  # not this one's
    (folder.checkpoint_dir / ".small-00040.pt.x1.tmp").write_bytes(b"a save in progress")
    (folder.checkpoint_dir / "small-00030.pt").write_bytes(b"never read")
    assert list(folder.checkpoints()) == [10, 20, 30]
    (record,) = find_runs([folder.path])
    assert record.iteration == max(folder.checkpoints()) == 30


def test_out_and_plot_under_a_file_or_on_a_folder_are_one_line(two_runs):
    """Issue 17, item 18: compare's --out/--plot use the one output-path check
    (gaitgen.runtime.atomic.check_output_path): a folder, or a path under a file, is one line
    naming the option and the path, and nothing is written."""
    (two_runs / "a_folder").mkdir()
    (two_runs / "a_file").write_text("mine\n")
    for target, problem in (
        ("a_folder", "is a folder; give a file name"),
        ("a_file/table.md", "lies under a_file, which is a file, not a folder"),
    ):
        result = runner.invoke(app, ["compare", "output", "--out", target])
        assert result.exit_code == 1, result.output
        assert result.stderr == f"error: --out: {target} {problem}\n"
    assert (two_runs / "a_file").read_text() == "mine\n"


def test_a_run_config_of_the_wrong_shape_names_its_file_line_and_key(two_runs):
    """Issue 17, item 18: a run's config.yaml whose model_cfg is not a mapping ended in the
    catch-all's bare AttributeError; it is one line naming the file, the line and the key."""
    config = two_runs / "output" / "SynthGait" / "Baseline" / "small" / "config.yaml"
    config.write_text("data_cfg: {dataset_name: SynthGait}\nmodel_cfg: 5\n")
    result = runner.invoke(app, ["compare", "output"])
    assert result.exit_code == 1
    assert result.output.strip() == (
        f"error: {config.relative_to(two_runs)}:2: model_cfg: expected a mapping of model_cfg "
        "keys, got 5"
    ), result.output
