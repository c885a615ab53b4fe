"""``gaitgen check``: build everything a config names and run one step, writing nothing.

The dry run a researcher wants before a long job: the config resolved, the model, losses,
optimizer and scheduler built, one batch of the training loader and one of the test loader
(the test one as the test phase feeds it: whole sequences joined along the frame axis, with
``seqL``), one training step (forward, loss, backward, optimizer and scheduler step, with the
training staples the config turns on, listed) and one inference forward. The report gives parameters (total and per top-level module), FLOPs per
sequence (``torch.utils.flop_counter``), the step's peak memory and time, the shapes of
every ``training_feat`` / ``inference_feat`` entry and which loss gets which key.

Nothing under ``output/`` is touched. A SynthGait config's dataset is generated if missing
(that writes the ``data/`` folder the config names, as ``train`` would).

    report = check_config_file("configs/baseline.yaml", ["trainer_cfg.total_iter=10"])
    print(report.format())
    raise SystemExit(0 if report.ok else 1)
"""

from __future__ import annotations

import contextlib
import logging
import sys
import time
from collections.abc import Iterator, Mapping
from pathlib import Path
from typing import Any

import torch

from ..components import using_project
from ..config.schema import data_blocks
from ..data.batch import is_two_views
from ..distributed import DistContext, choose_device
from ..errors import GaitgenError
from ..model import PRETREATMENT, overrides_pretreatment
from .build import build_losses, build_model, check_schedule_length
from .check_report import (
    CheckReport,
    PeakMemory,
    attempt,
    batch_text,
    count_text,
    shape_text,
)
from .parameters import count_parameters
from .run import Run, console_handler, ensure_synthetic_data, load_run
from .staples import Staples
from .step import InferenceStep, NonFiniteLoss, TrainStep, model_inputs


def _parameters(model: torch.nn.Module) -> tuple[int, list[tuple[str, int]]]:
    children = [(name, count_parameters(child)) for name, child in model.named_children()]
    return count_parameters(model), children


def _first_batch(
    cfgs: dict[str, Any], training: bool, device: torch.device, raw: bool = False
) -> tuple[list, int]:
    """One batch of the training or test loader, and the number of sequences of its set
    (``raw``: OpenGait's raw batch, for a model that overrides ``inputs_pretreament``)."""
    from ..data import build_loader

    loader = build_loader(cfgs, training=training, device_type=device.type, raw_batches=raw)
    batches = iter(loader)
    try:
        batch = next(batches)
    except StopIteration:
        section = "trainer_cfg" if training else "evaluator_cfg"
        raise GaitgenError(f"{section}.sampler: the loader yielded no batch") from None
    finally:
        batches.close()  # shuts the workers down
    return batch, len(loader.dataset)


def _loss_rows(report: CheckReport, training_feat: Mapping[str, Any], losses: Any) -> bool:
    """Which loss each ``training_feat`` key feeds, with the shapes of its arguments.

    Returns whether every key has its loss and every loss its key (the aggregator's rule).
    """
    for key, value in training_feat.items():
        if isinstance(value, Mapping):
            args = ", ".join(f"{name} {shape_text(v)}" for name, v in value.items())
            fed = [
                type(losses.losses[prefix]).__name__
                + ("" if prefix == key else f" (log_prefix {prefix!r}, inputs_from)")
                for prefix in losses.prefixes
                if losses.source_of(prefix) == key
            ]
            report.add("", f"{key}: {args} -> {', '.join(fed) or 'NO LOSS'}")
        elif isinstance(value, torch.Tensor):
            report.add("", f"{key}: {shape_text(value)} -> added to the loss sum as is")
        else:
            report.add("", f"{key}: {type(value).__name__} -> not a dict or tensor")
    problems = losses.routing_problems(training_feat)
    report.problems.extend(problems)
    return not problems


def ignored_config_keys(run: Run) -> list[str] | None:
    """The warning line of each key OpenGait accepts and ignores (gaitgen ignores it too).

    Returns ``None`` when this runtime's config package has no ``ignored_keys``.
    """
    from .. import config

    finder = getattr(config, "ignored_keys", None)
    if not callable(finder):
        return None
    found = finder(run.config_path, run.overrides)
    return [item.message() if hasattr(item, "message") else str(item) for item in found]


def check_config_file(
    config_path: Path | str,
    overrides: list[str] | None = None,
    device: str | None = None,
) -> CheckReport:
    """Build and dry-run everything a config names; see the module docstring.

    Raises:
        ConfigError: the config itself cannot be read or merged (nothing else can be checked).
    """
    run = load_run(config_path, overrides)
    report = CheckReport()
    where = f"project {run.project.package} at {run.project.root}" if run.project else "no project"
    report.add("config", f"{run.config_path} ({where}; {len(run.overrides)} --set overrides)")
    dev = choose_device(device)
    report.add("device", str(dev))
    torch.manual_seed(int(run.cfgs["trainer_cfg"].get("seed", 0)))
    _check_ignored(report, run)
    attempt(report, "evaluator_cfg", lambda: _check_evaluation(report, run))
    with using_project(run.project):  # the loaders' samplers and transforms may be its own
        batches = _check_data(report, run, dev)
        parts = _build(report, run, dev)
        if parts is not None:
            _check_steps(report, run, dev, *parts, *batches)
    return report


def _check_evaluation(report: CheckReport, run: Run) -> None:
    """The protocol the test phase will use, and its settings (what ``gaitgen test`` checks
    before it embeds anything)."""
    from ..evaluation.config import evaluation_settings

    chosen = evaluation_settings(run.cfgs)
    name = chosen.protocol.name if chosen.protocol is not None else chosen.dataset
    metric = f", metric {chosen.settings.metric}" if "metric" in chosen.function.options else ""
    line = f"{name} ({chosen.function.name}{metric})"
    for key, names in (chosen.settings.partition or {}).items():
        line += f"; {len(names)} names in the partition's {key}"
    report.add("evaluation", line)


def _check_ignored(report: CheckReport, run: Run) -> None:
    ignored = ignored_config_keys(run)
    if ignored is None:
        return
    if not ignored:
        report.add("ignored keys", "none")
        return
    report.add("ignored keys", f"{len(ignored)}, accepted as OpenGait does (notes below)")
    report.notes += ignored


@contextlib.contextmanager
def _runtime_lines_on_stdout() -> Iterator[None]:
    """The runtime's INFO lines (``generating the synthgait dataset ...``) on stdout meanwhile,
    without time stamps: the report around them has none."""
    logger = logging.getLogger("gaitgen")
    handler = console_handler(sys.stdout, logging.INFO, logging.Formatter("%(message)s"))
    level = logger.level
    logger.addHandler(handler)
    logger.setLevel(logging.INFO)
    try:
        yield
    finally:
        logger.removeHandler(handler)
        logger.setLevel(level)


def _check_data(report: CheckReport, run: Run, dev: torch.device) -> tuple[Any, Any]:
    """The first training and test batches (``None`` for a loader that failed)."""
    from ..testing import random_batch

    def generate() -> bool:
        # generating takes a minute or two on a laptop: its lines say why nothing else is
        # printed meanwhile (or that the machine's cached copy was linked instead)
        with _runtime_lines_on_stdout():
            ensure_synthetic_data(run, DistContext())
        return True

    if attempt(report, "data_cfg.synthetic", generate) is None:
        report.add("data", "not checked (see the problems)")
        return random_batch(run.cfgs), None
    raw = _model_pretreats(run)
    train = attempt(report, "trainer_cfg.sampler", lambda: _first_batch(run.cfgs, True, dev, raw))
    test = attempt(report, "evaluator_cfg.sampler", lambda: _first_batch(run.cfgs, False, dev, raw))
    root = ", ".join(str(block.get("dataset_root")) for block in data_blocks(run.cfgs))
    if train is not None:
        report.add("train data", f"{train[1]} sequences in {root}")
        report.add("train batch", batch_text(train[0]))
    if test is not None:
        report.add("test data", f"{test[1]} sequences")
        report.add("test batch", batch_text(test[0]))
    if train is None:  # the model is still checked, on a random batch of the expected shape
        report.add("train batch", "random (the training loader failed)")
    return (train[0] if train else random_batch(run.cfgs)), (test[0] if test else None)


def _model_pretreats(run: Run) -> bool:
    """Whether the config's model overrides ``inputs_pretreament`` (its batches come raw);
    False when the model cannot be found (building it reports why)."""
    from ..components import get

    try:
        return overrides_pretreatment(get("model", run.cfgs["model_cfg"]["model"], run.project))
    except (GaitgenError, KeyError, TypeError):
        return False


def _build(report: CheckReport, run: Run, dev: torch.device) -> tuple[Any, Any, Any, Any] | None:
    """Model, losses, optimizer and scheduler; each that fails is one problem, and the
    others are still built (the optimizer on a stand-in parameter if the model failed)."""
    from ..components import build

    def model_part() -> Any:
        model = build_model(run.cfgs, run.project, is_training=True).to(dev)
        total, children = _parameters(model)
        report.add("model", f"{type(model).__name__}: {total:,} parameters")
        for name, count in children:
            report.add("", f"{name}: {count:,}")
        return model

    def loss_part() -> Any:
        losses = build_losses(run.cfgs, run.project).to(dev)
        names = ", ".join(f"{k} ({type(v).__name__})" for k, v in losses.losses.items())
        report.add("losses", names)
        return losses

    model = attempt(report, "model_cfg", model_part)
    losses = attempt(report, "loss_cfg", loss_part)
    # the model's hooks, as the trainer builds them; a stand-in parameter without a model
    stand_in = [torch.nn.Parameter(torch.zeros(1))]

    def optimizer_part() -> Any:
        if model is None:
            return build("optimizer", run.cfgs["optimizer_cfg"], stand_in)
        model.optimizer = model.get_optimizer(run.cfgs["optimizer_cfg"])
        return model.optimizer

    def scheduler_part() -> Any:
        if model is None:
            scheduler = build("scheduler", run.cfgs["scheduler_cfg"], optimizer)
        else:
            scheduler = model.get_scheduler(run.cfgs["scheduler_cfg"])
        check_schedule_length(scheduler, run.cfgs, str(run.config_path))
        return scheduler

    optimizer = attempt(report, "optimizer_cfg", optimizer_part)
    scheduler = attempt(report, "scheduler_cfg", scheduler_part) if optimizer is not None else None
    if optimizer is not None and scheduler is not None:
        lr = optimizer.param_groups[0]["lr"]
        report.add(
            "optimizer", f"{type(optimizer).__name__} (lr {lr:g}); {type(scheduler).__name__}"
        )
    parts = (model, losses, optimizer, scheduler)
    return None if any(part is None for part in parts) else parts


def _check_steps(
    report: CheckReport,
    run: Run,
    dev: torch.device,
    model: Any,
    losses: Any,
    optimizer: Any,
    scheduler: Any,
    train_batch: list[Any],
    test_batch: list[Any] | None,
) -> None:
    """One training step and one inference forward, with shapes, FLOPs, memory and time.

    The FLOPs are counted during the forward passes themselves (FlopCounterMode costs a few
    microseconds per operator, nothing next to the convolutions), so each runs once.
    """
    from torch.utils.flop_counter import FlopCounterMode

    name = type(model).__name__
    enable_float16 = bool(run.cfgs["trainer_cfg"]["enable_float16"])
    staples = attempt(
        report, "trainer_cfg", lambda: Staples.from_config(run.cfgs, model, optimizer)
    )
    if staples is not None:
        sizes = run.cfgs["trainer_cfg"]["sampler"].get("batch_size")
        batch = " x ".join(map(str, sizes)) if isinstance(sizes, list) else sizes
        report.add("staples", staples.describe(batch))
    step = TrainStep(
        model, losses, optimizer, scheduler, dev, enable_float16=enable_float16, staples=staples
    )
    counter = FlopCounterMode(display=False)

    prepared: list[Any] = []

    def train_step() -> float | None:
        model.train()
        prepared.append(model_inputs(model, train_batch, dev))
        inputs = prepared[0]
        started = time.perf_counter()
        with counter:
            output = step.forward(inputs)
        if not _loss_rows(report, output["training_feat"], losses):
            return None  # reported key by key; the aggregator would only repeat it
        loss, info = step.loss(output)
        try:
            step.update(loss, info, iteration=0)
        except NonFiniteLoss as exc:
            raise GaitgenError(
                f"{name}: the loss of the first step is not finite ({exc.loss_sum})"
            ) from None
        if dev.type == "cuda":
            torch.cuda.synchronize(dev)
        return time.perf_counter() - started

    report.add("training_feat", "")
    memory = PeakMemory(dev)
    with memory:
        seconds = attempt(report, f"{name}.forward (train)", train_step)
    if seconds is None:
        return
    if not any(p.grad is not None for p in model.parameters()):
        report.problems.append(f"{name}: no parameter received a gradient from the loss")
    sequences = len(train_batch[1])  # a two-view batch: both views of each sequence
    ipts = prepared[0][0]
    frames = (ipts[0] if is_two_views(ipts) else ipts)[0].shape[1]
    flops = counter.get_total_flops() / sequences
    report.add("FLOPs/seq", f"{count_text(flops)} (train forward, {frames} frames)")
    report.add("memory", memory.text())
    report.add(
        "train step",
        f"{seconds:.3f} s for {sequences} seq: forward, loss, backward, optimizer "
        "(the first step, warm-up included)",
    )
    if test_batch is not None:
        evaluator_float16 = bool(run.cfgs["evaluator_cfg"]["enable_float16"])
        step = InferenceStep(model, dev, evaluator_float16)
        _check_inference(report, step, test_batch, _evaluation_reads(run))


def _evaluation_reads(run: Run) -> str:
    """The input kind of the test phase's evaluation function (``embeddings`` when the
    config names none it knows: that is reported by the evaluation line)."""
    from ..evaluation.dispatch import get_function
    from ..evaluation.functions import EMBEDDINGS

    try:
        return get_function(run.cfgs["evaluator_cfg"].get("eval_func") or "identification").inputs
    except GaitgenError:
        return EMBEDDINGS


def _check_inference(
    report: CheckReport, step: InferenceStep, test_batch: list[Any], reads: str
) -> None:
    """The eval-mode forward on the test batch: what the evaluation reads (embeddings
    [n, c, p], or segmentation's pred/mask), FLOPs, time."""
    from torch.utils.flop_counter import FlopCounterMode

    from ..evaluation.functions import EMBEDDINGS, INPUT_ARRAYS

    name = type(step.model).__name__
    sequences = len(test_batch[1])
    counter = FlopCounterMode(display=False)
    step.model.eval()
    inputs = attempt(
        report, f"{name}.{PRETREATMENT}", lambda: model_inputs(step.model, test_batch, step.device)
    )
    if inputs is None:
        return

    def forward() -> tuple[dict, float]:
        started = time.perf_counter()
        with counter:
            output = step.forward(inputs)
        if step.device.type == "cuda":
            torch.cuda.synchronize(step.device)
        return output, time.perf_counter() - started

    result = attempt(report, f"{name}.forward (eval)", forward)
    if result is None:
        return
    output, seconds = result
    report.add("inference_feat", "")
    for key, value in output["inference_feat"].items():
        report.add("", f"{key}: {shape_text(value)}")
    if reads == EMBEDDINGS:
        attempt(report, f"{name}.forward (eval)", lambda: step.embeddings(output, inputs))
    else:
        named = INPUT_ARRAYS[reads]
        attempt(report, f"{name}.forward (eval)", lambda: step.named_arrays(output, named))
    seq_l = inputs[4]
    frames = float(seq_l.float().mean()) if seq_l is not None else float(inputs[0][0].shape[1])
    flops = counter.get_total_flops() / sequences
    report.add("FLOPs/seq", f"{count_text(flops)} (inference, {frames:.0f} frames on average)")
    per_seq = seconds / sequences * 1000
    report.add("eval forward", f"{seconds:.3f} s for {sequences} seq ({per_seq:.1f} ms/seq)")
