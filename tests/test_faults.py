"""Fault injection: kills, signals, a full disk and a second run, on CPU with a tiny model.

Every case ends by checking the run folder: a run killed at any point resumes to the very
weights of an uninterrupted run; a full disk leaves every earlier file intact and loadable;
SIGTERM and Ctrl-C save and exit with their documented codes (143, 130); a second run on a
locked folder refuses. The slow saves and pauses are injected into the child process by a
``sitecustomize`` module on its PYTHONPATH (``GAITGEN_FAULT=before:4`` sleeps just before
the save of iteration 4, ``mid:4`` after its temporary file is written, before the rename).
"""

from __future__ import annotations

import errno
import os
import shlex
import signal
import subprocess
import sys
import textwrap
import time
from collections.abc import Iterator
from pathlib import Path

import pytest
import torch
from conftest import small_config
from gaitgen.runtime.checkpoint import load_checkpoint
from typer.testing import CliRunner

from gaitgen.cli.app import app
from gaitgen.cli.launch import descendants

pytestmark = pytest.mark.skipif(
    not Path("/proc").is_dir(), reason="finds the processes a run started in /proc"
)
TOTAL = 8
SITECUSTOMIZE = """
import os
import time

_fault = os.environ.get("GAITGEN_FAULT")
if _fault:
    import torch

    _mode, _at = _fault.split(":")
    _real_save = torch.save

    def _save(obj, f, *args, **kwargs):
        hit = isinstance(obj, dict) and "model" in obj and obj.get("iteration") == int(_at)
        if hit and _mode == "before":
            print("FAULT: pausing before the save", flush=True)
            time.sleep(600)
        _real_save(obj, f, *args, **kwargs)
        if hit and _mode == "mid":
            f.flush()
            print("FAULT: pausing mid-save", flush=True)
            time.sleep(600)

    torch.save = _save
"""


@pytest.fixture(scope="module")
def bench(tmp_path_factory, tiny_dataset) -> dict:
    """A config (random frames, one loader worker) and the sitecustomize folder."""
    folder = tmp_path_factory.mktemp("faults")
    root, partition = tiny_dataset
    config = folder / "faults.yaml"
    text = small_config(root, partition, total_iter=TOTAL).replace(
        "num_workers: 0", "num_workers: 1"
    )
    config.write_text(text.replace("log_iter: 2", "log_iter: 1"))
    hooks = folder / "hooks"
    hooks.mkdir()
    (hooks / "sitecustomize.py").write_text(textwrap.dedent(SITECUSTOMIZE))
    return {"config": config, "hooks": hooks}


def _env(bench: dict, fault: str | None = None) -> dict[str, str]:
    env = {**os.environ, "OMP_NUM_THREADS": "1", "PYTHONUNBUFFERED": "1"}
    env["PYTHONPATH"] = os.pathsep.join(filter(None, [str(bench["hooks"]), env.get("PYTHONPATH")]))
    env.pop("GAITGEN_FAULT", None)
    if fault:
        env["GAITGEN_FAULT"] = fault
    return env


def _command(bench: dict, save_name: str, *extra: str, nproc: int = 1) -> list[str]:
    command = [sys.executable, "-m", "gaitgen", "train", str(bench["config"])]
    command += ["--set", f"trainer_cfg.save_name={save_name}"]
    if nproc > 1:
        command += ["--nproc", str(nproc)]
    return command + list(extra)


def _train(bench: dict, save_name: str, *extra: str, nproc: int = 1) -> subprocess.CompletedProcess:
    return subprocess.run(
        _command(bench, save_name, *extra, nproc=nproc),
        cwd=bench["config"].parent,
        env=_env(bench),
        capture_output=True,
        text=True,
        timeout=300,
    )


def _checkpoints(bench: dict, save_name: str) -> Path:
    return bench["config"].parent / "output" / "tiny" / "Baseline" / save_name / "checkpoints"


def _weights(path: Path) -> dict[str, torch.Tensor]:
    return load_checkpoint(path)["model"]


def _assert_same_weights(a: Path, b: Path) -> None:
    first, second = _weights(a), _weights(b)
    assert first.keys() == second.keys()
    for key in first:
        assert torch.equal(first[key], second[key]), f"{key} differs between {a} and {b}"


@pytest.fixture(scope="module")
def reference(bench) -> Path:
    """The final checkpoint of an uninterrupted one-process run."""
    done = _train(bench, "reference")
    assert done.returncode == 0, done.stderr
    return _checkpoints(bench, "reference") / f"reference-{TOTAL:05d}.pt"


def _start(bench: dict, save_name: str, fault: str | None, nproc: int = 1) -> tuple:
    log = open(bench["config"].parent / f"{save_name}.log", "w+")  # noqa: SIM115
    process = subprocess.Popen(
        _command(bench, save_name, nproc=nproc),
        cwd=bench["config"].parent,
        env=_env(bench, fault),
        stdout=log,
        stderr=subprocess.STDOUT,
        start_new_session=True,  # away from pytest's process group: signals reach it alone
    )
    return process, log


def _wait_for(condition, process: subprocess.Popen, log, timeout: float = 180.0) -> None:
    deadline = time.time() + timeout
    while time.time() < deadline:
        if condition():
            return
        if process.poll() is not None:
            log.seek(0)
            pytest.fail(f"the run ended (code {process.returncode}) first:\n{log.read()}")
        time.sleep(0.05)
    _kill(process)
    log.seek(0)
    pytest.fail(f"timed out waiting:\n{log.read()}")


def _output(log) -> str:
    log.flush()
    log.seek(0)
    return log.read()


def _kill(process: subprocess.Popen) -> None:
    """SIGKILL the run and every process it started at once, as a machine that dies."""
    for pid in [process.pid, *descendants(process.pid)]:
        try:
            os.kill(pid, signal.SIGKILL)
        except ProcessLookupError:
            pass
    process.wait(timeout=30)


# SIGKILL, then resume -------------------------------------------------------------------


def _kill_and_resume(bench: dict, save_name: str, point: str, nproc: int = 1) -> Path:
    folder = _checkpoints(bench, save_name)
    fault = {"before-first-save": "before:2", "mid-save": "mid:4", "between-saves": None}[point]
    process, log = _start(bench, save_name, fault, nproc)
    try:
        if point == "between-saves":
            _wait_for(lambda: (folder / f"{save_name}-00004.pt").exists(), process, log)
        else:
            _wait_for(lambda: "FAULT: pausing" in _output(log), process, log)
        _kill(process)
    finally:
        log.close()
    if point == "before-first-save":
        assert not list(folder.glob("*.pt"))
    if point == "mid-save":
        assert list(folder.glob(f".{save_name}-00004.pt.*.tmp")), "the kill left a temporary"
        assert not (folder / f"{save_name}-00004.pt").exists()
    resumed = _train(bench, save_name, "--set", "trainer_cfg.restore_hint=latest", nproc=nproc)
    assert resumed.returncode == 0, resumed.stdout + resumed.stderr
    assert "taking over the stale lock" in resumed.stderr
    assert not list(folder.glob("*.tmp")), "stale temporaries are removed at start"
    for path in folder.glob("*.pt"):
        assert load_checkpoint(path)["iteration"] == int(path.stem.rsplit("-", 1)[1])
    return folder / f"{save_name}-{TOTAL:05d}.pt"


def test_sigkill_mid_save_then_resume_equals_uninterrupted(bench, reference) -> None:
    _assert_same_weights(_kill_and_resume(bench, "midsave", "mid-save"), reference)


@pytest.mark.slow
@pytest.mark.parametrize("point", ["before-first-save", "between-saves"])
def test_sigkill_then_resume_equals_uninterrupted(bench, reference, point: str) -> None:
    final = _kill_and_resume(bench, point.replace("-", ""), point)
    _assert_same_weights(final, reference)


@pytest.fixture(scope="module")
def reference2(bench) -> Path:
    """The final checkpoint of an uninterrupted two-process run."""
    done = _train(bench, "reference2", nproc=2)
    assert done.returncode == 0, done.stderr
    return _checkpoints(bench, "reference2") / f"reference2-{TOTAL:05d}.pt"


@pytest.mark.slow
@pytest.mark.parametrize("point", ["before-first-save", "mid-save", "between-saves"])
def test_two_process_sigkill_then_resume_equals_uninterrupted(bench, reference2, point) -> None:
    reference = reference2
    final = _kill_and_resume(bench, "two" + point.replace("-", ""), point, nproc=2)
    _assert_same_weights(final, reference)


# SIGTERM and Ctrl-C ---------------------------------------------------------------------


@pytest.mark.parametrize(
    "signum, code, phrase",
    [
        (signal.SIGTERM, 143, "stopped by SIGTERM at iteration"),
        pytest.param(
            signal.SIGINT, 130, "interrupted at iteration", marks=pytest.mark.slow, id="SIGINT"
        ),
    ],
)
def test_signal_saves_the_current_iteration_and_exits(bench, reference, signum, code, phrase):
    save_name = f"sig{int(signum)}"
    process, log = _start(bench, save_name, None)
    try:
        _wait_for(lambda: "iteration 3:" in _output(log), process, log)
        process.send_signal(signum)
        process.wait(timeout=120)
        output = _output(log)
    finally:
        if process.poll() is None:
            _kill(process)
        log.close()
    assert process.returncode == code, output
    assert "Traceback" not in output
    line = next(line for line in output.splitlines() if phrase in line)
    stopped_at = int(line.split(phrase)[1].split(";")[0])
    saved = _checkpoints(bench, save_name) / f"{save_name}-{stopped_at:05d}.pt"
    assert str(saved) in line or "already saved" in line, line
    assert load_checkpoint(saved)["iteration"] == stopped_at
    # the printed command resumes this very run (its --set save_name included)
    printed = shlex.split(line.split("; resume with ", 1)[1])
    assert printed[:2] == ["gaitgen", "train"] and f"trainer_cfg.save_name={save_name}" in printed
    resumed = subprocess.run(
        [sys.executable, "-m", *printed],
        cwd=bench["config"].parent,
        env=_env(bench),
        capture_output=True,
        text=True,
        timeout=300,
    )
    assert resumed.returncode == 0, resumed.stderr
    _assert_same_weights(_checkpoints(bench, save_name) / f"{save_name}-{TOTAL:05d}.pt", reference)


@pytest.mark.slow
def test_sigterm_to_the_launcher_reaches_the_workers(bench) -> None:
    process, log = _start(bench, "sigterm2", None, nproc=2)
    try:
        _wait_for(lambda: "iteration 3:" in _output(log), process, log)
        process.send_signal(signal.SIGTERM)
        process.wait(timeout=120)
        output = _output(log)
    finally:
        if process.poll() is None:
            _kill(process)
        log.close()
    assert process.returncode == 143, output
    assert "stopped by SIGTERM at iteration" in output
    assert "stopped by SIGTERM: forwarded to the workers" in output
    saved = sorted(_checkpoints(bench, "sigterm2").glob("*.pt"))
    assert saved and load_checkpoint(saved[-1])["iteration"] >= 3


# two runs, one folder -------------------------------------------------------------------


@pytest.mark.slow  # the same refusal in-process: tests/test_run_folder.py
def test_a_second_run_on_a_locked_folder_refuses(bench) -> None:
    process, log = _start(bench, "busy", "before:2")
    try:
        _wait_for(lambda: "FAULT: pausing" in _output(log), process, log)
        for extra in ([], ["--nproc", "2"]):
            second = _train(bench, "busy", *extra)
            assert second.returncode != 0
            lines = second.stderr.strip().splitlines()
            assert f"is in use by another 'gaitgen train' (pid {process.pid}" in lines[-1], lines
            assert "Traceback" not in second.stderr and "launching" not in second.stderr
    finally:
        _kill(process)
        log.close()


# a full disk ----------------------------------------------------------------------------


@pytest.fixture
def small_disk(tmp_path: Path) -> Iterator[Path | None]:
    """A 16 MB tmpfs (root only); None where it cannot be mounted (a patched writer then)."""
    mount = tmp_path / "disk"
    mount.mkdir()
    try:
        done = subprocess.run(
            ["mount", "-t", "tmpfs", "-o", "size=16m", "tmpfs", str(mount)],
            capture_output=True,
            timeout=30,
        )
        mounted = done.returncode == 0
    except (OSError, subprocess.SubprocessError):  # no mount command, no permission
        mounted = False
    if not mounted:
        yield None
        return
    try:
        yield mount
    finally:
        subprocess.run(["umount", "-l", str(mount)], capture_output=True)


def _fill(mount: Path, leave: int = 0) -> None:
    """Take the free space of the small filesystem, all but ``leave`` bytes."""
    filler = mount / "filler"
    with open(filler, "ab", buffering=0) as handle:  # unbuffered: nothing left to flush
        try:
            while True:
                handle.write(b"\0" * 4096)
        except OSError as exc:
            assert exc.errno == errno.ENOSPC
    os.truncate(filler, max(0, filler.stat().st_size - leave))


def _patch_full_disk(monkeypatch: pytest.MonkeyPatch, modules: list) -> None:
    """Where no filesystem can be mounted: the writes of ``modules`` fail as on a full disk."""

    class FullDisk:
        def __init__(self, path, mode="r", *args, **kwargs):
            self._file = open(path, mode, *args, **kwargs)  # noqa: SIM115

        def write(self, data):
            raise OSError(errno.ENOSPC, "No space left on device")

        def __getattr__(self, name):
            return getattr(self._file, name)

        def __enter__(self):
            return self

        def __exit__(self, *exc):
            self._file.close()

    for module in modules:
        monkeypatch.setattr(module, "open", FullDisk, raising=False)


def test_full_disk_during_save_and_test_keeps_earlier_files(
    bench, small_disk, tmp_path, monkeypatch
) -> None:
    base = small_disk or tmp_path / "plain"
    base.mkdir(exist_ok=True)
    config = base / "disk.yaml"
    config.write_text(bench["config"].read_text().replace("num_workers: 1", "num_workers: 0"))
    monkeypatch.chdir(base)
    runner = CliRunner()
    first = runner.invoke(app, ["train", str(config), "--set", "trainer_cfg.total_iter=2"])
    assert first.exit_code == 0, first.output
    run_dir = base / "output" / "tiny" / "Baseline" / "small"
    tested = runner.invoke(app, ["test", str(config)])
    assert tested.exit_code == 0, tested.output
    results = (run_dir / "results.json").read_bytes()
    import gaitgen.runtime.atomic as atomic
    import gaitgen.runtime.checkpoint as checkpoint
    import gaitgen.runtime.evaluation.embeddings as embeddings

    if small_disk is not None:  # room for the lock and the config, not for a checkpoint
        _fill(small_disk, leave=64 * 1024)
    else:
        _patch_full_disk(monkeypatch, [checkpoint])

    full_save = runner.invoke(
        app, ["train", str(config), "--iter", "2", "--set", "trainer_cfg.total_iter=4"]
    )
    assert full_save.exit_code != 0
    saving = run_dir / "checkpoints" / "small-00004.pt"
    assert f"no space left on device while writing {saving}" in full_save.output, full_save.output
    assert "Traceback" not in full_save.output
    assert load_checkpoint(run_dir / "checkpoints" / "small-00002.pt")["iteration"] == 2
    assert not (run_dir / "checkpoints" / "small-00004.pt").exists()

    if small_disk is not None:
        _fill(small_disk)
    else:
        _patch_full_disk(monkeypatch, [atomic, embeddings])
    full_test = runner.invoke(app, ["test", str(config)])
    assert full_test.exit_code != 0
    assert f"no space left on device while writing {run_dir}" in full_test.output
    assert (run_dir / "results.json").read_bytes() == results
    assert not list(run_dir.rglob("*.tmp")), sorted(run_dir.rglob("*"))
