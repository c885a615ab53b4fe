"""The OpenGait dataset layout: ``<root>/<id>/<type>/<view>/<files>`` and the partition JSON.

Reading the layout touches folder listings only (no sequence file is opened), so it is fast
and shared by the dataset (:mod:`.dataset`) and ``gaitgen check-data`` (:mod:`.check`).
No torch here.
"""

from __future__ import annotations

import json
import os
from dataclasses import dataclass
from pathlib import Path

from ..errors import DataError
from .io import SUPPORTED_SUFFIXES

PARTITION_KEYS = ("TRAIN_SET", "TEST_SET")


@dataclass(frozen=True)
class SequenceEntry:
    """One sequence folder: its id, type (condition), view and files sorted by name."""

    label: str
    type: str
    view: str
    folder: str
    files: tuple[str, ...]


def _listdir(path: Path) -> list[str]:
    return sorted(name for name in os.listdir(path) if not name.startswith("."))


def _subfolders(path: Path) -> list[str]:
    return [name for name in _listdir(path) if (path / name).is_dir()]


def require_root(root: str | Path, key: str = "data_cfg.dataset_root") -> Path:
    """Return ``root`` as a Path, or raise DataError if it is not a folder."""
    path = Path(root).expanduser()
    if not path.is_dir():
        raise DataError(
            f"{key}: dataset folder {path} does not exist; point {key} at the folder that "
            "holds <id>/<type>/<view>/ (make one with 'gaitgen prepare RAW OUT')"
        )
    return path


def read_partition(path: str | Path, key: str = "data_cfg.dataset_partition") -> dict:
    """Read a partition JSON ``{"TRAIN_SET": [...], "TEST_SET": [...]}``.

    Ids are returned as strings (folder names). Raises DataError naming the file (and the line
    for invalid JSON) when the file is missing or malformed.
    """
    path = Path(path).expanduser()
    if not path.is_file():
        raise DataError(
            f"{key}: partition file {path} does not exist; set {key} to a JSON file with "
            '{"TRAIN_SET": [ids], "TEST_SET": [ids]}'
        )
    try:
        partition = json.loads(path.read_text(encoding="utf-8"))
    except json.JSONDecodeError as exc:
        raise DataError(
            f"{path}:{exc.lineno}: invalid JSON in the partition file ({exc.msg}); fix the file"
        ) from None
    except (OSError, UnicodeDecodeError) as exc:
        raise DataError(f"{path}: cannot read the partition file ({exc})") from None
    if not isinstance(partition, dict):
        raise DataError(f"{path}: the partition must be a JSON object with {PARTITION_KEYS}")
    result = {}
    for name in PARTITION_KEYS:
        ids = partition.get(name)
        if not isinstance(ids, list):
            raise DataError(
                f"{path}: key '{name}' is missing or not a list; the partition needs "
                f'"{PARTITION_KEYS[0]}" and "{PARTITION_KEYS[1]}", each a list of id strings'
            )
        result[name] = [str(i) for i in ids]
    return result


def ids_on_disk(root: Path) -> list[str]:
    """The id folders of a dataset root, sorted."""
    return _subfolders(root)


def format_ids(ids: list[str], limit: int = 8) -> str:
    """``'001, 002, ... (12 in all)'``: a short listing of ids for messages."""
    shown = ", ".join(ids[:limit])
    return shown if len(ids) <= limit else f"{shown}, ... ({len(ids)} in all)"


def scan_sequences(root: Path, labels: list[str]) -> tuple[list[SequenceEntry], list[str]]:
    """List every sequence folder of the given ids.

    Returns:
        The sequences, in id/type/view order, and the sequence folders that hold no file.

    Raises:
        DataError: a sequence folder holds a file of an unsupported type.
    """
    entries: list[SequenceEntry] = []
    empty: list[str] = []
    for label in labels:
        for seq_type in _subfolders(root / label):
            for view in _subfolders(root / label / seq_type):
                folder = root / label / seq_type / view
                names = [n for n in _listdir(folder) if (folder / n).is_file()]
                if not names:
                    empty.append(str(folder))
                    continue
                bad = [n for n in names if Path(n).suffix.lower() not in SUPPORTED_SUFFIXES]
                if bad:
                    raise DataError(
                        f"{folder / bad[0]}: unsupported file in a sequence folder; sequence "
                        f"files must be {', '.join(SUPPORTED_SUFFIXES)} (move other files "
                        "out of the dataset)"
                    )
                files = tuple(str(folder / n) for n in names)
                entries.append(SequenceEntry(label, seq_type, view, str(folder), files))
    return entries, empty


def select_modalities(files: tuple[str, ...], data_in_use: list | None, folder: str) -> list[str]:
    """Apply ``data_cfg.data_in_use`` (a bool mask or a list of indices) to sorted files."""
    if data_in_use is None:
        return list(files)
    if all(isinstance(flag, bool) for flag in data_in_use):
        chosen = [f for f, use in zip(files, data_in_use) if use]
    else:
        for index in data_in_use:
            if not isinstance(index, int) or not 0 <= index < len(files):
                raise DataError(
                    f"data_cfg.data_in_use: index {index!r} is out of range for {folder}, "
                    f"which holds {len(files)} file(s); use indices 0..{len(files) - 1} or a "
                    "list of true/false, one per file"
                )
        chosen = [files[i] for i in data_in_use]
    if not chosen:
        raise DataError(
            f"data_cfg.data_in_use: {data_in_use} selects no file of {folder}; "
            "select at least one modality"
        )
    return chosen
