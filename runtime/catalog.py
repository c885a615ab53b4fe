"""What components exist, found without importing torch.

The generators must know which class names are taken (built-in or in the project) without
paying for ``import torch``; they read the sources with :mod:`ast`. The runtime's registry
(:mod:`gaitgen.runtime.registry`) imports the classes for real.
"""

from __future__ import annotations

import ast
from dataclasses import dataclass
from pathlib import Path

from .project import Project

RUNTIME_DIR = Path(__file__).resolve().parent

# kind -> runtime sub-folder or file whose classes are the built-ins of that kind
BUILTIN_SOURCES: dict[str, tuple[str, ...]] = {
    "model": ("models",),
    "loss": ("losses",),
    "sampler": ("data/sampler.py",),
    "transform": ("data/transforms.py",),
}

# kind -> folder of a project, relative to its package
PROJECT_FOLDERS: dict[str, str] = {"model": "models", "loss": "losses"}

# base classes, helpers and private names that are not user-facing components
_NOT_COMPONENTS = {"BaseModel", "BaseLoss", "LossAggregator"}


@dataclass(frozen=True)
class ComponentSource:
    """A class found in a source file."""

    name: str
    kind: str
    path: Path
    builtin: bool


def scan_file(path: Path) -> tuple[list[str], str | None]:
    """Public top-level class names of a Python file (no import), and why it could not be read."""
    try:
        tree = ast.parse(path.read_text(encoding="utf-8"), filename=str(path))
    except SyntaxError as exc:
        return [], f"SyntaxError: {exc.msg} (line {exc.lineno})"
    except (UnicodeDecodeError, OSError) as exc:
        return [], f"{type(exc).__name__}: {exc}"
    return [
        node.name
        for node in tree.body
        if isinstance(node, ast.ClassDef)
        and not node.name.startswith("_")
        and node.name not in _NOT_COMPONENTS
    ], None


def classes_in_file(path: Path) -> list[str]:
    """Names of the public top-level classes defined in a Python file (no import)."""
    return scan_file(path)[0]


def _python_files(path: Path) -> list[Path]:
    if path.is_file():
        return [path]
    if not path.is_dir():
        return []
    return sorted(p for p in path.glob("*.py") if not p.name.startswith("_"))


def builtin_components(kind: str) -> list[ComponentSource]:
    """Built-in components of ``kind`` ("model", "loss", "sampler", "transform")."""
    found = []
    for relative in BUILTIN_SOURCES[kind]:
        for file in _python_files(RUNTIME_DIR / relative):
            if kind == "loss" and file.name in {"base.py", "aggregator.py"}:
                continue
            found += [ComponentSource(n, kind, file, True) for n in classes_in_file(file)]
    return found


def unreadable_project_files(project: Project, kind: str) -> dict[Path, str]:
    """Project files of ``kind`` that cannot be parsed, with the reason."""
    folder = PROJECT_FOLDERS.get(kind)
    if folder is None:
        return {}
    problems = {}
    for file in _python_files(project.package_dir / folder):
        error = scan_file(file)[1]
        if error:
            problems[file] = error
    return problems


def project_components(project: Project, kind: str) -> list[ComponentSource]:
    """Components of ``kind`` defined in a project's ``<package>/models`` or ``losses``."""
    folder = PROJECT_FOLDERS.get(kind)
    if folder is None:
        return []
    found = []
    for file in _python_files(project.package_dir / folder):
        found += [ComponentSource(n, kind, file, False) for n in classes_in_file(file)]
    return found


def taken_names(
    project: Project | None, kinds: tuple[str, ...] = ("model", "loss")
) -> dict[str, Path]:
    """Every class name already used by a model or loss, mapped to its file."""
    taken: dict[str, Path] = {}
    for kind in kinds:
        sources = builtin_components(kind)
        if project is not None:
            sources += project_components(project, kind)
        for source in sources:
            taken.setdefault(source.name, source.path)
    return taken
