"""The outcome of an evaluation: the JSON object, the printed tables and the saved files."""

from __future__ import annotations

import json
import math
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from gaitgen.runtime.atomic import atomic_write_text
from gaitgen.runtime.engine.run_folder import RESULTS_FILE, results_file_of

REAL_SCENE_METRICS = ("rank1", "rank5", "rank10", "mAP", "mINP")


def _number(value: float | None) -> float | None:
    """A JSON-friendly percentage: ``None`` for NaN, float noise trimmed."""
    if value is None or (isinstance(value, float) and math.isnan(value)):
        return None
    return round(float(value), 6)


@dataclass
class ViewCondition:
    """Results of one condition of a view-based protocol (percentages).

    Attributes:
        mean: metric name (``rank1``, ``rank5``, ``mAP``) -> mean over probe views.
        per_view: metric name -> {probe view: value}.
        per_pair: rank-1 of each probe view (rows) against each gallery view (columns),
            ``None`` where undefined; with the cross-view gallery, rank-1 when the gallery is
            restricted to that one view.
    """

    mean: dict[str, float]
    per_view: dict[str, dict[str, float]]
    per_pair: list[list[float | None]]

    def to_dict(self, views: list[str]) -> dict[str, Any]:
        out: dict[str, Any] = {"rank1": _number(self.mean["rank1"])}
        out["per_view"] = {v: _number(x) for v, x in self.per_view["rank1"].items()}
        for metric, value in self.mean.items():
            if metric != "rank1":
                out[metric] = _number(value)
                out[f"per_view_{metric}"] = {
                    v: _number(x) for v, x in self.per_view[metric].items()
                }
        out["per_pair"] = {
            probe_view: {
                gallery_view: _number(self.per_pair[i][j]) for j, gallery_view in enumerate(views)
            }
            for i, probe_view in enumerate(views)
        }
        return out


@dataclass
class EvaluationResult:
    """What :func:`~gaitgen.runtime.evaluation.evaluate` returns.

    Attributes:
        protocol: the protocol's name as reported (``"CASIA-B"``; the cross-view gallery
            adds ``" cross-view"``).
        metric: ``"euc"`` or ``"cos"`` (``"+rerank"`` appended when re-ranked).
        kind: ``"view"`` or ``"real_scene"``.
        views: the probe/gallery views, sorted (view protocols).
        conditions: condition name -> :class:`ViewCondition` or a dict of real-scene metrics.
        notes: facts worth printing under the table (skipped views, removed probes).
        function: the evaluation function that made it (OpenGait's name).
        dataset: the dataset name it was given.
        opengait: the dict OpenGait's function of that name returns (the same keys, numbers
            as Python floats, arrays as nested lists); ``None`` where OpenGait's returns
            nothing (submissions) or has no such function (a custom protocol).
        files: files the function wrote (a submission's CSV).
    """

    protocol: str
    metric: str
    kind: str
    views: list[str] = field(default_factory=list)
    conditions: dict[str, Any] = field(default_factory=dict)
    notes: list[str] = field(default_factory=list)
    exclude_identical_view: bool = True
    function: str | None = None
    dataset: str | None = None
    opengait: dict[str, Any] | None = None
    files: list[Path] = field(default_factory=list)

    def to_dict(self) -> dict[str, Any]:
        """The JSON object of ``gaitgen evaluate --json`` and ``results.json``."""
        conditions: dict[str, Any] = {}
        for name, condition in self.conditions.items():
            if isinstance(condition, ViewCondition):
                conditions[name] = condition.to_dict(self.views)
            else:
                conditions[name] = {k: _number(v) for k, v in condition.items()}
        out: dict[str, Any] = {
            "protocol": self.protocol,
            "metric": self.metric,
            "conditions": conditions,
        }
        if self.function is not None:
            out["function"] = self.function
            out["dataset"] = self.dataset
        if self.files:
            out["files"] = [str(path) for path in self.files]
        out["opengait"] = _jsonable(self.opengait)
        return out

    def format_table(self) -> str:
        """Tables for people: one per condition, one column per view and the mean."""
        title = f"{self.protocol} (metric {self.metric})"
        if not self.conditions:  # a submission file: what was written is in the notes
            return "\n".join([title, *self.notes])
        if self.kind != "view":
            return "\n".join([title, _real_scene_table(self.conditions), *self.notes])
        excluded = ", identical-view cases excluded" if self.exclude_identical_view else ""
        blocks = [title + ", percentages" + excluded]
        for name, condition in self.conditions.items():
            blocks.append(_view_table(name, condition, self.views))
        return "\n\n".join(blocks + (["\n".join(self.notes)] if self.notes else []))

    def save(self, run_dir: str | Path, tested: dict[str, Any] | None = None) -> list[Path]:
        """Write ``results.json`` and (view protocols) one rank-1 heatmap PNG per condition.

        Args:
            run_dir: the folder to write into.
            tested: what was evaluated, recorded in the file (``iteration``, ``checkpoint``,
                ``config``); with an ``iteration``, a copy is also kept as
                ``results-<iteration>.json``, so testing another checkpoint keeps this one's.

        Returns:
            The paths written.
        """
        run_dir = Path(run_dir)
        run_dir.mkdir(parents=True, exist_ok=True)
        text = json.dumps({**(tested or {}), **self.to_dict()}, indent=2) + "\n"
        paths = [run_dir / RESULTS_FILE]
        if tested and isinstance(tested.get("iteration"), int):
            paths.append(run_dir / results_file_of(tested["iteration"]))
        for path in paths:  # atomic: a full disk leaves the previous file as it was
            atomic_write_text(path, text)
        written = list(paths)
        if self.kind == "view":
            # imported here: the figures are written once the numbers are safe on disk
            from gaitgen.runtime.evaluation.heatmap import save_heatmap

            for name, condition in self.conditions.items():
                png = run_dir / f"heatmap_{_file_safe(self.protocol)}_{_file_safe(name)}.png"
                save_heatmap(
                    png,
                    condition.per_pair,
                    self.views,
                    title=f"{self.protocol} {name}: rank-1 (%), metric {self.metric}",
                    diagonal_note=self.exclude_identical_view,
                )
                written.append(png)
        return written


def _jsonable(value: Any) -> Any:
    """OpenGait's returned values as JSON: numpy/torch scalars to floats, arrays to lists."""
    if value is None or isinstance(value, bool | str):
        return value
    if isinstance(value, dict):
        return {str(k): _jsonable(v) for k, v in value.items()}
    if hasattr(value, "detach"):
        value = value.detach().cpu().numpy()
    if hasattr(value, "tolist"):
        value = value.tolist()
    if isinstance(value, list | tuple):
        return [_jsonable(v) for v in value]
    if isinstance(value, float) and math.isnan(value):
        return None
    return value


def _file_safe(text: str) -> str:
    return "".join(ch if ch.isalnum() or ch in "-_" else "-" for ch in text).strip("-")


def _cell(value: float | None) -> str:
    if value is None or (isinstance(value, float) and math.isnan(value)):
        return "-"
    return f"{value:.2f}"


def _view_table(name: str, condition: ViewCondition, views: list[str]) -> str:
    width = max(6, *(len(v) for v in views)) + 1
    label_width = max(len(name), *(len(m) for m in condition.mean)) + 2
    header = f"{name:<{label_width}}" + "".join(f"{v:>{width}}" for v in views) + f"{'mean':>8}"
    lines = [header]
    for metric, mean in condition.mean.items():
        per_view = condition.per_view[metric]
        row = "".join(f"{_cell(per_view.get(v)):>{width}}" for v in views)
        lines.append(f"{metric:<{label_width}}" + row + f"{_cell(mean):>8}")
    return "\n".join(lines)


def _real_scene_table(conditions: dict[str, Any]) -> str:
    label_width = max(9, *(len(n) for n in conditions)) + 2
    metrics = list(next(iter(conditions.values())))  # rank1 ... mINP (GREW_ranks: rank20 too)
    lines = [f"{'condition':<{label_width}}" + "".join(f"{m:>9}" for m in metrics)]
    for name, values in conditions.items():
        cells = "".join(f"{_cell(values.get(m)):>9}" for m in metrics)
        lines.append(f"{name:<{label_width}}" + cells)
    return "\n".join(lines)
