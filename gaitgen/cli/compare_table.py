"""``gaitgen compare``'s table: one row per run, as text, Markdown, LaTeX or CSV.

The command is :mod:`gaitgen.cli.compare`; the runs it reads come from
:mod:`gaitgen.cli.compare_runs`.
"""

from __future__ import annotations

import csv
import io

FORMATS = ("table", "markdown", "latex", "csv")
SUFFIX_FORMATS = {".md": "markdown", ".tex": "latex", ".csv": "csv"}
TEXT_COLUMNS = ("run", "model", "dataset", "protocol")


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
