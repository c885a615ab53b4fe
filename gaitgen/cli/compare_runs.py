"""What ``gaitgen compare`` reads: the runs behind ``results.json`` files and run folders.

A run folder is OpenGait's ``output/<dataset>/<model>/<save_name>/`` (its layout:
:mod:`gaitgen.runtime.engine.run_folder`): ``config.yaml`` (model, dataset, save name, and the
parameter count of the model it builds, counted as ``gaitgen check`` and ``gaitgen list``
count), ``checkpoints/<save_name>-<iteration>.pt`` (the iteration), ``summary/scalars.jsonl``
or TensorBoard event files (the training curves and the training time) and ``results.json``
(the protocol's numbers). Any of them may be missing; what is missing shows as ``-``.
"""

from __future__ import annotations

import glob
import json
import math
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from gaitgen.runtime.atomic import check_output_path
from gaitgen.runtime.engine.run_folder import (
    CONFIG_FILE,
    OUTPUT_DIR,
    RESULTS_FILE,
    RunFolder,
    is_run_folder,
    names_from_path,
)
from gaitgen.runtime.errors import GaitgenError

# keys of a scalars.jsonl record that are not curves
RECORD_KEYS = ("iteration", "time", "elapsed")


class CompareError(GaitgenError):
    """A run or results file that cannot be compared."""


@dataclass
class RunRecord:
    """One column source of the comparison table.

    Attributes:
        source: the argument's file or folder, as found.
        folder: the run folder (None for a results file outside one).
        model, dataset, save_name: from config.yaml, else from the folder names.
        iteration: of the latest checkpoint, else of the last logged scalars.
        protocol, metric: of results.json (None without one).
        numbers: (condition, metric) -> percentage, in results.json's order.
        parameters: parameter count of the model its config.yaml builds.
        training_seconds: the summed training segments of scalars.jsonl (or TensorBoard).
        curves: scalar name -> (iterations, values).
        tested_iteration: the iteration results.json says it evaluated, if it says.
        notes: what could not be read, for a note under the table.
    """

    source: Path
    folder: Path | None = None
    model: str | None = None
    dataset: str | None = None
    save_name: str | None = None
    iteration: int | None = None
    protocol: str | None = None
    metric: str | None = None
    numbers: dict[tuple[str, str], float | None] = field(default_factory=dict)
    parameters: int | None = None
    training_seconds: float | None = None
    curves: dict[str, tuple[list[int], list[float]]] = field(default_factory=dict)
    tested_iteration: int | None = None
    notes: list[str] = field(default_factory=list)

    @property
    def label(self) -> str:
        """A short name: the save name, else the file's folder and name."""
        if self.save_name:
            return self.save_name
        return f"{self.source.parent.name}/{self.source.name}"


def expand_arguments(arguments: list[str]) -> list[Path]:
    """The files and folders named by ``arguments``, globs expanded (quoted ones too).

    Raises:
        CompareError: an argument names nothing.
    """
    paths: list[Path] = []
    for argument in arguments:
        if glob.has_magic(argument):
            matches = sorted(glob.glob(argument, recursive=True))
            if not matches:
                raise CompareError(f"{argument}: no file or folder matches this pattern")
            paths.extend(Path(match) for match in matches)
        elif Path(argument).exists():
            paths.append(Path(argument))
        else:
            raise CompareError(
                f"{argument}: no such file or folder; give results.json files or run folders "
                "(output/<dataset>/<model>/<save_name>/)"
            )
    unique: dict[Path, Path] = {}
    for path in paths:
        unique.setdefault(path.resolve(), path)
    return list(unique.values())


def find_runs(paths: list[Path]) -> list[RunRecord]:
    """One record per results file or run folder; a folder above runs gives all its runs."""
    records: list[RunRecord] = []
    for path in paths:
        if path.is_file():
            folder = path.parent if is_run_folder(path.parent) else None
            records.append(read_run(path, folder, path))
        elif is_run_folder(path):
            results = path / RESULTS_FILE
            records.append(read_run(path, path, results if results.is_file() else None))
        else:
            # a project root: its runs are under output/ (data/ may hold a million files)
            search = path / OUTPUT_DIR if (path / OUTPUT_DIR).is_dir() else path
            found = sorted({p.parent for p in search.rglob(CONFIG_FILE) if is_run_folder(p.parent)})
            found += sorted({p.parent for p in search.rglob(RESULTS_FILE)} - set(found))
            if not found:
                raise CompareError(
                    f"{path}: no run folder ({CONFIG_FILE}, summary/, checkpoints/) and no "
                    f"{RESULTS_FILE} under it"
                )
            for folder in found:
                results = folder / RESULTS_FILE
                is_run = is_run_folder(folder)
                records.append(
                    read_run(
                        folder, folder if is_run else None, results if results.exists() else None
                    )
                )
    return records


def read_run(source: Path, folder: Path | None, results: Path | None) -> RunRecord:
    """Read what there is of one run."""
    record = RunRecord(source=source, folder=folder)
    if results is not None:
        _read_results(record, results)
    if folder is None:
        return record
    cfgs = _read_config(record, folder)
    run_folder = RunFolder(folder, str(record.save_name))
    _read_scalars(record, run_folder)
    checkpoints = run_folder.checkpoints()
    if checkpoints:
        record.iteration = max(checkpoints)
    if cfgs:
        _count_parameters(record, cfgs, run_folder)
    if record.tested_iteration is not None:
        record.iteration = record.tested_iteration
    return record


def _read_results(record: RunRecord, path: Path) -> None:
    try:
        data = json.loads(path.read_text(encoding="utf-8"))
    except (OSError, UnicodeDecodeError, json.JSONDecodeError) as exc:
        raise CompareError(f"{path}: not a readable JSON file ({exc})") from None
    conditions = data.get("conditions") if isinstance(data, dict) else None
    if not isinstance(conditions, dict) or "protocol" not in data:
        raise CompareError(
            f"{path}: not a results file of 'gaitgen test' or 'gaitgen evaluate' "
            "(needs 'protocol' and 'conditions')"
        )
    record.protocol = str(data["protocol"])
    if isinstance(data.get("iteration"), int):  # the checkpoint tested, where recorded
        record.tested_iteration = record.iteration = data["iteration"]
    record.metric = str(data.get("metric", "")) or None
    for condition, values in conditions.items():
        if not isinstance(values, dict):
            continue
        for metric, value in values.items():
            if value is None or isinstance(value, (int, float)) and not isinstance(value, bool):
                record.numbers[(str(condition), str(metric))] = value


def _read_config(record: RunRecord, folder: Path) -> dict[str, Any]:
    """Model, dataset and save name from ``config.yaml`` (else the folder's names); its content."""
    config = folder / CONFIG_FILE
    cfgs: dict[str, Any] = {}
    if config.is_file():
        from gaitgen.runtime.config import read_sections

        cfgs = read_sections(config)[0]  # a section that is not a mapping: file:line, key

    def get(section: str, key: str) -> str | None:
        value = (cfgs.get(section) or {}).get(key)
        return None if value is None else str(value)

    # OpenGait's layout output/<dataset>/<model>/<save_name>/ when the config says nothing
    dataset, model = names_from_path(folder)
    record.model = get("model_cfg", "model") or model
    record.dataset = get("data_cfg", "dataset_name") or dataset
    record.save_name = (
        get("trainer_cfg", "save_name") or get("evaluator_cfg", "save_name") or folder.name
    )
    return cfgs


def _read_scalars(record: RunRecord, folder: RunFolder) -> None:
    summary = folder.summary_dir
    if folder.scalars_file.is_file():
        _read_jsonl(record, folder.scalars_file)
    elif summary.is_dir() and any(summary.glob("events.out.tfevents.*")):
        _read_tensorboard(record, summary)


def _read_jsonl(record: RunRecord, path: Path) -> None:
    segments: list[float] = []
    last_elapsed = math.inf
    for line in path.read_text(encoding="utf-8", errors="replace").splitlines():
        try:
            entry = json.loads(line)
        except json.JSONDecodeError:
            continue  # a line cut by a crash: the others are whole
        if not isinstance(entry, dict) or not isinstance(entry.get("iteration"), int):
            continue
        iteration = entry["iteration"]
        record.iteration = max(record.iteration or 0, iteration)
        elapsed = entry.get("elapsed")
        if isinstance(elapsed, (int, float)):
            # a new writer (a resumed run) starts its clock again
            if not segments or elapsed < last_elapsed:
                segments.append(0.0)
            segments[-1] = max(segments[-1], float(elapsed))
            last_elapsed = float(elapsed)
        for key, value in entry.items():
            if key in RECORD_KEYS or not isinstance(value, (int, float)):
                continue
            steps, values = record.curves.setdefault(key, ([], []))
            steps.append(iteration)
            values.append(float(value))
    if segments:
        record.training_seconds = sum(segments)


def _read_tensorboard(record: RunRecord, summary: Path) -> None:
    try:
        from tensorboard.backend.event_processing.event_accumulator import EventAccumulator
    except ImportError:
        return  # the curves stay empty; the table says '-' for the time
    accumulator = EventAccumulator(str(summary), size_guidance={"scalars": 0})
    accumulator.Reload()
    wall_times: list[float] = []
    for tag in accumulator.Tags().get("scalars", []):
        events = accumulator.Scalars(tag)
        record.curves[tag] = ([e.step for e in events], [float(e.value) for e in events])
        wall_times += [e.wall_time for e in events]
        if events:
            record.iteration = max(record.iteration or 0, max(e.step for e in events))
    if len(wall_times) > 1:
        record.training_seconds = max(wall_times) - min(wall_times)


def _count_parameters(record: RunRecord, cfgs: dict[str, Any], folder: RunFolder) -> None:
    """The parameters of the model the run's config builds (on the meta device: no weights)."""
    from gaitgen.runtime.engine.parameters import config_parameter_count
    from gaitgen.runtime.project import find_project

    try:
        record.parameters = config_parameter_count(cfgs, find_project(folder.config_file))
    except Exception as exc:  # noqa: BLE001 - any model error: the count shows as '-'
        message = str(exc).splitlines()[0] if str(exc) else type(exc).__name__
        record.notes.append(
            f"note: {folder.config_file}: parameters not counted, its model does not build "
            f"here ({message})"
        )


def common_columns(records: list[RunRecord]) -> tuple[list[tuple[str, str]], str | None]:
    """The (condition, metric) columns every run with results has, and a note when some differ.

    Raises:
        CompareError: the results share no column (different protocols).
    """
    with_results = [r for r in records if r.protocol is not None]
    if not with_results:
        return [], None
    columns = list(with_results[0].numbers)
    for record in with_results[1:]:
        columns = [c for c in columns if c in record.numbers]
    protocols = sorted({f"{r.protocol} ({r.metric})" for r in with_results})
    everything = {c for r in with_results for c in r.numbers}
    if not columns:
        names = "; ".join(
            f"{r.source} ({r.protocol}: {', '.join(sorted({c for c, _ in r.numbers}))})"
            for r in with_results
        )
        raise CompareError(
            f"nothing to compare: the results share no condition and metric ({names}); "
            "compare runs evaluated under one protocol"
        )
    note = None
    if len(columns) < len(everything) or len(protocols) > 1:
        note = (
            f"note: the runs use {len(protocols)} protocol settings ({', '.join(protocols)}); "
            f"showing the {len(columns)} of {len(everything)} columns they all have"
        )
    return columns, note


def check_output(option: str, target: Path, records: list[RunRecord], force: bool) -> None:
    """Refuse to write ``target`` over what is being compared, or where no file can go.

    Raises:
        CompareError: ``target`` is one of the compared files or inside a compared run folder
            (it would replace the run's own results).
        GaitgenError: from :func:`gaitgen.runtime.atomic.check_output_path`: ``target`` is a
            folder, lies under a file, or exists and ``force`` is off.
    """
    resolved = target.expanduser().resolve()
    for record in records:
        if record.source.is_file() and resolved == record.source.resolve():
            raise CompareError(
                f"{option}: {target} is one of the files being compared; write elsewhere"
            )
        folder = record.folder.resolve() if record.folder is not None else None
        if folder is not None and resolved.is_relative_to(folder):
            raise CompareError(
                f"{option}: {target} is inside the run folder {record.folder} being compared "
                "(its results, configs and checkpoints are the run's own); write elsewhere"
            )
    check_output_path(option, target, force=force)
