"""gaitgen prepare --skeleton-maps: pose pickles to skeleton maps linked with silhouettes."""

from __future__ import annotations

import os
import pickle
from pathlib import Path

import numpy as np
import pytest
from gaitgen.runtime.data.io import load_sequence_file
from gaitgen.runtime.data.prepare_skeleton import prepare_skeleton_maps
from gaitgen.runtime.errors import ConfigError, DataError
from typer.testing import CliRunner

from gaitgen.cli.app import app

FIXTURES = Path(__file__).parent / "fixtures" / "opengait" / "heatmap"


def _fixture(name: str) -> dict:
    with np.load(FIXTURES / f"{name}.npz") as data:
        return {key: data[key] for key in data.files}


def _pickle(path: Path, value) -> None:
    path.parent.mkdir(parents=True, exist_ok=True)
    path.write_bytes(pickle.dumps(value, protocol=4))


@pytest.fixture()
def dataset(tmp_path):
    """Poses and silhouettes of four sequences: two good, one short of silhouettes, one bad."""
    clean, missing = _fixture("coco17-clean"), _fixture("coco17-missing")
    poses, sil = tmp_path / "poses", tmp_path / "sil"
    _pickle(poses / "001" / "nm-01" / "000" / "000.pkl", clean["pose"])
    _pickle(poses / "001" / "nm-01" / "090" / "090.pkl", missing["pose"])
    _pickle(poses / "002" / "nm-01" / "000" / "000.pkl", clean["pose"])
    _pickle(poses / "003" / "bg-01" / "000" / "000.pkl", clean["pose"][:, :, :2])  # no scores
    for key, frames in (("001/nm-01/000", 10), ("001/nm-01/090", 12), ("002/nm-01/000", 9)):
        _pickle(sil / key / f"{key[-3:]}.pkl", np.zeros((frames, 64, 64), np.uint8))
    _pickle(sil / "004" / "nm-01" / "000" / "000.pkl", np.zeros((3, 64, 64), np.uint8))
    return poses, sil, clean, missing


def test_maps_are_written_and_linked(dataset, tmp_path):
    poses, sil, clean, missing = dataset
    out = tmp_path / "out"
    summary = prepare_skeleton_maps(poses, out, silhouettes=sil, workers=1)
    assert summary.sequences_written == 2 and summary.linked == 2 and summary.frames == 22
    assert summary.silhouettes_without_pose == 1
    seq = out / "001" / "nm-01" / "000"
    assert np.array_equal(load_sequence_file(seq / "0_heatmap.pkl"), clean["heatmap"])
    assert os.readlink(seq / "1_sil.pkl") == str((sil / "001/nm-01/000/000.pkl").resolve())
    assert load_sequence_file(seq / "1_sil.pkl").shape == (10, 64, 64)
    maps = load_sequence_file(out / "001" / "nm-01" / "090" / "0_heatmap.pkl")
    assert np.array_equal(maps, missing["heatmap"])
    assert not (out / "002").exists() and not (out / "003").exists()
    assert len(summary.skipped) == 2
    mismatch, shape = summary.skipped
    assert mismatch.startswith("002/nm-01/000: the pose ") and "has 10 frames" in mismatch
    assert "have 9" in mismatch and "\n" not in mismatch
    assert shape.startswith(str(poses / "003/bg-01/000/000.pkl")) and "[10, 17, 2]" in shape


def test_two_workers_give_the_same_maps_and_no_silhouettes_writes_maps_only(dataset, tmp_path):
    poses, _, clean, _ = dataset
    summary = prepare_skeleton_maps(poses, tmp_path / "two", workers=2, img_size=32)
    assert summary.sequences_written == 3 and summary.linked == 0
    assert sorted(p.name for p in (tmp_path / "two" / "002" / "nm-01" / "000").iterdir()) == [
        "0_heatmap.pkl"
    ]
    assert load_sequence_file(tmp_path / "two/001/nm-01/000/0_heatmap.pkl").shape == (10, 2, 32, 32)


def test_openpose_and_grew_poses(tmp_path):
    openpose, grew = _fixture("coco18-openpose-to-coco17"), _fixture("grew-rows")
    _pickle(tmp_path / "op" / "1" / "a" / "0" / "p.pkl", openpose["pose"])
    _pickle(tmp_path / "grew" / "1" / "a" / "0" / "p.pkl", grew["pose"])
    prepare_skeleton_maps(tmp_path / "op", tmp_path / "o1", pose_format="openpose")
    prepare_skeleton_maps(tmp_path / "grew", tmp_path / "o2")
    made = load_sequence_file(tmp_path / "o1/1/a/0/0_heatmap.pkl")
    assert np.array_equal(made, openpose["heatmap"])
    assert np.array_equal(load_sequence_file(tmp_path / "o2/1/a/0/0_heatmap.pkl"), grew["heatmap"])
    with pytest.raises(
        DataError, match=r"\[T, 18, 3\] is the openpose format: pass --pose-format openpose"
    ):
        prepare_skeleton_maps(tmp_path / "op", tmp_path / "o3")


def test_unsafe_pickle_and_bad_options(tmp_path):
    evil = tmp_path / "poses" / "1" / "a" / "0" / "p.pkl"
    evil.parent.mkdir(parents=True)
    evil.write_bytes(b"cos\nsystem\n(S'echo unsafe'\ntR.")  # os.system: refused, never run
    with pytest.raises(DataError, match="nothing was prepared.*refused to unpickle"):
        prepare_skeleton_maps(tmp_path / "poses", tmp_path / "out")
    with pytest.raises(ConfigError, match="--pose-format"):
        prepare_skeleton_maps(tmp_path / "poses", tmp_path / "out", pose_format="coco18")
    with pytest.raises(DataError, match="silhouette folder does not exist"):
        prepare_skeleton_maps(tmp_path / "poses", tmp_path / "out", silhouettes=tmp_path / "no")


def test_prepare_command_with_skeleton_maps(dataset, tmp_path):
    poses, sil, _, _ = dataset
    out = tmp_path / "cli"
    args = [
        "prepare",
        str(poses),
        str(out),
        "--skeleton-maps",
        "--silhouettes",
        str(sil),
        "-w",
        "1",
    ]
    result = CliRunner().invoke(app, args)
    assert result.exit_code == 0, result.output
    assert "wrote skeleton maps of 2 sequences (22 frames)" in result.output
    assert "linked 2 with their silhouettes" in result.output
    lines = [line for line in result.stderr.splitlines() if line.startswith("skipped: ")]
    assert len(lines) == 2 and "002/nm-01/000" in lines[0] and "003/bg-01/000" in lines[1]
    assert (out / "001" / "nm-01" / "090" / "1_sil.pkl").is_symlink()
    wrong = CliRunner().invoke(
        app, ["prepare", str(poses), str(tmp_path / "x"), "--silhouettes", str(sil)]
    )
    assert wrong.exit_code == 1 and "--silhouettes applies to poses only; add --skeleton-maps" in (
        wrong.stderr
    )
