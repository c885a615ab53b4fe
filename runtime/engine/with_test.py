"""``trainer_cfg.with_test``: the test phase at a checkpoint of a training run.

The weights are tested (and, with ``trainer_cfg.ema_decay``, their EMA, whose results are
named ``ema/<name>``); the trainer writes the headline results to the summaries as
``scalar/test/<name>`` and ``trainer_cfg.best_metric`` to the run's
:class:`.staples.MetricHistory`. The random states
are the same after the test as before it, so a run resumed from the checkpoint goes on exactly
as the uninterrupted run does (the test loader draws a seed, a transform may draw more).
"""

from __future__ import annotations

import logging

import torch

from ..checkpoint import rng_state, set_rng_state
from ..distributed import DistContext
from .run import Run
from .staples import Staples

log = logging.getLogger("gaitgen")


def evaluate_during_training(
    run: Run, ctx: DistContext, model: torch.nn.Module, staples: Staples, iteration: int
) -> dict[str, float]:
    """Test the weights (and their EMA) at ``iteration``, leaving the random states as they
    were. The caller puts the network back in training mode afterwards.

    Returns:
        The headline results (``NM/rank1``..., ``ema/NM/rank1``...) on rank 0; {} elsewhere.
    """
    from .tester import headline_scalars, run_inference_and_evaluate

    states = rng_state()
    benchmark = torch.backends.cudnn.benchmark
    torch.backends.cudnn.benchmark = False  # test sequences come in many lengths
    scalars: dict[str, float] = {}
    try:
        model.eval()
        if staples.ema is not None:
            log.info("testing the EMA of the weights (trainer_cfg.ema_decay) at %d", iteration)
            with staples.ema.in_model(model):
                result = run_inference_and_evaluate(run, ctx, model)
            if result is not None:
                scalars.update({f"ema/{k}": v for k, v in headline_scalars(result).items()})
            log.info("testing the weights at %d", iteration)
        result = run_inference_and_evaluate(run, ctx, model)
        if result is not None:
            scalars.update(headline_scalars(result))
    finally:
        torch.backends.cudnn.benchmark = benchmark
        set_rng_state(states)
    return scalars
