"""``evaluate_scoliosis`` and ``evaluate_segmentation``: OpenGait's recorded outputs through
``gaitgen evaluate``, the figures' edge cases, and the one-line errors."""

from __future__ import annotations

import json
import shutil
from pathlib import Path

import numpy as np
import pytest
from conftest import small_config
from gaitgen.runtime.evaluation import EvalData, evaluate_function
from gaitgen.runtime.evaluation.scoliosis import SCOLIOSIS_CLASSES, macro_scores
from gaitgen.runtime.evaluation.segmentation import mean_iou
from typer.testing import CliRunner

from gaitgen.cli.app import app

ORACLES = Path(__file__).parent / "fixtures" / "opengait" / "eval"
CASES = ["evaluate_scoliosis", "evaluate_scoliosis-degenerate", "evaluate_segmentation"]


def write_case(case: str, folder: Path) -> tuple[Path, dict]:
    """The case's inputs as ``gaitgen test`` writes them, and its recorded OpenGait run."""
    recorded = json.loads((ORACLES / f"{case}.json").read_text())
    inputs = np.load(ORACLES / f"{case}.npz")
    path = folder / f"{case}.npz"
    if "pred" in inputs.files:
        np.savez(path, pred=inputs["pred"], mask=inputs["mask"])
    else:
        np.savez(
            path,
            feature=inputs["embeddings"],
            label=inputs["labels"],
            type=inputs["types"],
            view=inputs["views"],
        )
    return path, recorded


def evaluate_cli(*args) -> tuple[int, str, str]:
    result = CliRunner().invoke(app, ["evaluate", *map(str, args)])
    return result.exit_code, result.stdout, result.stderr


@pytest.mark.parametrize("case", CASES)
def test_opengait_oracle_through_gaitgen_evaluate(case, tmp_path):
    path, recorded = write_case(case, tmp_path)
    (run,) = recorded["runs"]
    flags = [f"--metric={run['kwargs']['metric']}"] if "metric" in run["kwargs"] else []
    code, out, err = evaluate_cli(
        path, "--protocol", recorded["function"], "--dataset", recorded["dataset"], *flags, "--json"
    )
    assert code == 0, err
    got = json.loads(out)["opengait"]
    assert set(got) == set(run["result"])  # keys exactly as OpenGait spells them
    for key, expected in run["result"].items():
        np.testing.assert_allclose(got[key], expected["value"], rtol=1e-6, atol=1e-7)


def test_scoliosis_table_shows_the_confusion_matrix(tmp_path):
    path, _ = write_case("evaluate_scoliosis", tmp_path)
    code, out, _ = evaluate_cli(path, "--protocol", "evaluate_scoliosis", "--dataset", "S")
    assert code == 0
    lines = out.splitlines()
    assert "accuracy 75.00  precision 73.92  recall 82.13  F1 75.00" in lines[1]
    rows = {line.split()[0]: [int(x) for x in line.split()[1:]] for line in lines[3:6]}
    # every sequence counted once, the diagonal = accuracy * N
    assert sum(map(sum, rows.values())) == 60
    assert rows["negative"][0] + rows["neutral"][1] + rows["positive"][2] == 45


def test_scoliosis_unknown_type_is_one_error_naming_it(tmp_path):
    inputs = np.load(ORACLES / "evaluate_scoliosis.npz")
    types = inputs["types"].copy()
    types[types == "positive"] = "Positive"  # the Scoliosis1K README's folder name
    path = tmp_path / "e.npz"
    np.savez(path, feature=inputs["embeddings"], label=inputs["labels"], type=types, view=types)
    code, out, err = evaluate_cli(path, "--protocol", "evaluate_scoliosis", "--dataset", "S")
    assert code != 0 and out == ""
    message = err.strip().splitlines()
    assert len(message) == 1
    assert "'Positive' (13 sequences)" in message[0]
    assert "'negative', 'neutral', 'positive'" in message[0]


def test_macro_scores_average_over_the_classes_that_occur():
    # class 2 never occurs (true or predicted): left out of the averages, as scikit-learn's
    confusion = np.array([[3, 1, 0], [2, 2, 0], [0, 0, 0]])
    accuracy, precision, recall, f1 = macro_scores(confusion)
    assert accuracy == pytest.approx(5 / 8)
    assert precision == pytest.approx((3 / 5 + 2 / 3) / 2)
    assert recall == pytest.approx((3 / 4 + 2 / 4) / 2)
    assert f1 == pytest.approx((6 / 9 + 4 / 7) / 2)
    # a class never predicted has precision 0 (zero_division=0), and is still averaged
    _, precision, recall, f1 = macro_scores(np.array([[2, 0], [2, 0]]))
    assert (precision, recall, f1) == pytest.approx((0.25, 0.5, (4 / 6) / 2))


def test_scoliosis_refuses_logits_of_another_shape():
    data = EvalData(np.zeros((4, 16, 2), np.float32), *[np.array(["negative"] * 4)] * 3)
    with pytest.raises(Exception, match=r"logits \[N, 3, p\].*\[4, 16, 2\]"):
        evaluate_function("evaluate_scoliosis", data, "Scoliosis1K")


def test_mean_iou_of_soft_masks_and_empty_frames():
    pred = np.zeros((3, 1, 2, 2), np.float32)
    mask = np.zeros_like(pred)
    pred[0, 0, 0] = 1  # two pixels predicted
    mask[0, 0, 0, 0], mask[0, 0, 1, 1] = 0.5, 1.0  # soft overlap 0.5; union 3 pixels
    pred[1], mask[1] = 1, 1  # perfect
    iou = mean_iou(pred, mask)  # frame 2: nothing anywhere -> 0
    assert iou.dtype == np.float32
    np.testing.assert_allclose(iou, [0.5 / 3, 1.0, 0.0], rtol=1e-6)


def test_segmentation_table_and_json(tmp_path):
    path, _ = write_case("evaluate_segmentation", tmp_path)
    code, out, _ = evaluate_cli(path, "--protocol", "evaluate_segmentation")
    assert code == 0
    assert "mIOU 0.494 over 12 frames" in out  # the mean OpenGait logs
    code, out, _ = evaluate_cli(path, "--protocol", "evaluate_segmentation", "--json")
    data = json.loads(out)
    assert data["conditions"]["segmentation"]["frames"] == 12
    assert len(data["opengait"]["scalar/test_accuracy/mIOU"]) == 12


@pytest.mark.parametrize(
    "arrays, message",
    [
        ({"pred": np.zeros((2, 1, 4, 4), np.float32)}, "missing array(s) mask"),
        (
            {
                "pred": np.zeros((2, 1, 4, 4), np.float32),
                "mask": np.zeros((3, 1, 4, 4), np.float32),
            },
            "must have one shape",
        ),
        (
            {"pred": np.zeros((2, 1, 4, 4), np.uint8), "mask": np.zeros((2, 1, 4, 4), np.float32)},
            "'pred' must be floating point",
        ),
        (
            {"pred": np.zeros((2, 4, 4), np.float32), "mask": np.zeros((2, 4, 4), np.float32)},
            "must be [frames, 1, H, W]",
        ),
        (
            {"pred": np.full((1, 1, 2, 2), np.nan, np.float32), "mask": np.zeros((1, 1, 2, 2))},
            "'pred' holds NaN",
        ),
        (
            {"pred": np.array([{"a": 1}], dtype=object), "mask": np.zeros((1, 1, 2, 2))},
            "pickled Python objects",
        ),
    ],
)
def test_segmentation_file_errors_are_one_line(tmp_path, arrays, message):
    path = tmp_path / "seg.npz"
    np.savez(path, **arrays)
    code, out, err = evaluate_cli(path, "--protocol", "evaluate_segmentation")
    assert code != 0 and out == ""
    assert len(err.strip().splitlines()) == 1
    assert message in err and str(path) in err


@pytest.fixture
def scoliosis_dataset(tmp_path, tiny_dataset) -> tuple[Path, Path]:
    """The tiny dataset with three types per subject, renamed to Scoliosis1K's classes."""
    source, partition = tiny_dataset
    root = tmp_path / "scoliosis"
    for new, old in zip(SCOLIOSIS_CLASSES, ("nm-01", "bg-01", "cl-01")):
        for folder in source.glob(f"*/{old}"):
            shutil.copytree(folder, root / folder.parent.name / new)
    return root, partition


@pytest.mark.slow
def test_sconet_trains_and_tests_with_evaluate_scoliosis(tmp_path, scoliosis_dataset, monkeypatch):
    monkeypatch.chdir(tmp_path)  # the run folder is output/ under the working directory
    root, partition = scoliosis_dataset
    config = small_config(root, partition, model="ScoNet").replace(
        "test_dataset_name: CASIA-B", "test_dataset_name: Scoliosis1K"
    )
    config = config.replace("class_num: 4", "class_num: 3")
    config += "  eval_func: evaluate_scoliosis\n  metric: euc\n"
    path = tmp_path / "sconet.yaml"
    path.write_text(config)
    runner = CliRunner()
    trained = runner.invoke(app, ["train", str(path)])
    assert trained.exit_code == 0, trained.output
    tested = runner.invoke(app, ["test", str(path)])
    assert tested.exit_code == 0, tested.output
    assert "true \\ predicted" in tested.stdout  # the confusion-matrix table
    run_dir = tmp_path / "output" / "tiny" / "ScoNet" / "small"
    results = json.loads((run_dir / "results.json").read_text())
    assert results["function"] == "evaluate_scoliosis" and results["dataset"] == "Scoliosis1K"
    condition = results["conditions"]["scoliosis"]
    confusion = np.array(
        [[condition["confusion"][t][p] for p in SCOLIOSIS_CLASSES] for t in SCOLIOSIS_CLASSES]
    )
    # 2 test subjects x 3 classes x 3 views, each sequence in its true class's row
    assert confusion.sum(axis=1).tolist() == [6, 6, 6]
    assert results["opengait"]["scalar/test_accuracy/"] == pytest.approx(np.trace(confusion) / 18)
    saved = np.load(run_dir / "embeddings.npz")
    assert saved["feature"].shape == (18, 3, 16)  # ScoNet's logits are its embeddings
    # the saved file evaluates to the same figures
    code, out, _ = evaluate_cli(
        run_dir / "embeddings.npz", "--protocol", "evaluate_scoliosis", "--json"
    )
    assert json.loads(out)["opengait"] == results["opengait"]
