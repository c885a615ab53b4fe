"""``python -m gaitgen.runtime``: OpenGait's entry point, for scripts and clusters.

One process (CUDA if present, else CPU)::

    python -m gaitgen.runtime --cfgs configs/baseline.yaml --phase train
    python -m gaitgen.runtime --cfgs configs/baseline.yaml --phase test --iter 2000

Several processes on one machine (gloo on CPU, NCCL on CUDA)::

    torchrun --nproc-per-node 4 -m gaitgen.runtime --cfgs configs/baseline.yaml --phase train

Two machines (run on each, with its --node-rank)::

    torchrun --nnodes 2 --node-rank 0 --nproc-per-node 8 --rdzv-backend c10d \\
        --rdzv-endpoint host0:29500 -m gaitgen.runtime --cfgs CONFIG --phase train

Under SLURM, ``srun python -m gaitgen.runtime ...`` joins the job's tasks by itself.
"""

from __future__ import annotations

import argparse
import shlex
import sys
from pathlib import Path
from typing import Any

from .error_report import phase as stage
from .error_report import report_error
from .errors import ConfigError

DEBUG_HINT = "add --debug for the traceback"


def parse_args(argv: list[str] | None = None) -> argparse.Namespace:
    parser = argparse.ArgumentParser(
        prog="python -m gaitgen.runtime",
        description="Train or test a gait model (OpenGait's flags).",
    )
    parser.add_argument("--cfgs", required=True, help="the YAML config")
    parser.add_argument("--phase", choices=("train", "test"), default="train")
    parser.add_argument(
        "--iter",
        type=int,
        default=0,
        help="restore this iteration (train: resume; test: evaluate it)",
    )
    parser.add_argument("--log_to_file", action="store_true", help="also log to <run>/logs/")
    parser.add_argument(
        "--overwrite",
        action="store_true",
        help="train: start afresh even if the run folder holds checkpoints (deletes them)",
    )
    parser.add_argument(
        "--force",
        action="store_true",
        help="train: resume even though the config changes the run's model, batch or frames",
    )
    parser.add_argument(
        "--set",
        dest="overrides",
        action="append",
        default=[],
        metavar="KEY=VALUE",
        help="override a config value, e.g. trainer_cfg.total_iter=200 (repeatable)",
    )
    parser.add_argument(
        "--device",
        choices=("cpu", "cuda"),
        default=None,
        help="default: cuda when available, else cpu",
    )
    parser.add_argument("--debug", action="store_true", help="show tracebacks")
    parser.add_argument(
        "--local_rank", "--local-rank", type=int, default=None, help=argparse.SUPPRESS
    )  # accepted for OpenGait's launch scripts; LOCAL_RANK wins
    return parser.parse_args(argv)


def check_iteration_option(iteration: int, phase: str) -> int:
    """``--iter``'s value, checked where the option is read (``gaitgen train/test/extract``
    and ``python -m gaitgen.runtime``): a checkpoint's iteration, or 0 for the default.

    Args:
        iteration: the option's value.
        phase: ``train`` (0: the config's ``restore_hint``, a fresh run by default),
            ``test`` or ``extract`` (0: the latest checkpoint).

    Raises:
        ConfigError: a negative value, naming the option and what it takes.
    """
    if iteration < 0:
        zero = (
            "a fresh run (or the config's trainer_cfg.restore_hint)"
            if phase == "train"
            else "the latest checkpoint"
        )
        raise ConfigError(
            f"--iter {iteration}: not an iteration; give the positive iteration of a "
            f"checkpoint of the run, or 0 (or leave --iter out) for {zero}"
        )
    return iteration


def run_phase(
    config: str | Path,
    phase: str,
    overrides: list[str] | None = None,
    iteration: int = 0,
    log_to_file: bool = False,
    device: str | None = None,
    overwrite: bool = False,
    force: bool = False,
) -> object:
    """Run one phase in this process (joining a torchrun/SLURM process group if there is one)."""
    from . import distributed
    from .components import using_project
    from .engine.run import load_run

    overrides = list(overrides or [])
    if iteration:
        overrides += [
            f"trainer_cfg.restore_hint={iteration}",
            f"evaluator_cfg.restore_hint={iteration}",
        ]
    with stage(f"the {phase} phase", config), stage("loading the config"):
        run = load_run(config, overrides)
    ctx = distributed.setup(device)
    try:
        # samplers, transforms... may be the project's own
        with stage(f"the {phase} phase", config), using_project(run.project):
            return _run(run, ctx, phase, iteration, log_to_file, overwrite, force)
    finally:
        distributed.cleanup()


def _run(
    run: Any,
    ctx: Any,
    phase: str,
    iteration: int,
    log_to_file: bool,
    overwrite: bool,
    force: bool,
) -> object:
    """One phase of a loaded run, its logging set up and its synthetic data made."""
    import time

    from .engine.run import ensure_synthetic_data, setup_logging

    log_file = None
    if log_to_file or run.cfgs["trainer_cfg"].get("log_to_file"):
        log_file = run.run_folder(phase).log_file(phase, time.strftime("%Y%m%d-%H%M%S"))
    setup_logging(ctx, log_file)
    with stage("making the synthetic dataset"):
        ensure_synthetic_data(run, ctx)
    if phase == "train":
        from .engine.trainer import Trainer

        Trainer(run, ctx, overwrite=overwrite, force=force).fit()
        return None
    from .engine.tester import test

    return test(run, ctx, iteration or None)


def main(argv: list[str] | None = None) -> int:
    """Run ``python -m gaitgen.runtime ARGS``; a failure is one ``error:`` line and its exit code."""
    args = parse_args(argv)
    try:
        check_iteration_option(args.iter, args.phase)
        run_phase(
            args.cfgs,
            args.phase,
            args.overrides,
            args.iter,
            args.log_to_file,
            args.device,
            args.overwrite,
            args.force,
        )
    except (Exception, KeyboardInterrupt) as exc:  # noqa: BLE001 - the one rule: report_error
        words = sys.argv[1:] if argv is None else argv
        command = "python -m gaitgen.runtime " + shlex.join(words)
        return report_error(exc, debug=args.debug, debug_hint=DEBUG_HINT, command=command)
    return 0
