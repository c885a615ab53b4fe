"""benchmarks/bench_starters.py: the model table's figures, read from what gaitgen prints and
writes; end to end (slow) on the project's starter config for two iterations."""

from __future__ import annotations

import subprocess
import sys
from pathlib import Path

import pytest
from conftest import load_benchmark

BENCH = Path(__file__).resolve().parents[1] / "benchmarks" / "bench_starters.py"


@pytest.fixture(scope="module")
def bench():
    return load_benchmark("bench_starters")


def test_the_run_folder_is_read_from_test_s_first_line(bench) -> None:
    line = (
        "13:59:01 testing MyGait at iteration 50 (MyGait-00050.pt, run folder "
        "/p/output/SynthGait/MyGait/MyGait) on cpu, world size 1"
    )
    assert bench.run_folder_of(f"noise\n{line}\n") == Path("/p/output/SynthGait/MyGait/MyGait")
    with pytest.raises(SystemExit, match="no run folder"):
        bench.run_folder_of("nothing here")


def test_figures_are_rank1_per_condition_else_the_protocol_s_own(bench) -> None:
    rank1 = {"conditions": {"NM": {"rank1": 94.06}, "BG": {"rank1": 86.4}, "note": "x"}}
    assert bench.figures(rank1) == "NM 94.1 / BG 86.4"
    scoliosis = {"conditions": {"scoliosis": {"accuracy": 70.83, "f1": 71.37, "classes": []}}}
    assert bench.figures(scoliosis) == "scoliosis: accuracy 70.8, f1 71.4"
    assert bench.figures({"iteration": "-"}) == ""


@pytest.mark.slow
def test_two_iterations_of_the_starter_config_print_one_row(tmp_path: Path) -> None:
    done = subprocess.run(
        [
            sys.executable,
            str(BENCH),
            "baseline.yaml",
            "--workdir",
            str(tmp_path),
            "--set",
            "trainer_cfg.total_iter=2",
            "--set",
            "evaluator_cfg.limit_identities=2",
        ],
        capture_output=True,
        text=True,
        timeout=600,
    )
    assert done.returncode == 0, done.stderr
    (row,) = [line for line in done.stdout.splitlines() if line.startswith("baseline.yaml")]
    assert row.split()[1] == "2" and "NM " in row and "CL " in row
