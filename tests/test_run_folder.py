"""What a training run may do to its run folder: names, lock, fresh runs, configs, NaN stops.

Each test here reproduces one of the data-loss or stray-write defects of issue 12 through the
real CLI (in this process, so it is fast) and checks the files left behind.
"""

from __future__ import annotations

import contextlib
import errno
import os
import signal
import subprocess
import sys
from pathlib import Path

import numpy as np
import pytest
import torch
from conftest import small_config
from gaitgen.runtime.checkpoint import load_checkpoint
from gaitgen.runtime.engine.lock import RunLock, RunLockedError, check_unlocked
from gaitgen.runtime.engine.run_folder import LOCK_FILE
from gaitgen.runtime.errors import ConfigError, GaitgenError
from typer.testing import CliRunner

from gaitgen.cli.app import app


@pytest.fixture
def config(tmp_path: Path, tiny_dataset, monkeypatch: pytest.MonkeyPatch) -> Path:
    """The small config, run from ``tmp_path`` (the run folder lands under tmp_path/output)."""
    root, partition = tiny_dataset
    path = tmp_path / "small.yaml"
    path.write_text(small_config(root, partition, total_iter=4))
    monkeypatch.chdir(tmp_path)
    return path


def run_dir(config: Path, save_name: str = "small") -> Path:
    return config.parent / "output" / "tiny" / "Baseline" / save_name


def train(config: Path, *args: str) -> object:
    return CliRunner().invoke(app, ["train", str(config), *args])


# 1. names that become paths ----------------------------------------------------------


@pytest.mark.parametrize(
    "override, key",
    [
        ("trainer_cfg.save_name=../../../../escaped", "trainer_cfg.save_name"),
        ("trainer_cfg.save_name=/tmp/absolute", "trainer_cfg.save_name"),
        ("evaluator_cfg.save_name=a/b", "evaluator_cfg.save_name"),
        ("data_cfg.dataset_name=..", "data_cfg.dataset_name"),
        ("trainer_cfg.save_name=''", "trainer_cfg.save_name"),
    ],
)
def test_names_that_leave_the_run_folder_are_refused(config: Path, override: str, key: str):
    result = train(config, "--set", override)
    assert result.exit_code != 0
    line = result.output.strip()
    assert key in line and "is not a plain name" in line, line
    assert len(line.splitlines()) == 1
    assert not (config.parent / "output").exists()
    assert not Path("/escaped-00002.pt").exists()


@pytest.mark.parametrize("key", ["trainer_cfg.save_name", "data_cfg.dataset_name"])
def test_names_too_long_for_the_file_system_are_refused_before_training(config: Path, key: str):
    """Issue 17, item 18: a 300-character save_name (or dataset_name) ended in a bare
    'OSError: File name too long' (for a 250-character one, only at the first checkpoint
    save, after training); it is one line naming the config and key, before any work."""
    from gaitgen.runtime.engine.run_folder import MAX_NAME_BYTES, folder_name

    result = train(config, "--set", f"{key}={'s' * 300}")
    assert result.exit_code == 1
    line = result.output.strip()
    assert len(line.splitlines()) == 1
    assert line.startswith(f"error: {config}: {key}: 'sss")
    assert "300 bytes long" in line and f"at most {MAX_NAME_BYTES} bytes" in line, line
    assert "OSError" not in line
    assert not (config.parent / "output").exists()
    # the longest file made from a name of the limit fits: the temporary of a checkpoint save
    name = "é" * (MAX_NAME_BYTES // 2)  # bytes, not characters, are what the file system counts
    assert folder_name(name, key) == name
    with pytest.raises(ConfigError, match="202 bytes long"):
        folder_name(name + "é", key)
    temporary = f".{name}-{10**12:05d}.pt.abcdefgh.tmp"
    (config.parent / temporary).write_bytes(b"")


def test_folder_names_are_checked_when_the_run_is_loaded(config: Path) -> None:
    from gaitgen.runtime.engine.run import load_run

    with pytest.raises(ConfigError, match=r"trainer_cfg\.save_name: '\.\./x'"):
        load_run(config, ["trainer_cfg.save_name=../x"])
    run = load_run(config, ["trainer_cfg.save_name=my_run.v2"])
    folder = run.run_folder("train")
    assert folder.path == config.parent / "output" / "tiny" / "Baseline" / "my_run.v2"
    assert folder.checkpoint(20) == folder.path / "checkpoints" / "my_run.v2-00020.pt"


# 3. the lock ---------------------------------------------------------------------------


def test_lock_refuses_a_second_holder_and_is_released(tmp_path: Path) -> None:
    lock = RunLock.acquire(tmp_path)
    assert (tmp_path / LOCK_FILE).read_text().split()[0] == str(os.getpid())
    with pytest.raises(
        RunLockedError, match=rf"in use by another 'gaitgen train' \(pid {os.getpid()}"
    ):
        RunLock.acquire(tmp_path)
    with pytest.raises(RunLockedError):
        check_unlocked(tmp_path)
    lock.release()
    assert not (tmp_path / LOCK_FILE).exists()
    check_unlocked(tmp_path)
    RunLock.acquire(tmp_path).release()


def test_stale_lock_of_a_dead_process_is_taken_over(tmp_path: Path, caplog) -> None:
    # a lock file nobody holds: what a killed run leaves (the kernel dropped its flock)
    (tmp_path / LOCK_FILE).write_text("999999999 otherhost 1700000000\n")
    with caplog.at_level("WARNING", logger="gaitgen"):
        lock = RunLock.acquire(tmp_path)
    assert "taking over the stale lock" in caplog.text and "999999999" in caplog.text
    lock.release()


_HOLDER_WITH_A_FORKED_CHILD = """
import multiprocessing, os, signal, sys, time
from pathlib import Path
from gaitgen.runtime.engine.lock import RunLock

RunLock.acquire(Path(sys.argv[1]))
child = multiprocessing.get_context("fork").Process(target=time.sleep, args=(60,))
child.start()  # what a DataLoader worker is: a fork of the training process
print(child.pid, flush=True)
os.kill(os.getpid(), signal.SIGKILL)
"""


def test_lock_dies_with_its_holder_not_with_its_forked_children(tmp_path: Path, caplog) -> None:
    """Issue 17, item 13: a killed run's DataLoader worker kept its lock, so the restart (or a
    manual resume) was refused naming the dead pid."""
    out = tmp_path / "out.txt"  # a file, not a pipe: the child keeps its copy open
    with open(out, "w") as stdout:
        holder = subprocess.run(
            [sys.executable, "-c", _HOLDER_WITH_A_FORKED_CHILD, str(tmp_path)],
            stdout=stdout,
            stderr=subprocess.STDOUT,
            timeout=60,
        )
    assert holder.returncode == -signal.SIGKILL, out.read_text()
    child = int(out.read_text().split()[0])
    try:
        os.kill(child, 0)  # still alive: it must not hold the lock
        check_unlocked(tmp_path)
        with caplog.at_level("WARNING", logger="gaitgen"):
            RunLock.acquire(tmp_path).release()
        assert "taking over the stale lock" in caplog.text
    finally:
        with contextlib.suppress(ProcessLookupError):
            os.kill(child, signal.SIGKILL)


def test_training_into_a_locked_folder_is_refused(config: Path) -> None:
    with RunLock.acquire(run_dir(config)):
        result = train(config)
    assert result.exit_code != 0
    assert "is in use by another 'gaitgen train'" in result.output
    assert f"pid {os.getpid()}" in result.output
    assert not (run_dir(config) / "checkpoints").exists()


# 4, 5, 7. fresh runs, configs, stale temporaries -----------------------------------------


def test_fresh_run_over_checkpoints_is_refused_then_overwritten(config: Path) -> None:
    first = train(config)
    assert first.exit_code == 0, first.output
    folder = run_dir(config)
    before = (folder / "checkpoints" / "small-00004.pt").read_bytes()
    again = train(config, "--set", "trainer_cfg.total_iter=2")
    assert again.exit_code != 0
    line = again.output.strip()
    assert "already holds 2 checkpoint(s) of 'small' (iterations 2, 4)" in line, line
    assert "--iter 4" in line and "save_name=NEW" in line and "--overwrite" in line
    assert (folder / "checkpoints" / "small-00004.pt").read_bytes() == before
    for name in ("results.json", "embeddings.npz", "heatmap_CASIA-B_NM.png", "logs/train-1.txt"):
        (folder / name).parent.mkdir(exist_ok=True)
        (folder / name).write_text("of the old run")  # what 'gaitgen test' and logs left
    overwritten = train(config, "--set", "trainer_cfg.total_iter=2", "--overwrite")
    assert overwritten.exit_code == 0, overwritten.output
    assert sorted(p.name for p in (folder / "checkpoints").glob("*.pt")) == ["small-00002.pt"]
    left = {p.relative_to(folder).as_posix() for p in folder.rglob("*") if p.is_file()}
    assert not left & {"results.json", "embeddings.npz", "heatmap_CASIA-B_NM.png"}, left
    assert "logs/train-1.txt" not in left


def test_config_is_written_when_the_run_starts_and_kept_per_resume(config: Path) -> None:
    folder = run_dir(config)
    # P = 9 identities: the loader refuses it after the model was built, before the run starts
    bad = train(config, "--set", "trainer_cfg.sampler.batch_size=[9, 2]")
    assert bad.exit_code != 0 and "P = 9" in bad.output, bad.output
    assert not (folder / "config.yaml").exists()
    assert train(config, "--set", "trainer_cfg.total_iter=2").exit_code == 0
    first = (folder / "config.yaml").read_text()
    assert "total_iter: 2" in first
    failed = train(config, "--iter", "2", "--set", "trainer_cfg.sampler.batch_size=[9, 2]")
    assert failed.exit_code != 0
    assert (folder / "config.yaml").read_text() == first
    resumed = train(config, "--iter", "2", "--set", "trainer_cfg.total_iter=4")
    assert resumed.exit_code == 0, resumed.output
    assert (folder / "config.yaml").read_text() == first
    assert "total_iter: 4" in (folder / "config-00002.yaml").read_text()


def test_stale_temporaries_of_killed_saves_are_removed_at_start(config: Path) -> None:
    folder = run_dir(config)
    (folder / "checkpoints").mkdir(parents=True)
    stale = folder / "checkpoints" / ".small-00002.pt.k1ll3d.tmp"
    stale.write_bytes(b"half a checkpoint")
    other = folder / "checkpoints" / ".other-00002.pt.k1ll3d.tmp"  # not this run's
    other.write_bytes(b"x")
    stale_config = folder / ".config.yaml.abc.tmp"
    stale_config.write_text("half")
    assert train(config, "--set", "trainer_cfg.total_iter=2").exit_code == 0
    assert not stale.exists() and not stale_config.exists()
    assert [p.name for p in folder.rglob("*.tmp")] == [other.name]  # not this run's: kept


# 6. the NaN stop ------------------------------------------------------------------------


def _poison_inputs_at(monkeypatch: pytest.MonkeyPatch, step: int) -> None:
    """Make the inputs of the ``step``-th step (1-based) NaN: its forward spoils BatchNorm."""
    import gaitgen.runtime.engine.step as step_module

    real = step_module.move_inputs
    calls = {"n": 0}

    def poisoned(inputs, device):
        moved = real(inputs, device)
        calls["n"] += 1
        if calls["n"] == step:
            moved[0] = [torch.full_like(x, float("nan")) for x in moved[0]]
        return moved

    monkeypatch.setattr(step_module, "move_inputs", poisoned)


def test_nan_stop_saves_the_last_good_state_with_finite_batchnorm(config, monkeypatch) -> None:
    _poison_inputs_at(monkeypatch, step=3)
    result = train(config, "--set", "trainer_cfg.save_iter=10", "--set", "trainer_cfg.total_iter=6")
    assert result.exit_code != 0
    saved = run_dir(config) / "checkpoints" / "small-00002.pt"
    assert "not finite at iteration 3" in result.output
    assert f"the last good weights (iteration 2) are saved in {saved}" in result.output
    state = load_checkpoint(saved)
    assert state["iteration"] == 2
    running = [v for k, v in state["model"].items() if "running_" in k]
    assert running, "the model has BatchNorm statistics"
    for key, value in state["model"].items():
        if value.is_floating_point():
            assert torch.isfinite(value).all(), key


def test_nan_at_the_first_iteration_saves_nothing_and_says_so(config, monkeypatch) -> None:
    _poison_inputs_at(monkeypatch, step=1)
    result = train(config)
    assert result.exit_code != 0
    assert "no iteration completed" in result.output and "nothing saved" in result.output
    assert "are saved in" not in result.output
    assert not list((run_dir(config) / "checkpoints").glob("*.pt"))


# 2. atomic writes of the result files ---------------------------------------------------


class _FullDisk:
    """A file whose writes fail as on a full disk, after ``room`` bytes."""

    def __init__(self, path, mode="r", *args, **kwargs):
        self._file = open(path, mode, *args, **kwargs)  # noqa: SIM115
        self.room = 64

    def write(self, data):
        if len(data) > self.room:
            raise OSError(errno.ENOSPC, "No space left on device")
        self.room -= len(data)
        return self._file.write(data)

    def __getattr__(self, name):
        return getattr(self._file, name)

    def __enter__(self):
        return self

    def __exit__(self, *exc):
        self._file.close()


def test_results_and_embeddings_survive_a_full_disk(tmp_path: Path, monkeypatch) -> None:
    import gaitgen.runtime.atomic as atomic
    import gaitgen.runtime.evaluation.embeddings as embeddings
    from gaitgen.runtime.atomic import atomic_write_text

    results = atomic_write_text(tmp_path / "results.json", '{"old": true}\n')
    npz = embeddings.save_embeddings(
        tmp_path / "embeddings.npz",
        np.ones((2, 3, 1), np.float32),
        ["1", "2"],
        ["a", "b"],
        ["0", "0"],
    )
    old_npz = npz.read_bytes()
    monkeypatch.setattr(atomic, "open", _FullDisk, raising=False)
    monkeypatch.setattr(embeddings, "open", _FullDisk, raising=False)
    with pytest.raises(GaitgenError, match=f"no space left on device while writing {results}"):
        atomic_write_text(results, '{"new": true, "padding": "' + "x" * 200 + '"}')
    with pytest.raises(GaitgenError, match=f"no space left on device while writing {npz}"):
        embeddings.save_embeddings(
            npz, np.zeros((50, 8, 4), np.float32), ["1"] * 50, ["a"] * 50, ["0"] * 50
        )
    assert results.read_text() == '{"old": true}\n'
    assert npz.read_bytes() == old_npz
    assert sorted(p.name for p in tmp_path.iterdir()) == ["embeddings.npz", "results.json"]


def test_generators_leave_no_temporaries_on_a_full_disk(tmp_path: Path, monkeypatch) -> None:
    import gaitgen.runtime.atomic as atomic
    from gaitgen.runtime.errors import GenerateError

    from gaitgen.generate.plan import PlannedFile, _write_all

    original = Path.write_text
    written = []

    def full_after_one(self, text, *args, **kwargs):
        if written:
            raise OSError(errno.ENOSPC, "No space left on device")
        written.append(self)
        return original(self, text, *args, **kwargs)

    monkeypatch.setattr(Path, "write_text", full_after_one)
    assert atomic.TEMP_SUFFIX == ".tmp"
    files = [PlannedFile(tmp_path / "a.py", "a = 1\n"), PlannedFile(tmp_path / "b.py", "b = 2\n")]
    with pytest.raises(GenerateError, match="no space left on device.*nothing was written"):
        _write_all(files)
    assert list(tmp_path.iterdir()) == []


# 8. resume is exact -----------------------------------------------------------------------


@pytest.mark.parametrize(
    "sample_type",
    [
        "fixed_unordered",
        pytest.param("unfixed_unordered", marks=pytest.mark.slow),
        pytest.param("fixed_ordered", marks=pytest.mark.slow),
        pytest.param("all_ordered", marks=pytest.mark.slow),
    ],
)
def test_resume_equals_the_uninterrupted_run(config: Path, sample_type: str) -> None:
    # a loader worker process draws the frames: it must not restart its random stream
    config.write_text(
        config.read_text()
        .replace("num_workers: 0", "num_workers: 1")
        .replace("sample_type: fixed_unordered", f"sample_type: {sample_type}")
    )
    sets = ["--set", "trainer_cfg.save_iter=2"]
    assert train(config, *sets, "--set", "trainer_cfg.save_name=whole").exit_code == 0
    cut = ["--set", "trainer_cfg.save_name=cut"]
    assert train(config, *sets, *cut, "--set", "trainer_cfg.total_iter=2").exit_code == 0
    resumed = train(config, *sets, *cut, "--iter", "2")
    assert resumed.exit_code == 0, resumed.output
    whole = load_checkpoint(run_dir(config, "whole") / "checkpoints" / "whole-00004.pt")["model"]
    again = load_checkpoint(run_dir(config, "cut") / "checkpoints" / "cut-00004.pt")["model"]
    for key, value in whole.items():
        assert torch.equal(value, again[key]), key


# the layout, named in one module ------------------------------------------------------------


def test_the_layout_module_imports_no_torch() -> None:
    import subprocess
    import sys

    code = (
        "import sys, gaitgen.runtime.engine.run_folder, gaitgen.cli.compare_runs; "
        "print('torch' in sys.modules)"
    )
    result = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True)
    assert result.stdout.strip() == "False", result.stderr


def test_checkpoint_names_are_parsed_and_listed_one_way(tmp_path: Path) -> None:
    from gaitgen.runtime.engine.run_folder import RunFolder, parse_checkpoint_name

    assert parse_checkpoint_name("GaitGL-CASIA-B-80000.pt") == ("GaitGL-CASIA-B", 80000)
    for other in ("run.pt", "run-00002.pt.tmp", ".run-00002.pt.x1.tmp", "run-x.pt"):
        assert parse_checkpoint_name(other) is None, other
    folder = RunFolder.under(tmp_path, "SynthGait", "GaitGL", "run")
    assert folder.path == tmp_path / "output" / "SynthGait" / "GaitGL" / "run"
    assert folder.checkpoint(20).name == "run-00020.pt"
    folder.checkpoint_dir.mkdir(parents=True)
    for name in ("run-00020.pt", "run-00100.pt", "run-2.pt", "other-00500.pt", "notes.txt"):
        (folder.checkpoint_dir / name).write_bytes(b"")
    assert list(folder.checkpoints()) == [2, 20, 100]  # numerically, not by name
    assert folder.latest_checkpoint() == folder.checkpoint(100)
    assert RunFolder(folder.path, "other").checkpoints() == {500: folder.checkpoint_dir / "other-00500.pt"}  # fmt: skip


def test_configs_logs_and_results_have_their_names(tmp_path: Path) -> None:
    from gaitgen.runtime.engine.run_folder import RunFolder, continues_run, is_run_folder

    folder = RunFolder(tmp_path / "run", "run")
    assert not is_run_folder(folder.path)
    assert folder.config_file_for(4, resumed=True) == folder.path / "config.yaml"  # none yet
    folder.path.mkdir()
    folder.config_file.write_text("first")
    assert is_run_folder(folder.path)
    assert folder.config_file_for(0, resumed=False) == folder.path / "config.yaml"
    assert folder.config_file_for(4, resumed=True) == folder.path / "config-00004.yaml"
    assert folder.log_file("train", "20260101-120000").relative_to(folder.path) == Path(
        "logs/train-20260101-120000.txt"
    )
    assert folder.results_file.name == "results.json"
    assert folder.scalars_file.relative_to(folder.path) == Path("summary/scalars.jsonl")
    assert [continues_run(h) for h in (0, 5, "latest", "a.pt", True, None)] == [
        False, True, True, False, False, False,
    ]  # fmt: skip


def test_one_restore_path_gives_the_iteration_and_whether_the_run_goes_on(config: Path) -> None:
    from gaitgen.runtime.checkpoint import save_checkpoint
    from gaitgen.runtime.engine.build import build_model
    from gaitgen.runtime.engine.restore import restore_checkpoint
    from gaitgen.runtime.engine.run import load_run

    run = load_run(config)
    model = build_model(run.cfgs, run.project, is_training=False)
    folder = run.run_folder("test")
    # a checkpoint without an 'iteration' entry (another tool's): its name says which
    path = save_checkpoint(folder.checkpoint(7), {"model": model.state_dict()})
    assert restore_checkpoint(run, "test", model, 0) is None
    by_iteration = restore_checkpoint(run, "test", model, 7)
    assert (by_iteration.path, by_iteration.iteration, by_iteration.continues) == (path, 7, True)
    assert restore_checkpoint(run, "train", model, "latest").path == path
    by_file = restore_checkpoint(run, "train", model, str(path))
    assert (by_file.iteration, by_file.continues) == (7, False)  # fine-tunes from its weights


def test_resuming_before_the_latest_checkpoint_is_refused_or_drops_the_later_ones(
    config: Path,
) -> None:
    assert train(config).exit_code == 0  # checkpoints 2 and 4
    folder = run_dir(config) / "checkpoints"
    again = train(config, "--iter", "2", "--set", "trainer_cfg.total_iter=3")
    assert again.exit_code != 0
    line = again.output.strip().splitlines()[-1]
    assert "later than iteration 2, which this run resumes from (iterations 4)" in line, line
    assert "--iter 4" in line and "--overwrite" in line
    assert sorted(p.name for p in folder.glob("*.pt")) == ["small-00002.pt", "small-00004.pt"]
    branched = train(config, "--iter", "2", "--set", "trainer_cfg.total_iter=3", "--overwrite")
    assert branched.exit_code == 0, branched.output
    # the abandoned timeline's 4 is gone: 'gaitgen test' now evaluates the new run's 3
    assert sorted(p.name for p in folder.glob("*.pt")) == ["small-00002.pt", "small-00003.pt"]


def test_results_record_what_they_evaluated_and_each_checkpoint_keeps_its_own(
    config: Path,
) -> None:
    import json

    assert train(config).exit_code == 0  # checkpoints 2 and 4
    folder = run_dir(config)
    latest = CliRunner().invoke(app, ["test", str(config)])
    assert latest.exit_code == 0, latest.output
    assert f"run folder {folder}" in latest.output and "small-00004.pt" in latest.output
    results = json.loads((folder / "results.json").read_text())
    assert results["iteration"] == 4 and results["checkpoint"].endswith("small-00004.pt")
    assert results["config"] == str(config)
    earlier = CliRunner().invoke(app, ["test", str(config), "--iter", "2"])
    assert earlier.exit_code == 0, earlier.output
    assert json.loads((folder / "results.json").read_text())["iteration"] == 2
    assert json.loads((folder / "results-00004.json").read_text())["iteration"] == 4  # kept
    assert json.loads((folder / "results-00002.json").read_text())["iteration"] == 2
    other = CliRunner().invoke(app, ["test", str(config), "--set", "trainer_cfg.save_name=Fast"])
    assert other.exit_code != 0
    assert "set --set evaluator_cfg.save_name=Fast" in other.output


def test_a_start_that_fails_at_its_first_step_leaves_nothing_that_looks_like_a_run(
    config: Path,
) -> None:
    unfed = "  - {type: TripletLoss, log_prefix: never_fed}\n"  # no training_feat key feeds it
    config.write_text(config.read_text().replace("loss_cfg:\n", "loss_cfg:\n" + unfed))
    failed = train(config)
    assert failed.exit_code != 0 and "never_fed" in failed.output, failed.output
    folder = run_dir(config)
    assert not (folder / "config.yaml").exists() and not (folder / "summary").exists()
    listed = CliRunner().invoke(app, ["compare", str(folder.parent)])
    assert "small" not in listed.stdout  # no empty row for the failed start


def test_a_resume_that_changes_the_batch_frames_or_model_is_refused_or_forced(
    config: Path,
) -> None:
    """Issue 17, item 14: a resume whose overrides change the run's batch, frames or model
    went on silently as another experiment under the first one's name."""
    folder = run_dir(config)
    assert train(config, "--set", "trainer_cfg.total_iter=2").exit_code == 0
    batch = "trainer_cfg.sampler.batch_size=[2, 3]"
    refused = train(config, "--iter", "2", "--set", batch)
    assert refused.exit_code != 0
    line = refused.output.strip().splitlines()[-1]
    assert line.startswith(f"error: {config}: resuming {folder} at iteration 2"), line
    assert "trainer_cfg.sampler.batch_size: [2, 2] -> [2, 3]" in line and "--force" in line
    frames = train(config, "--iter", "2", "--set", "trainer_cfg.sampler.frames_num_fixed=6")
    assert "trainer_cfg.sampler.frames_num_fixed: 8 -> 6" in frames.output
    model = train(config, "--iter", "2", "--set", "model_cfg.SeparateFCs.out_channels=16")
    assert "model_cfg.SeparateFCs.out_channels: 32 -> 16" in model.output
    assert sorted(p.name for p in folder.glob("config*.yaml")) == ["config.yaml"]
    assert sorted(p.name for p in (folder / "checkpoints").iterdir()) == ["small-00002.pt"]
    # what may change on a resume does not need --force
    longer = train(config, "--iter", "2", "--set", "trainer_cfg.total_iter=3")
    assert longer.exit_code == 0, longer.output
    # --force goes on, and the resume's config says what changed
    forced = train(
        config, "--iter", "3", "--set", batch, "--set", "trainer_cfg.total_iter=4", "--force"
    )
    assert forced.exit_code == 0, forced.output
    head = (folder / "config-00003.yaml").read_text().splitlines()[0]
    assert head.startswith("# resumed with --force; changed from ") and "config-00002.yaml" in head
    assert "trainer_cfg.sampler.batch_size: [2, 2] -> [2, 3]" in head
    # the forced settings are the run's own from then on: the next resume holds to them
    again = train(config, "--iter", "4", "--set", batch, "--set", "trainer_cfg.total_iter=5")
    assert again.exit_code == 0, again.output


@pytest.mark.skipif(not Path("/dev/full").exists(), reason="needs /dev/full (Linux)")
def test_a_full_disk_under_the_log_file_is_one_line(config: Path, monkeypatch) -> None:
    """Issue 17, item 17: a full disk during train --log-to-file printed three '--- Logging
    error ---' blocks with tracebacks. Every write to /dev/full fails with ENOSPC."""
    from gaitgen.runtime.engine.run_folder import RunFolder

    monkeypatch.setattr(RunFolder, "log_file", lambda self, phase, stamp: Path("/dev/full"))
    result = train(config, "--log-to-file", "--set", "trainer_cfg.total_iter=2")
    assert result.exit_code == 0, result.output
    assert "Logging error" not in result.output and "Traceback" not in result.output
    warnings = [line for line in result.stderr.splitlines() if "/dev/full" in line]
    assert warnings == [
        "warning: cannot write the log file /dev/full: No space left on device; nothing more "
        "is logged there"
    ]
    assert "saved checkpoint" in result.stdout  # the terminal log goes on


def _last_line(result) -> str:
    return result.output.strip().splitlines()[-1]


def test_a_checkpoint_of_the_wrong_structure_is_one_line_in_train_and_test(config: Path) -> None:
    """Issue 17, item 18: a checkpoint whose 'model' is a list, whose 'iteration' is 2.5 or
    whose RNG states are corrupt, and an Adam checkpoint fine-tuned from with SGD, ended in
    a bare TypeError/ValueError (or, for 2.5, tested as iteration 2 with exit 0). Each is one
    line naming the file and the entry, from both train (resume) and test."""
    assert train(config).exit_code == 0  # checkpoints 2 and 4
    path = run_dir(config) / "checkpoints" / "small-00004.pt"
    good = load_checkpoint(path)
    resume = ("--iter", "4", "--set", "trainer_cfg.total_iter=5")

    torch.save({**good, "model": list(good["model"].values())}, path)
    for result in (train(config, *resume), CliRunner().invoke(app, ["test", str(config)])):
        assert result.exit_code == 1
        assert _last_line(result) == (
            f"error: {path}: its 'model' entry is a list, not a state dict (a mapping of weight "
            "name -> tensor); use a checkpoint that 'gaitgen train' or OpenGait saved"
        )
    torch.save({**good, "iteration": 2.5}, path)
    tested = CliRunner().invoke(app, ["test", str(config), "--iter", "4"])
    assert tested.exit_code == 1 and "its 'iteration' entry is 2.5 (a float)" in _last_line(tested)
    assert not (run_dir(config) / "results-00002.json").exists()

    torch.save({**good, "rng": {**good["rng"], "torch": torch.zeros(10, dtype=torch.uint8)}}, path)
    resumed = train(config, *resume)
    assert resumed.exit_code == 1
    assert _last_line(resumed).startswith(f"error: {path}: its 'rng' entry (the RNG states a ")
    assert "rng.torch: RuntimeError: Expected a CPUGeneratorImplState" in _last_line(resumed)
    assert not (run_dir(config) / "checkpoints" / "small-00005.pt").exists()

    adam = torch.optim.Adam(torch.nn.Linear(2, 2).parameters()).state_dict()
    torch.save({**good, "optimizer": adam}, config.parent / "adam.pt")
    hint = f"trainer_cfg.restore_hint={config.parent / 'adam.pt'}"
    tuned = train(config, "--set", hint, "--set", "trainer_cfg.save_name=tuned")
    assert tuned.exit_code == 1
    assert _last_line(tuned) == (
        f"error: {config.parent / 'adam.pt'}: its 'optimizer' entry does not fit this config's "
        "optimizer (SGD): it is another optimizer's state, with settings amsgrad, betas, eps; "
        "set trainer_cfg.optimizer_reset: true to start the optimizer afresh, or train with "
        "the optimizer_cfg the checkpoint was saved with"
    )
    again = train(
        config, "--set", hint, "--set", "trainer_cfg.save_name=tuned",
        "--set", "trainer_cfg.optimizer_reset=true", "--set", "trainer_cfg.total_iter=2",
    )  # fmt: skip
    assert again.exit_code == 0, again.output


def test_a_checkpoints_path_that_is_a_file_is_one_line(config: Path) -> None:
    """Issue 17, item 18: a run folder whose 'checkpoints' is a file ended in a bare
    FileExistsError (a fresh train) or blamed missing checkpoints (test, resume)."""
    folder = run_dir(config)
    folder.mkdir(parents=True)
    (folder / "checkpoints").write_text("not a folder")
    expected = (
        f"error: {folder / 'checkpoints'}: is a file, not a folder; the run folder keeps its "
        "checkpoints in it: move the file away (or delete it) and run again"
    )
    for args in (
        ["train", str(config)],
        ["train", str(config), "--iter", "4"],
        ["test", str(config)],
    ):
        result = CliRunner().invoke(app, args)
        assert result.exit_code == 1 and _last_line(result) == expected, (args, result.output)


def test_a_negative_iter_names_the_option(config: Path, capsys) -> None:
    """Issue 17, item 18: 'gaitgen test CONFIG --iter -1' blamed a --set the user never gave
    (--iter became --set trainer_cfg.restore_hint=-1). The option is named, by every entry
    point that takes it."""
    from gaitgen.runtime.main import main

    allowed = "give the positive iteration of a checkpoint of the run, or 0 (or leave --iter out)"
    for phase, zero in (("train", "a fresh run"), ("test", "the latest checkpoint")):
        result = CliRunner().invoke(app, [phase, str(config), "--iter", "-1"])
        assert result.exit_code == 1
        assert _last_line(result).startswith(
            f"error: --iter -1: not an iteration; {allowed} for {zero}"
        )
        assert "--set" not in result.output
        assert main(["--cfgs", str(config), "--phase", phase, "--iter", "-1"]) == 1
        assert capsys.readouterr().err.strip().startswith("error: --iter -1: not an iteration")
    data = config.parent / "none"
    extracted = CliRunner().invoke(
        app, ["extract", str(config), "--data", str(data), "--iter", "-1"]
    )
    assert extracted.exit_code == 1
    assert _last_line(extracted).startswith("error: --iter -1: not an iteration;")
