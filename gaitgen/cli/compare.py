"""``gaitgen compare RUN_OR_RESULTS...``: runs side by side, as a table and as curves.

    gaitgen compare output/SynthGait/*/*                      # every run of a dataset
    gaitgen compare 'output/**/results.json' --format latex --out table.tex
    gaitgen compare output/SynthGait/GaitBase/a output/SynthGait/GaitBase/b --plot curves.png

Each argument is a ``results.json`` file, a run folder (``output/<dataset>/<model>/
<save_name>/``) or a folder above run folders; globs are expanded here too, so quoted ones
work. Results of different protocols are compared on the conditions and metrics they share
(a note says so); with nothing shared the command refuses. ``--plot`` needs matplotlib
(``pip install 'gaitgen[plot]'``).
"""

from __future__ import annotations

from pathlib import Path
from typing import Annotated

import typer

from gaitgen.cli.common import handle_errors
from gaitgen.cli.compare_table import FORMATS, SUFFIX_FORMATS, render, table_rows

PANEL = "Train and evaluate"


def compare_command(
    runs: Annotated[
        list[str],
        typer.Argument(
            metavar="RUN_OR_RESULTS",
            help="results.json files, run folders (output/<dataset>/<model>/<save_name>) or "
            "folders above them; globs welcome.",
            show_default=False,
        ),
    ],
    output_format: Annotated[
        str | None,
        typer.Option(
            "--format",
            "-f",
            help="table (default), markdown, latex (booktabs) or csv; with --out, taken from "
            "the file's suffix (.md, .tex, .csv) unless given.",
        ),
    ] = None,
    out: Annotated[
        Path | None, typer.Option("--out", "-o", help="Write the table to this file.")
    ] = None,
    plot: Annotated[
        Path | None,
        typer.Option("--plot", help="Write the training curves of all runs to this PNG."),
    ] = None,
    force: Annotated[
        bool, typer.Option("--force", help="Replace an existing --out or --plot file.")
    ] = False,
) -> None:
    """Compare runs side by side: model, dataset, iteration, protocol numbers, size, time.

    Example: gaitgen compare output/SynthGait/*/* --format markdown
    """
    from gaitgen.cli.compare_plot import require_matplotlib, write_plot
    from gaitgen.cli.compare_runs import (
        CompareError,
        check_output,
        common_columns,
        expand_arguments,
        find_runs,
    )

    if output_format is not None and output_format not in FORMATS:
        raise CompareError(f"--format: unknown format {output_format!r}; use {', '.join(FORMATS)}")
    if plot is not None:
        require_matplotlib()
    records = find_runs(expand_arguments(runs))
    for option, target in (("--out", out), ("--plot", plot)):
        if target is not None:
            check_output(option, target, records, force)
    columns, note = common_columns(records)
    header, rows = table_rows(records, columns)
    file_format = output_format or (
        SUFFIX_FORMATS.get(out.suffix.lower(), "table") if out else None
    )
    if out is not None:
        from gaitgen.runtime.atomic import atomic_write_text

        atomic_write_text(out, render(header, rows, file_format or "table"))
        typer.echo(render(header, rows, "table"), nl=False)
        typer.echo(f"wrote {out}")
    else:
        typer.echo(render(header, rows, output_format or "table"), nl=False)
    if note:
        typer.echo(note, err=True)
    for line in (line for record in records for line in record.notes):
        typer.echo(line, err=True)
    if plot is not None:
        skipped = write_plot(records, plot)
        typer.echo(f"wrote {plot}")
        if skipped:
            typer.echo(f"note: no training curves for {', '.join(skipped)}", err=True)


def register(app: typer.Typer) -> None:
    """Add this group's commands to the app."""
    app.command("compare", rich_help_panel=PANEL)(handle_errors(compare_command))
