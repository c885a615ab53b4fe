"""``gaitgen check-data``: what a dataset holds and everything wrong with it.

Reads every sequence file (with the safe loader) and reports counts of ids, sequences and
frames per condition (the type name before its dash, e.g. ``nm`` of ``nm-01``) and per
view, and each problem found: unreadable or unsafe files, files that are not arrays, a
dtype or frame shape unlike the rest of the dataset, empty sequences or folders, modalities
with different frame counts, sequences with a different number of files, ids in the
partition but not on disk and the reverse, ids in both sets. numpy only (no torch).
"""

from __future__ import annotations

import os
from collections import Counter
from collections.abc import Callable
from dataclasses import dataclass, field
from pathlib import Path

from ..errors import DataError
from .io import SUPPORTED_SUFFIXES, check_same_length, load_sequence_file
from .layout import PARTITION_KEYS, format_ids, ids_on_disk, read_partition, require_root


@dataclass
class Problem:
    """One thing wrong with the dataset: where, and what (with the fix)."""

    where: str
    message: str

    def __str__(self) -> str:
        return f"{self.where}: {self.message}"


@dataclass
class DataReport:
    """Counts and problems of a dataset."""

    root: str
    ids: int = 0
    sequences: int = 0
    frames: int = 0
    by_condition: dict[str, list[int]] = field(default_factory=dict)  # -> [sequences, frames]
    by_view: dict[str, list[int]] = field(default_factory=dict)
    partition: dict[str, tuple[int, int]] = field(default_factory=dict)  # set -> (ids, on disk)
    problems: list[Problem] = field(default_factory=list)

    @property
    def ok(self) -> bool:
        """True when no problem was found."""
        return not self.problems


def _condition(seq_type: str) -> str:
    return seq_type.split("-")[0] if "-" in seq_type else seq_type


def _visible(path: Path) -> list[str]:
    return sorted(n for n in os.listdir(path) if not n.startswith("."))


def _sequence_folders(root: Path, report: DataReport) -> list[tuple[str, str, str, Path]]:
    folders = []
    for label in ids_on_disk(root):
        types = [t for t in _visible(root / label) if (root / label / t).is_dir()]
        if not types:
            report.problems.append(Problem(f"{label}/", "id folder holds no <type>/<view>/ folder"))
        for seq_type in types:
            views = [
                v
                for v in _visible(root / label / seq_type)
                if (root / label / seq_type / v).is_dir()
            ]
            if not views:
                report.problems.append(
                    Problem(f"{label}/{seq_type}/", "type folder holds no view folder")
                )
            for view in views:
                folders.append((label, seq_type, view, root / label / seq_type / view))
    return folders


def _check_sequence(folder: Path, where: str, report: DataReport) -> tuple[list, int] | None:
    """Load one sequence; return ``([(dtype, frame shape) per file], frames)`` or None."""
    names = [n for n in _visible(folder) if (folder / n).is_file()]
    if not names:
        report.problems.append(
            Problem(
                where, "empty sequence folder (no files); delete it or re-run 'gaitgen prepare'"
            )
        )
        return None
    bad = [n for n in names if Path(n).suffix.lower() not in SUPPORTED_SUFFIXES]
    for name in bad:
        report.problems.append(
            Problem(f"{where}{name}", f"unsupported file type; use {', '.join(SUPPORTED_SUFFIXES)}")
        )
    arrays, paths = [], []
    for name in names:
        if name in bad:
            continue
        try:
            arrays.append(load_sequence_file(folder / name))
            paths.append(folder / name)
        except DataError as exc:
            report.problems.append(Problem(f"{where}{name}", str(exc).split(": ", 1)[-1]))
    if not arrays:
        return None
    try:
        check_same_length(arrays, paths)
    except DataError as exc:
        report.problems.append(Problem(where, str(exc).split(": ", 1)[-1]))
    signature = [(str(a.dtype), tuple(a.shape[1:])) for a in arrays]
    return signature, len(arrays[0])


def check_dataset(
    root: str | Path,
    partition: str | Path | None = None,
    progress: Callable[[int], None] | None = None,
) -> DataReport:
    """Count and check every sequence of a dataset (and its partition, if given).

    Raises:
        DataError: the root or the partition file is missing or unreadable (nothing to check).
    """
    root = require_root(root, key="ROOT")
    parts = read_partition(partition, key="--partition") if partition is not None else None
    report = DataReport(root=str(root))
    folders = _sequence_folders(root, report)
    signatures: dict[str, list] = {}
    seen_ids = set()
    for label, seq_type, view, folder in folders:
        where = f"{label}/{seq_type}/{view}/"
        checked = _check_sequence(folder, where, report)
        if progress is not None:
            progress(1)
        if checked is None:
            continue
        signature, frames = checked
        signatures[where] = signature
        seen_ids.add(label)
        report.sequences += 1
        report.frames += frames
        for table, name in ((report.by_condition, _condition(seq_type)), (report.by_view, view)):
            row = table.setdefault(name, [0, 0])
            row[0] += 1
            row[1] += frames
    report.ids = len(seen_ids)
    _check_consistency(signatures, report)
    if parts is not None:
        _check_partition(parts, set(ids_on_disk(root)), report, str(partition))
    return report


def _check_consistency(signatures: dict[str, list], report: DataReport) -> None:
    """Files per sequence, dtype and frame shape must agree with the dataset's majority."""
    if not signatures:
        return
    counts = Counter(len(s) for s in signatures.values())
    usual_count = counts.most_common(1)[0][0]
    for where, signature in signatures.items():
        if len(signature) != usual_count:
            report.problems.append(
                Problem(
                    where, f"holds {len(signature)} file(s) where most sequences hold {usual_count}"
                )
            )
    for m in range(usual_count):
        kinds = Counter(s[m] for s in signatures.values() if len(s) == usual_count)
        (usual_dtype, usual_shape), _ = kinds.most_common(1)[0]
        for where, signature in signatures.items():
            if len(signature) != usual_count or signature[m] == (usual_dtype, usual_shape):
                continue
            dtype, shape = signature[m]
            report.problems.append(
                Problem(
                    where,
                    f"file {m + 1}: {dtype} frames of shape {shape}, but the dataset's are "
                    f"{usual_dtype} {usual_shape}; re-create it (silhouettes: uint8 [T, 64, 64])",
                )
            )


def _check_partition(parts: dict, on_disk: set[str], report: DataReport, name: str) -> None:
    listed = set()
    for set_name in PARTITION_KEYS:
        ids = parts[set_name]
        listed.update(ids)
        present = [i for i in ids if i in on_disk]
        report.partition[set_name] = (len(ids), len(present))
        missing = [i for i in ids if i not in on_disk]
        if missing:
            report.problems.append(
                Problem(
                    name,
                    f"{len(missing)} id(s) of {set_name} are not on disk: {format_ids(missing)}",
                )
            )
    both = sorted(set(parts["TRAIN_SET"]) & set(parts["TEST_SET"]))
    if both:
        report.problems.append(
            Problem(name, f"id(s) in both TRAIN_SET and TEST_SET: {format_ids(both)}")
        )
    unlisted = sorted(on_disk - listed)
    if unlisted:
        report.problems.append(
            Problem(
                report.root,
                f"{len(unlisted)} id folder(s) in no partition set: {format_ids(unlisted)}",
            )
        )


def format_report(report: DataReport) -> str:
    """The report as text: totals, tables per condition and view, partition, problems."""
    lines = [
        f"{report.root}: {report.ids} ids, {report.sequences:,} sequences, {report.frames:,} frames"
    ]
    for title, table in (("condition", report.by_condition), ("view", report.by_view)):
        if table:
            lines.append(f"  {title:<12} {'sequences':>10} {'frames':>12}")
            for name in sorted(table):
                sequences, frames = table[name]
                lines.append(f"  {name:<12} {sequences:>10,} {frames:>12,}")
    for set_name, (ids, present) in report.partition.items():
        lines.append(f"  {set_name}: {ids} ids, {present} on disk")
    if report.problems:
        lines.append(f"{len(report.problems)} problem(s):")
        lines += [f"  {problem}" for problem in report.problems]
    else:
        lines.append("no problems found")
    return "\n".join(lines)


def count_sequence_folders(root: str | Path) -> int:
    """How many ``<id>/<type>/<view>`` folders a root holds (for a progress bar)."""
    root = Path(root)
    total = 0
    for label in ids_on_disk(root):
        for seq_type in (
            p for p in (root / label).iterdir() if p.is_dir() and not p.name.startswith(".")
        ):
            total += sum(1 for v in seq_type.iterdir() if v.is_dir() and not v.name.startswith("."))
    return total
