"""Finding the gaitgen project a config or a working folder belongs to.

A project is the nearest folder, from a start path upwards, whose ``pyproject.toml`` has a
``[tool.gaitgen]`` table with ``package = "<name>"``. Models live in ``<package>/models/``
and losses in ``<package>/losses/``. This module imports no torch: the CLI uses it too.
"""

from __future__ import annotations

import contextlib
import sys
from collections.abc import Iterator
from dataclasses import dataclass
from pathlib import Path

from .atomic import folder_lock
from .errors import ProjectError

if sys.version_info >= (3, 11):
    import tomllib
else:  # pragma: no cover - exercised on Python 3.10 only
    import tomli as tomllib


@dataclass(frozen=True)
class Project:
    """A gaitgen research project on disk."""

    root: Path
    package: str

    @property
    def package_dir(self) -> Path:
        return self.root / self.package

    @property
    def models_dir(self) -> Path:
        return self.package_dir / "models"

    @property
    def losses_dir(self) -> Path:
        return self.package_dir / "losses"

    @property
    def configs_dir(self) -> Path:
        return self.root / "configs"

    @property
    def tests_dir(self) -> Path:
        return self.root / "tests"


def read_project(root: Path) -> Project | None:
    """Return the project rooted at ``root``, or None when its pyproject has no [tool.gaitgen].

    Raises:
        ProjectError: the pyproject.toml cannot be parsed or its [tool.gaitgen] is invalid.
    """
    pyproject = root / "pyproject.toml"
    if not pyproject.is_file():
        return None
    try:
        data = tomllib.loads(pyproject.read_text(encoding="utf-8"))
    except (tomllib.TOMLDecodeError, UnicodeDecodeError) as exc:
        raise ProjectError(f"{pyproject}: invalid TOML: {exc}") from None
    table = data.get("tool", {}).get("gaitgen")
    if table is None:
        return None
    package = table.get("package") if isinstance(table, dict) else None
    if not isinstance(package, str) or not package.isidentifier():
        raise ProjectError(
            f'{pyproject}: [tool.gaitgen] needs package = "<python package name>" '
            f"(got {package!r})"
        )
    return Project(root=root.resolve(), package=package)


def find_project(start: Path | str) -> Project | None:
    """Return the nearest project at or above ``start`` (a file or a folder), or None."""
    path = Path(start).resolve()
    if path.is_file() or not path.exists():
        path = path.parent
    for folder in (path, *path.parents):
        project = read_project(folder)
        if project is not None:
            return project
    return None


def require_project(start: Path | str) -> Project:
    """Like :func:`find_project`, but raise a ProjectError that says how to make one."""
    project = find_project(start)
    if project is None:
        raise ProjectError(
            f"no gaitgen project found at or above {Path(start).resolve()} "
            "(no pyproject.toml with [tool.gaitgen]); create one with 'gaitgen init DEST' "
            "and run this command inside it"
        )
    return project


@contextlib.contextmanager
def editing_project(start: Path | str) -> Iterator[Project]:
    """:func:`require_project`, holding the project's lock for the block.

    Every command that reads project files and writes them back (``new-model``, ``new-loss
    --config``, ``port``, ``upgrade``) runs inside one, so two of them at once take turns:
    the second reads what the first wrote instead of overwriting it with an older copy.
    """
    project = require_project(start)
    with folder_lock(project.root):
        yield project
