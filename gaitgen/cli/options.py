"""The options several commands share, each defined once here and applied one way.

A command takes one by its type, and Typer reads the rest from the annotation::

    def check(config: ConfigArgument, overrides: SetOption = None, device: DeviceOption = None):

- ``--set`` is handed to the runtime's config loading (``overrides``), which applies it.
- ``--device`` is handed to the runtime, which picks the device (cuda when available).
- ``--quiet`` applies itself: its callback silences every progress bar for the length of the
  command (:func:`gaitgen.runtime.progress.silenced`, which also sets ``GAITGEN_QUIET=1`` for
  the processes the command starts), so no command body looks at it.
- ``--debug`` belongs to the root command (``gaitgen --debug CMD``), and every command takes
  it too (``gaitgen CMD ... --debug``, added by :mod:`gaitgen.cli.help`); only the one error
  handler, :func:`gaitgen.cli.common.handle_errors`, reads it.

Nothing heavy is imported here: ``gaitgen --help`` stays fast.
"""

from __future__ import annotations

from pathlib import Path
from typing import Annotated

import typer

from gaitgen.cli.completion import complete_config

DISTRIBUTED_PANEL = "Distributed"


def _silence_progress_for_the_command(ctx: typer.Context, quiet: bool) -> bool:
    """``--quiet``'s callback: no progress bar until the command ends (state restored after)."""
    if quiet:
        from gaitgen.runtime.progress import silenced

        ctx.with_resource(silenced(True))
    return quiet


ConfigArgument = Annotated[
    Path,
    typer.Argument(
        help="The YAML config (OpenGait's schema).",
        show_default=False,
        autocompletion=complete_config,  # TAB: the project's configs/*.yaml
    ),
]
SetOption = Annotated[
    list[str] | None,
    typer.Option(
        "--set",
        metavar="KEY=VALUE",
        help="Override a config value, e.g. trainer_cfg.total_iter=200 (repeatable).",
        show_default=False,
    ),
]
PrintConfigOption = Annotated[
    bool,
    typer.Option(
        "--print-config",
        help="Only print the resolved config (bases, defaults and --set merged) as YAML and exit.",
    ),
]
DeviceOption = Annotated[
    str | None,
    typer.Option(
        "--device", metavar="cpu|cuda", help="cpu or cuda (default: cuda when available)."
    ),
]
QuietOption = Annotated[
    bool,
    typer.Option(
        "--quiet",
        "-q",
        help="No progress bar; also GAITGEN_QUIET=1.",
        callback=_silence_progress_for_the_command,
    ),
]
DebugOption = Annotated[
    bool,
    typer.Option("--debug", help="Show full tracebacks on errors (before or after the command)."),
]
DryRunOption = Annotated[
    bool, typer.Option("--dry-run", help="Show what would be written; write nothing.")
]
JsonOption = Annotated[bool, typer.Option("--json", help="Print exactly one JSON object.")]
MetricOption = Annotated[
    str | None,
    typer.Option(
        "--metric", metavar="euc|cos", help="Distance: euc or cos (OpenGait's); default euc."
    ),
]
LogToFileOption = Annotated[bool, typer.Option("--log-to-file", help="Also log to <run>/logs/.")]

# train and test: how many processes, on how many machines (torchrun's options)
NprocOption = Annotated[
    int,
    typer.Option(
        "--nproc",
        help="Processes on this machine (through torchrun).",
        rich_help_panel=DISTRIBUTED_PANEL,
    ),
]
NnodesOption = Annotated[
    int, typer.Option("--nnodes", help="Number of machines.", rich_help_panel=DISTRIBUTED_PANEL)
]
NodeRankOption = Annotated[
    int | None,
    typer.Option(
        "--node-rank", help="This machine's rank (0 = master).", rich_help_panel=DISTRIBUTED_PANEL
    ),
]
RdzvEndpointOption = Annotated[
    str | None,
    typer.Option(
        "--rdzv-endpoint",
        metavar="HOST:PORT",
        help="An address every machine can reach (c10d rendezvous).",
        rich_help_panel=DISTRIBUTED_PANEL,
    ),
]
RdzvIdOption = Annotated[
    str,
    typer.Option(
        "--rdzv-id",
        metavar="ID",
        help="Job id shared by the machines.",
        rich_help_panel=DISTRIBUTED_PANEL,
    ),
]
MasterAddrOption = Annotated[
    str | None,
    typer.Option(
        "--master-addr",
        metavar="HOST",
        help="Static rendezvous: the master's address.",
        rich_help_panel=DISTRIBUTED_PANEL,
    ),
]
MasterPortOption = Annotated[
    int,
    typer.Option(
        "--master-port",
        help="Static rendezvous: the master's port.",
        rich_help_panel=DISTRIBUTED_PANEL,
    ),
]
