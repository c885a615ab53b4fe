"""``gaitgen synth``: writes the dataset and a preview, and fails with one clear line."""

from __future__ import annotations

import json
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
    ],
)
def test_bad_input_is_one_error_line(tmp_path: Path, args: list[str], message: str) -> None:
    out = tmp_path / "synth"
    result = _run(str(out), *args)
    assert result.exit_code != 0
    lines = [line for line in result.output.splitlines() if line.strip()]
    assert len(lines) == 1 and lines[0].startswith("error:") and message in lines[0]
    assert not out.exists()
