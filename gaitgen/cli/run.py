"""``gaitgen train`` and ``gaitgen test``: one process here, or many through torchrun.

    gaitgen train configs/baseline.yaml
    gaitgen train configs/baseline.yaml --nproc 4            # 4 processes through torchrun
    gaitgen test configs/baseline.yaml --iter 2000
    gaitgen train configs/baseline.yaml --print-config       # the resolved config, no run

How a phase is checked, launched and stopped is :mod:`gaitgen.cli.launch`.
"""

from __future__ import annotations

from typing import Annotated

import typer

from gaitgen.cli.common import handle_errors, print_config
from gaitgen.cli.launch import LaunchOptions, run_or_launch
from gaitgen.cli.options import (
    DISTRIBUTED_PANEL,
    ConfigArgument,
    DeviceOption,
    LogToFileOption,
    MasterAddrOption,
    MasterPortOption,
    NnodesOption,
    NodeRankOption,
    NprocOption,
    PrintConfigOption,
    QuietOption,
    RdzvEndpointOption,
    RdzvIdOption,
    SetOption,
)
from gaitgen.runtime.main import check_iteration_option

PANEL = "Train and evaluate"


def train(
    config: ConfigArgument,
    overrides: SetOption = None,
    iteration: Annotated[
        int, typer.Option("--iter", help="Resume from this iteration's checkpoint.")
    ] = 0,
    device: DeviceOption = None,
    log_to_file: LogToFileOption = False,
    overwrite: Annotated[
        bool,
        typer.Option(
            "--overwrite",
            help="Start afresh even if the run folder holds checkpoints of this save_name "
            "(they are deleted).",
        ),
    ] = False,
    force: Annotated[
        bool,
        typer.Option(
            "--force",
            help="Resume even though the config changes the run's model, batch or frames "
            "(the difference heads config-<iter>.yaml).",
        ),
    ] = False,
    nproc: NprocOption = 1,
    nnodes: NnodesOption = 1,
    node_rank: NodeRankOption = None,
    rdzv_endpoint: RdzvEndpointOption = None,
    rdzv_id: RdzvIdOption = "gaitgen",
    master_addr: MasterAddrOption = None,
    master_port: MasterPortOption = 29500,
    max_restarts: Annotated[
        int,
        typer.Option(
            "--max-restarts",
            help="Restart the workers up to N times after a failure; they resume "
            "from the latest checkpoint.",
            rich_help_panel=DISTRIBUTED_PANEL,
        ),
    ] = 0,
    quiet: QuietOption = False,
    print_only: PrintConfigOption = False,
) -> None:
    """Train the model a config names (checkpoints in output/<dataset>/<model>/<save_name>/).

    The run folder is locked while it trains. SIGTERM or Ctrl-C saves the current iteration
    and stops (exit code 143 or 130); resume with --iter N. A resume keeps the run's model,
    batch and frames (--force to change them).

    Example: gaitgen train configs/baseline.yaml --set trainer_cfg.total_iter=50
    """
    if print_only:
        print_config(config, overrides)
        return
    check_iteration_option(iteration, "train")
    launch = LaunchOptions(
        nproc, nnodes, node_rank, rdzv_endpoint, rdzv_id, master_addr, master_port, max_restarts
    )
    run_or_launch(
        "train", config, overrides or [], iteration, device, log_to_file, launch, overwrite, force
    )


def test(
    config: ConfigArgument,
    overrides: SetOption = None,
    iteration: Annotated[
        int, typer.Option("--iter", help="Test this iteration's checkpoint (default: the latest).")
    ] = 0,
    device: DeviceOption = None,
    limit: Annotated[
        int | None,
        typer.Option(
            "--limit",
            metavar="N",
            min=1,
            help="Test on the first N test identities only, for a quick look; the table and "
            "results.json say so (evaluator_cfg.limit_identities).",
            show_default=False,
        ),
    ] = None,
    log_to_file: LogToFileOption = False,
    nproc: NprocOption = 1,
    nnodes: NnodesOption = 1,
    node_rank: NodeRankOption = None,
    rdzv_endpoint: RdzvEndpointOption = None,
    rdzv_id: RdzvIdOption = "gaitgen",
    master_addr: MasterAddrOption = None,
    master_port: MasterPortOption = 29500,
    quiet: QuietOption = False,
    print_only: PrintConfigOption = False,
) -> None:
    """Evaluate a trained model: print the rank-1 table, write results.json and embeddings.npz.

    Example: gaitgen test configs/baseline.yaml --limit 10
    """
    overrides = list(overrides or [])
    if limit is not None:
        overrides.append(f"evaluator_cfg.limit_identities={limit}")
    if print_only:
        print_config(config, overrides)
        return
    check_iteration_option(iteration, "test")
    launch = LaunchOptions(
        nproc, nnodes, node_rank, rdzv_endpoint, rdzv_id, master_addr, master_port
    )
    run_or_launch("test", config, overrides, iteration, device, log_to_file, launch)


def register(app: typer.Typer) -> None:
    """Add ``train`` and ``test``."""
    app.command("train", rich_help_panel=PANEL)(handle_errors(train))
    app.command("test", rich_help_panel=PANEL)(handle_errors(test))
