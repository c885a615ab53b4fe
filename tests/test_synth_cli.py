"""``gaitgen synth``: writes the dataset and a preview, and fails with one clear line."""

from __future__ import annotations

import json
import signal
import subprocess
import sys
import time
from pathlib import Path

import pytest
from typer.testing import CliRunner

from gaitgen.cli.app import app

runner = CliRunner()


def _run(*args: str):
    return runner.invoke(app, ["synth", *args])


def test_writes_dataset_partition_and_preview(tmp_path: Path) -> None:
    out = tmp_path / "synth"
    result = _run(str(out), "--subjects", "3", "--views", "0,90", "--frames", "4", "--preview")
    assert result.exit_code == 0, result.output
    assert sorted(p.name for p in out.iterdir()) == [
        "001",
        "002",
        "003",
        "partition.json",
        "preview.png",
    ]
    assert (out / "003" / "bg-02" / "090" / "090.pkl").is_file()
    assert (out / "001" / "nm-06" / "000" / "000.pkl").is_file()
    assert json.loads((out / "partition.json").read_text())["TEST_SET"] == ["003"]
    assert (out / "preview.png").read_bytes()[:8] == b"\x89PNG\r\n\x1a\n"
    assert "wrote 60 sequences" in result.output


def test_existing_folder_needs_force(tmp_path: Path) -> None:
    out = tmp_path / "synth"
    out.mkdir()
    (out / "old.txt").write_text("old")
    result = _run(str(out), "--subjects", "2", "--views", "90", "--frames", "2")
    assert result.exit_code != 0
    assert "--force" in result.output and "Traceback" not in result.output
    assert (out / "old.txt").exists()
    result = _run(str(out), "--subjects", "2", "--views", "90", "--frames", "2", "--force")
    assert result.exit_code == 0, result.output
    assert not (out / "old.txt").exists() and (out / "002").is_dir()


@pytest.mark.parametrize(
    ("args", "message"),
    [
        (["--subjects", "-2"], "--subjects"),
        (["--frames", "0"], "--frames"),
        (["--workers", "0"], "--workers"),
        (["--views", "000,front"], "unknown view 'front'"),
        (["--views", "090,90"], "listed twice"),
        (["--modalities", "silhouette,depth"], "unknown modality 'depth'"),
        (["--pose-format", "alphapose"], "unknown pose format 'alphapose'"),
    ],
)
def test_bad_input_is_one_error_line(tmp_path: Path, args: list[str], message: str) -> None:
    out = tmp_path / "synth"
    result = _run(str(out), *args)
    assert result.exit_code != 0
    lines = [line for line in result.output.splitlines() if line.strip()]
    assert len(lines) == 1 and lines[0].startswith("error:") and message in lines[0]
    assert not out.exists()


def _synth(out: Path, *args: str) -> subprocess.Popen:
    return subprocess.Popen(
        [sys.executable, "-m", "gaitgen", "synth", str(out), "--frames", "8", *args],
        stdout=subprocess.PIPE,
        stderr=subprocess.PIPE,
        text=True,
    )


def _wait_for(condition, seconds: float = 60) -> None:
    deadline = time.monotonic() + seconds
    while not condition():
        assert time.monotonic() < deadline, "timed out"
        time.sleep(0.05)


def test_sigterm_during_synth_cleans_up_and_exits_143(tmp_path: Path) -> None:
    out = tmp_path / "data"
    process = _synth(out, "--subjects", "400", "--workers", "2")
    _wait_for(lambda: any(tmp_path.glob(".data.*.partial/*")))  # subjects being written
    process.send_signal(signal.SIGTERM)
    _, stderr = process.communicate(timeout=120)
    assert process.returncode == 143, stderr
    assert stderr.strip().splitlines()[-1] == "error: stopped by SIGTERM"
    assert sorted(p.name for p in tmp_path.iterdir()) == []  # no partial folder left


def test_a_killed_synth_leaves_nothing_the_next_one_keeps(tmp_path: Path) -> None:
    stale = tmp_path / ".data.k1x2.partial"  # what SIGKILL leaves (no clean-up runs)
    (stale / "001").mkdir(parents=True)
    other = tmp_path / ".elsewhere.k1x2.partial"  # another dataset's: not this run's to remove
    other.mkdir()
    result = subprocess.run(
        [sys.executable, "-m", "gaitgen", "synth", str(tmp_path / "data"), "--subjects", "2",
         "--frames", "4", "--views", "000"],
        capture_output=True, text=True,
    )  # fmt: skip
    assert result.returncode == 0, result.stderr
    assert not stale.exists() and other.exists()


def test_two_synths_into_one_folder_are_serialised(tmp_path: Path) -> None:
    out = tmp_path / "data"
    first = _synth(out, "--subjects", "60", "--views", "000,090")
    _wait_for(lambda: any(tmp_path.glob(".data.*.partial")))
    second = _synth(out, "--subjects", "3", "--views", "000")
    first_out, first_err = first.communicate(timeout=120)
    second_out, second_err = second.communicate(timeout=120)
    assert first.returncode == 0, first_err
    assert second.returncode == 1 and "already exists and is not empty" in second_err
    assert len([p for p in out.iterdir() if p.is_dir()]) == 60  # the folder holds the first's


def test_every_modality_through_the_cli_and_check_data(tmp_path: Path) -> None:
    out = tmp_path / "synth"
    result = _run(
        str(out),
        *("--subjects", "2", "--views", "90", "--frames", "4"),
        *("--modalities", "all", "--pose-format", "openpose", "--preview"),
    )
    assert result.exit_code == 0, result.output
    folder = out / "002" / "cl-02" / "090"
    assert sorted(p.name for p in folder.iterdir()) == [
        "0_heatmap.pkl",
        "0_parsing.pkl",
        "1_sil.pkl",
        "2_smpl.pkl",
        "3_pose.pkl",
    ]
    from gaitgen.runtime.data.io import load_sequence_file

    assert load_sequence_file(folder / "3_pose.pkl").shape == (4, 18, 3)
    from PIL import Image

    with Image.open(out / "preview.png") as sheet:  # five tiles per view, side by side
        assert sheet.size[0] >= 5 * 64
    checked = runner.invoke(
        app, ["check-data", str(out), "--partition", str(out / "partition.json")]
    )
    assert checked.exit_code == 0, checked.output
    assert "no problems found" in checked.output


def test_a_full_disk_names_the_file_being_written(tmp_path: Path, monkeypatch) -> None:
    """Issue 17, item 18: a full disk during synth said 'while writing a file'; it names the
    file, as it would be in the dataset, and nothing is left behind."""
    import errno

    import gaitgen.runtime.synth.writer as writer

    def full(path, mode="r", *args, **kwargs):
        raise OSError(errno.ENOSPC, "No space left on device")  # a write: no file name

    monkeypatch.setattr(writer, "open", full, raising=False)
    out = tmp_path / "out"
    result = _run(str(out), "--subjects", "2", "--views", "90", "--frames", "2")
    assert result.exit_code == 1
    assert result.output == (
        f"error: no space left on device while writing {out}/001/nm-01/090/090.pkl: "
        "free some space\n"
    )
    assert list(tmp_path.iterdir()) == []
