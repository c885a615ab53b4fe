"""Every CLI failure is one line: a full disk or a read-only folder met anywhere included."""

from __future__ import annotations

import errno
import sys
from pathlib import Path

import pytest
import typer
from typer.testing import CliRunner

from gaitgen.cli.app import app
from gaitgen.cli.common import handle_errors


@pytest.mark.parametrize(
    "code, message",
    [
        (
            errno.ENOSPC,
            "no space left on device while writing /data/proj/README.md: free some space",
        ),
        (errno.EROFS, "cannot write /data/proj/README.md: Read-only file system"),
    ],
)
def test_disk_errors_from_libraries_are_one_line_with_the_path(code, message, capsys) -> None:
    @handle_errors
    def command() -> None:
        raise OSError(
            code, "Read-only file system" if code == errno.EROFS else "full", "/data/proj/README.md"
        )

    with pytest.raises(typer.Exit) as caught:
        command()
    assert caught.value.exit_code == 1
    assert capsys.readouterr().err == f"error: {message}\n"


def test_init_on_a_full_disk_says_so(tmp_path: Path, monkeypatch) -> None:
    import gaitgen.generate.project as project

    def full(*args, **kwargs):
        raise OSError(errno.ENOSPC, "No space left on device", str(tmp_path / "p" / "x.toml"))

    monkeypatch.setattr(project, "init_project", full)
    result = CliRunner().invoke(app, ["init", str(tmp_path / "p"), "--defaults"])
    assert result.exit_code == 1
    assert result.stderr == (
        f"error: no space left on device while writing {tmp_path / 'p' / 'x.toml'}: "
        "free some space\n"
    )


def test_the_runtime_entry_point_names_a_full_disk(monkeypatch, capsys) -> None:
    from gaitgen.runtime import main as entry

    def full(*args, **kwargs):
        raise OSError(errno.ENOSPC, "No space left on device", "/data/output/run/train.lock")

    monkeypatch.setattr(entry, "run_phase", full)
    assert entry.main(["--cfgs", "x.yaml", "--phase", "train"]) == 1
    assert capsys.readouterr().err == (
        "error: no space left on device while writing /data/output/run/train.lock: "
        "free some space\n"
    )


def test_a_bug_names_the_command_the_stage_and_the_config(project: Path, capsys) -> None:
    """Issue 17, item 18: a bug (here a model whose build_network raises TypeError) ended in
    a bare 'TypeError: ...'; the catch-all names the command, the stage it was in and the
    config being run, and asks for a report. Bad input keeps its own line."""
    from gaitgen.runtime.error_report import phase, report_error

    result = CliRunner().invoke(app, ["new-model", "Mine"])
    assert result.exit_code == 0, result.output
    model = project / "demo" / "models" / "mine.py"
    text = model.read_text()
    hook = "    def build_network(self, model_cfg):\n"
    model.write_text(text.replace(hook, hook + "        len(3)\n", 1))
    imported, path = set(sys.modules), list(sys.path)
    try:
        small = ["--set", "data_cfg.synthetic.subjects=6", "--set", "data_cfg.synthetic.frames=4"]
        results = {
            c: CliRunner().invoke(app, [c, "configs/mine.yaml", *small]) for c in ("train", "test")
        }
    finally:  # the next test's project is another "demo": forget this one's modules
        for name in set(sys.modules) - imported:
            if name.split(".")[0] == "demo":
                del sys.modules[name]
        sys.path[:] = path
    for command, result in results.items():
        assert result.exit_code == 1
        assert result.stderr == (
            f"error: internal error in 'gaitgen {command} configs/mine.yaml' (building the "
            "model; file configs/mine.yaml): TypeError: object of type 'int' has no len() "
            "(run 'gaitgen --debug ...' for the traceback; please report it)\n"
        )

    def fails(exc: Exception) -> Exception:
        with pytest.raises(type(exc)) as caught, phase("loading data", "c.yaml"):
            with phase("reading a file"):
                raise exc
        return caught.value

    # the file an exception names wins over the stage's; the innermost stage is named
    from gaitgen.runtime.errors import DataError

    capsys.readouterr()
    error = fails(OSError(errno.EIO, "Input/output error", "/data/x.pkl"))
    assert report_error(error, debug=False, debug_hint="hint", command="gaitgen x") == 1
    assert report_error(fails(DataError("bad data")), debug=False, debug_hint="hint") == 1
    assert capsys.readouterr().err == (
        "error: internal error in 'gaitgen x' (reading a file; file /data/x.pkl): OSError: "
        "[Errno 5] Input/output error: '/data/x.pkl' (hint; please report it)\n"
        "error: bad data\n"
    )


def test_a_reader_that_stops_early_ends_the_command_quietly() -> None:
    """`gaitgen list | head -1`: the closed pipe is no error line, and exit code 141 (SIGPIPE)."""
    import os
    import subprocess

    read_end, write_end = os.pipe()
    os.close(read_end)  # the reader is gone before the first write: every write fails
    try:
        done = subprocess.run(
            [sys.executable, "-m", "gaitgen", "list"],
            stdout=write_end,
            stderr=subprocess.PIPE,
            timeout=120,
        )
    finally:
        os.close(write_end)
    assert done.stderr.decode() == ""
    assert done.returncode == 141


def test_training_past_a_one_cycle_schedule_is_refused_before_the_first_step(
    small_config_file: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    """OneCycleLR cannot step past its total_steps: a total_iter beyond them (a resume that
    extends the run, say) is one line naming both keys, from train and from check, before any
    iteration (OpenGait fails with a ValueError at that iteration)."""
    text = small_config_file.read_text().replace(
        "{scheduler: MultiStepLR, milestones: [1000], gamma: 0.1}",
        "{scheduler: OneCycleLR, max_lr: 0.01, total_steps: 3}",
    )
    small_config_file.write_text(text)
    monkeypatch.chdir(small_config_file.parent)  # runs go to ./output
    for command in ("train", "check"):
        result = CliRunner().invoke(
            app, [command, str(small_config_file), "--set", "trainer_cfg.total_iter=4"]
        )
        assert result.exit_code == 1, result.output
        message = (
            f"{small_config_file}: trainer_cfg.total_iter is 4, but scheduler_cfg's OneCycleLR "
            "takes 3 steps (total_steps) and cannot step past them; set "
            "scheduler_cfg.total_steps to 4 or more"
        )
        assert message in result.stderr, result.stderr
    assert not list(small_config_file.parent.rglob("*.pt"))  # refused before any checkpoint
    trained = CliRunner().invoke(
        app, ["train", str(small_config_file), "--set", "trainer_cfg.total_iter=3"]
    )
    assert trained.exit_code == 0, trained.output
    assert len(list(small_config_file.parent.rglob("*.pt"))) == 2  # iterations 2 and 3

    # a resume that extends the run: the restored schedule's steps count, whatever the config
    extend = ["train", str(small_config_file), "--iter", "3", "--set", "trainer_cfg.total_iter=5"]
    refused = CliRunner().invoke(app, [*extend, "--set", "scheduler_cfg.total_steps=5"])
    assert refused.exit_code == 1
    assert "is at step 3 of its 3 and cannot step past them; train to 3 at most, or start a " in (
        refused.stderr
    )
    assert "--set trainer_cfg.scheduler_reset=true --set scheduler_cfg.total_steps=2" in (
        refused.stderr
    )
    sets = ["--set", "trainer_cfg.scheduler_reset=true", "--set", "scheduler_cfg.total_steps=2"]
    extended = CliRunner().invoke(app, [*extend, *sets])
    assert extended.exit_code == 0, extended.output
    assert "training done: 5 iterations" in extended.output
