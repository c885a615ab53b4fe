"""The last words of ``scripts/demo.sh``: what the demo's numbers mean and where to go next.

    python scripts/demo_summary.py DEMO_FOLDER RUN_FOLDER ITERATIONS

reads the demo run's ``results.json`` (its mean rank-1 per condition), the project's
partition (how many test identities: the chance level), and the README's model table (what
the starter config reaches when trained in full, and how long that takes), and prints them
side by side with the commands to run next. It needs only the standard library.
"""

from __future__ import annotations

import json
import sys
import textwrap
from pathlib import Path

REPOSITORY = Path(__file__).resolve().parent.parent
#: the README model table's row of the starter config (the project's configs/baseline.yaml)
STARTER_ROW = "| GaitBase (`Baseline`)"
RANK1_COLUMN = "SynthGait rank-1"
TIME_COLUMN = "starter training"
WIDTH = 92


def starter_figures(readme: Path) -> tuple[str, str] | None:
    """``("94.1 / 86.4 / 83.8", "360 it, 437 s; test 44 s")`` from the README's model table, or None."""
    if not readme.is_file():
        return None
    header: list[str] | None = None
    for line in readme.read_text(encoding="utf-8").splitlines():
        cells = [cell.strip() for cell in line.strip().strip("|").split("|")]
        if line.startswith("| model") and any(RANK1_COLUMN in cell for cell in cells):
            header = cells
        elif header is not None and line.startswith(STARTER_ROW) and len(cells) == len(header):
            rank1 = next(i for i, name in enumerate(header) if RANK1_COLUMN in name)
            spent = next((i for i, name in enumerate(header) if TIME_COLUMN in name), None)
            return cells[rank1], cells[spent] if spent is not None else ""
    return None


def mean_rank1(results: dict) -> dict[str, float]:
    """Each condition's mean rank-1 (percentages) in a ``results.json``."""
    return {
        name: float(values["rank1"])
        for name, values in results.get("conditions", {}).items()
        if isinstance(values, dict) and isinstance(values.get("rank1"), (int, float))
    }


def _paragraph(text: str) -> str:
    return textwrap.fill(text, width=WIDTH, initial_indent="  ", subsequent_indent="  ")


def summary(demo: Path, run: Path, iterations: int, readme: Path) -> str:
    """The text printed at the end of the demo."""
    results = json.loads((run / "results.json").read_text(encoding="utf-8"))
    rank1 = mean_rank1(results)
    partition = json.loads((demo / "data" / "synthgait" / "partition.json").read_text())
    identities = len(partition["TEST_SET"])
    chance = 100.0 / identities
    shown = ", ".join(f"{name} {value:.1f}" for name, value in rank1.items())
    meaning = (
        f"{results.get('protocol', 'The test')} after {iterations} iterations: rank-1 {shown} "
        f"(percent, mean over the probe views). Guessing would score {chance:.1f} (1 of the "
        f"{identities} test identities). {iterations} iterations take about a minute: they show "
        "that the whole walk works and that the model starts to tell walkers apart, not what "
        "it can learn."
    )
    starter = starter_figures(readme)
    if starter is not None:
        figures, spent = starter
        took = f" ({spent} on 2 CPU cores)" if spent else ""
        meaning += (
            f" The starter config, GaitBase trained in full{took}, reaches NM / BG / CL "
            f"{figures} on SynthGait (the README's model table)."
        )
    lines = ["", "What these numbers mean", _paragraph(meaning)]
    lines += [
        "",
        "Next",
        f"  cd {demo}",
        "  gaitgen train configs/baseline.yaml     # the starter, to the figures above",
        "  gaitgen test configs/baseline.yaml --limit 8   # a quick look on 8 test identities",
        "  gaitgen compare output/SynthGait/*/*    # the runs side by side",
        _paragraph(
            "Then edit your model (models/mygait.py in the project's package), or point "
            "data_cfg at a real dataset (README.md, 'A short tour'); gaitgen list shows every "
            "building block."
        ),
    ]
    return "\n".join(lines)


def main(argv: list[str]) -> int:
    """``python scripts/demo_summary.py DEMO_FOLDER RUN_FOLDER ITERATIONS``."""
    if len(argv) != 3:
        print(__doc__.strip().splitlines()[2].strip(), file=sys.stderr)
        return 2
    demo, run, iterations = Path(argv[0]), Path(argv[1]), int(argv[2])
    print(summary(demo, run, iterations, REPOSITORY / "README.md"))
    return 0


if __name__ == "__main__":
    sys.exit(main(sys.argv[1:]))
