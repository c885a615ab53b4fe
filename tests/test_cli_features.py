"""``gaitgen extract`` and ``gaitgen search``: what they print and write, and their errors."""

from __future__ import annotations

import json
import shutil
from pathlib import Path

import numpy as np
import pytest
from conftest import make_project, small_config
from gaitgen.runtime.evaluation.embeddings import load_embeddings, save_embeddings
from typer.testing import CliRunner

from gaitgen.cli.app import app

runner = CliRunner()


def invoke(*args: object) -> tuple[int, str, str]:
    result = runner.invoke(app, [str(a) for a in args])
    return result.exit_code, result.stdout, result.stderr


def one_error_line(code: int, out: str, err: str) -> str:
    assert code != 0
    lines = err.strip().splitlines()
    assert len(lines) == 1 and lines[0].startswith("error: "), err
    assert "Traceback" not in err and out == ""
    return lines[0]


@pytest.fixture(scope="module")
def trained(tmp_path_factory, tiny_dataset) -> tuple[Path, Path, Path, Path]:
    """(config, data root, partition, test.npz): a project whose run has a checkpoint at
    iteration 3 (the Baseline's initial weights, saved as training would) and the
    extraction of its partition's test set."""
    import torch
    from gaitgen.runtime.checkpoint import save_checkpoint
    from gaitgen.runtime.engine.build import build_model
    from gaitgen.runtime.engine.run import load_run

    root = make_project(tmp_path_factory.mktemp("features") / "proj", package="featproj")
    config = root / "configs" / "small.yaml"
    data, partition = tiny_dataset
    config.write_text(small_config(data, partition))
    run = load_run(config)
    torch.manual_seed(0)
    model = build_model(run.cfgs, run.project, is_training=True)
    state = {"model": model.state_dict(), "iteration": 3}
    save_checkpoint(run.run_folder("test").checkpoint(3), state)
    out = root / "test.npz"
    code, stdout, stderr = invoke(
        "extract", config, "--data", data, "--partition", partition, "--out", out, "--device", "cpu"
    )
    assert code == 0, stdout + stderr
    assert stdout.strip() == (
        f"wrote {out}: 60 sequences, features 32x16 (partition layout, checkpoint of iteration 3)"
    )
    return config, data, partition, out


def test_extract_writes_the_test_set_in_the_test_phase_format(trained) -> None:
    _, _, _, out = trained
    feature, label, type_, view = load_embeddings(out)
    assert feature.shape == (60, 32, 16) and feature.dtype == np.float32
    assert sorted(set(label)) == ["005", "006"]  # the partition's TEST_SET
    assert set(view) == {"000", "090", "180"} and "nm-01" in set(type_)
    with np.load(out) as archive:
        assert str(archive["dataset_name"]) == "CASIA-B"  # test_dataset_name: evaluate can read it
    assert not list(out.parent.glob(".test.npz.*"))  # no temporary left behind


def test_extract_without_partition_embeds_every_sequence(trained, tmp_path: Path) -> None:
    config, data, _, _ = trained
    out = tmp_path / "all.npz"
    code, stdout, _ = invoke("extract", config, "--data", data, "--out", out, "-q")
    assert code == 0 and "180 sequences" in stdout and "opengait layout" in stdout
    _, label, _, _ = load_embeddings(out)
    assert sorted(set(label)) == ["001", "002", "003", "004", "005", "006"]


def test_flat_folders_and_search_find_the_same_sequence(trained, tmp_path: Path) -> None:
    config, data, _, test_npz = trained
    flat = tmp_path / "mine"
    shutil.copytree(data / "005" / "nm-01" / "090", flat / "walk_a")
    shutil.copytree(data / "006" / "nm-02" / "000", flat / "walk_b")
    out = tmp_path / "mine.npz"
    code, stdout, _ = invoke("extract", config, "--data", flat, "--out", out)
    assert code == 0 and "2 sequences" in stdout and "flat-folders layout" in stdout
    _, label, type_, view = load_embeddings(out)
    assert list(label) == ["walk_a", "walk_b"] and list(type_) == ["-", "-"]
    code, stdout, _ = invoke("search", "--gallery", test_npz, "--probe", out, "--top", "3")
    assert code == 0
    lines = stdout.strip().splitlines()
    assert lines[0] == "probe 1: walk_a - -" and lines[4] == "probe 2: walk_b - -"
    assert lines[1].split()[1:4] == ["005", "nm-01", "090"]  # the copied sequence ranks first
    assert lines[5].split()[1:4] == ["006", "nm-02", "000"]
    assert len(lines) == 8  # two probes x (header + 3 matches)


def test_flat_files_layout(trained, tmp_path: Path) -> None:
    config, data, _, _ = trained
    flat = tmp_path / "files"
    flat.mkdir()
    shutil.copy(data / "005" / "bg-01" / "000" / "000.pkl", flat / "clip1.pkl")
    code, stdout, _ = invoke("extract", config, "--data", flat, "--out", tmp_path / "f.npz")
    assert code == 0 and "1 sequences" in stdout and "flat-files layout" in stdout


def test_search_json_matches_a_brute_force_ranking(tmp_path: Path) -> None:
    rng = np.random.default_rng(0)
    gallery = rng.normal(size=(30, 8, 4)).astype(np.float32)
    probe = rng.normal(size=(5, 8, 4)).astype(np.float32)
    names = [f"{i:03d}" for i in range(30)]
    save_embeddings(tmp_path / "g.npz", gallery, names, ["nm-01"] * 30, ["090"] * 30)
    save_embeddings(tmp_path / "p.npz", probe, names[:5], ["bg-01"] * 5, ["000"] * 5)
    args = ("search", "-g", tmp_path / "g.npz", "--probe", tmp_path / "p.npz", "-k", "4")
    for metric in ("euc", "cos"):
        code, stdout, _ = invoke(*args, "--metric", metric, "--json")
        assert code == 0
        result = json.loads(stdout)
        if metric == "euc":  # OpenGait: per part euclidean distance, mean over parts
            truth = np.sqrt(((probe[:, None] - gallery[None]) ** 2).sum(2)).mean(2)
        else:  # parts normalised over c, 1 - mean cosine similarity
            g = gallery / np.linalg.norm(gallery, axis=1, keepdims=True)
            p = probe / np.linalg.norm(probe, axis=1, keepdims=True)
            truth = 1 - np.einsum("pcn,gcn->pgn", p, g).mean(2)
        for row, probe_result in zip(truth, result["probes"]):
            order = np.argsort(row)[:4]
            assert [m["label"] for m in probe_result["matches"]] == [names[i] for i in order]
            found = [m["distance"] for m in probe_result["matches"]]
            np.testing.assert_allclose(found, row[order], rtol=1e-4, atol=1e-5)


def test_missing_checkpoint_is_one_line(tmp_path: Path, tiny_dataset) -> None:
    root = make_project(tmp_path / "proj", package="nockpt")
    config = root / "configs" / "small.yaml"
    data, partition = tiny_dataset
    config.write_text(small_config(data, partition))
    line = one_error_line(*invoke("extract", config, "--data", data, "--out", tmp_path / "x.npz"))
    assert "no checkpoint to test" in line and "gaitgen train" in line
    assert not (tmp_path / "x.npz").exists()


def test_extract_bad_inputs(trained, tmp_path: Path) -> None:
    config, data, _, _ = trained
    line = one_error_line(*invoke("extract", tmp_path / "none.yaml", "--data", data))
    assert "config file not found" in line
    line = one_error_line(*invoke("extract", config, "--data", tmp_path / "nowhere"))
    assert "--data" in line and "nowhere" in line
    mixed = tmp_path / "mixed"
    (mixed / "seq").mkdir(parents=True)
    shutil.copy(data / "005" / "bg-01" / "000" / "000.pkl", mixed / "a.pkl")
    line = one_error_line(*invoke("extract", config, "--data", mixed))
    assert "both sequence files (a.pkl) and folders (seq)" in line
    line = one_error_line(*invoke("extract", config, "--data", data, "-p", tmp_path / "p.json"))
    assert "--partition" in line and "p.json" in line
    line = one_error_line(*invoke("extract", config, "--data", data, "--out", tmp_path))
    assert "--out" in line and "is a folder" in line


def test_search_bad_inputs(trained, tmp_path: Path) -> None:
    _, _, _, test_npz = trained
    other = tmp_path / "other.npz"
    save_embeddings(other, np.zeros((2, 16, 4), np.float32), ["a", "b"], ["x"] * 2, ["y"] * 2)
    line = one_error_line(*invoke("search", "--gallery", test_npz, "--probe", other))
    assert "[16, 4]" in line and "[32, 16]" in line and "same model" in line
    line = one_error_line(*invoke("search", "--gallery", tmp_path / "no.npz", "--probe", other))
    assert "no.npz" in line and "no such file" in line
    line = one_error_line(*invoke("search", "-g", test_npz, "--probe", test_npz, "--metric", "l1"))
    assert "--metric" in line and "'l1'" in line
    line = one_error_line(*invoke("search", "-g", test_npz, "--probe", test_npz, "--top", "0"))
    assert "--top" in line


@pytest.mark.parametrize("layout", ["flat-folders", "flat-files"])
def test_an_odd_flat_sequence_is_named_by_the_users_path(
    trained, tmp_path: Path, layout: str
) -> None:
    """Issue 17, item 18: extract links a flat folder's sequences into a temporary folder; an
    error about one of them names the user's file, not the (deleted) temporary link."""
    import pickle

    config, data, _, _ = trained
    flat = tmp_path / "mine"
    good = data / "005" / "nm-01" / "090" / "090.pkl"
    if layout == "flat-folders":
        (flat / "good").mkdir(parents=True)
        (flat / "odd").mkdir()
        shutil.copy(good, flat / "good" / "000.pkl")
        odd = flat / "odd" / "000.pkl"
    else:
        flat.mkdir()
        shutil.copy(good, flat / "good.pkl")
        odd = flat / "odd.pkl"
    with open(odd, "wb") as file:  # larger frames than every other sequence
        pickle.dump(np.zeros((10, 128, 88), np.uint8), file)
    line = one_error_line(*invoke("extract", config, "--data", flat, "--out", tmp_path / "o.npz"))
    assert line.startswith(f"error: {odd}: frames of shape (128, 88) where the other"), line
    assert "gaitgen-extract-" not in line
    (odd.parent / "000.pkl" if layout == "flat-folders" else odd).write_bytes(b"garbage")
    line = one_error_line(*invoke("extract", config, "--data", flat, "--out", tmp_path / "o.npz"))
    assert line.startswith(f"error: {odd}: not a readable pickle"), line


def test_search_names_the_file_and_rows_of_nan_features(tmp_path: Path) -> None:
    """Issue 17, item 18: NaN or inf features in the gallery (or probe) .npz are one line
    naming that file and its rows, not the distance code's "feature: contains NaN" that
    names no file."""
    rng = np.random.default_rng(0)
    gallery = rng.normal(size=(6, 8, 4)).astype(np.float32)
    probe = rng.normal(size=(2, 8, 4)).astype(np.float32)
    names = [f"{i:03d}" for i in range(6)]
    save_embeddings(tmp_path / "ok.npz", gallery, names, ["nm-01"] * 6, ["090"] * 6)
    gallery[2, 0, 0], gallery[4, 1, 1], probe[1, 3, 2] = np.nan, np.inf, np.nan
    save_embeddings(tmp_path / "g.npz", gallery, names, ["nm-01"] * 6, ["090"] * 6)
    save_embeddings(tmp_path / "p.npz", probe, names[:2], ["bg-01"] * 2, ["000"] * 2)
    line = one_error_line(
        *invoke("search", "-g", tmp_path / "g.npz", "--probe", tmp_path / "ok.npz")
    )
    assert line.startswith(
        f"error: {tmp_path / 'g.npz'}: 'feature' holds NaN or infinite values in 2 of 6 rows "
        "(row 2: 002 nm-01 090; row 4: 004 nm-01 090)"
    ), line
    line = one_error_line(
        *invoke("search", "-g", tmp_path / "ok.npz", "--probe", tmp_path / "p.npz")
    )
    assert line.startswith(
        f"error: {tmp_path / 'p.npz'}: 'feature' holds NaN or infinite values in 1 of 2 rows "
        "(row 1: 001 bg-01 000)"
    ), line
