"""Experiment loggers (``trainer_cfg.loggers``): W&B and MLflow through the summary writer.

The libraries are optional extras. These tests put small fakes of ``wandb`` and ``mlflow`` in
``sys.modules`` (where :mod:`gaitgen.runtime.engine.loggers` imports them), which record each
call of the libraries' documented API; nothing reaches a network. Where the real libraries
are installed (``scripts/test.sh`` installs them), the last tests also run them, W&B offline
and MLflow on a local SQLite store, also through ``gaitgen train`` and ``gaitgen test``.
"""

from __future__ import annotations

import importlib.util
import json
import logging
import sys
import types
from pathlib import Path
from typing import Any

import pytest
import yaml
from conftest import make_project, small_config
from gaitgen.runtime.config import load_config
from gaitgen.runtime.engine.summary import SummaryWriter
from gaitgen.runtime.errors import ConfigError, GaitgenError
from typer.testing import CliRunner

from gaitgen.cli.app import app


class FakeWandbRun:
    def __init__(self, calls: list) -> None:
        self.calls = calls
        self.config = types.SimpleNamespace(
            update=lambda values, allow_val_change=False: calls.append(("config", values))
        )
        self.summary = types.SimpleNamespace(
            update=lambda values: calls.append(("summary", values))
        )

    def log(self, values: dict, step: int) -> None:
        self.calls.append(("log", step, values))

    def finish(self) -> None:
        self.calls.append(("finish",))


def fake_wandb() -> types.ModuleType:
    module = types.ModuleType("wandb")
    module.calls = []

    def init(**kwargs: Any) -> FakeWandbRun:
        module.calls.append(("init", kwargs))
        return FakeWandbRun(module.calls)

    module.init = init
    return module


def fake_mlflow() -> types.ModuleType:
    module = types.ModuleType("mlflow")
    module.calls = []
    record = module.calls.append
    module.set_experiment = lambda name: record(("experiment", name))

    def start_run(run_id: str | None = None, run_name: str | None = None) -> Any:
        record(("start", run_id, run_name))
        return types.SimpleNamespace(info=types.SimpleNamespace(run_id=run_id or "run-1"))

    module.start_run = start_run
    module.log_metrics = lambda metrics, step: record(("metrics", step, metrics))
    module.log_params = lambda params: record(("params", params))
    module.log_dict = lambda dictionary, artifact_file: record(("dict", artifact_file, dictionary))
    module.end_run = lambda: record(("end",))
    return module


@pytest.fixture
def fakes(monkeypatch: pytest.MonkeyPatch) -> tuple[types.ModuleType, types.ModuleType]:
    wandb, mlflow = fake_wandb(), fake_mlflow()
    monkeypatch.setitem(sys.modules, "wandb", wandb)
    monkeypatch.setitem(sys.modules, "mlflow", mlflow)
    for name in ("WANDB_PROJECT", "MLFLOW_EXPERIMENT_NAME"):
        monkeypatch.delenv(name, raising=False)
    return wandb, mlflow


def summary_dir(tmp_path: Path) -> Path:
    return tmp_path / "output" / "tiny" / "Baseline" / "small" / "summary"


CFGS = {"trainer_cfg": {"total_iter": 4, "sampler": {"batch_size": [2, 2]}}, "path": Path("/x")}


def test_one_writer_feeds_every_named_logger(tmp_path: Path, fakes) -> None:
    wandb, mlflow = fakes
    folder = summary_dir(tmp_path)
    writer = SummaryWriter(folder, loggers=["wandb", "mlflow"])
    assert not writer.uses_tensorboard  # loggers named: TensorBoard only if named too
    writer.write_config(CFGS)
    writer.write({"scalar/triplet/loss": 0.5, "scalar/test/NM#1/rank1": 80.0}, 2)
    writer.write_results({"NM/rank1": 91.5}, {"protocol": "CASIA-B", "conditions": {}}, 4)
    writer.close()

    init, *rest = wandb.calls
    assert init == (
        "init",
        {
            "project": "gaitgen",
            "name": "tiny/Baseline/small",
            "id": (folder / "wandb-run-id").read_text().strip(),
            "resume": "allow",
            "dir": str(folder),
        },
    )
    plain = {"trainer_cfg": {"total_iter": 4, "sampler": {"batch_size": [2, 2]}}, "path": "/x"}
    assert rest == [
        ("config", plain),
        ("log", 2, {"triplet/loss": 0.5, "test/NM#1/rank1": 80.0}),
        ("summary", {"results/NM/rank1": 91.5}),
        ("summary", {"results/iteration": 4}),
        ("finish",),
    ]
    assert mlflow.calls == [
        ("experiment", "gaitgen"),
        ("start", None, "tiny/Baseline/small"),
        ("dict", "config.yaml", plain),
        (
            "params",
            {
                "trainer_cfg.total_iter": "4",
                "trainer_cfg.sampler.batch_size.0": "2",
                "trainer_cfg.sampler.batch_size.1": "2",
                "path": "/x",
            },
        ),
        ("metrics", 2, {"triplet/loss": 0.5, "test/NM_1/rank1": 80.0}),  # MLflow's characters
        ("metrics", 4, {"results/NM/rank1": 91.5}),
        ("dict", "results.json", {"protocol": "CASIA-B", "conditions": {}}),
        ("end",),
    ]
    # scalars.jsonl is written as before
    (record,) = [json.loads(line) for line in (folder / "scalars.jsonl").read_text().splitlines()]
    assert record["iteration"] == 2 and record["triplet/loss"] == 0.5


def test_a_resumed_run_logs_into_the_same_runs(tmp_path: Path, fakes, monkeypatch) -> None:
    wandb, mlflow = fakes
    monkeypatch.setenv("WANDB_PROJECT", "mine")
    monkeypatch.setenv("MLFLOW_EXPERIMENT_NAME", "exp")
    folder = summary_dir(tmp_path)
    for _ in range(2):
        writer = SummaryWriter(folder, loggers=["wandb", "mlflow"])
        writer.write_config(CFGS)
        writer.close()
    inits = [call[1] for call in wandb.calls if call[0] == "init"]
    assert inits[0]["id"] == inits[1]["id"] and inits[0]["project"] == "mine"
    starts = [call for call in mlflow.calls if call[0] in ("experiment", "start")]
    assert starts == [
        ("experiment", "exp"),
        ("start", None, "tiny/Baseline/small"),
        ("experiment", "exp"),
        ("start", "run-1", None),  # the same MLflow run again
    ]
    assert [call[0] for call in mlflow.calls].count("params") == 1  # MLflow keeps them fixed


def test_other_ranks_open_no_logger(tmp_path: Path, fakes) -> None:
    wandb, mlflow = fakes
    writer = SummaryWriter(summary_dir(tmp_path), enabled=False, loggers=["wandb", "mlflow"])
    writer.write_config(CFGS)
    writer.write({"scalar/loss": 1.0}, 1)
    writer.write_results({"NM/rank1": 1.0}, {}, 1)
    writer.close()
    assert wandb.calls == [] and mlflow.calls == []
    assert not summary_dir(tmp_path).exists()


def test_no_loggers_named_changes_nothing(tmp_path: Path, fakes) -> None:
    wandb, mlflow = fakes
    writer = SummaryWriter(summary_dir(tmp_path), tensorboard=False)
    writer.write_config(CFGS)
    writer.write({"scalar/loss": 1.0}, 1)
    writer.close()
    assert wandb.calls == [] and mlflow.calls == []
    assert sorted(p.name for p in summary_dir(tmp_path).iterdir()) == ["scalars.jsonl"]


def test_a_logger_that_cannot_start_is_one_error_with_what_to_do(tmp_path, fakes) -> None:
    wandb, mlflow = fakes

    def no_login(**kwargs: Any) -> None:
        raise RuntimeError("api_key not configured (no-tty)")

    wandb.init = no_login
    with pytest.raises(GaitgenError) as caught:
        SummaryWriter(summary_dir(tmp_path), loggers=["mlflow", "wandb"])
    assert str(caught.value) == (
        "trainer_cfg.loggers: wandb could not start a run (RuntimeError: api_key not configured "
        "(no-tty)); run 'wandb login', or set WANDB_MODE=offline to log on this machine only, "
        "or remove wandb from trainer_cfg.loggers"
    )
    assert mlflow.calls[-1] == ("end",)  # the one started first is ended


def test_a_logger_failing_mid_run_is_dropped_with_one_warning(tmp_path, fakes, caplog) -> None:
    wandb, mlflow = fakes
    folder = summary_dir(tmp_path)
    writer = SummaryWriter(folder, loggers=["mlflow", "wandb"])

    def server_gone(metrics: dict, step: int) -> None:
        raise ConnectionError("tracking server went away")

    mlflow.log_metrics = server_gone
    with caplog.at_level(logging.WARNING, logger="gaitgen"):
        for iteration in (1, 2):
            writer.write({"scalar/loss": float(iteration)}, iteration)
    writer.close()
    (warning,) = [r.getMessage() for r in caplog.records if r.levelno == logging.WARNING]
    assert warning.startswith(
        "warning: mlflow stopped logging (ConnectionError: tracking server went away); "
        "training goes on"
    )
    assert [call[1] for call in wandb.calls if call[0] == "log"] == [1, 2]  # the other goes on
    assert mlflow.calls[-1] == ("end",)  # ended when dropped
    lines = (folder / "scalars.jsonl").read_text().splitlines()
    assert [json.loads(line)["loss"] for line in lines] == [1.0, 2.0]


MINIMAL = "model_cfg: {model: Baseline}\ntrainer_cfg:\n  log_iter: 10\n  loggers: [mlflow, wandb]\n"


def test_a_logger_whose_library_is_missing_is_one_error_at_load(tmp_path, monkeypatch) -> None:
    monkeypatch.setitem(sys.modules, "mlflow", fake_mlflow())
    monkeypatch.setitem(sys.modules, "wandb", None)  # not importable, whatever is installed
    path = tmp_path / "c.yaml"
    path.write_text(MINIMAL)
    with pytest.raises(ConfigError) as caught:
        load_config(path)
    assert str(caught.value) == (
        f"{path}:4: trainer_cfg.loggers names wandb, but the wandb package is not installed: "
        "pip install 'gaitgen[wandb]' (or remove wandb from the list)"
    )
    monkeypatch.setitem(sys.modules, "wandb", fake_wandb())
    assert load_config(path)["trainer_cfg"]["loggers"] == ["mlflow", "wandb"]


def test_an_unknown_logger_is_one_error(tmp_path: Path) -> None:
    path = tmp_path / "c.yaml"
    path.write_text(MINIMAL.replace("wandb", "wandbb"))
    with pytest.raises(ConfigError, match=r"c\.yaml:4: trainer_cfg\.loggers: expected one of "):
        load_config(path)


def test_train_then_test_log_the_config_the_curves_and_the_results(
    tmp_path: Path, tiny_dataset, fakes, monkeypatch
) -> None:
    wandb, mlflow = fakes
    root = make_project(tmp_path / "proj", package="logproj")
    config = root / "configs" / "small.yaml"
    config.write_text(small_config(*tiny_dataset))
    monkeypatch.chdir(root)
    sets = ["--set", "trainer_cfg.loggers=[wandb, mlflow]", "--device", "cpu"]
    trained = CliRunner().invoke(app, ["train", str(config), *sets])
    assert trained.exit_code == 0, trained.output
    logged = [call for call in wandb.calls if call[0] == "log"]
    assert [step for _, step, _ in logged] == [2, 4]  # every log_iter
    assert {"triplet/loss", "learning_rate"} <= set(logged[0][2])
    (config_call,) = [call for call in wandb.calls if call[0] == "config"]
    assert config_call[1]["trainer_cfg"]["loggers"] == ["wandb", "mlflow"]
    tested = CliRunner().invoke(app, ["test", str(config), *sets])
    assert tested.exit_code == 0, tested.output
    folder = root / "output" / "tiny" / "Baseline" / "small"
    results = json.loads((folder / "results.json").read_text())
    figures = {
        f"results/{name}/rank1": value["rank1"] for name, value in results["conditions"].items()
    } | {"results/iteration": 4}
    summary = {}
    for call in wandb.calls:
        if call[0] == "summary":
            summary.update(call[1])
    assert summary and set(summary) == set(figures)
    assert [call for call in mlflow.calls if call[0] == "dict"][-1][1:] == ("results.json", results)
    assert [call[0] for call in wandb.calls].count("init") == 2  # train, then test
    assert len({call[1]["id"] for call in wandb.calls if call[0] == "init"}) == 1  # one run
    assert wandb.calls[-1] == ("finish",) and mlflow.calls[-1] == ("end",)
    records = (folder / "summary" / "scalars.jsonl").read_text().splitlines()
    assert [json.loads(line)["iteration"] for line in records] == [2, 4]  # test adds none


def _log_one_run(folder: Path, logger: str) -> None:
    """What the real-library tests log: the config, a loss at iteration 3, a test's rank-1."""
    writer = SummaryWriter(folder, loggers=[logger])
    writer.write_config(CFGS)
    writer.write({"scalar/loss": 0.25}, 3)
    writer.write_results({"NM/rank1": 90.0}, {"conditions": {}}, 3)
    writer.close()


@pytest.mark.skipif(importlib.util.find_spec("wandb") is None, reason="wandb is not installed")
def test_real_wandb_offline(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv("WANDB_MODE", "offline")  # no network: files under summary/wandb/
    monkeypatch.setenv("WANDB_SILENT", "true")
    folder = summary_dir(tmp_path)
    _log_one_run(folder, "wandb")
    run_id = (folder / "wandb-run-id").read_text().strip()
    (run_dir,) = (folder / "wandb").glob(f"offline-run-*-{run_id}")
    assert (run_dir / f"run-{run_id}.wandb").stat().st_size > 0


@pytest.mark.skipif(importlib.util.find_spec("mlflow") is None, reason="mlflow is not installed")
def test_real_mlflow_local_store(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    import mlflow

    # a store on this machine: MLflow's SQLite file (its default since MLflow 3; the older
    # ./mlruns folder store is refused by newer versions), artifacts in the working folder
    monkeypatch.chdir(tmp_path)
    monkeypatch.setenv("MLFLOW_TRACKING_URI", f"sqlite:///{tmp_path / 'mlflow.db'}")
    monkeypatch.setenv("MLFLOW_EXPERIMENT_NAME", "gaitgen-test")
    folder = summary_dir(tmp_path)
    _log_one_run(folder, "mlflow")
    run = mlflow.get_run((folder / "mlflow-run-id").read_text().strip())
    assert run.data.metrics == {"loss": 0.25, "results/NM/rank1": 90.0}
    assert run.data.params["trainer_cfg.total_iter"] == "4"
    artifacts = Path(run.info.artifact_uri.removeprefix("file://"))
    assert yaml.safe_load((artifacts / "config.yaml").read_text())["path"] == "/x"


@pytest.mark.skipif(
    importlib.util.find_spec("wandb") is None or importlib.util.find_spec("mlflow") is None,
    reason="wandb and mlflow are not both installed",
)
def test_real_libraries_through_train_and_test(
    tmp_path: Path, tiny_dataset, monkeypatch: pytest.MonkeyPatch
) -> None:
    """`gaitgen train` then `gaitgen test` with the real W&B (offline) and MLflow (a local
    SQLite store): one run in each, holding the curves, the config and the test's figures."""
    import mlflow

    root = make_project(tmp_path / "proj", package="reallogs")
    config = root / "configs" / "small.yaml"
    config.write_text(small_config(*tiny_dataset))
    monkeypatch.chdir(root)
    monkeypatch.setenv("WANDB_MODE", "offline")
    monkeypatch.setenv("WANDB_SILENT", "true")
    monkeypatch.setenv("MLFLOW_TRACKING_URI", f"sqlite:///{tmp_path / 'mlflow.db'}")
    sets = ["--set", "trainer_cfg.loggers=[wandb, mlflow]", "--device", "cpu"]
    trained = CliRunner().invoke(app, ["train", str(config), *sets])
    assert trained.exit_code == 0, trained.output
    tested = CliRunner().invoke(app, ["test", str(config), *sets])
    assert tested.exit_code == 0, tested.output

    summary = root / "output" / "tiny" / "Baseline" / "small" / "summary"
    results = json.loads((summary.parent / "results.json").read_text())
    run = mlflow.get_run((summary / "mlflow-run-id").read_text().strip())
    history = mlflow.MlflowClient().get_metric_history(run.info.run_id, "triplet/loss")
    assert [point.step for point in history] == [2, 4]  # every log_iter, in one run
    for name, values in results["conditions"].items():
        assert run.data.metrics[f"results/{name}/rank1"] == pytest.approx(values["rank1"])
    params = run.data.params
    assert [params["trainer_cfg.loggers.0"], params["trainer_cfg.loggers.1"]] == ["wandb", "mlflow"]
    run_id = (summary / "wandb-run-id").read_text().strip()
    # one W&B run: train and test each append a segment (a folder) to the same run id
    segments = sorted((summary / "wandb").glob("offline-run-*"))
    assert len(segments) == 2 and all(path.name.endswith(f"-{run_id}") for path in segments)
    assert all((path / f"run-{run_id}.wandb").stat().st_size > 0 for path in segments)
