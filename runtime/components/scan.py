"""Finding the members of a kind by reading source files: no import, no torch.

The CLI (``gaitgen list``, the generators, shell completion) must know which components
exist without paying for ``import torch``, and one broken project file must not hide the
others. So files are parsed with :mod:`ast`; a class is a member of a kind when it derives
from the kind's base class, directly or through another member (a project model may extend
a built-in one). Only :mod:`.lookup` imports anything, and only the file that defines the
class asked for.
"""

from __future__ import annotations

import ast
import errno
import importlib
import importlib.util
import os
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from ..project import Project
from .kinds import KINDS, Kind

RUNTIME_DIR = Path(__file__).resolve().parent.parent


@dataclass(frozen=True)
class Component:
    """A member of a kind, found without importing it.

    Attributes:
        name: the name a config uses (the class name, or a table key).
        kind: the kind's name.
        module: the module to import to get it.
        path: the file defining it (None for a library namespace or a table entry).
        builtin: it ships with gaitgen (not the project's own).
    """

    name: str
    kind: str
    module: str
    path: Path | None
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


# path -> (modification time, size, classes or None, error); a file is parsed once per change
_PARSED: dict[Path, tuple[float, int, dict[str, list[str]], str | None]] = {}
PARSED_FILES_LIMIT = 2048  # bound on the cache above (the runtime has ~200 files)


def scan_classes(path: Path) -> tuple[dict[str, list[str]], str | None]:
    """Public top-level classes of a Python file with their base names, and why it is unreadable.

    Returns:
        ``({class name: [base names]}, None)``, or ``({}, "SyntaxError: ... (line 3)")``.
    """
    try:
        stat = path.stat()
    except OSError as exc:
        return {}, _unreadable(path, exc)
    cached = _PARSED.get(path)
    if cached is not None and cached[:2] == (stat.st_mtime, stat.st_size):
        return cached[2], cached[3]
    try:
        tree = ast.parse(path.read_text(encoding="utf-8"), filename=str(path))
        classes = {
            node.name: _base_names(node)
            for node in tree.body
            if isinstance(node, ast.ClassDef) and not node.name.startswith("_")
        }
        error = None
    except SyntaxError as exc:
        classes, error = {}, f"SyntaxError: {exc.msg} (line {exc.lineno})"
    except OSError as exc:
        classes, error = {}, _unreadable(path, exc)
    except (UnicodeDecodeError, ValueError) as exc:
        classes, error = {}, f"{type(exc).__name__}: {exc}"
    if len(_PARSED) >= PARSED_FILES_LIMIT:
        _PARSED.clear()
    _PARSED[path] = (stat.st_mtime, stat.st_size, classes, error)
    return classes, error


def _link_chain(path: Path, hops: int = 8) -> str:
    """``a.py -> b.py -> a.py``: where a symbolic link leads, until it repeats or ends."""
    chain, current, seen = [path.name], path, {path}
    for _ in range(hops):
        try:
            target = os.readlink(current)
        except OSError:  # not a link: the chain ends here
            return " -> ".join(chain)
        chain.append(target)
        current = current.parent / target
        if current in seen:
            return " -> ".join(chain)
        seen.add(current)
    return " -> ".join(chain) + " -> ..."


def _unreadable(path: Path, exc: OSError) -> str:
    """Why a ``*.py`` entry of a components folder cannot be read, in words a user acts on.

    A symbolic link that loops (``ln -s b.py a.py; ln -s a.py b.py``) or leads to a folder
    (``ln -s . loop.py``) is never a component file: it is reported like any unreadable file,
    naming the link, and the other files are still found.
    """
    if exc.errno == errno.ELOOP:
        return (
            f"a symbolic link that loops ({_link_chain(path)}) and reaches no file: "
            "remove it or point it at a Python file"
        )
    link = f" (a symbolic link: {_link_chain(path)})" if path.is_symlink() else ""
    if exc.errno == errno.EISDIR:
        return f"a folder{link}, not a Python file: rename or remove it"
    if exc.errno == errno.ENOENT and link:
        return f"a symbolic link to a file that does not exist ({_link_chain(path)}): fix it"
    return f"{type(exc).__name__}: {exc}"


def classes_in_file(path: Path) -> list[str]:
    """Names of the public top-level classes of a Python file (no import)."""
    return list(scan_classes(path)[0])


def python_files(path: Path, private_files: bool = False) -> list[Path]:
    """``path`` itself if it is a file, else the ``*.py`` files of the folder (not those
    named ``_*``, unless ``private_files``: a library keeps public classes in them)."""
    if path.is_file():
        return [path]
    if not path.is_dir():
        return []
    return sorted(
        p
        for p in path.glob("*.py")
        if p.name != "__init__.py" and (private_files or not p.name.startswith("_"))
    )


def _members(files: list[Path], kind: Kind, known: set[str]) -> dict[Path, list[str]]:
    """The classes of ``files`` that derive from the kind's base or from a name in ``known``."""
    scanned = {file: scan_classes(file)[0] for file in files}
    accepted = set(known) | {kind.base_name}
    changed = True
    while changed:  # a class may extend a member defined later or in another file
        changed = False
        for classes in scanned.values():
            for name, bases in classes.items():
                if name not in accepted and accepted.intersection(bases):
                    accepted.add(name)
                    changed = True
    return {
        file: [name for name in classes if name in accepted and name != kind.base_name]
        for file, classes in scanned.items()
    }


def _builtin_root(kind: Kind) -> Path:
    """The folder a kind's ``builtin`` paths are relative to (a library is located, not
    imported: listing torch's optimizers must not cost ``import torch``)."""
    if kind.library is None:
        return RUNTIME_DIR
    spec = importlib.util.find_spec(kind.library)
    if spec is None or spec.origin is None:
        return Path("/nonexistent")
    return Path(spec.origin).parent


def builtin_files(kind: Kind) -> list[Path]:
    root = _builtin_root(kind)
    files: list[Path] = []
    for relative in kind.builtin:
        files += python_files(root / relative, private_files=kind.library is not None)
    return files


def _module_of(path: Path, kind: Kind) -> str:
    if kind.namespace:
        return kind.namespace
    relative = path.relative_to(RUNTIME_DIR).with_suffix("")
    return "gaitgen.runtime." + ".".join(relative.parts)


def _table_members(kind: Kind) -> list[Component]:
    """Members of a table kind (its module is torch-free data)."""
    assert kind.table is not None
    module_name, _, attribute = kind.table.partition(":")
    table = getattr(importlib.import_module(module_name), attribute)
    return [Component(str(name), kind.name, module_name, None, True) for name in table]


def builtin_components(kind: str) -> list[Component]:
    """The built-in members of a kind, in file order."""
    spec = KINDS[kind]
    if spec.table:
        return _table_members(spec)
    return [
        Component(name, kind, _module_of(file, spec), file, True)
        for file, names in _members(builtin_files(spec), spec, set()).items()
        for name in names
    ]


def project_files(project: Project, kind: str) -> list[Path]:
    """The files of a project that may hold members of a kind."""
    folder = KINDS[kind].project_folder
    return python_files(project.package_dir / folder) if folder else []


def project_components(project: Project, kind: str) -> list[Component]:
    """The members of a kind in a project's ``<package>/<folder>/`` files."""
    spec = KINDS[kind]
    if spec.project_folder is None:
        return []
    known = {c.name for c in builtin_components(kind)} if spec.builtin else set()
    return [
        Component(name, kind, f"{project.package}.{spec.project_folder}.{file.stem}", file, False)
        for file, names in _members(project_files(project, kind), spec, known).items()
        for name in names
    ]


def unreadable_files(project: Project | None, kind: str) -> dict[Path, str]:
    """The project files of a kind that cannot be parsed, with the reason."""
    if project is None:
        return {}
    problems = {}
    for file in project_files(project, kind):
        error = scan_classes(file)[1]
        if error:
            problems[file] = error
    return problems


def taken_names(project: Project | None, kinds: tuple[str, ...] = ("model", "loss")) -> dict:
    """Every public class name in the files of these kinds (members or not), with its file.

    A new class must not reuse any of them: even a helper class of that name would make a
    config's name ambiguous for a reader.
    """
    taken: dict[str, Any] = {}
    for kind in kinds:
        files = builtin_files(KINDS[kind])
        if project is not None:
            files += project_files(project, kind)
        for file in files:
            for name in classes_in_file(file):
                taken.setdefault(name, file)
    return taken
