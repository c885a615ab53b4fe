"""Progress bars: drawn with rate and ETA on a terminal, silent everywhere else."""

from __future__ import annotations

import io
import subprocess
import sys
from pathlib import Path

import pytest
from conftest import small_config
from gaitgen.runtime import progress
from gaitgen.runtime.progress import ProgressBar, progress_enabled, set_quiet, track
from typer.testing import CliRunner

from gaitgen.cli.app import app


class FakeTerminal(io.StringIO):
    """A text stream that says it is a terminal."""

    def isatty(self) -> bool:
        return True


@pytest.fixture(autouse=True)
def _not_quiet(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.delenv(progress.QUIET_ENV, raising=False)
    monkeypatch.delenv("RANK", raising=False)
    monkeypatch.delenv("SLURM_PROCID", raising=False)
    monkeypatch.setitem(progress._state, "quiet", False)


def test_bar_on_a_terminal_shows_count_rate_and_eta() -> None:
    stream = FakeTerminal()
    with ProgressBar(5, "embedding", unit="seq", stream=stream) as bar:
        assert bar.enabled
        bar.advance(2)
        bar.update(3)  # the data tools' progress-callback name
    text = stream.getvalue()
    assert "embedding" in text and "5/5" in text and "seq/s" in text and "ETA" in text
    assert bar.done == 5


@pytest.mark.parametrize(
    "speed, shown",
    [(None, "- it/s"), (0.0, "- it/s"), (12.34, "12.3 it/s"), (1.0, "1.0 it/s"), (0.4, "2.5 s/it")],
)
def test_the_rate_reads_seconds_per_step_when_a_step_takes_over_a_second(speed, shown) -> None:
    assert progress.format_rate(speed, "it") == shown


def test_a_slow_bar_shows_seconds_per_step(monkeypatch: pytest.MonkeyPatch) -> None:
    import rich.console

    clock = [1000.0]
    monkeypatch.setattr(rich.console, "monotonic", lambda: clock[0])  # the bar's clock
    stream = FakeTerminal()
    with ProgressBar(2, "training", unit="it", stream=stream) as bar:
        for _ in range(2):
            clock[0] += 4.0  # each iteration takes 4 s
            bar.advance()
    text = stream.getvalue()
    assert "4.0 s/it" in text and "0.2 it/s" not in text and "0.0 it/s" not in text


@pytest.mark.parametrize("case", ["not a terminal", "quiet", "set_quiet", "env", "rank 1"])
def test_silent_cases(case: str, monkeypatch: pytest.MonkeyPatch) -> None:
    stream = io.StringIO() if case == "not a terminal" else FakeTerminal()
    if case == "set_quiet":
        set_quiet(True)
        assert progress.QUIET_ENV in __import__("os").environ  # reaches child processes
    elif case == "env":
        monkeypatch.setenv(progress.QUIET_ENV, "1")
    elif case == "rank 1":
        monkeypatch.setenv("RANK", "1")
    bar = ProgressBar(3, "work", stream=stream, quiet=case == "quiet")
    bar.advance(3)
    bar.close()
    assert not bar.enabled and bar.done == 3
    assert stream.getvalue() == ""
    set_quiet(False)  # re-enables, also clearing the environment variable
    assert progress_enabled(stream=FakeTerminal()) == (case != "rank 1")


def test_track_yields_every_item() -> None:
    assert list(track(iter("abc"), 3, "letters")) == ["a", "b", "c"]


def test_rich_is_imported_only_for_a_drawn_bar() -> None:
    code = (
        "import sys\n"
        "from gaitgen.runtime.progress import ProgressBar\n"
        "bar = ProgressBar(3, 'x'); bar.advance(3); bar.close()\n"
        "print('rich' in sys.modules)\n"
    )
    result = subprocess.run(
        [sys.executable, "-c", code], capture_output=True, text=True, timeout=60
    )  # stderr is a pipe here: no terminal
    assert result.returncode == 0, result.stderr
    assert result.stdout.strip() == "False" and result.stderr == ""


def test_synth_is_silent_when_not_a_terminal_and_with_quiet(tmp_path: Path) -> None:
    runner = CliRunner()
    for name, extra in (("a", []), ("b", ["--quiet"])):
        args = ["synth", str(tmp_path / name), "-n", "2", "--views", "90", "-t", "2", *extra]
        result = runner.invoke(app, args)
        assert result.exit_code == 0, result.output
        assert result.stderr == "" and "wrote 20 sequences" in result.stdout


def test_check_data_draws_its_bar_where_progress_is_enabled(tiny_dataset, monkeypatch) -> None:
    root, partition = tiny_dataset
    runner = CliRunner()
    on_terminal = progress.progress_enabled  # the real rule, as if stderr were a terminal
    monkeypatch.setattr(
        progress,
        "progress_enabled",
        lambda quiet=None, stream=None: on_terminal(quiet, FakeTerminal()),
    )
    result = runner.invoke(app, ["check-data", str(root), "-p", str(partition)])
    assert result.exit_code == 0, result.output
    assert "checking" in result.stderr and "180/180" in result.stderr  # 6 ids x 30 sequences
    quiet = runner.invoke(app, ["check-data", str(root), "-p", str(partition), "--quiet"])
    assert quiet.exit_code == 0 and quiet.stderr == ""


def test_test_phase_inference_counts_sequences(tiny_dataset, tmp_path, monkeypatch) -> None:
    import torch
    from gaitgen.runtime.distributed import DistContext
    from gaitgen.runtime.engine.build import build_model
    from gaitgen.runtime.engine.run import load_run
    from gaitgen.runtime.engine.tester import embed_test_set

    config = tmp_path / "small.yaml"
    config.write_text(small_config(*tiny_dataset))
    run = load_run(config)
    model = build_model(run.cfgs, None, is_training=False)
    terminal = FakeTerminal()
    monkeypatch.setattr(sys, "stderr", terminal)
    features, _ = embed_test_set(run, DistContext(device=torch.device("cpu")), model)
    monkeypatch.undo()
    assert features.shape[0] == 60
    text = terminal.getvalue()
    assert "embedding" in text and "60/60" in text and "seq/s" in text


def test_redirect_logs_prints_log_lines_above_the_bar(monkeypatch: pytest.MonkeyPatch) -> None:
    """Training's use: log lines keep coming while the bar runs, and stay whole lines."""
    import logging

    stdout, stderr = FakeTerminal(), FakeTerminal()
    monkeypatch.setattr(sys, "stdout", stdout)
    monkeypatch.setattr(sys, "stderr", stderr)
    logger = logging.getLogger("gaitgen.test_progress")
    handler = logging.StreamHandler(sys.stdout)  # as setup_logging makes it: the stream kept
    logger.addHandler(handler)
    logger.setLevel(logging.INFO)
    logger.propagate = False
    try:
        with ProgressBar(2, "training", unit="it", redirect_logs=True) as bar:
            for iteration in (1, 2):
                logger.info("iteration %d: loss=0.5", iteration)
                bar.advance()
        assert handler.stream is stdout  # given back when the bar closes
        logger.info("training done")
    finally:
        logger.removeHandler(handler)
    drawn = stderr.getvalue()
    assert "iteration 1: loss=0.5\n" in drawn and "iteration 2: loss=0.5\n" in drawn
    assert drawn.index("iteration 2") < drawn.index("2/2")
    assert stdout.getvalue() == "training done\n"


def test_the_training_log_s_own_handlers_print_above_the_bar(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    """The handlers setup_logging makes (a StreamHandler subclass on stdout and stderr, and a
    log file) are followed: each line is whole, above the bar; the file is left alone."""
    import logging

    from gaitgen.runtime.distributed import DistContext
    from gaitgen.runtime.engine.run import setup_logging

    stdout, stderr = FakeTerminal(), FakeTerminal()
    monkeypatch.setattr(sys, "stdout", stdout)
    monkeypatch.setattr(sys, "stderr", stderr)
    logger = logging.getLogger("gaitgen")
    saved = (list(logger.handlers), logger.propagate, logger.level)
    try:
        setup_logging(DistContext(), tmp_path / "train.log")
        file_handler = next(h for h in logger.handlers if isinstance(h, logging.FileHandler))
        file_stream = file_handler.stream
        with ProgressBar(2, "training", unit="it", redirect_logs=True) as bar:
            for iteration in (1, 2):
                logger.info("iteration %d: loss=0.5", iteration)
                assert file_handler.stream is file_stream
                bar.advance()
        logger.info("training done")
    finally:
        for handler in logger.handlers:
            handler.close()
        logger.handlers[:] = saved[0]
        logger.propagate, logger.level = saved[1], saved[2]
    drawn = stderr.getvalue()
    assert "iteration 1: loss=0.5\n" in drawn and "iteration 2: loss=0.5\n" in drawn
    assert drawn.index("iteration 2") < drawn.index("2/2")
    assert stdout.getvalue().endswith("training done\n") and "iteration" not in stdout.getvalue()
    assert "iteration 2: loss=0.5" in (tmp_path / "train.log").read_text()


def test_silenced_restores_the_previous_state() -> None:
    import os

    with progress.silenced():
        assert not progress_enabled(stream=FakeTerminal())
        assert os.environ[progress.QUIET_ENV] == "1"
    assert progress_enabled(stream=FakeTerminal())
    assert progress.QUIET_ENV not in os.environ
    with progress.silenced(False):
        assert progress_enabled(stream=FakeTerminal())


@pytest.mark.parametrize("quiet", [False, True])
def test_training_draws_a_bar_on_a_terminal_unless_quiet(
    quiet: bool, tiny_dataset, tmp_path, monkeypatch
) -> None:
    import logging

    import torch
    from gaitgen.runtime.distributed import DistContext
    from gaitgen.runtime.engine.run import load_run
    from gaitgen.runtime.engine.trainer import Trainer

    config = tmp_path / "small.yaml"
    config.write_text(small_config(*tiny_dataset, total_iter=3))
    monkeypatch.chdir(tmp_path)
    # handlers that earlier in-process CLI runs left on the logger write to their closed streams
    monkeypatch.setattr(logging.getLogger("gaitgen"), "handlers", [])
    terminal = FakeTerminal()
    monkeypatch.setattr(sys, "stderr", terminal)
    set_quiet(quiet)  # what gaitgen train --quiet does around the run
    try:
        Trainer(load_run(config), DistContext(device=torch.device("cpu"))).fit()
    finally:
        set_quiet(False)
        monkeypatch.undo()
    assert (tmp_path / "output/tiny/Baseline/small/checkpoints/small-00003.pt").is_file()
    drawn = terminal.getvalue()
    rate = "it/s" in drawn or "s/it" in drawn  # s/it when an iteration takes over a second
    if quiet:
        assert "3/3" not in drawn and not rate
    else:
        assert "training" in drawn and "3/3" in drawn and rate


def test_train_and_test_take_quiet(tiny_dataset, tmp_path, monkeypatch) -> None:
    config = tmp_path / "small.yaml"
    config.write_text(small_config(*tiny_dataset, total_iter=2))
    monkeypatch.chdir(tmp_path)
    for command in ("train", "test"):
        result = CliRunner().invoke(app, [command, str(config), "--quiet"])
        assert result.exit_code == 0, result.output
    assert (tmp_path / "output/tiny/Baseline/small/results.json").is_file()
