"""``gaitgen check CONFIG``: a dry run of a config, writing nothing under ``output/``.

    gaitgen check configs/baseline.yaml
    gaitgen check configs/baseline.yaml --set trainer_cfg.sampler.batch_size=[4,4]
    gaitgen check configs/baseline.yaml --print-config > resolved.yaml

It builds the model, losses, optimizer and scheduler, loads one training and one test batch,
runs one training step and one inference forward, and prints parameters, FLOPs, memory,
shapes and times. Each problem is one ``error:`` line on stderr; any problem exits 1.
torch is imported inside the command, so ``gaitgen --help`` stays fast.
"""

from __future__ import annotations

import typer

from gaitgen.cli.common import handle_errors, print_config, require_config
from gaitgen.cli.options import ConfigArgument, DeviceOption, PrintConfigOption, SetOption

PANEL = "Train and evaluate"


def check(
    config: ConfigArgument,
    overrides: SetOption = None,
    print_only: PrintConfigOption = False,
    device: DeviceOption = None,
) -> None:
    """Check a config: build everything, run one train step and one inference forward.

    Example: gaitgen check configs/baseline.yaml
    """
    if print_only:
        print_config(config, overrides)
        return
    require_config(config)
    from gaitgen.runtime.engine.check import check_config_file

    report = check_config_file(config, overrides or [], device)
    typer.echo(report.format())
    for problem in report.problems:
        typer.echo(f"error: {problem}", err=True)
    if not report.ok:
        raise typer.Exit(code=1)


def register(app: typer.Typer) -> None:
    """Add ``check``."""
    app.command("check", rich_help_panel=PANEL)(handle_errors(check))
