"""The test phase: embeddings of the whole test set, the evaluation, the result files.

Each rank embeds its contiguous shard of the test set; the shards are gathered in rank
order (= dataset order), and rank 0 evaluates and writes ``results.json``, the heatmaps and
``embeddings.npz`` into the run folder. DDP is not used here: inference needs no gradients.
"""

from __future__ import annotations

import json
import logging
from collections.abc import Sequence
from dataclasses import dataclass
from typing import Any

import torch

from ..config.schema import test_data_cfg
from ..distributed import DistContext, all_gather_rows
from ..error_report import phase
from ..errors import CheckpointError, ConfigError, TrainingError
from ..model import BaseModel, overrides_pretreatment
from ..progress import ProgressBar
from .build import build_model
from .restore import Restored, restore_checkpoint
from .run import Run
from .step import InferenceStep
from .summary import SummaryWriter

log = logging.getLogger("gaitgen")


def restore_for_test(run: Run, model: BaseModel, iteration: int | None) -> Restored:
    """Load the checkpoint to evaluate; returns it (its file and iteration).

    ``iteration`` (``--iter``) wins over ``evaluator_cfg.restore_hint``; a hint of 0 means the
    latest checkpoint of the run (OpenGait would evaluate untrained weights).
    """
    hint = iteration or run.cfgs["evaluator_cfg"]["restore_hint"] or "latest"
    restored = restore_checkpoint(run, "test", model, hint)
    if restored is None:
        raise CheckpointError(
            f"no checkpoint to test in {run.run_folder('test').checkpoint_dir}: train first "
            f"('gaitgen train {run.config_path}') or set evaluator_cfg.restore_hint "
            "to a checkpoint file"
        )
    return restored


def embed_test_set(run: Run, ctx: DistContext, model: BaseModel) -> tuple[torch.Tensor, Any]:
    """Embeddings [N, c, p] of the test set in dataset order (on every rank), and the dataset.

    Each batch goes through one :class:`.step.InferenceStep` (``evaluator_cfg.enable_float16``
    autocast; one embedding per sequence, checked).
    """
    outputs = collect_test_outputs(run, ctx, model)
    return outputs.features, outputs.dataset


@dataclass
class TestOutputs:
    """What the model gave for the whole test set, in dataset order.

    Attributes:
        features: ``[N, c, p]`` embeddings, one per sequence (``None`` when the evaluation
            reads none).
        arrays: the other named arrays of ``inference_feat`` the evaluation reads, each
            concatenated along its first axis (segmentation's ``pred``/``mask``: frames).
        dataset: the test dataset (its ``label_list``, ``types_list``, ``views_list``).
    """

    features: torch.Tensor | None
    arrays: dict[str, torch.Tensor]
    dataset: Any


@torch.no_grad()
def collect_test_outputs(
    run: Run,
    ctx: DistContext,
    model: BaseModel,
    embeddings: bool = True,
    arrays: Sequence[str] = (),
) -> TestOutputs:
    """The test set through the model (on every rank): its embeddings (when ``embeddings``)
    and the named ``inference_feat`` arrays an evaluation reads besides them.

    Each batch goes through one :class:`.step.InferenceStep` (``evaluator_cfg.enable_float16``
    autocast; one embedding per sequence, checked). The named arrays are kept on the CPU
    (a test set's frames can be large) and gathered rank by rank.
    """
    from ..data import build_loader

    loader = build_loader(
        run.cfgs,
        training=False,
        rank=ctx.rank,
        world_size=ctx.world_size,
        device_type=ctx.device.type,
        raw_batches=overrides_pretreatment(model),  # its inputs_pretreament transforms
    )
    step = InferenceStep(model, ctx.device, bool(run.cfgs["evaluator_cfg"]["enable_float16"]))
    was_training = model.training
    model.eval()
    pieces = []
    named: dict[str, list[torch.Tensor]] = {name: [] for name in arrays}
    # this rank's sequences (a bar only on rank 0, on a terminal, when not --quiet)
    shard = len(getattr(loader.batch_sampler, "shard_indices", loader.dataset))
    with ProgressBar(shard, "embedding", unit="seq") as bar:
        for inputs in loader:
            features, batch_arrays = step.outputs(inputs, embeddings, arrays)
            if features is not None:
                pieces.append(features.float())
            for name, value in batch_arrays.items():
                named[name].append(value.cpu())
            bar.advance(len(inputs[1]))  # labs: one per sequence, also when joined with seqL
    model.train(was_training)
    dataset = loader.dataset
    gathered = {
        name: _gather(ctx, torch.cat(values) if values else None) for name, values in named.items()
    }
    if not embeddings:
        return TestOutputs(None, gathered, dataset)
    local = torch.cat(pieces) if pieces else torch.zeros(0, 0, 0, device=ctx.device)
    features = all_gather_rows(local) if ctx.distributed else local
    if features.shape[0] != len(dataset):
        raise TrainingError(
            f"gathered {features.shape[0]} embeddings for {len(dataset)} test "
            "sequences; the inference sampler must cover the test set exactly once"
        )
    return TestOutputs(features.cpu(), gathered, dataset)


def _gather(ctx: DistContext, local: torch.Tensor | None) -> torch.Tensor:
    """A named array of every rank, in rank order, on the CPU (an empty shard: no rows)."""
    if local is None:
        local = torch.zeros(0)
    if not ctx.distributed:
        return local
    return all_gather_rows(local.to(ctx.device)).cpu()


def run_inference_and_evaluate(
    run: Run, ctx: DistContext, model: BaseModel, restored: Restored | None = None
) -> Any:
    """Embed, then (rank 0) evaluate, print the table and write the result files.

    ``results.json`` records the checkpoint evaluated (its iteration and file) and the config;
    a copy per iteration (``results-<iteration>.json``) keeps the results of earlier tests.
    """
    from ..evaluation import evaluate_from_config, save_embeddings
    from ..evaluation.config import evaluation_settings
    from ..evaluation.functions import EMBEDDINGS, INPUT_ARRAYS

    reads = evaluation_settings(run.cfgs).function.inputs
    with phase("embedding the test set"):
        outputs = collect_test_outputs(
            run, ctx, model, embeddings=reads == EMBEDDINGS, arrays=INPUT_ARRAYS[reads]
        )
    if not ctx.is_main:
        return None
    dataset = outputs.dataset
    features = outputs.features.numpy() if outputs.features is not None else None
    arrays = {name: value.numpy() for name, value in outputs.arrays.items()}
    labels, types, views = dataset.label_list, dataset.types_list, dataset.views_list
    folder = run.run_folder("test")
    with phase("evaluating"):
        result = evaluate_from_config(
            run.cfgs, features, labels, types, views, arrays=arrays, out_dir=folder.path
        )
    subset = _subset(run, dataset)
    if subset:
        result.notes.append(
            f"subset: the first {subset['identities']} of the {subset['of']} test identities "
            f"(evaluator_cfg.limit_identities, gaitgen test --limit); not comparable with a "
            "test on all of them"
        )
    print(result.format_table(), flush=True)
    tested = {"config": str(run.config_path), **({"subset": subset} if subset else {})}
    if restored is not None:
        tested = {"iteration": restored.iteration, "checkpoint": str(restored.path), **tested}
    with phase("writing the results"):
        written = result.save(folder.path, tested)
    data_cfg = test_data_cfg(run.cfgs)
    dataset_name = data_cfg.get("test_dataset_name") or data_cfg["dataset_name"]
    save_embeddings(
        folder.embeddings_file,
        features,
        labels,
        types,
        views,
        dataset_name=dataset_name,
        arrays=arrays,
    )
    log.info("wrote %s and %s", ", ".join(str(p) for p in written), folder.embeddings_file)
    return result


def _subset(run: Run, dataset: Any) -> dict[str, int] | None:
    """``{identities, of}`` when ``evaluator_cfg.limit_identities`` left some ids out."""
    limit = run.cfgs["evaluator_cfg"].get("limit_identities")
    total = getattr(dataset, "identities_total", None)
    if limit is None or total is None or limit >= total:
        return None
    return {"identities": int(limit), "of": int(total)}


def headline_scalars(result: Any) -> dict[str, float]:
    """The mean rank-1 (or rank-1/mAP; a classifier's accuracy and F1; segmentation's mean
    IoU) of each condition, for the summary writer."""
    scalars = {}
    for condition, values in result.to_dict().get("conditions", {}).items():
        for metric in ("rank1", "mAP", "accuracy", "f1", "mIOU"):
            if isinstance(values.get(metric), (int, float)):
                scalars[f"{condition}/{metric}"] = float(values[metric])
    return scalars


def _check_save_name(run: Run) -> None:
    """``gaitgen test --set trainer_cfg.save_name=X`` would test ``evaluator_cfg.save_name``'s
    run (OpenGait's rule) while the user meant X's: one line instead of the wrong run."""
    trainer = run.cfgs["trainer_cfg"].get("save_name")
    evaluator = run.cfgs["evaluator_cfg"].get("save_name")
    keys = {override.partition("=")[0].strip() for override in run.overrides}
    if trainer != evaluator and "trainer_cfg.save_name" in keys:
        if "evaluator_cfg.save_name" not in keys:
            raise ConfigError(
                f"--set trainer_cfg.save_name={trainer}: gaitgen test evaluates the run of "
                f"evaluator_cfg.save_name ({evaluator!r}); to test {trainer!r}, set "
                f"--set evaluator_cfg.save_name={trainer}"
            )


def test(run: Run, ctx: DistContext, iteration: int | None = None) -> Any:
    """The ``test`` phase: build the model, restore it, evaluate."""
    from ..evaluation.config import evaluation_settings

    _check_save_name(run)
    evaluation_settings(run.cfgs)  # a setting the evaluation refuses fails before any embedding
    torch.manual_seed(0)
    model = build_model(run.cfgs, run.project, is_training=False).to(ctx.device)
    with phase("restoring the checkpoint"):
        restored = restore_for_test(run, model, iteration)
    log.info(
        "testing %s at iteration %d (%s, run folder %s) on %s, world size %d",
        run.cfgs["model_cfg"]["model"],
        restored.iteration,
        restored.path.name,
        run.run_folder("test").path,
        ctx.device,
        ctx.world_size,
    )
    result = run_inference_and_evaluate(run, ctx, model, restored)
    if result is not None and run.cfgs["trainer_cfg"].get("loggers"):
        log_results(run, result, restored.iteration)
    return result


def log_results(run: Run, result: Any, iteration: int) -> None:
    """Send a test's results (``results.json`` as written, and its headline figures) and the
    config to the experiment loggers of ``trainer_cfg.loggers`` (rank 0; the training curves
    in ``scalars.jsonl`` are left alone)."""
    folder = run.run_folder("test")
    record = json.loads(folder.results_file.read_text(encoding="utf-8"))
    summary = SummaryWriter(
        folder.summary_dir,
        loggers=run.cfgs["trainer_cfg"]["loggers"],
        scalars_file=False,
    )
    try:
        summary.write_config(run.cfgs)
        summary.write_results(headline_scalars(result), record, iteration)
    finally:
        summary.close()
