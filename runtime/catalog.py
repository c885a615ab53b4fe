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
    "transform": ("data/transforms.py", "data/normalisers.py"),
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


def _base_names(node: ast.ClassDef) -> list[str]:
    """Last part of each base of a class: ``BaseModel``, ``nn.Module`` -> ``Module``."""
    names = []
    for base in node.bases:
        if isinstance(base, ast.Attribute):
            names.append(base.attr)
        elif isinstance(base, ast.Name):
            names.append(base.id)
    return names


def scan_classes(path: Path) -> tuple[dict[str, list[str]], str | None]:
    """Public top-level classes of a Python file with their base names (no import).

    Returns the classes and, when the file cannot be read, why.
    """
    try:
        tree = ast.parse(path.read_text(encoding="utf-8"), filename=str(path))
    except SyntaxError as exc:
        return {}, f"SyntaxError: {exc.msg} (line {exc.lineno})"
    except (UnicodeDecodeError, OSError) as exc:
        return {}, f"{type(exc).__name__}: {exc}"
    return {
        node.name: _base_names(node)
        for node in tree.body
        if isinstance(node, ast.ClassDef)
        and not node.name.startswith("_")
        and node.name not in _NOT_COMPONENTS
    }, None


def scan_file(path: Path) -> tuple[list[str], str | None]:
    """Public top-level class names of a Python file (no import), and why it could not be read."""
    classes, error = scan_classes(path)
    return list(classes), error


def classes_in_file(path: Path) -> list[str]:
    """Names of the public top-level classes defined in a Python file (no import)."""
    return scan_file(path)[0]


def _python_files(path: Path) -> list[Path]:
    if path.is_file():
        return [path]
    if not path.is_dir():
        return []
    return sorted(p for p in path.glob("*.py") if not p.name.startswith("_"))


# kind -> the base class whose subclasses are components of that kind; a model file may hold
# helper layers (nn.Module subclasses) that are not models and are not listed
_COMPONENT_BASES: dict[str, str] = {"model": "BaseModel", "loss": "BaseLoss"}


def _components(
    files: list[Path], kind: str, builtin: bool, known: set[str]
) -> list[ComponentSource]:
    """The classes of ``files`` that are components of ``kind``.

    For models and losses, a component subclasses BaseModel/BaseLoss directly or through
    another component (``known`` holds the component names found elsewhere, e.g. the
    built-in models a project model may extend); found without importing anything.
    """
    scanned = {file: scan_classes(file)[0] for file in files}
    base = _COMPONENT_BASES.get(kind)
    if base is None:
        return [ComponentSource(n, kind, f, builtin) for f, c in scanned.items() for n in c]
    accepted = set(known) | {base}
    changed = True
    while changed:  # a class may extend a component defined later or in another file
        changed = False
        for classes in scanned.values():
            for name, bases in classes.items():
                if name not in accepted and accepted.intersection(bases):
                    accepted.add(name)
                    changed = True
    return [
        ComponentSource(name, kind, file, builtin)
        for file, classes in scanned.items()
        for name in classes
        if name in accepted and name != base
    ]


def builtin_components(kind: str) -> list[ComponentSource]:
    """Built-in components of ``kind`` ("model", "loss", "sampler", "transform")."""
    files = []
    for relative in BUILTIN_SOURCES[kind]:
        files += [
            file
            for file in _python_files(RUNTIME_DIR / relative)
            if not (kind == "loss" and file.name in {"base.py", "aggregator.py"})
        ]
    return _components(files, kind, True, set())


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
    known = {source.name for source in builtin_components(kind)}
    return _components(_python_files(project.package_dir / folder), kind, False, known)


def taken_names(
    project: Project | None, kinds: tuple[str, ...] = ("model", "loss")
) -> dict[str, Path]:
    """Every public class name in the model and loss files (components or not), with its file.

    A new class must not reuse any of them: even a helper class of that name would make
    the registry's "one class, one name" rule ambiguous for a reader.
    """
    taken: dict[str, Path] = {}
    for kind in kinds:
        files = []
        for relative in BUILTIN_SOURCES[kind]:
            files += _python_files(RUNTIME_DIR / relative)
        if project is not None and kind in PROJECT_FOLDERS:
            files += _python_files(project.package_dir / PROJECT_FOLDERS[kind])
        for file in files:
            for name in classes_in_file(file):
                taken.setdefault(name, file)
    return taken
