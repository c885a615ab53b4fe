"""The training staples (runtime/engine/staples.py), each tested by its effect.

Clipping bounds the gradients; k batches of B accumulated give one batch of kB's step;
the EMA is its formula; the warmup's rates are the scheduler's times the ramp; keep_last
keeps N and the best; early stopping stops at the right test; a resume is exact.
"""

from __future__ import annotations

import json
from pathlib import Path

import pytest
import torch
from conftest import small_config
from gaitgen.runtime.checkpoint import load_checkpoint
from gaitgen.runtime.engine.run_folder import RunFolder
from gaitgen.runtime.engine.staples import MetricHistory, Staples, Warmup, WeightEMA
from gaitgen.runtime.engine.step import TrainStep
from gaitgen.runtime.errors import CheckpointError, ConfigError
from typer.testing import CliRunner

from gaitgen.cli.app import app

CPU = torch.device("cpu")


class _Linear(torch.nn.Module):
    """No batch norm: a sample's gradient does not depend on the rest of its batch."""

    def __init__(self) -> None:
        super().__init__()
        torch.manual_seed(0)
        self.linear = torch.nn.Linear(4, 3)
        self.register_buffer("count", torch.zeros((), dtype=torch.long))

    def forward(self, inputs):
        out = self.linear(inputs[0][0])
        return {"training_feat": {"e": out}, "visual_summary": {}, "inference_feat": {}}


class _MeanLoss(torch.nn.Module):
    def forward(self, training_feat):
        loss = ((training_feat["e"] - 1.0) ** 2).sum(dim=1).mean()  # a mean over samples
        return loss, {"scalar/e": loss.detach()}


def _batch(rows: torch.Tensor) -> list:
    n = rows.shape[0]
    return [[rows], torch.arange(n), ["nm"] * n, ["000"] * n, None]


def _step(model, staples: Staples | None = None, lr: float = 0.1) -> TrainStep:
    optimizer = torch.optim.SGD(model.parameters(), lr=lr)
    scheduler = torch.optim.lr_scheduler.MultiStepLR(optimizer, milestones=[1000])
    return TrainStep(model, _MeanLoss(), optimizer, scheduler, CPU, staples=staples)


def _data(n: int = 8) -> torch.Tensor:
    return torch.randn(n, 4, generator=torch.Generator().manual_seed(1)) * 5


# accumulation -----------------------------------------------------------------------------


def test_two_accumulated_batches_step_as_one_batch_of_twice_the_size() -> None:
    rows = _data(8)
    whole, halves = _Linear(), _Linear()
    _step(whole)(_batch(rows), iteration=0)
    result = _step(halves, Staples(accumulation=2)).run(
        [_batch(rows[:4]), _batch(rows[4:])], iteration=0
    )
    for a, b in zip(whole.parameters(), halves.parameters()):
        assert torch.allclose(a.grad, b.grad, atol=1e-5), (a.grad, b.grad)
        assert torch.allclose(a, b, atol=1e-6)
    assert not torch.equal(whole.linear.weight, _Linear().linear.weight)  # it did step
    expected = (_MeanLoss()({"e": _Linear().linear(rows)})[0]).detach()
    assert torch.allclose(result.loss_sum, expected, atol=1e-4)  # the mean of the two


def test_accumulation_keeps_ddp_gradients_local_until_the_last_batch() -> None:
    model = _Linear()
    step = _step(model, Staples(accumulation=3))
    calls = []

    class _Wrapper(torch.nn.Module):  # DDP's no_sync, recorded
        def __init__(self, inner):
            super().__init__()
            self.inner = inner

        def forward(self, inputs):
            calls.append("forward")
            return self.inner(inputs)

        def no_sync(self):
            import contextlib

            calls.append("no_sync")
            return contextlib.nullcontext()

    step.network = _Wrapper(model)
    rows = _data(6)
    step.run([_batch(rows[:2]), _batch(rows[2:4]), _batch(rows[4:])], iteration=0)
    assert calls == ["no_sync", "forward", "no_sync", "forward", "forward"]


def _accumulating_worker(rank: int, folder: str) -> None:
    """One of two DDP processes (gloo): 2 accumulated batches of 2 rows each, its quarter."""
    import torch.distributed as dist
    from torch.nn.parallel import DistributedDataParallel

    dist.init_process_group("gloo", init_method=f"file://{folder}/init", rank=rank, world_size=2)
    try:
        model = _Linear()
        step = _step(model, Staples(accumulation=2))
        step.network = DistributedDataParallel(model)
        rows = _data(8)[rank * 4 : (rank + 1) * 4]
        step.run([_batch(rows[:2]), _batch(rows[2:])], iteration=0)
        torch.save({k: v.clone() for k, v in model.state_dict().items()}, f"{folder}/{rank}.pt")
        dist.barrier()  # no rank leaves while the other is still in gloo
    finally:
        dist.destroy_process_group()


def test_accumulation_under_ddp_steps_as_one_process_on_the_whole_batch(tmp_path: Path) -> None:
    """2 processes x 2 accumulated batches of 2 (real DDP on gloo, its gradient averaging
    deferred by no_sync) make the same step as one process on one batch of 8."""
    import torch.multiprocessing as mp

    whole = _Linear()
    _step(whole)(_batch(_data(8)), iteration=0)
    mp.start_processes(_accumulating_worker, args=(str(tmp_path),), nprocs=2, start_method="spawn")
    for rank in (0, 1):
        state = torch.load(tmp_path / f"{rank}.pt")
        for name, value in whole.state_dict().items():
            assert torch.allclose(state[name], value, atol=1e-5), (rank, name)
    assert not torch.equal(whole.linear.weight, _Linear().linear.weight)  # it did step


# clipping --------------------------------------------------------------------------------


def test_clipping_by_norm_bounds_the_total_norm_and_keeps_the_direction() -> None:
    rows = _data(8)
    free, clipped = _Linear(), _Linear()
    _step(free)(_batch(rows), 0)
    _step(clipped, Staples(clip_norm=0.5))(_batch(rows), 0)
    raw = torch.cat([p.grad.flatten() for p in free.parameters()])
    cut = torch.cat([p.grad.flatten() for p in clipped.parameters()])
    assert raw.norm() > 1.0  # the bound has something to do
    assert cut.norm() <= 0.5 + 1e-5
    assert torch.allclose(cut, raw * (0.5 / raw.norm()), atol=1e-5)
    moved = (clipped.linear.weight - _Linear().linear.weight).abs().max()
    assert moved <= 0.1 * 0.5 + 1e-6  # the step used the clipped gradient


def test_clipping_by_value_clamps_every_element() -> None:
    rows = _data(8)
    free, clipped = _Linear(), _Linear()
    _step(free)(_batch(rows), 0)
    _step(clipped, Staples(clip_value=0.2))(_batch(rows), 0)
    for a, b in zip(free.parameters(), clipped.parameters()):
        assert torch.equal(b.grad, a.grad.clamp(-0.2, 0.2))
    assert max(p.grad.abs().max() for p in free.parameters()) > 0.2


# EMA ---------------------------------------------------------------------------------------


def test_the_ema_is_its_formula_after_each_step() -> None:
    model = _Linear()
    ema = WeightEMA(model, 0.75)
    step = _step(model, Staples(ema=ema))
    expected = {k: v.clone() for k, v in model.state_dict().items()}
    rows = _data(8)
    for iteration in range(3):
        model.count += 1  # an integer buffer is copied, not averaged
        step(_batch(rows), iteration)
        for name, value in model.state_dict().items():
            if value.is_floating_point():
                expected[name] = 0.75 * expected[name] + 0.25 * value
            else:
                expected[name] = value.clone()
    for name, value in expected.items():
        assert torch.allclose(ema.state[name], value, atol=1e-6), name
    assert not torch.equal(ema.state["linear.weight"], model.linear.weight)
    with ema.in_model(model):
        assert torch.equal(model.linear.weight, ema.state["linear.weight"])
    assert not torch.equal(model.linear.weight, ema.state["linear.weight"])  # put back
    assert int(ema.state["count"]) == 3


# warmup --------------------------------------------------------------------------------------


def test_warmup_ramps_the_scheduled_rate_then_leaves_it_to_the_scheduler() -> None:
    def rates(warmup_iters: int) -> list[float]:
        model = _Linear()
        optimizer = torch.optim.SGD(model.parameters(), lr=1.0)
        scheduler = torch.optim.lr_scheduler.MultiStepLR(optimizer, milestones=[3], gamma=0.1)
        warmup = Warmup(optimizer, warmup_iters, 0.25) if warmup_iters else None
        step = TrainStep(
            model, _MeanLoss(), optimizer, scheduler, CPU, staples=Staples(warmup=warmup)
        )
        seen = []
        for iteration in range(6):
            seen.append(optimizer.param_groups[0]["lr"])
            step(_batch(_data(2)), iteration)
        return seen

    plain = rates(0)
    assert plain == pytest.approx([1.0, 1.0, 1.0, 0.1, 0.1, 0.1])
    ramp = [0.25, 0.4375, 0.625, 0.8125, 1.0, 1.0]  # 0.25 + 0.75 * s / 4
    assert rates(4) == pytest.approx([p * r for p, r in zip(plain, ramp)])


def test_warmup_state_resumes_the_same_rates() -> None:
    model = _Linear()
    optimizer = torch.optim.SGD(model.parameters(), lr=1.0)
    scheduler = torch.optim.lr_scheduler.StepLR(optimizer, step_size=1, gamma=0.5)
    warmup = Warmup(optimizer, 5, 0.1)
    for _ in range(2):
        optimizer.step()
        warmup.step(scheduler)
    saved, lr = warmup.state_dict(), optimizer.param_groups[0]["lr"]
    other = torch.optim.SGD(_Linear().parameters(), lr=1.0)
    again = Warmup(other, 5, 0.1)
    again.load_state_dict(saved)
    assert other.param_groups[0]["lr"] == lr
    with pytest.raises(ValueError, match="2 rates for 1 parameter groups"):
        again.load_state_dict({"steps": 1, "scheduled": [1.0, 1.0]})


# keep_last, best, early stopping -------------------------------------------------------------


def test_keep_last_deletes_the_oldest_and_never_the_best(tmp_path: Path) -> None:
    folder = RunFolder(tmp_path / "run", "r")
    folder.checkpoint_dir.mkdir(parents=True)
    for iteration in (2, 4, 6, 8, 10):
        folder.checkpoint(iteration).write_bytes(b"x")
    assert folder.prune_checkpoints(2, [4]) == [2, 6]
    assert list(folder.checkpoints()) == [4, 8, 10]
    assert folder.prune_checkpoints(0) == []  # 0 keeps every checkpoint
    assert sorted(p.name for p in folder.checkpoint_dir.iterdir()) == [
        "r-00004.pt",
        "r-00008.pt",
        "r-00010.pt",
    ]


def test_the_metric_history_decides_best_and_stop_and_forgets_an_abandoned_timeline(
    tmp_path: Path,
) -> None:
    path = tmp_path / "metric_history.json"
    history = MetricHistory(path, "NM/rank1", "max", patience=2)
    for iteration, value in ((2, 50.0), (4, 70.0), (6, 70.0)):
        history.record(iteration, {"NM/rank1": value, "BG/rank1": 1.0})
        assert not history.should_stop()
    assert history.best == 4 and history.tests_since_best() == 1
    history.record(8, {"NM/rank1": 60.0})
    assert history.should_stop()  # two tests (6, 8) without a better one
    resumed = MetricHistory(path, "NM/rank1", "max", patience=2)
    resumed.load(up_to=4)
    assert resumed.values == {2: 50.0, 4: 70.0} and not resumed.should_stop()
    low = MetricHistory(tmp_path / "low.json", "EER", "min", patience=0)
    for iteration, value in ((2, 5.0), (4, 3.0), (6, 4.0)):
        low.record(iteration, {"EER": value})
    assert low.best == 4 and not low.should_stop()
    with pytest.raises(ConfigError, match=r"no 'NM/rank9'; it gave: BG/rank1, NM/rank1"):
        MetricHistory(path, "NM/rank9", "max", 0).record(10, {"NM/rank1": 1.0, "BG/rank1": 2.0})


# the config --------------------------------------------------------------------------------


def _config(
    tmp_path: Path, tiny_dataset, trainer: str = "", optimizer: str = "", scheduler: str = ""
) -> Path:
    root, partition = tiny_dataset
    text = small_config(root, partition, total_iter=4)
    text = text.replace(
        "  save_name: small\n  total_iter", f"  save_name: small\n{trainer}  total_iter"
    )
    text = text.replace("optimizer_cfg: {", "optimizer_cfg: {" + optimizer)
    text = text.replace("scheduler_cfg: {", "scheduler_cfg: {" + scheduler)
    path = tmp_path / "staples.yaml"
    path.write_text(text)
    return path


@pytest.mark.parametrize(
    "override, expected",
    [
        ("optimizer_cfg.clip_grad_norm=-1", "optimizer_cfg.clip_grad_norm: expected a number"),
        ("optimizer_cfg.clip_grad_value=big", "optimizer_cfg.clip_grad_value: expected"),
        ("scheduler_cfg.warmup_factor=2", "scheduler_cfg.warmup_factor: expected a number <= 1"),
        (
            "trainer_cfg.grad_accumulation=0",
            "trainer_cfg.grad_accumulation: expected a whole number >= 1",
        ),
        ("trainer_cfg.best_mode=up", "trainer_cfg.best_mode: expected one of max, min"),
        ("trainer_cfg.best_metric=NM/rank1", "trainer_cfg.with_test is off"),
        ("trainer_cfg.early_stop_patience=2", "trainer_cfg.best_metric, which is not set"),
    ],
)
def test_a_bad_staple_setting_is_one_line_naming_the_key(
    tmp_path: Path, tiny_dataset, monkeypatch, override: str, expected: str
) -> None:
    monkeypatch.chdir(tmp_path)
    result = CliRunner().invoke(
        app, ["train", str(_config(tmp_path, tiny_dataset)), "--set", override]
    )
    assert result.exit_code != 0
    assert expected in result.output, result.output
    assert not list(tmp_path.glob("output/**/*.pt"))


def test_check_lists_the_staples_and_none_by_default(
    tmp_path: Path, tiny_dataset, monkeypatch
) -> None:
    monkeypatch.chdir(tmp_path)
    config = _config(
        tmp_path,
        tiny_dataset,
        trainer="  grad_accumulation: 3\n  ema_decay: 0.99\n",
        optimizer="clip_grad_norm: 2, ",
        scheduler="warmup_iters: 10, ",
    )
    from gaitgen.runtime.engine.check import check_config_file

    report = check_config_file(config).format()
    line = next(row for row in report.splitlines() if row.startswith("staples"))
    assert "gradient norm clipped to 2" in line and "3 batches of 2 x 2 per optimizer step" in line
    assert "warmup over 10 iterations" in line and "weight EMA (decay 0.99)" in line
    plain = check_config_file(_config(tmp_path, tiny_dataset)).format()
    assert "staples         none" in plain


# end to end: resume is exact, keep_last, use_ema -----------------------------------------------


def _train(config: Path, *args: str):
    result = CliRunner().invoke(app, ["train", str(config), *args])
    assert result.exit_code == 0, result.output
    return result


def test_every_staple_resumes_bit_for_bit_and_test_can_use_the_ema(
    tmp_path: Path, tiny_dataset, monkeypatch
) -> None:
    monkeypatch.chdir(tmp_path)
    config = _config(
        tmp_path,
        tiny_dataset,
        trainer="  grad_accumulation: 2\n  ema_decay: 0.9\n  keep_last: 1\n",
        optimizer="clip_grad_norm: 0.5, ",
        scheduler="warmup_iters: 3, warmup_factor: 0.1, ",
    )
    _train(config, "--set", "trainer_cfg.save_name=whole")
    cut = ["--set", "trainer_cfg.save_name=cut"]
    _train(config, *cut, "--set", "trainer_cfg.total_iter=2")
    _train(config, *cut, "--iter", "2")
    whole_dir = tmp_path / "output" / "tiny" / "Baseline" / "whole" / "checkpoints"
    cut_dir = whole_dir.parent.parent / "cut" / "checkpoints"
    assert sorted(p.name for p in whole_dir.iterdir()) == ["whole-00004.pt"]  # keep_last: 1
    whole = load_checkpoint(whole_dir / "whole-00004.pt")
    again = load_checkpoint(cut_dir / "cut-00004.pt")
    for entry in ("model", "ema"):
        for key, value in whole[entry].items():
            assert torch.equal(value, again[entry][key]), (entry, key)
    assert whole["warmup"] == again["warmup"] and whole["warmup"]["steps"] == 3
    assert (
        whole["optimizer"]["param_groups"][0]["lr"] == again["optimizer"]["param_groups"][0]["lr"]
    )
    assert not torch.equal(whole["ema"]["FCs.fc_bin"], whole["model"]["FCs.fc_bin"])

    from gaitgen.runtime.engine.build import build_model
    from gaitgen.runtime.engine.restore import restore_checkpoint
    from gaitgen.runtime.engine.run import load_run

    sets = ["evaluator_cfg.save_name=whole", "evaluator_cfg.use_ema=true"]
    run = load_run(config, sets)
    model = build_model(run.cfgs, run.project, is_training=False)
    restore_checkpoint(run, "test", model, "latest")
    assert torch.equal(model.state_dict()["FCs.fc_bin"], whole["ema"]["FCs.fc_bin"])
    run = load_run(config, ["evaluator_cfg.save_name=whole"])
    restore_checkpoint(run, "test", model, "latest")
    assert torch.equal(model.state_dict()["FCs.fc_bin"], whole["model"]["FCs.fc_bin"])
    plain = {k: v for k, v in whole.items() if k != "ema"}
    from gaitgen.runtime.engine.restore import ema_weights

    with pytest.raises(CheckpointError, match="has no 'ema' entry.*evaluator_cfg.use_ema: false"):
        ema_weights(plain, whole_dir / "whole-00004.pt")


def test_early_stopping_stops_at_the_first_test_without_improvement_and_keeps_the_best(
    tmp_path: Path, tiny_dataset, monkeypatch
) -> None:
    monkeypatch.chdir(tmp_path)
    config = _config(
        tmp_path,
        tiny_dataset,
        trainer=(
            "  with_test: true\n  keep_last: 1\n  best_metric: NM/rank1\n"
            "  early_stop_patience: 1\n"
        ),
    )
    # the metric the tiny test gives, made constant: the first test is the best, the second
    # is no better, so training stops at the second save (4) and not at total_iter (8)
    monkeypatch.setattr(
        "gaitgen.runtime.engine.with_test.evaluate_during_training",
        lambda run, ctx, model, staples, iteration: {"NM/rank1": 90.0},
    )
    _train(config, "--set", "trainer_cfg.total_iter=8")
    folder = tmp_path / "output" / "tiny" / "Baseline" / "small"
    assert sorted(p.name for p in (folder / "checkpoints").iterdir()) == [
        "small-00002.pt",  # the best, kept by keep_last: 1
        "small-00004.pt",
    ]
    history = json.loads((folder / "metric_history.json").read_text())
    assert history["values"] == {"2": 90.0, "4": 90.0}  # no test at 6: it stopped at 4
