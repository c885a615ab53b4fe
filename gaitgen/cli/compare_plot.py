"""``gaitgen compare --plot``: the training curves of several runs on shared axes.

One panel per scalar (each loss term, then the learning rate, then test-time numbers logged
during training), every run a line in every panel, iterations on a shared x axis.
"""

from __future__ import annotations

from pathlib import Path

from gaitgen.cli.compare_runs import CompareError, RunRecord

COLUMNS = 3


def require_matplotlib() -> None:
    """Raise a clear error now, before any work, if ``--plot`` cannot draw."""
    try:
        import matplotlib  # noqa: F401
    except ImportError:
        raise CompareError(
            "--plot needs matplotlib, which is not installed: pip install 'gaitgen[plot]'"
        ) from None


def curve_order(names: set[str]) -> list[str]:
    """Loss terms first, the learning rate next, numbers of tests during training last."""

    def key(name: str) -> tuple[int, str]:
        if name.startswith("test/"):
            return (2, name)
        if name == "learning_rate":
            return (1, name)
        return (0, name)

    return sorted(names, key=key)


def write_plot(records: list[RunRecord], path: Path) -> list[str]:
    """Draw every run's curves into one PNG (written atomically).

    Returns:
        The labels of runs that have no curves (no summary/scalars.jsonl, nor TensorBoard
        events that the installed tensorboard can read).

    Raises:
        CompareError: no run has curves.
    """
    import matplotlib

    matplotlib.use("Agg")  # files only: no display needed
    import matplotlib.pyplot as plt

    from gaitgen.runtime.atomic import atomic_path

    names = curve_order({name for record in records for name in record.curves})
    skipped = [record.label for record in records if not record.curves]
    if not names:
        raise CompareError(
            "--plot: none of the runs has training curves (summary/scalars.jsonl, or "
            "TensorBoard event files with tensorboard installed)"
        )
    columns = min(COLUMNS, len(names))
    rows = -(-len(names) // columns)
    figure, axes = plt.subplots(
        rows, columns, figsize=(4.2 * columns, 3.0 * rows), sharex=True, squeeze=False
    )
    colours = plt.rcParams["axes.prop_cycle"].by_key()["color"]
    for index, name in enumerate(names):
        axis = axes[index // columns][index % columns]
        for number, record in enumerate(records):
            if name in record.curves:
                steps, values = record.curves[name]
                axis.plot(steps, values, color=colours[number % len(colours)], linewidth=1.2)
        axis.set_title(name, fontsize=10)
        axis.grid(alpha=0.3)
        if index // columns == rows - 1 or index + columns >= len(names):
            axis.set_xlabel("iteration")
            axis.xaxis.set_tick_params(labelbottom=True)
    for index in range(len(names), rows * columns):
        axes[index // columns][index % columns].set_visible(False)
    handles = [
        plt.Line2D([], [], color=colours[number % len(colours)], label=record.label)
        for number, record in enumerate(records)
        if record.curves
    ]
    figure.legend(handles=handles, loc="upper center", ncol=min(4, len(handles)), frameon=False)
    figure.tight_layout(rect=(0, 0, 1, 1 - 0.35 / (3.0 * rows)))
    with atomic_path(path) as temporary:
        figure.savefig(temporary, format=(path.suffix.lstrip(".") or "png").lower(), dpi=110)
    plt.close(figure)
    return skipped
