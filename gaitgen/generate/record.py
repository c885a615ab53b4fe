"""The project's record of what the generators wrote, so that ``gaitgen destroy`` can undo it.

``new-model``, ``new-loss`` and ``port`` add one entry per class to
``.gaitgen/generated.json`` in the project (kept under git with the project, so whoever
clones it can destroy too): the SHA-256 of each file as generated, and the ``loss_cfg``
entries ``new-loss --config`` added. Paths are relative to the project root, so nothing in
it depends on the machine. A file whose hash no longer matches was edited by the user, and
``destroy`` keeps it unless ``--force``::

    {"version": 1,
     "model": {"MyGait": {"files": {"pkg/models/mygait.py": "<sha256>", ...}}},
     "loss": {"MyLoss": {"files": {...},
                         "config_entries": [{"config": "configs/x.yaml", "entry": {...}}]}}}
"""

from __future__ import annotations

import hashlib
import json
from pathlib import Path
from typing import Any

from gaitgen.runtime.errors import GenerateError

from .plan import PlannedFile

RECORD_FILE = Path(".gaitgen") / "generated.json"
KINDS = ("model", "loss")
_VERSION = 1


def content_hash(text: str) -> str:
    """The SHA-256 of ``text`` as the generators write it (UTF-8)."""
    return hashlib.sha256(text.encode("utf-8")).hexdigest()


def read_record(root: Path) -> dict[str, Any]:
    """The record of the project at ``root`` (empty when there is none yet).

    Raises:
        GenerateError: the file exists but is not the record's JSON.
    """
    path = root / RECORD_FILE
    if not path.exists():
        return {"version": _VERSION, **{kind: {} for kind in KINDS}}
    try:
        record = json.loads(path.read_text(encoding="utf-8"))
    except (OSError, UnicodeDecodeError, json.JSONDecodeError) as exc:
        raise GenerateError(
            f"{path}: cannot read gaitgen's record of generated files ({exc}); restore it "
            f"from git (git checkout -- {RECORD_FILE.as_posix()}) or delete it"
        ) from None
    if not isinstance(record, dict) or not all(
        isinstance(record.get(kind, {}), dict) for kind in KINDS
    ):
        raise GenerateError(
            f"{path}: not gaitgen's record of generated files; restore it from git or delete it"
        )
    for kind in KINDS:
        record.setdefault(kind, {})
    return record


def write_record(root: Path, record: dict[str, Any]) -> None:
    """Write the record atomically (sorted keys, so that diffs stay small)."""
    from gaitgen.runtime.atomic import atomic_write_text

    path = root / RECORD_FILE
    path.parent.mkdir(exist_ok=True)
    atomic_write_text(path, json.dumps(record, indent=2, sort_keys=True) + "\n")


def record_generated(
    root: Path,
    kind: str,
    class_name: str,
    files: list[PlannedFile],
    config_entries: list[dict[str, Any]] | None = None,
) -> None:
    """Note that a generator wrote ``files`` (and ``loss_cfg`` entries) for ``class_name``.

    Files marked ``edit`` (a config new-loss changed) are not the class's own: they are
    recorded through ``config_entries`` (``{"config": relative path, "entry": {...}}``).
    A class generated again (``--force``) replaces its entry.
    """
    record = read_record(root)
    own = {
        file.path.resolve().relative_to(root.resolve()).as_posix(): content_hash(file.content)
        for file in files
        if not file.edit
    }
    entry: dict[str, Any] = {"files": own}
    if config_entries:
        entry["config_entries"] = config_entries
    record[kind][class_name] = entry
    write_record(root, record)
