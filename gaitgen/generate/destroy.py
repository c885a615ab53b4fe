"""``gaitgen destroy model|loss NAME``: undo what ``new-model``, ``new-loss`` or ``port`` wrote.

The files and ``loss_cfg`` entries come from the project's record
(:mod:`gaitgen.generate.record`); a file whose content no longer has the hash it was
generated with was edited, and is kept (nothing is removed) unless ``--force``. A class
generated before the record existed falls back to the files ``new-model``/``new-loss``
name (``<package>/models/<name>.py``, ``configs/<name>.yaml``, ``tests/test_<name>.py``):
gaitgen cannot tell whether they were edited, so they count as edited.
"""

from __future__ import annotations

import copy
from collections.abc import Callable
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import yaml

from gaitgen.runtime.errors import GenerateError
from gaitgen.runtime.project import Project

from . import yaml_edit
from .names import module_name, validate_class_name
from .record import KINDS, content_hash, read_record, write_record

REMOVE = "remove"
EDITED = "edited"  # differs from what was generated: kept unless --force
MISSING = "missing"
UPDATE = "update"


@dataclass
class DestroyPlan:
    """What ``destroy`` will do.

    Attributes:
        class_name: the model or loss.
        files: (path, status) per file of the class.
        configs: config path -> its new text (the loss's entries removed).
        notes: what the user must do by hand (other configs still naming the class).
    """

    class_name: str
    files: list[tuple[Path, str]] = field(default_factory=list)
    configs: dict[Path, str] = field(default_factory=dict)
    notes: list[str] = field(default_factory=list)


def _conventional_files(project: Project, kind: str, name: str) -> dict[str, str | None]:
    module = module_name(name)
    folder = project.models_dir if kind == "model" else project.losses_dir
    paths = [folder / f"{module}.py", project.tests_dir / f"test_{module}.py"]
    if kind == "model":
        paths.insert(1, project.configs_dir / f"{module}.yaml")
    root = project.root.resolve()
    return {p.resolve().relative_to(root).as_posix(): None for p in paths if p.is_file()}


def plan_destroy(project: Project, kind: str, name: str, *, force: bool = False) -> DestroyPlan:
    """Find what to remove for model or loss ``name`` (nothing is changed).

    Raises:
        GenerateError: an unknown kind, no such class in the project, or a config whose
            entry cannot be removed.
    """
    if kind not in KINDS:
        raise GenerateError(
            f"destroy {kind}: gaitgen destroys a model or a loss ({'|'.join(KINDS)})"
        )
    class_name = validate_class_name(name, kind)
    record = read_record(project.root)
    entry = record[kind].get(class_name)
    files = entry["files"] if entry else _conventional_files(project, kind, name)
    if not files:
        raise GenerateError(
            f"no {kind} {class_name} in this project: neither recorded by gaitgen new-{kind} "
            f"nor at its usual files; see `gaitgen list {kind}`"
        )
    result = DestroyPlan(class_name)
    for relative, digest in files.items():
        path = project.root / relative
        if not path.is_file():
            status = MISSING
        else:
            try:
                same = digest is not None and content_hash(path.read_text("utf-8")) == digest
            except (OSError, UnicodeDecodeError):
                same = False
            status = REMOVE if same or force else EDITED
        result.files.append((path, status))
    for item in (entry or {}).get("config_entries", []):
        _plan_config_entry(project, class_name, item, force, result)
    return result


def _plan_config_entry(
    project: Project, class_name: str, item: dict[str, Any], force: bool, result: DestroyPlan
) -> None:
    """Plan removing the ``loss_cfg`` entry new-loss added to a config."""
    path = project.root / item["config"]
    where = item["config"]
    if not path.is_file():
        result.notes.append(f"{where}: gone, so there is no loss_cfg entry to remove")
        return
    text = result.configs.get(path) or yaml_edit.read_config(path, where)[0]
    cfgs = yaml.safe_load(text) or {}
    losses = cfgs.get("loss_cfg")
    losses = [losses] if isinstance(losses, dict) else losses if isinstance(losses, list) else []
    wanted = item["entry"]
    index = next((i for i, old in enumerate(losses) if old == wanted), None)
    if index is None:
        index = next(
            (
                i
                for i, old in enumerate(losses)
                if isinstance(old, dict)
                and old.get("type") == class_name
                and old.get("log_prefix") == wanted.get("log_prefix")
            ),
            None,
        )
        if index is None:
            result.notes.append(f"{where}: its loss_cfg no longer has {class_name}'s entry")
            return
        if not force:
            result.files.append((path, EDITED))
            return
    new_text = yaml_edit.remove_list_item(text, "loss_cfg", index, where)
    expected = copy.deepcopy(cfgs)
    kept = losses[:index] + losses[index + 1 :]
    if kept:
        expected["loss_cfg"] = kept
    else:
        expected.pop("loss_cfg", None)
    if (yaml.safe_load(new_text) or {}) != expected:
        raise GenerateError(
            f"{where}: gaitgen could not remove {class_name}'s loss_cfg entry without changing "
            "other settings (unusual YAML layout); remove it by hand, then run destroy again"
        )
    result.configs[path] = new_text
    result.files.append((path, UPDATE))


def other_uses(project: Project, kind: str, class_name: str, skip: set[Path]) -> list[str]:
    """Notes naming the project's configs (outside ``skip``) that still use ``class_name``."""
    notes = []
    for path in sorted(project.configs_dir.glob("*.yaml")):
        if path.resolve() in skip:
            continue
        try:
            cfgs = yaml.safe_load(path.read_text(encoding="utf-8")) or {}
        except (OSError, UnicodeDecodeError, yaml.YAMLError):
            continue
        if not isinstance(cfgs, dict):
            continue
        if kind == "model":
            model_cfg = cfgs.get("model_cfg")
            used = isinstance(model_cfg, dict) and model_cfg.get("model") == class_name
        else:
            losses = cfgs.get("loss_cfg")
            losses = [losses] if isinstance(losses, dict) else losses or []
            used = any(isinstance(e, dict) and e.get("type") == class_name for e in losses)
        if used:
            where = path.relative_to(project.root).as_posix()
            notes.append(f"{where} still names {class_name}; edit it, or it will not run")
    return notes


def apply_destroy(
    project: Project,
    kind: str,
    result: DestroyPlan,
    *,
    dry_run: bool,
    echo: Callable[[str, str], None],
) -> None:
    """Print one status line per file, then remove and edit everything, or nothing.

    Raises:
        GenerateError: some file was edited since it was generated (and no ``--force``).
    """
    from gaitgen.runtime.atomic import atomic_write_text

    root = project.root
    for path, status in result.files:
        echo(status, path.relative_to(root).as_posix())
    edited = [path.relative_to(root).as_posix() for path, s in result.files if s == EDITED]
    if edited:
        raise GenerateError(
            f"{', '.join(edited)} changed since gaitgen generated {'it' if len(edited) == 1 else 'them'}"
            f"; nothing was removed (--force removes {'it' if len(edited) == 1 else 'them'} "
            "anyway)"
        )
    if dry_run:
        return
    for path, text in result.configs.items():
        atomic_write_text(path, text)
    for path, status in result.files:
        if status == REMOVE:
            path.unlink()
    record = read_record(root)
    if record[kind].pop(result.class_name, None) is not None:
        write_record(root, record)
