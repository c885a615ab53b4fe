"""The training loop: one code path for one process or many (DDP through torchrun).

Per iteration: take a batch (each rank derives its slice of the same P x K batch), then one
:class:`.step.TrainStep`: forward, sum the configured losses, check the loss is finite on
every rank, backward, optimizer and scheduler steps. Every ``log_iter`` rank 0 logs the
losses, the learning rate, the speed and the share of time spent waiting for data; every ``save_iter`` (and at ``total_iter``) it
writes a checkpoint atomically. A job restarted by torchrun (``--max-restarts``) resumes from
the latest complete checkpoint of its run by itself.

Rank 0 holds the run folder's lock (:mod:`.lock`) from the start to the end; a fresh run into
a folder with checkpoints is refused unless ``overwrite`` (:mod:`.run_folder`); SIGTERM and
Ctrl-C save the current iteration and stop (:mod:`.stop`); when a step fails (a non-finite
loss) the BatchNorm statistics its forward changed are put back before the last good state
is saved.
"""

from __future__ import annotations

import logging
import os
import shlex
import shutil
import sys
import time
from collections.abc import Callable
from pathlib import Path
from typing import Any

import torch
import torch.distributed as dist
from torch.nn.parallel import DistributedDataParallel

from ..checkpoint import rng_state, save_checkpoint
from ..config import save_config
from ..distributed import DistContext, barrier, broadcast_object
from ..error_report import phase
from ..errors import ConfigError, GaitgenError, TrainingError
from ..model import overrides_pretreatment
from ..progress import ProgressBar
from .build import (
    build_losses,
    build_model,
    build_optimization,
    check_schedule_length,
    set_batchnorm_eval,
)
from .lock import lock_on_rank0
from .restore import restore_checkpoint, restore_training_state
from .run import Run
from .run_folder import continues_run, parse_checkpoint_name
from .run_settings import changed_settings, describe
from .staples import MetricHistory, Staples, restore_staples
from .step import TrainStep, loss_number
from .stop import (
    StopRequest,
    buffers_snapshot,
    exit_code_for,
    restore_buffers,
    stop_message,
    weights_finite,
)
from .summary import SummaryWriter

log = logging.getLogger("gaitgen")


class Trainer:
    """Trains the model of a run; ``fit()`` runs to ``trainer_cfg.total_iter``.

    Args:
        run: the resolved run.
        ctx: this process's place in the job.
        overwrite: a fresh run may delete the checkpoints of an earlier run of the same
            ``save_name`` (``gaitgen train --overwrite``) instead of being refused.
        force: a resume may change the settings that define the run (its model, batch,
            frames: :data:`.run_settings.DEFINING`) instead of being refused
            (``gaitgen train --force``); the difference heads ``config-<iteration>.yaml``.
    """

    def __init__(
        self, run: Run, ctx: DistContext, overwrite: bool = False, force: bool = False
    ) -> None:
        self.run = run
        self.ctx = ctx
        self.cfgs = run.cfgs
        self.engine_cfg = run.cfgs["trainer_cfg"]
        self.folder = run.run_folder("train")
        self.overwrite = overwrite
        self.force = force
        self.resumed = False
        self.changed_settings = ""  # what a --force resume changed, for its config file
        self.lock = lock_on_rank0(self.folder.path, ctx)
        try:
            self._build()
        except BaseException:
            self.close()
            raise

    def close(self) -> None:
        """Let the run folder go (rank 0's lock); fit() does it when it ends."""
        if self.lock is not None:
            self.lock.release()
            self.lock = None

    def _build(self) -> None:
        run, ctx = self.run, self.ctx
        if ctx.is_main:
            self.folder.remove_stale_files()
        torch.manual_seed(int(self.engine_cfg.get("seed", 0)))
        self.model = build_model(self.cfgs, run.project, is_training=True).to(ctx.device)
        if ctx.device.type == "cuda":
            # cuDNN picks its fastest kernels per input shape: worth it when shapes repeat
            sampling = str(self.engine_cfg["sampler"].get("sample_type", "fixed_unordered"))
            torch.backends.cudnn.benchmark = sampling.startswith("fixed")
            if self.engine_cfg.get("channels_last"):
                self.model.to(memory_format=torch.channels_last)
        if self.engine_cfg["sync_BN"] and ctx.distributed:
            if ctx.device.type == "cuda":
                self.model = torch.nn.SyncBatchNorm.convert_sync_batchnorm(self.model)
            else:  # torch's SyncBatchNorm runs on GPUs only
                log.warning(
                    "trainer_cfg.sync_BN: ignored on %s (SyncBatchNorm needs CUDA); each "
                    "process normalises its own share of the batch",
                    ctx.device.type,
                )
        self.losses = build_losses(self.cfgs, run.project).to(ctx.device)
        self.optimizer, self.scheduler = build_optimization(self.model, self.cfgs)
        self.staples = Staples.from_config(self.cfgs, self.model, self.optimizer)
        self.history = (
            MetricHistory(
                self.folder.metric_history_file,
                self.staples.best_metric,
                self.staples.best_mode,
                self.staples.patience,
            )
            if self.staples.best_metric
            else None
        )
        self.train_step = TrainStep(
            self.model,
            self.losses,
            self.optimizer,
            self.scheduler,
            ctx.device,
            enable_float16=bool(self.engine_cfg["enable_float16"]),
            distributed=ctx.distributed,
            staples=self.staples,
        )
        self.use_amp, self.scaler = self.train_step.use_amp, self.train_step.scaler
        self.iteration = 0
        with phase("restoring the checkpoint"):
            restored_from = self.restore()
        check_schedule_length(
            self.scheduler, self.cfgs, str(run.config_path), self.iteration, restored_from
        )
        self.network: torch.nn.Module = self.model
        if ctx.distributed:
            self.network = DistributedDataParallel(
                self.model,
                device_ids=[ctx.device.index] if ctx.device.type == "cuda" else None,
                find_unused_parameters=bool(self.engine_cfg["find_unused_parameters"]),
            )
        self.train_step.network = self.network

    # checkpoints -----------------------------------------------------------------------

    def restore(self) -> Path | None:
        """Restore per ``restore_hint``; after a torchrun restart, from the latest checkpoint.
        Returns the checkpoint the scheduler's state came from, if it did."""
        restart = int(os.environ.get("TORCHELASTIC_RESTART_COUNT", "0"))
        hint = "latest" if restart else self.engine_cfg["restore_hint"]
        if not continues_run(hint):
            self._prepare_fresh_run()
        elif not restart:
            self._decided_on_rank0(lambda: self._check_resume_settings(hint))
        restored = restore_checkpoint(self.run, "train", self.model, hint, self.ctx.device)
        if restored is None:
            if self.history is not None:
                self.history.load(up_to=0)
            return None
        if restart:
            log.info("restart %d: resuming from %s", restart, restored.path)
        # every entry is checked and put back before a later timeline may be dropped below
        restore_training_state(
            restored.state,
            restored.path,
            optimizer=None if self.engine_cfg["optimizer_reset"] else self.optimizer,
            scheduler=None if self.engine_cfg["scheduler_reset"] else self.scheduler,
            scaler=self.scaler if self.use_amp else None,
            rng=restored.continues,
        )
        schedule = not self.engine_cfg["scheduler_reset"]
        restore_staples(self.staples, restored.state, restored.path, schedule=schedule)
        if restored.continues:  # a file path fine-tunes from iteration 0 (OpenGait's meaning)
            self.iteration = restored.iteration
            self.resumed = True
            if not restart:  # an earlier iteration than the latest: one timeline only
                self._decided_on_rank0(
                    lambda: self.folder.refuse_or_drop_later_checkpoints(
                        restored.iteration, self.overwrite, self.run.config_path
                    )
                )
        if self.history is not None:  # the tests of this timeline, up to where it goes on
            self.history.load(up_to=self.iteration)
        log.info("restored %s (iteration %d)", restored.path, self.iteration)
        return None if self.engine_cfg["scheduler_reset"] else restored.path

    def _decided_on_rank0(self, check: Callable[[], object]) -> None:
        """Run a check of the run folder on rank 0 only (it may delete files); every rank
        raises the error it raised, as its own type, instead of waiting for it forever."""
        problem: GaitgenError | None = None
        if self.ctx.is_main:
            try:
                check()
            except GaitgenError as exc:
                problem = exc
        problem = broadcast_object(problem)
        if problem is not None:
            raise problem

    def _check_resume_settings(self, hint: Any) -> None:
        """Refuse a resume that changes what defines the run, unless ``--force``."""
        path = self.folder.resolve_restore_hint(hint, self.run.checkpoint_search)
        parsed = parse_checkpoint_name(path.name) if path is not None else None
        recorded = self.folder.recorded_config(parsed[1]) if parsed is not None else None
        if recorded is None:  # nothing recorded (a run of an older gaitgen): nothing to hold to
            return
        changes = changed_settings(recorded[1], self.cfgs)
        if not changes:
            return
        difference = describe(changes)
        if not self.force:
            raise ConfigError(
                f"{self.run.config_path}: resuming {self.folder.path} at iteration {parsed[1]} "
                f"with settings that differ from the run's ({recorded[0]}): {difference}. "
                "Resume with the run's settings, train into a new folder with --set "
                "trainer_cfg.save_name=NEW, or add --force to go on with the new ones"
            )
        log.warning("--force: resuming with settings changed from %s: %s", recorded[0], difference)
        self.changed_settings = f"resumed with --force; changed from {recorded[0]}: {difference}"

    def _forget_start(self, config_file: Path) -> None:
        """A start that failed before its first step leaves nothing that looks like a run:
        its config file goes, and a fresh run's (empty) summaries."""
        config_file.unlink(missing_ok=True)
        if not self.resumed and self.folder.summary_dir.is_dir():
            shutil.rmtree(self.folder.summary_dir, ignore_errors=True)

    def _prepare_fresh_run(self) -> None:
        """Refuse to start afresh over an earlier run's checkpoints, or clear them."""
        if not self.overwrite:
            self.folder.refuse_fresh_run_over_checkpoints(self.run.config_path)
            return
        if self.ctx.is_main:
            self.folder.clear_for_fresh_run()
        barrier()

    def save(self) -> Path | None:
        """Rank 0 writes the checkpoint of the current iteration; the others wait."""
        path = self.folder.checkpoint(self.iteration)
        if self.ctx.is_main:
            state = {
                "model": self.model.state_dict(),
                "optimizer": self.optimizer.state_dict(),
                "scheduler": self.scheduler.state_dict(),
                "scaler": self.scaler.state_dict() if self.use_amp else {},
                "iteration": self.iteration,
                "rng": rng_state(),
                **self.staples.training_state(),  # ema, warmup
            }
            save_checkpoint(path, state)
            log.info("saved checkpoint %s", path)
        if self.ctx.distributed:
            dist.barrier()
        return path

    # the loop --------------------------------------------------------------------------

    def fit(self) -> None:
        """Train to ``total_iter``; the run folder's lock is released when it returns."""
        stop = StopRequest().install()
        try:
            with phase("training"):
                self._fit(stop)
        finally:
            stop.uninstall()
            self.close()

    def _fit(self, stop: StopRequest) -> None:
        from ..data import build_loader

        total_iter = int(self.engine_cfg["total_iter"])
        log_iter = max(1, int(self.engine_cfg["log_iter"]))
        save_iter = max(1, int(self.engine_cfg["save_iter"]))
        if self.iteration >= total_iter:
            log.info("nothing to do: iteration %d >= total_iter %d", self.iteration, total_iter)
            return
        loader = build_loader(
            self.cfgs,
            training=True,
            rank=self.ctx.rank,
            world_size=self.ctx.world_size,
            seed=int(self.engine_cfg.get("seed", 0)),
            start_iteration=self.iteration * self.staples.accumulation,  # batches, not steps
            device_type=self.ctx.device.type,
            raw_batches=overrides_pretreatment(self.model),  # its inputs_pretreament transforms
        )
        first_iteration, config_file = self.iteration, None
        if self.ctx.is_main:  # the run really starts: its settings are kept beside it
            config_file = self.folder.config_file_for(self.iteration, self.resumed)
            save_config(self.cfgs, config_file, note=self.changed_settings)
        summary = SummaryWriter(
            self.folder.summary_dir,
            enabled=self.ctx.is_main,
            loggers=self.engine_cfg.get("loggers") or (),
        )
        log.info(
            "training %s on %s, world size %d, from iteration %d to %d; run folder %s",
            self.cfgs["model_cfg"]["model"],
            self.ctx.device,
            self.ctx.world_size,
            self.iteration,
            total_iter,
            self.folder.path,
        )
        self.network.train()
        if self.engine_cfg["fix_BN"]:
            set_batchnorm_eval(self.network)
        wait_time = step_time = 0.0
        window_start = time.perf_counter()
        batches = iter(loader)
        last_saved = self.iteration
        signum = None
        early_stop = False
        # a bar only on rank 0's terminal (not --quiet); the log lines print above it
        bar = ProgressBar(total_iter - self.iteration, "training", unit="it", redirect_logs=True)
        try:
            summary.write_config(self.cfgs)  # the experiment loggers' copy of config-N.yaml
            while self.iteration < total_iter:
                signum = stop.agreed(self.ctx.distributed, self.ctx.device)
                if signum:
                    break
                tick = time.perf_counter()
                try:  # grad_accumulation: that many batches make one iteration
                    inputs = [next(batches) for _ in range(self.staples.accumulation)]
                except Exception:
                    if stop.signum:  # Ctrl-C also reached the loader's workers
                        signum = stop.signum
                        break
                    raise
                wait_time += time.perf_counter() - tick
                buffers = buffers_snapshot(self.model)
                try:
                    loss_sum, info, visual = self.step(inputs)
                except TrainingError:
                    restore_buffers(buffers)  # the failed forward changed BN statistics
                    raise
                step_time = time.perf_counter() - window_start
                bar.advance()
                if self.iteration % log_iter == 0 or self.iteration == total_iter:
                    self._log(loss_sum, info, wait_time, step_time, log_iter)
                    summary.write(
                        {**visual, **info, "scalar/learning_rate": self.lr},
                        self.iteration,
                        images=True,
                    )
                    wait_time = 0.0
                    window_start = time.perf_counter()
                if self.iteration % save_iter == 0 or self.iteration == total_iter:
                    self.save()
                    last_saved = self.iteration
                    if self.engine_cfg["with_test"] and self.iteration != total_iter:
                        early_stop = self._test_during_training(summary)
                    self._keep_last()
                    if early_stop:
                        break
        except TrainingError as exc:
            bar.close()
            raise TrainingError(f"{exc}; {self._save_last_good(last_saved)}") from None
        finally:
            bar.close()
            summary.close()
            failed = sys.exc_info()[0] is not None
            if failed and self.iteration == first_iteration and config_file is not None:
                self._forget_start(config_file)
        if signum:
            getattr(batches, "close", lambda: None)()  # workers first: none dies mid-save
            self._stop_for_signal(signum, last_saved)
        if early_stop:
            log.info(
                "early stopping at iteration %d: %s has not improved for %d tests (best: "
                "iteration %s)",
                self.iteration,
                self.staples.best_metric,
                self.staples.patience,
                self.history.best if self.history is not None else None,
            )
        log.info(
            "training done: %d iterations; checkpoints in %s",
            self.iteration,
            self.folder.checkpoint_dir,
        )

    # stopping --------------------------------------------------------------------------

    def _save_last_good(self, last_saved: int) -> str:
        """Save the state of the last completed iteration if it is new and finite; say what."""
        latest = self.folder.checkpoint(last_saved)
        if self.iteration == 0:
            return "no iteration completed, so there are no good weights to save; nothing saved"
        if self.iteration == last_saved:
            return f"the last good weights (iteration {last_saved}) are in {latest}"
        if not weights_finite(self.model, self.ctx):
            where = f"the latest checkpoint is {latest}" if last_saved else "no checkpoint exists"
            return f"the weights are no longer finite, so nothing was saved ({where})"
        path = self.save()
        return f"the last good weights (iteration {self.iteration}) are saved in {path}"

    def _stop_for_signal(self, signum: int, last_saved: int) -> None:
        """Save the current iteration (when new), print one line and exit (see :mod:`.stop`)."""
        if self.iteration != last_saved:
            saved = f"saved {self.save()}"
        elif self.iteration > 0 and last_saved:
            path = self.folder.checkpoint(last_saved)
            saved = f"its checkpoint {path} was already saved"
        else:
            saved = "no iteration completed, so nothing was saved"
        hint = f"; resume with {self.resume_command()}" if self.iteration > 0 else ""
        if self.ctx.is_main:
            print(stop_message(signum, self.iteration, saved) + hint, file=sys.stderr, flush=True)
        self.close()
        raise SystemExit(exit_code_for(signum))

    def resume_command(self) -> str:
        """The command that resumes this run where it stands: its config, its ``--set``
        overrides and its process count, from the current iteration (shell-quoted)."""
        words = ["gaitgen", "train", str(self.run.config_path), "--iter", str(self.iteration)]
        for override in self.run.overrides:
            key = override.partition("=")[0].strip()
            if key not in ("trainer_cfg.restore_hint", "evaluator_cfg.restore_hint"):
                words += ["--set", override]  # --iter takes the restore hint's place
        if self.ctx.world_size > 1:
            per_node = int(os.environ.get("LOCAL_WORLD_SIZE", self.ctx.world_size))
            words += ["--nproc", str(per_node)]
            if self.ctx.world_size > per_node:  # the rendezvous options are the launch's own
                words += ["--nnodes", str(self.ctx.world_size // per_node)]
        return shlex.join(words)

    @property
    def lr(self) -> float:
        return float(self.optimizer.param_groups[0]["lr"])

    def step(self, inputs: list[list[Any]]) -> tuple[torch.Tensor, dict[str, Any], dict[str, Any]]:
        """One optimisation step over ``grad_accumulation`` batches (:class:`.step.TrainStep`)
        and the iteration counted.

        Returns:
            The loss sum (detached), the loss terms and the model's ``visual_summary``.

        Raises:
            NonFiniteLoss: a TrainingError; the loss is not finite and nothing was updated.
        """
        result = self.train_step.run(inputs, self.iteration)
        self.iteration += 1
        return result.loss_sum, result.info, result.output["visual_summary"]

    def _log(
        self,
        loss_sum: torch.Tensor,
        info: dict[str, Any],
        wait: float,
        elapsed: float,
        log_iter: int,
    ) -> None:
        terms = " ".join(
            f"{k.removeprefix('scalar/')}={loss_number(v):.4g}" for k, v in info.items()
        )
        per_iter = elapsed / log_iter
        log.info(
            "iteration %d: loss=%.4f %s lr=%.3g | %.3f s/it, data wait %.0f%%",
            self.iteration,
            float(loss_sum),
            terms,
            self.lr,
            per_iter,
            100.0 * wait / max(elapsed, 1e-9),
        )

    def _test_during_training(self, summary: SummaryWriter) -> bool:
        """``with_test`` at a checkpoint (:mod:`.with_test`); returns whether to stop early
        (every rank gets rank 0's answer)."""
        from .with_test import evaluate_during_training

        scalars = evaluate_during_training(
            self.run, self.ctx, self.model, self.staples, self.iteration
        )
        if scalars:
            summary.write({f"scalar/test/{k}": v for k, v in scalars.items()}, self.iteration)
        self.network.train()
        if self.engine_cfg["fix_BN"]:
            set_batchnorm_eval(self.network)
        if self.history is None:
            return False
        self._decided_on_rank0(lambda: self.history.record(self.iteration, scalars))
        return bool(broadcast_object(self.ctx.is_main and self.history.should_stop()))

    def _keep_last(self) -> None:
        """``keep_last``: rank 0 deletes the oldest checkpoints, never the best."""
        keep = int(self.staples.keep_last)
        if keep and self.ctx.is_main:
            best = self.history.best if self.history is not None else None
            self.folder.prune_checkpoints(keep, [best] if best is not None else [])
