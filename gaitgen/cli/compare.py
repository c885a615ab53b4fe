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

import csv
import io
from pathlib import Path

import typer

from gaitgen.cli.common import handle_errors

PANEL = "Train and evaluate"
FORMATS = ("table", "markdown", "latex", "csv")
SUFFIX_FORMATS = {".md": "markdown", ".tex": "latex", ".csv": "csv"}
TEXT_COLUMNS = ("run", "model", "dataset", "protocol")


def compare_command(
    runs: list[str] = typer.Argument(
        ...,
        metavar="RUN_OR_RESULTS",
        help="results.json files, run folders (output/<dataset>/<model>/<save_name>) or "
        "folders above them; globs welcome.",
    ),
    output_format: str | None = typer.Option(
        None,
        "--format",
        "-f",
        help="table (default), markdown, latex (booktabs) or csv; with --out, taken from the "
        "file's suffix (.md, .tex, .csv) unless given.",
    ),
    out: Path | None = typer.Option(None, "--out", "-o", help="Write the table to this file."),
    plot: Path | None = typer.Option(
        None, "--plot", help="Write the training curves of all runs to this PNG."
    ),
) -> None:
    """Compare runs side by side: model, dataset, iteration, protocol numbers, size, time."""
    from gaitgen.cli.compare_runs import CompareError, common_columns, expand_arguments, find_runs

    if output_format is not None and output_format not in FORMATS:
        raise CompareError(f"--format: unknown format {output_format!r}; use {', '.join(FORMATS)}")
    if plot is not None:
        _require_matplotlib()
    records = find_runs(expand_arguments(runs))
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
        from gaitgen.cli.compare_plot import write_plot

        skipped = write_plot(records, plot)
        typer.echo(f"wrote {plot}")
        if skipped:
            typer.echo(f"note: no training curves for {', '.join(skipped)}", err=True)


def _require_matplotlib() -> None:
    from gaitgen.cli.compare_runs import CompareError

    try:
        import matplotlib  # noqa: F401
    except ImportError:
        raise CompareError(
            "--plot needs matplotlib, which is not installed: pip install 'gaitgen[plot]'"
        ) from None


def table_rows(records: list, columns: list[tuple[str, str]]) -> tuple[list[str], list[list]]:
    """The header and one row of raw values (str, float, int or None) per run."""
    only_rank1 = all(metric == "rank1" for _, metric in columns)
    header = ["run", "model", "dataset", "iter", "protocol"]
    header += [
        condition if only_rank1 else f"{condition} {metric}" for condition, metric in columns
    ]
    header += ["params", "time"]
    labels = [record.label for record in records]
    rows = []
    for record in records:
        # two runs of one save name (say, of two datasets) need their paths to be told apart
        label = record.label if labels.count(record.label) == 1 else str(record.source)
        protocol = f"{record.protocol} ({record.metric})" if record.metric else record.protocol
        row = [label, record.model, record.dataset, record.iteration, protocol]
        numbers = [record.numbers.get(column) for column in columns]
        row += [None if value is None else float(value) for value in numbers]
        row += [record.parameters, record.training_seconds]
        rows.append(row)
    return header, rows


def render(header: list[str], rows: list[list], output_format: str) -> str:
    """The table as text in one of :data:`FORMATS` (ending with a newline)."""
    if output_format == "csv":
        buffer = io.StringIO()
        writer = csv.writer(buffer, lineterminator="\n")
        writer.writerow(header)
        for row in rows:
            writer.writerow(["" if v is None else _csv_value(v) for v in row])
        return buffer.getvalue()
    best = _best(header, rows)
    cells = [[_cell(header[j], v) for j, v in enumerate(row)] for row in rows]
    if output_format == "markdown":
        lines = ["| " + " | ".join(header) + " |"]
        lines.append("|" + "|".join(":---" if h in TEXT_COLUMNS else "---:" for h in header) + "|")
        for i, row in enumerate(cells):
            marked = [f"**{c}**" if (i, j) in best else c for j, c in enumerate(row)]
            lines.append("| " + " | ".join(marked) + " |")
        return "\n".join(lines) + "\n"
    if output_format == "latex":
        spec = "".join("l" if h in TEXT_COLUMNS else "r" for h in header)
        lines = [f"\\begin{{tabular}}{{{spec}}}", "\\toprule"]
        lines.append(" & ".join(latex_escape(h) for h in header) + " \\\\")
        lines.append("\\midrule")
        for i, row in enumerate(cells):
            marked = [
                f"\\textbf{{{latex_escape(c)}}}" if (i, j) in best else latex_escape(c)
                for j, c in enumerate(row)
            ]
            lines.append(" & ".join(marked) + " \\\\")
        lines += ["\\bottomrule", "\\end{tabular}"]
        return "\n".join(lines) + "\n"
    widths = [max(len(h), *(len(row[j]) for row in cells)) for j, h in enumerate(header)]

    def line(values: list[str]) -> str:
        return "  ".join(
            v.ljust(w) if h in TEXT_COLUMNS else v.rjust(w)
            for v, w, h in zip(values, widths, header)
        ).rstrip()

    return "\n".join([line(header), *(line(row) for row in cells)]) + "\n"


def _best(header: list[str], rows: list[list]) -> set[tuple[int, int]]:
    """(row, column) of the highest number of each protocol column (bold in papers)."""
    best: set[tuple[int, int]] = set()
    if len(rows) < 2:
        return best
    for j in range(5, len(header) - 2):  # the protocol columns
        values = [(row[j], i) for i, row in enumerate(rows) if isinstance(row[j], (int, float))]
        if len(values) > 1:
            top = max(v for v, _ in values)
            best |= {(i, j) for v, i in values if v == top}
    return best


def _cell(column: str, value: object) -> str:
    if value is None:
        return "-"
    if column == "params":
        return human_count(int(value))
    if column == "time":
        return human_duration(float(value))
    if isinstance(value, float):
        return f"{value:.2f}"
    return str(value)


def _csv_value(value: object) -> object:
    return round(value, 3) if isinstance(value, float) else value


def human_count(count: int) -> str:
    """``1234567`` -> ``1.23M``, ``45600`` -> ``45.6K``."""
    if count >= 1_000_000:
        return f"{count / 1e6:.2f}M"
    if count >= 1_000:
        return f"{count / 1e3:.1f}K"
    return str(count)


def human_duration(seconds: float) -> str:
    """``75`` -> ``1m 15s``, ``7300`` -> ``2h 01m``."""
    seconds = round(seconds)
    if seconds < 60:
        return f"{seconds}s"
    if seconds < 3600:
        return f"{seconds // 60}m {seconds % 60:02d}s"
    return f"{seconds // 3600}h {seconds % 3600 // 60:02d}m"


_LATEX_SPECIALS = {
    "\\": r"\textbackslash{}",
    "&": r"\&",
    "%": r"\%",
    "$": r"\$",
    "#": r"\#",
    "_": r"\_",
    "{": r"\{",
    "}": r"\}",
    "~": r"\textasciitilde{}",
    "^": r"\textasciicircum{}",
}


def latex_escape(text: str) -> str:
    """Text safe inside a LaTeX table cell (``my_run`` -> ``my\\_run``)."""
    return "".join(_LATEX_SPECIALS.get(ch, ch) for ch in text)


def register(app: typer.Typer) -> None:
    """Add this group's commands to the app."""
    app.command("compare", rich_help_panel=PANEL)(handle_errors(compare_command))
