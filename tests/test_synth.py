"""SynthGait: layout, determinism, atomic writes, partition, and that identities are learnable."""

from __future__ import annotations

import json
import pickle
import pickletools
import subprocess
import sys
from pathlib import Path

import numpy as np
import pytest
from conftest import pkl_files
from gaitgen.runtime.errors import DataError
from gaitgen.runtime.synth import (
    CONDITIONS,
    DEFAULT_VIEWS,
    generate_dataset,
    parse_views,
    subject_sequences,
    train_subject_count,
)
from gaitgen.runtime.synth import writer as synth_writer


def test_layout_dtype_shape_and_every_condition_and_view(small_dataset: Path) -> None:
    ids = sorted(p.name for p in small_dataset.iterdir() if p.is_dir())
    assert ids == ["001", "002", "003"]
    for subject in ids:
        assert sorted(p.name for p in (small_dataset / subject).iterdir()) == sorted(CONDITIONS)
        for condition in CONDITIONS:
            views = sorted(p.name for p in (small_dataset / subject / condition).iterdir())
            assert views == ["000", "090"]
            for view in views:
                files = list((small_dataset / subject / condition / view).iterdir())
                assert [f.name for f in files] == [f"{view}.pkl"]
                array = pickle.loads(files[0].read_bytes())
                assert type(array) is np.ndarray
                assert array.dtype == np.uint8 and array.shape == (6, 64, 64)
                assert array.max() == 255


def test_pickles_reference_only_numpy(small_dataset: Path) -> None:
    """A safe unpickler that allows numpy arrays only must be able to read every file."""
    data = (small_dataset / "001" / "nm-01" / "000" / "000.pkl").read_bytes()
    assert data[:2] == b"\x80\x04"  # protocol 4
    strings = [arg for op, arg, _ in pickletools.genops(data) if isinstance(arg, str)]
    globals_named = [s for s in strings if s.startswith("numpy")]
    assert globals_named, "expected the numpy reconstruct globals"
    for op, arg, _ in pickletools.genops(data):
        if op.name in ("GLOBAL", "INST"):
            assert str(arg).startswith("numpy"), arg


def test_partition_file_and_split(small_dataset: Path) -> None:
    partition = json.loads((small_dataset / "partition.json").read_text())
    assert partition == {"TRAIN_SET": ["001", "002"], "TEST_SET": ["003"]}


@pytest.mark.parametrize(
    ("subjects", "train"), [(1, 1), (2, 1), (3, 2), (5, 3), (10, 6), (40, 24), (124, 74)]
)
def test_train_subject_count(subjects: int, train: int) -> None:
    assert train_subject_count(subjects) == train


def test_partition_and_package_import_without_numpy() -> None:
    code = (
        "import sys; import gaitgen.runtime.synth as s; import gaitgen.cli.synth; "
        "assert s.train_subject_count(40) == 24 and s.DEFAULT_SUBJECTS > 0; "
        "assert 'numpy' not in sys.modules, 'numpy was imported'"
    )
    subprocess.run([sys.executable, "-c", code], check=True)


def test_same_seed_same_bytes_also_with_workers(small_dataset: Path, tmp_path: Path) -> None:
    again = tmp_path / "again"
    generate_dataset(again, subjects=3, views=["000", "090"], frames=6, seed=5, workers=2)
    assert pkl_files(again) == pkl_files(small_dataset)
    assert (again / "partition.json").read_bytes() == (
        small_dataset / "partition.json"
    ).read_bytes()


def test_different_seed_different_bytes(small_dataset: Path, tmp_path: Path) -> None:
    other = tmp_path / "other"
    generate_dataset(other, subjects=3, views=["000", "090"], frames=6, seed=6)
    first, second = pkl_files(small_dataset), pkl_files(other)
    assert first.keys() == second.keys()
    assert all(first[name] != second[name] for name in first)


def test_subsets_of_views_and_conditions_give_the_same_sequences(small_dataset: Path) -> None:
    """The preview (a subset) shows exactly what the dataset holds."""
    both = subject_sequences(3, 2, ("000", "090"), 5, ("nm-01",))
    one = subject_sequences(3, 2, ("090",), 5, ("nm-01",))
    assert np.array_equal(both[("nm-01", "090")], one[("nm-01", "090")])
    subset = subject_sequences(5, 3, ("090",), 6, ("cl-02", "bg-01"))
    for condition in ("cl-02", "bg-01"):
        written = pickle.loads((small_dataset / "003" / condition / "090" / "090.pkl").read_bytes())
        assert np.array_equal(subset[(condition, "090")], written)


def test_frames_are_normalised_like_the_pretreatment() -> None:
    sequences = subject_sequences(0, 1, ("000", "054", "090", "144"), 12, ("nm-01", "cl-01"))
    for silhouettes in sequences.values():
        rows = silhouettes.max(axis=2)  # [t, h]
        # the body spans the rows (noise may shave at most a pixel at either end)
        assert (rows[:, :2].max(axis=1) > 0).all() and (rows[:, -2:].max(axis=1) > 0).all()
        mass = silhouettes.sum(axis=1, dtype=np.float64).cumsum(axis=1)  # [t, w]
        centre = np.argmax(mass > mass[:, -1:] / 2, axis=1)
        assert (centre == 32).all()
        # soft edges, as a resampled mask has
        assert ((silhouettes > 0) & (silhouettes < 255)).any()


def test_interrupted_run_leaves_nothing(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    calls = []
    real = synth_writer._write_subject

    def fail_on_second(task):
        calls.append(task)
        if len(calls) == 2:
            raise KeyboardInterrupt
        return real(task)

    monkeypatch.setattr(synth_writer, "_write_subject", fail_on_second)
    with pytest.raises(KeyboardInterrupt):
        generate_dataset(tmp_path / "data", subjects=3, views=["090"], frames=2)
    assert list(tmp_path.iterdir()) == []


def test_existing_folder(tmp_path: Path) -> None:
    root = tmp_path / "data"
    root.mkdir()
    generate_dataset(root, subjects=2, views=["090"], frames=2)  # empty folder: fine
    (root / "keep.txt").write_text("x")
    with pytest.raises(DataError, match="not empty"):
        generate_dataset(root, subjects=2, views=["090"], frames=2)
    generate_dataset(root, subjects=2, views=["000"], frames=2, overwrite=True)
    assert not (root / "keep.txt").exists()
    assert (root / "002" / "cl-02" / "000" / "000.pkl").is_file()
    assert sorted(p.name for p in tmp_path.iterdir()) == ["data"]


def test_partition_path_elsewhere(tmp_path: Path) -> None:
    target = tmp_path / "splits" / "synth.json"
    returned = generate_dataset(
        tmp_path / "data", subjects=4, views=["090"], frames=2, partition_path=target
    )
    assert returned == target
    assert json.loads(target.read_text()) == {
        "TRAIN_SET": ["001", "002"],
        "TEST_SET": ["003", "004"],
    }
    assert not (tmp_path / "data" / "partition.json").exists()


@pytest.mark.parametrize(
    "kwargs",
    [
        {"subjects": 0},
        {"subjects": -3},
        {"frames": 0},
        {"workers": 0},
        {"seed": -1},
        {"views": ["abc"]},
        {"views": ["000", "0"]},
        {"views": "400"},
        {"subjects": 100_000_000_000},
        {"frames": 100_000_000},
        {"workers": 10**9},
    ],
)
def test_bad_arguments_are_data_errors(tmp_path: Path, kwargs: dict) -> None:
    with pytest.raises(DataError, match="synthgait|generator"):
        generate_dataset(tmp_path / "data", **kwargs)
    assert not (tmp_path / "data").exists()


def test_a_dataset_larger_than_the_free_disk_is_refused_before_any_work(
    tmp_path: Path, monkeypatch
) -> None:
    import shutil
    import time

    monkeypatch.setattr(shutil, "disk_usage", lambda path: shutil._ntuple_diskusage(1, 0, 10**6))
    start = time.perf_counter()
    with pytest.raises(DataError, match=r"need .* GB, but .* has 0\.0 GB free; lower --subjects"):
        generate_dataset(tmp_path / "data", subjects=50_000, frames=5_000)
    assert time.perf_counter() - start < 5 and not (tmp_path / "data").exists()
    assert not list(tmp_path.iterdir())  # no partial folder either


def test_parse_views() -> None:
    assert parse_views(None) == DEFAULT_VIEWS
    assert len(DEFAULT_VIEWS) == 11 and DEFAULT_VIEWS[5] == "090"
    assert parse_views("0, 90,180") == ("000", "090", "180")
    assert parse_views([18, "036"]) == ("018", "036")


def _geis(sequences: dict) -> dict:
    return {key: value.astype(np.float32).mean(axis=0) / 255.0 for key, value in sequences.items()}


def test_identities_differ_more_than_walks_of_one_identity() -> None:
    """Same-view GEIs: repeated nm walks of one person are closer than walks of two people."""
    conditions = ("nm-01", "nm-02", "nm-03", "bg-01", "cl-01")
    geis = {
        subject: _geis(subject_sequences(11, subject, ("090", "036"), 24, conditions))
        for subject in range(1, 7)
    }
    within, between, retrieved = [], [], []
    for view in ("090", "036"):
        for subject, gei in geis.items():
            probe = gei[("nm-01", view)]
            within.append(np.linalg.norm(probe - gei[("nm-02", view)]))
            others = [
                np.linalg.norm(probe - g[("nm-02", view)]) for s, g in geis.items() if s != subject
            ]
            between.extend(others)
            retrieved.append(within[-1] < min(others))
    assert np.mean(within) < 0.6 * np.mean(between)
    assert np.mean(retrieved) >= 0.8

    # and the conditions change the outline more than walking again does (on average)
    def mean_distance(first: str, second: str) -> float:
        pairs = [(g[(first, "090")], g[(second, "090")]) for g in geis.values()]
        return float(np.mean([np.linalg.norm(a - b) for a, b in pairs]))

    repeat = mean_distance("nm-01", "nm-03")
    assert mean_distance("nm-01", "cl-01") > repeat
    assert mean_distance("nm-01", "bg-01") > repeat


def test_preview_sheet(tmp_path: Path) -> None:
    from gaitgen.runtime.synth import preview_grid, write_preview
    from PIL import Image

    grid = preview_grid(seed=1, views=["000", "090", "180"], frames=8, shown_frames=4)
    assert grid.shape == (3 * 4 * 66 + 3 * 2, 3 * 66)
    blocks = np.array_split(grid, 3, axis=0)
    assert all((block == 255).any() for block in blocks)  # a figure in every condition
    path = write_preview(tmp_path / "p.png", seed=1, views=["000", "090", "180"], frames=8)
    with Image.open(path) as image:
        assert image.format == "PNG"
        assert image.size[0] > grid.shape[1]


def test_a_dataset_finished_first_by_another_process_is_kept(tmp_path: Path) -> None:
    root, built = tmp_path / "data", tmp_path / "built"
    (root / "001").mkdir(parents=True)
    (built / "001").mkdir(parents=True)
    (built / "mine.txt").write_text("mine")
    synth_writer._move_into_place(built, root, overwrite=False)
    assert not (root / "mine.txt").exists() and (root / "001").is_dir()
    synth_writer._move_into_place(built, root, overwrite=True)
    assert (root / "mine.txt").exists()
