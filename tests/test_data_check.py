"""gaitgen check-data: counts, and every planted problem found."""

from __future__ import annotations

import json
import pickle

import numpy as np
from gaitgen.runtime.data.check import check_dataset
from gaitgen.runtime.data.dummy import write_dummy_dataset
from typer.testing import CliRunner

from gaitgen.cli.app import app

IDS = ["001", "002", "003"]


def _clean(tmp_path):
    root = tmp_path / "data"
    partition = write_dummy_dataset(
        root,
        IDS,
        types=("nm-01", "nm-02", "bg-01"),
        views=("000", "090"),
        frames=(5, 5),
        train_ids=IDS[:2],
    )
    return root, partition


def test_clean_dataset_counts(tmp_path):
    root, partition = _clean(tmp_path)
    report = check_dataset(root, partition)
    assert report.ok, report.problems
    assert (report.ids, report.sequences, report.frames) == (3, 18, 90)
    assert report.by_condition == {"nm": [12, 60], "bg": [6, 30]}
    assert report.by_view == {"000": [9, 45], "090": [9, 45]}
    assert report.partition == {"TRAIN_SET": (2, 2), "TEST_SET": (1, 1)}
    result = CliRunner().invoke(app, ["check-data", str(root), "--partition", str(partition)])
    assert result.exit_code == 0 and "no problems found" in result.output


def test_planted_problems_are_all_reported(tmp_path):
    root, partition = _clean(tmp_path)
    seq = root / "001" / "nm-01" / "000" / "000.pkl"
    seq.write_bytes(b"garbage")  # unreadable
    with open(root / "001" / "nm-02" / "000" / "000.pkl", "wb") as file:
        pickle.dump(np.zeros((5, 16, 16), np.float32), file)  # wrong dtype
    np.save(
        root / "002" / "nm-01" / "090" / "extra.npy", np.zeros((4, 16, 16), np.uint8)
    )  # 2 files, 5 vs 4 frames
    (root / "002" / "bg-01" / "000" / "000.pkl").unlink()  # empty folder
    with open(root / "003" / "nm-01" / "000" / "000.pkl", "wb") as file:
        pickle.dump(np.zeros((5, 32, 16), np.uint8), file)  # wrong frame shape
    (root / "004" / "nm-01" / "000").mkdir(parents=True)
    with open(root / "004" / "nm-01" / "000" / "000.pkl", "wb") as file:
        pickle.dump(np.zeros((0, 16, 16), np.uint8), file)  # empty array, id not in partition
    partition.write_text(
        json.dumps({"TRAIN_SET": ["001", "002", "009"], "TEST_SET": ["003", "001"]})
    )

    report = check_dataset(root, partition)
    text = "\n".join(str(p) for p in report.problems)
    expected = [
        "001/nm-01/000/000.pkl: not a readable pickle",
        "001/nm-02/000/: file 1: float32 frames of shape (16, 16), but the dataset's are uint8 (16, 16)",
        "002/nm-01/090/: the modalities of this sequence have different frame counts",
        "002/nm-01/090/: holds 2 file(s) where most sequences hold 1",
        "002/bg-01/000/: empty sequence folder",
        "003/nm-01/000/: file 1: uint8 frames of shape (32, 16)",
        "004/nm-01/000/000.pkl: the sequence is empty (0 frames)",
        "1 id(s) of TRAIN_SET are not on disk: 009",
        "id(s) in both TRAIN_SET and TEST_SET: 001",
        "1 id folder(s) in no partition set: 004",
    ]
    for fragment in expected:
        assert fragment in text, f"missing: {fragment}\n{text}"
    assert len(report.problems) == len(expected)

    result = CliRunner().invoke(app, ["check-data", str(root), "--partition", str(partition)])
    assert result.exit_code == 1 and "10 problem(s)" in result.output


def test_check_data_missing_root_is_one_line(tmp_path):
    result = CliRunner().invoke(app, ["check-data", str(tmp_path / "none")])
    assert (
        result.exit_code == 1
        and "does not exist" in result.output
        and "Traceback" not in result.output
    )
