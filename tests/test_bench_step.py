"""benchmarks/bench_step.py on the CPU: a tiny GaitBase variant, two steps, figures printed."""

from __future__ import annotations

import json
import math

import pytest
from conftest import load_benchmark


@pytest.fixture(scope="module")
def bench():
    return load_benchmark("bench_step")


def test_tiny_run_prints_and_writes_the_figures(bench, tmp_path, capsys):
    out = tmp_path / "step.json"
    figures = bench.main(
        [
            "--device",
            "cpu",
            "--channels",
            "4",
            "8",
            "8",
            "16",
            "--batch",
            "2",
            "2",
            "--batch",
            "1",
            "2",
            "--frames",
            "3",
            "--steps",
            "2",
            "--warmup",
            "1",
            "--json",
            str(out),
        ]
    )
    printed = capsys.readouterr().out
    assert "channels [4, 8, 8, 16]" in printed and "amp off" in printed
    assert [r["batch"] for r in figures["results"]] == [[2, 2], [1, 2]]
    for result, line in zip(figures["results"], printed.splitlines()[2:]):
        sequences = result["batch"][0] * result["batch"][1]
        assert result["sequences"] == sequences and result["frames"] == 3
        assert result["step_ms_p90"] >= result["step_ms_median"] > 0
        assert result["sequences_per_s"] == pytest.approx(
            sequences / (result["step_ms_median"] / 1e3)
        )
        assert result["forward_ms_median"] > 0 and result["peak_memory_gb"] > 0
        assert math.isfinite(result["last_loss"])
        assert f"{result['sequences_per_s']:.0f} seq/s" in line
    assert json.loads(out.read_text()) == figures


def test_channels_resize_the_heads_and_steps_change_the_weights(bench, tmp_path):
    import torch

    overrides = bench.model_overrides([4, 8, 8, 16], amp=False)
    trainer = bench.build_trainer(bench.GAITBASE_CONFIG, overrides, torch.device("cpu"), tmp_path)
    model_cfg = trainer.cfgs["model_cfg"]
    assert model_cfg["SeparateFCs"] == {"in_channels": 16, "out_channels": 8, "parts_num": 16}
    assert model_cfg["SeparateBNNecks"]["in_channels"] == 8
    assert model_cfg["SeparateBNNecks"]["class_num"] == 74  # the rest is GaitBase's config
    assert type(trainer.optimizer).__name__ == "SGD" and trainer.lr == pytest.approx(0.1)
    before = [p.detach().clone() for p in trainer.model.parameters()]
    batch = bench.random_batch(2, 2, frames=3, pin=False)
    assert batch[0][0].dtype == torch.uint8 and batch[0][0].shape == (4, 3, 64, 44)
    trainer.step([batch])
    assert trainer.iteration == 1
    after = list(trainer.model.parameters())
    assert any(not torch.equal(a, b.detach()) for a, b in zip(before, after))
