"""SynthGait in each evaluation's layout (``gaitgen synth --layout``), and every evaluation run
end to end on it: ``gaitgen synth --layout X``, ``gaitgen train`` (one tiny step) and
``gaitgen test`` with the layout's dataset name and evaluation function.

The layouts are checked against what OpenGait's functions read: the type names (CCPG's seven
outfits, Scoliosis1K's three lowercase classes, OU-MVLP's 00/01), the view names and the
partition keys (Gait3D's and FreeGait's PROBE_SET, CCGR-MINI's GALLERY_SET, GREW's and HID's
``probe`` id folder).
"""

from __future__ import annotations

import json
import re
from pathlib import Path

import numpy as np
import pytest
from conftest import small_config
from gaitgen.runtime.data.layout import read_partition, scan_sequences
from gaitgen.runtime.errors import DataError
from gaitgen.runtime.evaluation.functions import EVAL_FUNCS
from gaitgen.runtime.synth import generate_dataset
from gaitgen.runtime.synth.layouts import LAYOUTS, get_layout
from gaitgen.runtime.synth.sequence import subject_modalities
from typer.testing import CliRunner

from gaitgen.cli.app import app

# the smallest size of each layout that every evaluation can score (GREW_submission ranks
# 20 gallery sequences: 10 test subjects x 2), and --views where the views are angles
SIZES = {
    "casia-b": (5, ["--views", "000,090"]),
    "oumvlp": (4, []),
    "ccpg": (5, []),
    "grew": (25, []),
    "hid": (8, []),
    "gait3d": (6, []),
    "freegait": (6, []),
    "ccgr-mini": (6, []),
    "scoliosis": (12, []),
}


def _synth(runner: CliRunner, root: Path, layout: str) -> Path:
    subjects, extra = SIZES[layout]
    args = ["synth", str(root), "--layout", layout, "-n", str(subjects), "-t", "6", *extra]
    result = runner.invoke(app, args)
    assert result.exit_code == 0, result.output
    assert f"eval_func: {LAYOUTS[layout].eval_func}" in result.output
    return root


@pytest.fixture(scope="module")
def layouts(tmp_path_factory: pytest.TempPathFactory) -> dict[str, Path]:
    folder = tmp_path_factory.mktemp("layouts")
    runner = CliRunner()
    return {name: _synth(runner, folder / name, name) for name in LAYOUTS}


def _sequences(root: Path) -> list[tuple[str, str, str]]:
    partition = read_partition(root / "partition.json")
    entries, empty = scan_sequences(root, partition["TRAIN_SET"] + partition["TEST_SET"])
    assert not empty
    return [(e.label, e.type, e.view) for e in entries]


def test_every_layout_is_in_the_table_and_the_help() -> None:
    assert set(SIZES) == set(LAYOUTS)
    result = CliRunner().invoke(app, ["synth", "--help"])
    for name in LAYOUTS:
        assert name in result.output


def test_an_unknown_layout_is_one_error_with_the_close_match(tmp_path: Path) -> None:
    result = CliRunner().invoke(app, ["synth", str(tmp_path / "d"), "--layout", "gait3", "-n", "2"])
    assert result.exit_code != 0
    assert "unknown layout 'gait3' (did you mean 'gait3d'" in result.output
    assert "Traceback" not in result.output and not (tmp_path / "d").exists()
    with pytest.raises(DataError, match="names its own views"):
        generate_dataset(tmp_path / "e", subjects=2, frames=2, views="000", layout="ccpg")


def test_the_casia_b_layout_is_the_default_byte_for_byte(tmp_path: Path) -> None:
    default = generate_dataset(tmp_path / "a", subjects=3, views="000,090", frames=4, seed=2)
    named = generate_dataset(
        tmp_path / "b", subjects=3, views="000,090", frames=4, seed=2, layout="CASIA-B"
    )
    files_a = sorted(p.relative_to(tmp_path / "a") for p in (tmp_path / "a").rglob("*.pkl"))
    files_b = sorted(p.relative_to(tmp_path / "b") for p in (tmp_path / "b").rglob("*.pkl"))
    assert files_a == files_b and len(files_a) == 3 * 10 * 2
    assert all(
        (tmp_path / "a" / f).read_bytes() == (tmp_path / "b" / f).read_bytes() for f in files_a
    )
    assert default.read_text() == named.read_text()


def test_ccpg_oumvlp_and_scoliosis_names(layouts: dict[str, Path]) -> None:
    ccpg = _sequences(layouts["ccpg"])
    assert {t for _, t, _ in ccpg} == {
        "U0_D0",
        "U0_D0_BG",
        "U0_D3",
        "U1_D0",
        "U1_D1",
        "U2_D2",
        "U3_D3",
    }
    assert all(re.fullmatch(r"\d\d_[12]", v) for _, _, v in ccpg)
    oumvlp = _sequences(layouts["oumvlp"])
    assert {t for _, t, _ in oumvlp} == {"00", "01"}
    assert {v for _, _, v in oumvlp} == {
        f"{a:03d}" for a in (*range(0, 91, 15), *range(180, 271, 15))
    }
    scoliosis = _sequences(layouts["scoliosis"])
    classes: dict[str, set[str]] = {}
    for label, seq_type, _ in scoliosis:
        classes.setdefault(label, set()).add(seq_type)
    assert all(len(kinds) == 1 for kinds in classes.values())  # one class per subject
    test_ids = read_partition(layouts["scoliosis"] / "partition.json")["TEST_SET"]
    assert {next(iter(classes[i])) for i in test_ids} == {"negative", "neutral", "positive"}


def test_partition_sets_name_sequences_on_disk(layouts: dict[str, Path]) -> None:
    for name, key in (
        ("gait3d", "PROBE_SET"),
        ("freegait", "PROBE_SET"),
        ("ccgr-mini", "GALLERY_SET"),
    ):
        root = layouts[name]
        partition = json.loads((root / "partition.json").read_text())
        test = set(partition["TEST_SET"])
        on_disk = {"-".join(s) for s in _sequences(root) if s[0] in test}
        assert partition[key] and set(partition[key]) < on_disk, name
    freegait = json.loads((layouts["freegait"] / "partition.json").read_text())
    assert not set(freegait["PROBE_SET"]) & set(freegait["GALLERY_SET"])


@pytest.mark.parametrize("name, probe_type", [("grew", "03"), ("hid", "00")])
def test_grew_and_hid_hide_the_probes_identity(layouts: dict[str, Path], name, probe_type) -> None:
    root = layouts[name]
    partition = read_partition(root / "partition.json")
    assert partition["TEST_SET"][-1] == "probe"
    probes = sorted((root / "probe" / probe_type).iterdir())
    answers = json.loads((root / "probe_identity.json").read_text())
    assert sorted(answers) == [p.name for p in probes]
    assert set(answers.values()) == set(partition["TEST_SET"][:-1])
    if name == "grew":
        assert all(i.endswith("train") for i in partition["TRAIN_SET"])
        gallery = {(label, t) for label, t, _ in _sequences(root) if label != "probe"}
        assert {t for _, t in gallery if _ in partition["TEST_SET"]} == {"01", "02"}


def test_a_positive_scoliosis_subject_leans_sideways() -> None:
    """The sideways lean shows from behind: the upper body's centre moves off the hips'."""
    layout = get_layout("scoliosis")
    recordings = tuple(r for r in layout.train[:1])
    recordings = tuple(type(r)("x", r.view, r.condition, r.walk, r.angle) for r in recordings)

    def upper_offset(lean: float) -> float:
        frames = subject_modalities(
            0, 3, (), 16, noise_strength=0.0, recordings=recordings, lateral_lean=lean
        )
        sils = next(iter(frames.values()))["silhouette"].astype(np.float64)
        columns = np.arange(sils.shape[-1])
        upper, lower = sils[:, 8:28].sum(axis=1), sils[:, 40:60].sum(axis=1)
        centre = lambda rows: (rows * columns).sum(-1) / np.maximum(rows.sum(-1), 1)  # noqa: E731
        return float(np.mean(centre(upper) - centre(lower)))

    straight = upper_offset(0.0)
    assert abs(upper_offset(0.15) - straight) > 1.0
    assert abs(upper_offset(-0.15) - straight) > 1.0
    assert (upper_offset(0.15) - straight) * (upper_offset(-0.15) - straight) < 0


def _config(root: Path, layout: str) -> str:
    chosen = LAYOUTS[layout]
    partition = read_partition(root / "partition.json")
    classes = 3 if layout == "scoliosis" else len(partition["TRAIN_SET"])
    text = small_config(
        root,
        root / "partition.json",
        model="ScoNet" if layout == "scoliosis" else "Baseline",
        total_iter=1,
    )
    text = text.replace("class_num: 4", f"class_num: {classes}")
    text = text.replace("dataset_name: tiny", f"dataset_name: {chosen.dataset_name}")
    text = text.replace("test_dataset_name: CASIA-B", f"test_dataset_name: {chosen.dataset_name}")
    text = text.replace("save_iter: 2", "save_iter: 1").replace(
        "frames_num_fixed: 8", "frames_num_fixed: 4"
    )
    return text.replace("evaluator_cfg:\n", f"evaluator_cfg:\n  eval_func: {chosen.eval_func}\n")


def _needs(function: str):
    return pytest.mark.skipif(
        function not in EVAL_FUNCS, reason=f"{function} is not in gaitgen's EVAL_FUNCS yet"
    )


@pytest.mark.parametrize(
    "layout",
    [pytest.param(name, marks=_needs(layout.eval_func)) for name, layout in LAYOUTS.items()],
)
def test_each_evaluation_runs_end_to_end_on_its_layout(
    layouts: dict[str, Path], layout: str, tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    root = layouts[layout]
    monkeypatch.chdir(tmp_path)
    config = tmp_path / f"{layout}.yaml"
    config.write_text(_config(root, layout))
    runner = CliRunner()
    trained = runner.invoke(app, ["train", str(config), "--device", "cpu", "-q"])
    assert trained.exit_code == 0, trained.output
    tested = runner.invoke(app, ["test", str(config), "--device", "cpu", "-q"])
    assert tested.exit_code == 0, tested.output
    results = list(tmp_path.rglob("results.json"))
    assert len(results) == 1
    written = json.loads(results[0].read_text())
    function = LAYOUTS[layout].eval_func
    assert function in json.dumps(written)
    if function in ("GREW_submission", "HID_submission"):
        submissions = [p for p in tmp_path.rglob("*.csv")]
        assert len(submissions) == 1, submissions
        rows = submissions[0].read_text().splitlines()
        probes = json.loads((root / "probe_identity.json").read_text())
        assert sorted(row.split(",")[0] for row in rows[1:]) == sorted(probes)
    else:
        opengait = written.get("opengait") or {}
        assert opengait and all(k.startswith("scalar/") for k in opengait), written


def test_a_config_names_the_layout_in_data_cfg_synthetic(tmp_path: Path) -> None:
    from gaitgen.runtime.components import build

    spec = {"generator": "synthgait", "subjects": 4, "frames": 3, "layout": "gait3d"}
    generator = build("generator", spec, where="data_cfg.synthetic", default="synthgait")
    partition = generator.generate(tmp_path / "d", tmp_path / "d" / "partition.json")
    assert json.loads(partition.read_text())["PROBE_SET"] == [
        "003-camid1_videoid1-seq0",
        "004-camid1_videoid1-seq0",
    ]
