"""``evaluate_CCPG``, ``GREW_submission``, ``GREW_ranks`` and ``HID_submission`` through
``gaitgen evaluate``: OpenGait's own outputs for the same inputs (the oracle cases of
``tests/fixtures/opengait/eval/``, recorded from OpenGait's functions), the files written, and
one-line errors for inputs they cannot evaluate."""

from __future__ import annotations

import csv
import json
from pathlib import Path

import numpy as np
import pytest
from gaitgen.runtime.evaluation import EvalData, EvalSettings, evaluate_function
from gaitgen.runtime.evaluation.config import evaluation_settings
from typer.testing import CliRunner

from gaitgen.cli.app import app

ORACLES = Path(__file__).parent / "fixtures" / "opengait" / "eval"
CASES = ("evaluate_CCPG", "GREW_submission", "HID_submission")


def oracle(case: str) -> tuple[dict, dict[str, np.ndarray]]:
    """The recorded case (``runs``: OpenGait's kwargs and result) and its inputs."""
    record = json.loads((ORACLES / f"{case}.json").read_text())
    with np.load(ORACLES / f"{case}.npz") as arrays:
        inputs = {
            "feature": arrays["embeddings"],
            "label": arrays["labels"],
            "type": arrays["types"],
            "view": arrays["views"],
        }
    return record, inputs


def run(*args) -> tuple[int, str, str]:
    result = CliRunner().invoke(app, ["evaluate", *map(str, args)])
    return result.exit_code, result.stdout, result.stderr


def evaluate_file(tmp_path: Path, inputs: dict, function: str, dataset: str, *flags) -> tuple:
    tmp_path.mkdir(exist_ok=True)
    path = tmp_path / "in.npz"
    np.savez(path, **inputs)
    out = tmp_path / "out"
    out.mkdir(exist_ok=True)
    code, stdout, stderr = run(
        path, "--protocol", function, "--dataset", dataset, *flags, "--json", "--out", out
    )
    assert code == 0, stderr
    return json.loads(stdout), out


def csv_rows(path: Path) -> list[list[str]]:
    with open(path, newline="") as handle:
        return list(csv.reader(handle))


RUNS = [
    (case, index)
    for case in CASES
    for index in range(len(json.loads((ORACLES / f"{case}.json").read_text())["runs"]))
]


@pytest.mark.parametrize(("case", "index"), RUNS)
def test_matches_opengaits_own_output(tmp_path, case, index):
    record, inputs = oracle(case)
    kwargs = record["runs"][index]["kwargs"]
    expected = record["runs"][index]
    flags = ["--metric", kwargs["metric"]] + (["--rerank"] if kwargs.get("rerank") else [])
    data, out = evaluate_file(tmp_path, inputs, record["function"], record["dataset"], *flags)
    if expected["result"] is not None:  # evaluate_CCPG: its four 4x4 rank-1 matrices
        assert set(data["opengait"]) == set(expected["result"])
        for key, value in expected["result"].items():
            np.testing.assert_allclose(data["opengait"][key], value["value"], atol=0.01)
        return
    assert data["opengait"] is None  # a submission: OpenGait's function returns None
    written = list(out.rglob("*.csv"))
    assert len(written) == 1 and written[0].parent == out / expected["csv_dir"]
    assert written[0].name[:4].isdigit() and written[0].suffix == ".csv"  # <time>.csv
    assert data["files"] == [str(written[0])]
    text = written[0].read_text()
    lines, wanted = text.splitlines(), expected["csv"].splitlines()
    assert lines[0] == wanted[0]  # the header, byte for byte
    assert sorted(lines[1:]) == sorted(wanted[1:])
    assert text.endswith("\n") and "\r" not in text


def test_ccpg_readable_result_and_the_callers_views_untouched():
    record, inputs = oracle("evaluate_CCPG")
    views = inputs["view"].copy()
    data = EvalData(inputs["feature"], inputs["label"], inputs["type"], inputs["view"])
    result = evaluate_function("evaluate_CCPG", data, "CCPG", EvalSettings(metric="euc"))
    np.testing.assert_array_equal(data.view, views)  # OpenGait's rewrites them to cameras
    assert result.views == ["04", "05", "07", "10"]
    # OpenGait logs the re-identification figures: CL 54.167 / 39.695 / 19.669 (euc)
    log = record["runs"][0]["log"]
    assert "CL: 54.167,\tUP: 54.167,\tDN: 50.000,\tBG: 58.333" in log
    expected = {"rank1": (54.167, 54.167, 50.0, 58.333), "mAP": (39.695, 55.998, 50.312, 56.132)}
    expected["mINP"] = (19.669, 39.314, 35.938, 37.340)
    for metric, values in expected.items():
        found = [result.conditions[c].mean[metric] for c in ("CL", "UP", "DN", "BG")]
        np.testing.assert_allclose(found, values, atol=1e-3)
    table = result.format_table()
    assert table.splitlines()[2].split() == ["CL", "04", "05", "07", "10", "mean"]
    assert "CL 46.53, UP 51.39, DN 45.83, BG 52.78" in table  # OpenGait's de_diag log line
    per_pair = result.to_dict()["conditions"]["CL"]["per_pair"]
    assert per_pair["04"]["05"] == record["runs"][0]["result"]["scalar/test_accuracy/CL"]["value"][0][1]  # fmt: skip


def test_grew_ranks_count_as_the_server_scores_the_submission(tmp_path):
    """With the probes' true ids, GREW_ranks' rank-k equals the share of submission rows
    holding the true id among their first k ids."""
    record, inputs = oracle("GREW_submission")
    truth = record["probe_identity"]
    probes = np.flatnonzero(inputs["type"] == "03")
    labelled = dict(inputs, label=inputs["label"].copy())
    labelled["label"][probes] = truth
    ranks, _ = evaluate_file(tmp_path, labelled, "GREW_ranks", "GREW")
    _, out = evaluate_file(tmp_path / "s", inputs, "GREW_submission", "GREW")
    rows = {row[0]: row[1:] for row in csv_rows(next(out.rglob("*.csv")))[1:]}
    videos = inputs["view"][probes]
    for k in (1, 5, 10, 20):
        hits = [int(t) in map(int, rows[v][:k]) for v, t in zip(videos, truth, strict=True)]
        assert ranks["conditions"]["overall"][f"rank{k}"] == pytest.approx(100 * np.mean(hits))
    assert ranks["conditions"]["overall"]["rank1"] < ranks["conditions"]["overall"]["rank20"]
    assert ranks["opengait"] is None  # gaitgen's own: no OpenGait function returns it


def test_hid_config_without_rerank_reranks_as_opengait_does():
    base = {"data_cfg": {"test_dataset_name": "HID"}}
    default = evaluation_settings({**base, "evaluator_cfg": {"eval_func": "HID_submission"}})
    assert default.settings.rerank is True  # OpenGait's HID_submission(rerank=True)
    off = {"eval_func": "HID_submission", "rerank": False}
    assert evaluation_settings({**base, "evaluator_cfg": off}).settings.rerank is False
    grew = {"data_cfg": {"test_dataset_name": "GREW"}, "evaluator_cfg": {"eval_func": "GREW_submission"}}  # fmt: skip
    assert evaluation_settings(grew).settings.rerank is False  # OpenGait's default there


def one_error_line(code: int, out: str, err: str) -> str:
    assert code != 0 and out == ""
    lines = err.strip().splitlines()
    assert len(lines) == 1 and lines[0].startswith("error: ") and "Traceback" not in err
    return lines[0]


def bad_input(tmp_path: Path, case: str, change) -> tuple[Path, dict]:
    _, inputs = oracle(case)
    change(inputs)
    path = tmp_path / "bad.npz"
    np.savez(path, **inputs)
    return path


def _without_probes(inputs):
    inputs["type"] = np.where(inputs["type"] == "03", "02", inputs["type"])


def _without_probe_labels(inputs):
    inputs["label"] = np.where(inputs["label"] == "probe", "0001", inputs["label"])


def _few_gallery(inputs):
    gallery = np.flatnonzero(inputs["type"] != "03")[:18]
    keep = np.concatenate([gallery, np.flatnonzero(inputs["type"] == "03")])
    for key in inputs:
        inputs[key] = inputs[key][keep]


def _text_gallery_label(inputs):
    inputs["label"] = inputs["label"].astype("<U8")
    inputs["label"][np.flatnonzero(inputs["type"] == "01")[0]] = "ab12"


@pytest.mark.parametrize(
    ("case", "function", "dataset", "change", "message"),
    [
        ("GREW_submission", "GREW_submission", "GREW", _without_probes,
         "GREW_submission: no probe sequences of type 03 among the 60 sequences (types found: "
         "01, 02); GREW's probes are type 03, its gallery types 01 and 02"),
        ("GREW_submission", "GREW_submission", "GREW", _few_gallery,
         "GREW_submission: 18 gallery sequences (types 01, 02); the submission lists the 20 "
         "nearest for each probe, so it needs at least 20"),
        ("GREW_submission", "GREW_submission", "GREW", _text_gallery_label,
         "GREW_submission: gallery label 'ab12' is not a number; GREW's server takes subject "
         "ids as integers"),
        ("GREW_submission", "GREW_ranks", "GREW", lambda inputs: None,
         "GREW_ranks: no 03 probe's label is a gallery subject; it needs probes labelled with "
         "their true ids (GREW's own test probes are not: submit GREW_submission's file to its "
         "server instead)"),
        ("HID_submission", "HID_submission", "HID", _without_probe_labels,
         "HID_submission: no probe sequences (label 'probe') among the 32 sequences; HID's "
         "test probes are labelled 'probe', their video id as the view"),
        ("evaluate_CCPG", "evaluate_CCPG", "GREW", lambda inputs: None,
         "--protocol: evaluate_CCPG evaluates CCPG, not 'GREW'; set the dataset name "
         "(data_cfg.test_dataset_name, or gaitgen evaluate --dataset)"),
        ("evaluate_CCPG", "evaluate_CCPG", "CCPG",
         lambda inputs: inputs.update(type=np.where(inputs["type"] == "U0_D3", "x", inputs["type"])),  # noqa: E501
         "evaluate_CCPG: condition UP: no gallery sequences of type(s) U0_D3 (types found: "
         "U0_D0, U0_D0_BG, U1_D0, U1_D1, U2_D2, U3_D3, x); CCPG's types are U<up>_D<down>[_BG]"),
    ],
)  # fmt: skip
def test_inputs_it_cannot_evaluate_are_one_line(tmp_path, case, function, dataset, change, message):
    path = bad_input(tmp_path, case, change)
    out = tmp_path / "out"
    line = one_error_line(*run(path, "--protocol", function, "--dataset", dataset, "--out", out))
    assert line == f"error: {message}"
    assert not list(tmp_path.rglob("*.csv"))  # nothing half-written


def test_submission_table_names_the_file(tmp_path):
    _, inputs = oracle("HID_submission")
    path = tmp_path / "in.npz"
    np.savez(path, **inputs)
    code, out, err = run(path, "--protocol", "HID_submission", "--dataset", "HID", "--out", tmp_path / "o")  # fmt: skip
    assert code == 0, err
    written = next((tmp_path / "o" / "HID_result").glob("*.csv"))
    assert out.splitlines()[0] == "HID submission (metric euc)"
    assert f"HID result saved to {written} (8 probes, 24 gallery sequences, not re-ranked)" in out
    assert f"wrote {written}" in out
