"""Compare rendered files with the disk, report a status per file, write all or none.

A generator first renders every file in memory, then calls :func:`plan` to classify each
target and :func:`apply` to print the status lines and write. Nothing is written when one
target is a conflict: the user sees every status line and one error.
"""

from __future__ import annotations

import contextlib
from collections.abc import Callable, Iterable
from dataclasses import dataclass
from pathlib import Path

from gaitgen.runtime.errors import GaitgenError, GenerateError

CREATE = "create"
IDENTICAL = "identical"
CONFLICT = "conflict"
OVERWRITE = "overwrite"
UPDATE = "update"  # an existing file edited on purpose (new-loss --config)


@dataclass(frozen=True)
class PlannedFile:
    """A file a generator wants on disk.

    Attributes:
        path: absolute target path.
        content: the full text to write.
        edit: the file is an existing one the user asked to change (no --force needed).
    """

    path: Path
    content: str
    edit: bool = False


@dataclass(frozen=True)
class FileAction:
    """What :func:`apply` will do with a planned file."""

    file: PlannedFile
    status: str


def plan(files: Iterable[PlannedFile], *, force: bool = False) -> list[FileAction]:
    """Classify each file: create, identical, conflict, overwrite (with force) or update.

    Raises:
        GenerateError: a target exists but is not a regular file.
    """
    actions = []
    for file in files:
        if file.path.exists() and not file.path.is_file():
            raise GenerateError(f"{file.path} exists and is not a file; move it away first")
        if not file.path.exists():
            status = CREATE
        elif file.path.read_text(encoding="utf-8") == file.content:
            status = IDENTICAL
        elif file.edit:
            status = UPDATE
        else:
            status = OVERWRITE if force else CONFLICT
        actions.append(FileAction(file, status))
    return actions


def _display(path: Path, root: Path) -> str:
    try:
        return str(path.relative_to(root))
    except ValueError:
        return str(path)


def apply(
    actions: list[FileAction],
    *,
    root: Path,
    dry_run: bool = False,
    echo: Callable[[str, str], None],
) -> list[Path]:
    """Print one status line per file, then write every changed file, or none.

    Args:
        actions: from :func:`plan`.
        root: paths are shown relative to it.
        dry_run: print the status lines only.
        echo: ``echo(status, path)`` prints a status line.

    Returns:
        The paths written (empty for a dry run).

    Raises:
        GenerateError: some target is a conflict; nothing was written.
    """
    for action in actions:
        echo(action.status, _display(action.file.path, root))
    conflicts = [_display(a.file.path, root) for a in actions if a.status == CONFLICT]
    if conflicts:
        raise GenerateError(
            f"{', '.join(conflicts)} already exist{'s' if len(conflicts) == 1 else ''} with "
            f"different content; nothing was written (use --force to overwrite, or choose "
            f"another name)"
        )
    if dry_run:
        return []
    changed = [a.file for a in actions if a.status in (CREATE, OVERWRITE, UPDATE)]
    _write_all(changed)
    return [file.path for file in changed]


def _write_all(files: list[PlannedFile]) -> None:
    """Write every file to a temporary sibling first, then rename them all into place.

    Each file goes through :func:`gaitgen.runtime.atomic.atomic_path`; they are all held open
    until every one is written, so a failure while writing (disk full, permissions) removes
    every temporary file and leaves every target as it was. The renames at the end are
    atomic one by one.
    """
    from gaitgen.runtime.atomic import atomic_path

    created_dirs: list[Path] = []
    failing = None
    try:
        with contextlib.ExitStack() as stack:
            for file in files:
                failing = file.path
                for parent in reversed(file.path.parents):
                    if not parent.exists():
                        parent.mkdir()
                        created_dirs.append(parent)
                temporary = stack.enter_context(atomic_path(file.path))
                temporary.write_text(file.content, encoding="utf-8")
            failing = None
    except (OSError, GaitgenError) as exc:
        if failing is None:  # a rename failed: the files renamed before it are in place
            raise
        for folder in reversed(created_dirs):
            with contextlib.suppress(OSError):
                folder.rmdir()
        if isinstance(exc, GaitgenError):  # a full disk, a read-only folder: named already
            raise GenerateError(f"{exc}; nothing was written") from None
        raise GenerateError(
            f"cannot write {failing}: {exc.strerror}; nothing was written"
        ) from None
