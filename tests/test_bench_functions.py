"""benchmarks/bench_functions.py (``bench_evaluation.py --functions``): every function of the
evaluation table gets a case, and each dataset layout is one its function evaluates."""

from __future__ import annotations

import pytest
from conftest import load_benchmark
from gaitgen.runtime.evaluation.functions import EVAL_FUNCS


@pytest.fixture(scope="module")
def bench():
    return load_benchmark("bench_functions")


def test_every_function_of_the_table_is_a_case(bench):
    cases = bench.cases([])
    assert {function for function, _, _ in cases} == set(EVAL_FUNCS)
    assert ("HID_submission", "HID", True) in cases  # re-ranked too: OpenGait's default
    assert dict((f, d) for f, d, _ in cases)["evaluate_CCPG"] == "CCPG"


def test_each_layout_evaluates_at_a_small_scale(bench):
    for function, dataset, rerank in bench.cases([]):
        if dataset is None:
            continue
        seconds, size = bench.time_gaitgen(function, dataset, rerank, "cpu", 0.02)
        assert seconds > 0 and size >= 4, (function, dataset)
