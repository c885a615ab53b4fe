"""The run's summary writer: scalars.jsonl always, TensorBoard event files when installed."""

from __future__ import annotations

import importlib.util
import json

import pytest
import torch
from gaitgen.runtime.engine.summary import GRID_COLUMNS, SummaryWriter, image_grid

HAS_TENSORBOARD = importlib.util.find_spec("tensorboard") is not None


def _records(folder):
    return [json.loads(line) for line in (folder / "scalars.jsonl").read_text().splitlines()]


def test_scalars_jsonl_holds_each_logged_iteration_with_its_time(tmp_path):
    writer = SummaryWriter(tmp_path / "summary", tensorboard=False)
    writer.write({"scalar/triplet/loss": torch.tensor([0.5, 1.5]), "image/sils": None}, 10)
    writer.write({"scalar/learning_rate": 0.1, "other": 3}, 20)
    writer.close()
    first, second = _records(tmp_path / "summary")
    assert first["iteration"] == 10 and first["triplet/loss"] == pytest.approx(1.0)
    assert second == {**second, "iteration": 20, "learning_rate": 0.1}
    assert "other" not in second and "sils" not in first
    assert second["time"] >= first["time"] > 1e9
    assert second["elapsed"] >= first["elapsed"] >= 0.0


def test_a_resumed_run_appends_a_new_segment(tmp_path):
    for iteration in (10, 20):
        writer = SummaryWriter(tmp_path, tensorboard=False)
        writer.write({"scalar/loss": float(iteration)}, iteration)
        writer.close()
    assert [r["loss"] for r in _records(tmp_path)] == [10.0, 20.0]


def test_a_non_finite_scalar_is_written_as_null(tmp_path):
    writer = SummaryWriter(tmp_path, tensorboard=False)
    writer.write({"scalar/loss": float("nan")}, 1)
    writer.close()
    assert _records(tmp_path)[0]["loss"] is None


def test_a_disabled_writer_writes_nothing(tmp_path):
    writer = SummaryWriter(tmp_path / "summary", enabled=False)
    writer.write({"scalar/loss": 1.0}, 1, images=True)
    writer.close()
    assert not (tmp_path / "summary").exists()


def test_image_grid_tiles_the_first_frames():
    frames = torch.zeros(40, 1, 6, 4)
    frames[0] = 1.0
    grid = image_grid(frames, max_frames=16)
    assert grid.shape == (1, 2 * (6 + 2) + 2, GRID_COLUMNS * (4 + 2) + 2)
    assert grid[0, 2:8, 2:6].eq(1).all() and grid.sum() == 6 * 4
    uint8 = image_grid(torch.full((3, 5, 5), 255, dtype=torch.uint8))  # [n, h, w] uint8
    assert uint8.shape == (1, 9, 23) and uint8.max() == 1.0
    assert image_grid("not frames") is None and image_grid(torch.zeros(2, 2)) is None


@pytest.mark.skipif(not HAS_TENSORBOARD, reason="tensorboard is not installed")
def test_tensorboard_gets_the_scalars_and_the_images(tmp_path):
    from tensorboard.backend.event_processing.event_accumulator import EventAccumulator

    writer = SummaryWriter(tmp_path)
    assert writer.uses_tensorboard
    sils = torch.rand(30, 1, 16, 11)  # [n * s, 1, h, w]
    writer.write({"scalar/loss": 2.0, "image/sils": sils}, 5, images=True)
    writer.write({"scalar/loss": 1.0, "image/sils": sils}, 10)  # images only when asked
    writer.close()
    events = EventAccumulator(str(tmp_path))
    events.Reload()
    assert [(e.step, e.value) for e in events.Scalars("loss")] == [(5, 2.0), (10, 1.0)]
    images = events.Images("sils")
    assert [e.step for e in images] == [5]
    assert (images[0].height, images[0].width) == (2 * 18 + 2, 8 * 13 + 2)
    assert [r["iteration"] for r in _records(tmp_path)] == [5, 10]  # the fallback stays


def test_without_tensorboard_only_the_jsonl_is_written(tmp_path, monkeypatch):
    import builtins

    real_import = builtins.__import__

    def no_tensorboard(name, *args, **kwargs):
        if name.startswith("torch.utils.tensorboard") or name.startswith("tensorboard"):
            raise ImportError(f"No module named {name!r}")
        return real_import(name, *args, **kwargs)

    monkeypatch.setattr(builtins, "__import__", no_tensorboard)
    writer = SummaryWriter(tmp_path)
    writer.write({"scalar/loss": 1.0, "image/sils": torch.rand(4, 1, 8, 8)}, 1, images=True)
    assert not writer.uses_tensorboard
    writer.close()
    assert sorted(p.name for p in tmp_path.iterdir()) == ["scalars.jsonl"]
