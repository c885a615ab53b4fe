"""``gaitgen evaluate`` through the real CLI: output, files written, and one-line errors."""

from __future__ import annotations

import json
import zipfile

import numpy as np
import pytest
from gaitgen.runtime.evaluation import evaluate, load_embeddings, save_embeddings
from typer.testing import CliRunner

from gaitgen.cli.app import app

TYPES = [f"nm-0{i}" for i in range(1, 7)] + ["bg-01", "bg-02", "cl-01", "cl-02"]
VIEWS = ["000", "090", "180"]


def casia_b_like(seed: int = 0, ids: int = 5):
    rng = np.random.default_rng(seed)
    rows = [(f"{i:03d}", t, v) for i in range(1, ids + 1) for t in TYPES for v in VIEWS]
    centres = rng.normal(size=(ids, 16, 2))
    feature = np.stack([centres[int(i) - 1] + rng.normal(size=(16, 2)) for i, _, _ in rows])
    return feature.astype(np.float32), *([r[k] for r in rows] for k in range(3))


@pytest.fixture
def runner() -> CliRunner:
    return CliRunner()


@pytest.fixture
def embeddings_file(tmp_path):
    path = tmp_path / "embeddings.npz"
    save_embeddings(path, *casia_b_like(), dataset_name="SynthGait")
    return path


def run(runner, *args):
    result = runner.invoke(app, ["evaluate", *map(str, args)])
    return result.exit_code, result.stdout, result.stderr


def test_json_is_one_object_equal_to_the_api_result(runner, embeddings_file):
    code, out, _ = run(runner, embeddings_file, "--json")
    assert code == 0
    data = json.loads(out)  # exactly one JSON document: json.loads fails on anything extra
    assert set(data) == {"protocol", "metric", "conditions", "function", "dataset", "opengait"}
    assert data["protocol"] == "CASIA-B" and data["metric"] == "euc"
    assert data["function"] == "identification"  # the default: the dataset's preset
    assert set(data["conditions"]) == {"NM", "BG", "CL"}
    assert set(data["conditions"]["BG"]["per_view"]) == set(VIEWS)
    expected = evaluate(*casia_b_like(), protocol="CASIA-B").to_dict()
    assert data["conditions"] == expected["conditions"]
    # OpenGait's evaluate_indoor_dataset keys, holding the mean rank-1 of each condition
    assert data["opengait"] == {
        f"scalar/test_accuracy/{name}@R1": pytest.approx(data["conditions"][name]["rank1"])
        for name in ("NM", "BG", "CL")
    }


def test_table_and_out_folder(runner, embeddings_file, tmp_path):
    out_dir = tmp_path / "run"
    code, out, _ = run(runner, embeddings_file, "--cross-view", "--metric", "cos", "--out", out_dir)
    assert code == 0
    assert "CASIA-B cross-view (metric cos)" in out
    assert "mAP" in out and "mean" in out
    saved = json.loads((out_dir / "results.json").read_text())
    assert saved["protocol"] == "CASIA-B cross-view" and saved["metric"] == "cos"
    pngs = sorted(p.name for p in out_dir.glob("*.png"))
    assert pngs == [f"heatmap_CASIA-B-cross-view_{c}.png" for c in ("BG", "CL", "NM")]


def test_protocol_option_overrides_the_stored_dataset(runner, tmp_path):
    path = tmp_path / "e.npz"
    feature, label, _, view = casia_b_like()
    types = ["01" if i % 2 else "02" for i in range(len(label))]
    save_embeddings(path, feature, label, types, view)  # no dataset name stored
    code, _, err = run(runner, path)
    assert code != 0 and "--protocol" in err
    code, out, _ = run(runner, path, "--protocol", "grew", "--json")
    assert code == 0
    assert set(json.loads(out)["conditions"]["overall"]) == {
        "rank1",
        "rank5",
        "rank10",
        "mAP",
        "mINP",
    }


def one_error_line(code, out, err):
    assert code != 0
    assert out == ""
    lines = err.strip().splitlines()
    assert len(lines) == 1 and lines[0].startswith("error: ")
    assert "Traceback" not in err
    return lines[0]


def test_unknown_protocol_lists_close_matches(runner, embeddings_file):
    line = one_error_line(*run(runner, embeddings_file, "--protocol", "CASIA-C"))
    assert "CASIA-C" in line and "did you mean" in line and "'CASIA-B'" in line


def test_missing_array_is_named(runner, tmp_path):
    path = tmp_path / "bad.npz"
    feature, label, type_, _ = casia_b_like()
    np.savez(path, feature=feature, label=np.array(label), type=np.array(type_))
    line = one_error_line(*run(runner, path, "--protocol", "CASIA-B"))
    assert "missing array(s) view" in line


def test_mismatched_lengths_are_reported(runner, tmp_path):
    path = tmp_path / "bad.npz"
    feature, label, type_, view = casia_b_like()
    np.savez(path, feature=feature, label=np.array(label[:-1]), type=np.array(type_), view=np.array(view))  # fmt: skip
    line = one_error_line(*run(runner, path, "--protocol", "CASIA-B"))
    assert "'label' has" in line and f"'feature' has {len(feature)} rows" in line


def test_pickled_objects_are_refused_without_running_them(runner, tmp_path):
    path = tmp_path / "evil.npz"
    feature, label, type_, view = casia_b_like()
    np.savez(path, feature=feature, label=np.array(label, dtype=object), type=np.array(type_), view=np.array(view))  # fmt: skip
    line = one_error_line(*run(runner, path, "--protocol", "CASIA-B"))
    assert "pickled" in line and "'label'" in line


def test_not_an_npz_and_missing_file(runner, tmp_path):
    path = tmp_path / "garbage.npz"
    path.write_bytes(b"not a zip file at all")
    assert "not an .npz archive" in one_error_line(*run(runner, path, "--protocol", "CASIA-B"))
    missing = tmp_path / "nope.npz"
    assert "no such file" in one_error_line(*run(runner, missing, "--protocol", "CASIA-B"))


@pytest.mark.parametrize(
    "content, what",
    [
        (b"\x80\x04\x95\x05\x00\x00\x00\x00\x00\x00\x00}\x94.", "a Python pickle"),
        (b"\x93NUMPY\x01\x00", "a single .npy array"),
        (b"", "an empty file"),
        (b"PK\x03\x04 truncated", "a damaged .npz archive"),
    ],
)
def test_a_file_that_is_not_an_npz_is_one_line_without_numpys_advice(
    runner, tmp_path, content, what
):
    path = tmp_path / "embeddings.npz"
    path.write_bytes(content)
    line = one_error_line(*run(runner, path, "--protocol", "CASIA-B"))
    assert what in line and str(path) in line
    assert "allow_pickle" not in line and "pickle.load" not in line
    assert "allow_pickle" not in one_error_line(*run(runner, tmp_path, "--protocol", "CASIA-B"))


def test_no_gallery_for_a_probe_view(runner, tmp_path):
    feature, label, type_, view = casia_b_like()
    keep = [not (t.startswith("nm-0") and t <= "nm-04" and v == "180") for t, v in zip(type_, view)]
    path = tmp_path / "e.npz"
    pick = np.flatnonzero(keep)
    save_embeddings(path, feature[pick], *([x[i] for i in pick] for x in (label, type_, view)))
    line = one_error_line(*run(runner, path, "--protocol", "CASIA-B"))
    assert "no gallery" in line and "180" in line


def test_bad_metric(runner, embeddings_file):
    assert "--metric" in one_error_line(*run(runner, embeddings_file, "--metric", "l1"))


def test_embeddings_round_trip(tmp_path):
    feature, label, type_, view = casia_b_like()
    path = save_embeddings(tmp_path / "x" / "embeddings.npz", feature, label, type_, view)
    loaded = load_embeddings(path)
    np.testing.assert_array_equal(loaded[0], feature)
    assert (
        loaded[1].tolist() == label and loaded[2].tolist() == type_ and loaded[3].tolist() == view
    )
    # plain arrays only: the archive holds no object (pickle) arrays
    with zipfile.ZipFile(path) as archive:
        assert sorted(archive.namelist()) == ["feature.npy", "label.npy", "type.npy", "view.npy"]


def test_out_that_is_a_file_is_one_line_before_evaluating(runner, embeddings_file, tmp_path):
    """Issue 17, item 18: ``evaluate --out`` takes a folder; a file given there (or a path
    under a file) is one line naming --out and the path, checked before the evaluation,
    instead of the catch-all's bare FileExistsError / NotADirectoryError after it."""
    taken = tmp_path / "notes.txt"
    taken.write_text("mine\n")
    for target, problem in (
        (taken, "is a file; give a folder (it is created if missing)"),
        (taken / "run", f"lies under {taken}, which is a file, not a folder"),
    ):
        code, out, err = run(runner, embeddings_file, "--out", target)
        assert code == 1 and out == ""
        assert err == f"error: --out: {target} {problem}\n"
    assert taken.read_text() == "mine\n"
