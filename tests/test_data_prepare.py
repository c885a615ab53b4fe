"""gaitgen prepare: OpenGait's pretreatment rules on a small PNG tree made here."""

from __future__ import annotations

import numpy as np
import pytest
from gaitgen.runtime.data.io import load_sequence_file
from gaitgen.runtime.data.prepare import normalise_frame, prepare_dataset
from gaitgen.runtime.errors import ConfigError, DataError
from PIL import Image
from typer.testing import CliRunner

from gaitgen.cli.app import app


def _frame(left: int, top: int = 20, width: int = 30, height: int = 90) -> np.ndarray:
    image = np.zeros((128, 160), dtype=np.uint8)  # [H, W], a person-sized bright block
    image[top : top + height, left : left + width] = 255
    return image


def _write(folder, frames) -> None:
    folder.mkdir(parents=True, exist_ok=True)
    for i, frame in enumerate(frames):
        Image.fromarray(frame).save(folder / f"{i:03d}.png")


@pytest.fixture()
def raw(tmp_path):
    root = tmp_path / "raw"
    _write(
        root / "001" / "nm-01" / "000",
        [_frame(10 + 5 * i) for i in range(6)] + [np.zeros((128, 160), np.uint8)],
    )
    _write(root / "001" / "nm-01" / "090", [_frame(100), _frame(120), _frame(40)])  # short
    _write(root / "002" / "bg-01" / "018", [np.zeros((128, 160), np.uint8)] * 2)  # all empty
    (root / "002" / "bg-01" / "018" / "zz-broken.png").write_bytes(b"not a png")
    _write(root / "stray", [_frame(10)])  # a PNG at the wrong depth
    return root


def test_frame_is_cropped_resized_and_centred():
    frame, reason = normalise_frame(_frame(7, top=30, width=20, height=60), 64)
    assert reason == "" and frame.shape == (64, 64) and frame.dtype == np.uint8
    rows = np.flatnonzero(frame.sum(1))
    assert rows[0] == 0 and rows[-1] == 63  # body fills the height
    columns = frame.sum(0).cumsum()
    centre = int(np.argmax(columns > columns[-1] / 2))
    assert abs(centre - 32) <= 1  # centred by column mass
    assert normalise_frame(np.zeros((50, 50), np.uint8), 64) == (None, "near-empty")


def test_prepare_writes_the_layout_and_reports(raw, tmp_path):
    out = tmp_path / "out"
    summary = prepare_dataset(raw, out, workers=1)
    long = load_sequence_file(out / "001" / "nm-01" / "000" / "000.pkl")
    assert long.shape == (6, 64, 64) and long.dtype == np.uint8  # the empty frame dropped
    assert load_sequence_file(out / "001" / "nm-01" / "090" / "090.pkl").shape == (3, 64, 64)
    assert not (out / "002").exists()
    assert summary.sequences_written == 2 and summary.frames_in == 13 and summary.frames_kept == 9
    assert summary.dropped_frames == {"near-empty": 3, "unreadable": 1}
    assert summary.dropped_sequences == ["002/bg-01/018"]
    assert summary.short_sequences == [("001/nm-01/090", 3)]
    assert summary.ignored_files == 1 and "zz-broken.png" in summary.unreadable[0]


def test_prepare_in_parallel_gives_the_same_files(raw, tmp_path):
    prepare_dataset(raw, tmp_path / "one", workers=1)
    prepare_dataset(raw, tmp_path / "two", workers=2, img_size=32)
    assert load_sequence_file(tmp_path / "two" / "001" / "nm-01" / "000" / "000.pkl").shape == (
        6,
        32,
        32,
    )
    prepare_dataset(raw, tmp_path / "two", workers=2, force=True)
    for name in ("000", "090"):
        a = load_sequence_file(tmp_path / "one" / "001" / "nm-01" / name / f"{name}.pkl")
        b = load_sequence_file(tmp_path / "two" / "001" / "nm-01" / name / f"{name}.pkl")
        assert np.array_equal(a, b)


def test_prepare_errors(raw, tmp_path):
    with pytest.raises(DataError, match="does not exist"):
        prepare_dataset(tmp_path / "missing", tmp_path / "o")
    (tmp_path / "flat").mkdir()
    Image.fromarray(_frame(5)).save(tmp_path / "flat" / "a.png")
    with pytest.raises(DataError, match=r"no PNG found at <id>/<type>/<view>"):
        prepare_dataset(tmp_path / "flat", tmp_path / "o")
    (tmp_path / "full").mkdir()
    (tmp_path / "full" / "x").write_text("x")
    with pytest.raises(DataError, match="not empty.*--force"):
        prepare_dataset(raw, tmp_path / "full")
    with pytest.raises(ConfigError, match="--img-size"):
        prepare_dataset(raw, tmp_path / "o", img_size=63)


def test_prepare_command(raw, tmp_path):
    result = CliRunner().invoke(app, ["prepare", str(raw), str(tmp_path / "cli"), "--workers", "1"])
    assert result.exit_code == 0, result.output
    assert "wrote 2 sequences" in result.output and "001/nm-01/090: 3 frame(s)" in result.output
    assert (tmp_path / "cli" / "001" / "nm-01" / "000" / "000.pkl").is_file()
    again = CliRunner().invoke(app, ["prepare", str(raw), str(tmp_path / "cli")])
    assert again.exit_code == 1 and "--force" in again.output


def test_prepare_with_nothing_readable_fails_and_creates_no_out(tmp_path):
    root = tmp_path / "raw"
    (root / "001" / "nm-01" / "000").mkdir(parents=True)
    (root / "001" / "nm-01" / "000" / "000.png").write_bytes(b"not a png")
    _write(root / "002" / "nm-01" / "000", [np.zeros((128, 160), np.uint8)] * 2)  # no person
    out = tmp_path / "out"
    with pytest.raises(DataError, match="nothing was prepared: none of the 2 sequence") as caught:
        prepare_dataset(root, out)
    assert "000.png" in str(caught.value) and "was not created" in str(caught.value)
    assert not out.exists()
    result = CliRunner().invoke(app, ["prepare", str(root), str(out), "--workers", "1", "-q"])
    assert result.exit_code == 1
    assert "nothing was prepared" in result.stderr and "wrote 0" not in result.output
    assert result.stderr.count("\n") == 1
    assert not out.exists()
