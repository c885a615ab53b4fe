"""How ``gaitgen train`` and ``gaitgen test`` run: one process here, or many through torchrun.

The commands are in :mod:`gaitgen.cli.run`; this module is what they call. With
``--nproc``/``--nnodes``/``--max-restarts`` the command starts
``python -m torch.distributed.run ... -m gaitgen.runtime --cfgs CONFIG --phase PHASE``;
otherwise (also when it is itself started by torchrun or srun) it runs the phase in this
process, joining the launcher's process group if there is one.

The launcher checks what it can before torchrun starts (the config, the run folder's names,
its lock, checkpoints a fresh run would mix with), so such a mistake is one line, not one
traceback per process. While torchrun runs, SIGTERM is forwarded to the workers: they save
the current iteration and stop, and the launcher exits 143 saying where the checkpoint is.
"""

from __future__ import annotations

import os
import signal
import subprocess
import sys
from dataclasses import dataclass
from pathlib import Path

import typer

from gaitgen.cli.common import require_config
from gaitgen.runtime.errors import ConfigError, GaitgenError


@dataclass
class LaunchOptions:
    """How many processes, on how many machines (torchrun's options)."""

    nproc: int = 1
    nnodes: int = 1
    node_rank: int | None = None
    rdzv_endpoint: str | None = None
    rdzv_id: str = "gaitgen"
    master_addr: str | None = None
    master_port: int = 29500
    max_restarts: int = 0

    @property
    def needs_launcher(self) -> bool:
        return self.nproc > 1 or self.nnodes > 1 or self.max_restarts > 0

    def torchrun_args(self) -> list[str]:
        """torchrun's command-line options for these settings."""
        if self.nproc < 1 or self.nnodes < 1:
            raise ConfigError("--nproc and --nnodes must be at least 1")
        args = [
            "--nproc-per-node",
            str(self.nproc),
            "--nnodes",
            str(self.nnodes),
            "--max-restarts",
            str(self.max_restarts),
        ]
        if self.nnodes == 1 and not (self.rdzv_endpoint or self.master_addr):
            return ["--standalone", *args]
        if self.rdzv_endpoint:
            args += [
                "--rdzv-backend",
                "c10d",
                "--rdzv-endpoint",
                self.rdzv_endpoint,
                "--rdzv-id",
                self.rdzv_id,
            ]
            if self.node_rank is not None:
                args += ["--node-rank", str(self.node_rank)]
            return args
        if self.master_addr:
            if self.node_rank is None:
                raise ConfigError("--master-addr needs --node-rank (0 on the master machine)")
            return args + [
                "--node-rank",
                str(self.node_rank),
                "--master-addr",
                self.master_addr,
                "--master-port",
                str(self.master_port),
            ]
        raise ConfigError(
            f"--nnodes {self.nnodes} needs --rdzv-endpoint HOST:PORT (or "
            "--master-addr and --node-rank) so the machines can find each other"
        )


def launched_by_torchrun_or_slurm() -> bool:
    env = os.environ
    return ("RANK" in env and "WORLD_SIZE" in env) or int(env.get("SLURM_NTASKS", "1")) > 1


def run_or_launch(
    phase: str,
    config: Path,
    overrides: list[str],
    iteration: int,
    device: str | None,
    log_to_file: bool,
    launch: LaunchOptions,
    overwrite: bool = False,
    force: bool = False,
) -> None:
    """Check the config here, then run the phase in-process or under torchrun.

    The processes torchrun starts inherit this one's environment, ``GAITGEN_QUIET=1`` of
    ``--quiet`` included (:mod:`gaitgen.cli.options`).
    """
    require_config(config)
    launching = launch.needs_launcher and not launched_by_torchrun_or_slurm()
    # one clear error here rather than one per process
    run = _check_before_start(phase, config, overrides, iteration, overwrite, launching)
    if launching:
        from gaitgen.runtime.config.launch import check_launch

        check_launch(run.cfgs, phase, launch.nproc * launch.nnodes)  # P x K fits N processes?
        command = [
            sys.executable,
            "-m",
            "torch.distributed.run",
            *launch.torchrun_args(),
            "-m",
            "gaitgen.runtime",
            "--cfgs",
            str(config),
            "--phase",
            phase,
        ]
        for override in overrides:
            command += ["--set", override]
        if iteration:
            command += ["--iter", str(iteration)]
        if device:
            command += ["--device", device]
        if log_to_file:
            command.append("--log_to_file")
        if overwrite:
            command.append("--overwrite")
        if force:
            command.append("--force")
        typer.echo("launching: " + " ".join(command[1:]), err=True)
        code, forwarded = _run_forwarding_sigterm(command)
        if forwarded is not None:  # stopped on purpose: say where, whatever torchrun's code
            _report_forwarded_stop(run, phase, code)
        if code != 0:
            raise GaitgenError(
                f"{phase} failed in the launched processes (exit code {code}); "
                "their messages are above"
            )
        return
    from gaitgen.runtime.main import run_phase

    run_phase(config, phase, overrides, iteration, log_to_file, device, overwrite, force)


def _check_before_start(
    phase: str,
    config: Path,
    overrides: list[str],
    iteration: int,
    overwrite: bool,
    launching: bool,
) -> object:
    """Load the run (config and folder names checked); before torchrun, the folder too."""
    from gaitgen.runtime.engine.run import load_run

    run = load_run(config, overrides)
    if phase != "train" or not launching:
        return run  # in-process, the trainer itself checks (under its lock)
    from gaitgen.runtime.engine.lock import check_unlocked
    from gaitgen.runtime.engine.run_folder import continues_run

    folder = run.run_folder("train")
    check_unlocked(folder.path)
    hint = iteration or run.cfgs["trainer_cfg"].get("restore_hint", 0)
    if not overwrite and not continues_run(hint):
        folder.refuse_fresh_run_over_checkpoints(run.config_path)
    return run


def descendants(pid: int) -> list[int]:
    """Every process below ``pid`` (from /proc; Linux). torchrun starts its workers in
    sessions of their own, so a process group does not reach them."""
    children: dict[int, list[int]] = {}
    for entry in Path("/proc").glob("[0-9]*"):
        try:
            parent = int((entry / "stat").read_text().rsplit(")", 1)[1].split()[1])
        except (OSError, IndexError, ValueError):
            continue
        children.setdefault(parent, []).append(int(entry.name))
    found, todo = [], list(children.get(pid, []))
    while todo:
        child = todo.pop()
        found.append(child)
        todo += children.get(child, [])
    return found


def _workers_of(pid: int) -> list[int]:
    """The gaitgen worker processes below torchrun's agent ``pid``."""
    found = []
    for child in descendants(pid):
        try:
            command = Path(f"/proc/{child}/cmdline").read_bytes()
        except OSError:
            continue
        if b"gaitgen.runtime" in command and b"torch.distributed.run" not in command:
            found.append(child)
    return found


def _run_forwarding_sigterm(command: list[str]) -> tuple[int, int | None]:
    """Run torchrun; a SIGTERM to this process goes to its workers. Returns (code, signal).

    The workers, not torchrun's agent, get the signal: they save and exit 0, so the agent
    neither restarts them (--max-restarts) nor prints a failure. Without /proc the agent
    gets it (it passes it on to the workers itself, then reports its own exit).
    """
    process = subprocess.Popen(command)
    forwarded: list[int] = []

    def forward(signum: int, frame: object) -> None:
        forwarded.append(signum)
        targets = _workers_of(process.pid) if Path("/proc/self").exists() else []
        for pid in targets or [process.pid]:
            try:
                os.kill(pid, signum)
            except ProcessLookupError:
                pass

    previous = signal.signal(signal.SIGTERM, forward)
    try:
        while True:
            try:
                code = process.wait()
                break
            except KeyboardInterrupt:
                # Ctrl-C reached the whole process group: the workers save and stop; wait
                continue
    finally:
        signal.signal(signal.SIGTERM, previous)
    return code, (forwarded[0] if forwarded else None)


def _report_forwarded_stop(run: object, phase: str, code: int) -> None:
    """After the workers stopped for a forwarded SIGTERM: one line, and exit 143."""
    latest = run.run_folder(phase).latest_checkpoint()  # type: ignore[attr-defined]
    where = f"latest checkpoint {latest}" if latest is not None else "no checkpoint was saved"
    how = "who stopped" if code == 0 else f"torchrun exited with code {code}"
    typer.echo(f"stopped by SIGTERM: forwarded to the workers, {how}; {where}", err=True)
    raise typer.Exit(code=143)
