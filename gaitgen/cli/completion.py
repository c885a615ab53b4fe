"""Shell completion of gaitgen's arguments (``gaitgen --install-completion`` turns it on).

Typer calls these with the word being completed; they return the candidates, each with a
short help shown by shells that show one (zsh, fish). They read files only (model and loss
names come from :mod:`gaitgen.runtime.components.scan`, which parses the sources without importing
them), so pressing TAB never waits for torch. Any failure gives no candidates rather than a
traceback in the middle of the user's command line.

    ConfigArgument = Annotated[Path, typer.Argument(autocompletion=complete_config)]
    base: Annotated[str | None, typer.Option("--from", autocompletion=complete_model_name)] = None
"""

from __future__ import annotations

import os
from pathlib import Path

CONFIG_SUFFIXES = (".yaml", ".yml")
# folders never worth descending into when looking for configs
_SKIP_FOLDERS = {".git", ".venv", "venv", "node_modules", "__pycache__", "output", "data"}


def _project_root(start: Path):
    """The project around ``start`` (None outside one, or when it cannot be read)."""
    from gaitgen.runtime.project import find_project

    try:
        return find_project(start)
    except Exception:  # noqa: BLE001 - a broken pyproject must not break the user's TAB
        return None


def config_candidates(incomplete: str, cwd: Path | None = None) -> list[str]:
    """YAML files that complete ``incomplete``: the project's ``configs/`` and the typed folder.

    Args:
        incomplete: what the user typed so far (``""``, ``configs/ba``, ``../other/``).
        cwd: the folder the command runs in (default: the current one).

    Returns:
        Paths as the user would type them (relative to ``cwd`` where possible), sorted.
    """
    cwd = cwd or Path.cwd()
    found: set[str] = set()
    typed = Path(os.path.expanduser(incomplete))
    # "configs/ba" completes in configs/, "configs/" in configs/ too, "" in the current folder
    typed_folder = typed if incomplete.endswith("/") else typed.parent
    folders = [cwd / typed_folder]
    project = _project_root(cwd)
    if project is not None:
        folders.append(project.root / "configs")
    else:
        folders.append(cwd / "configs")
    absolute = Path(os.path.expanduser(incomplete)).is_absolute()

    def shown(path: Path) -> str:
        return str(path.resolve()) if absolute else os.path.relpath(path, cwd)

    for folder in folders:
        if not folder.is_dir():
            continue
        found |= {shown(path) for path in _yaml_files(folder, deep=folder.name == "configs")}
        if folder == folders[0]:  # folders under the typed one: completion can walk into them
            found |= {
                shown(child) + "/"
                for child in folder.iterdir()
                if child.is_dir() and child.name not in _SKIP_FOLDERS and child.name[0] != "."
            }
    if incomplete.startswith("./"):
        found = {c if c.startswith(("/", "../")) else "./" + c for c in found}
    if incomplete.startswith("~"):
        home = str(Path.home())
        found = {"~" + c[len(home) :] if c.startswith(home) else c for c in found}
    return sorted(candidate for candidate in found if candidate.startswith(incomplete))


def _yaml_files(folder: Path, deep: bool) -> list[Path]:
    if not deep:
        return [
            p
            for p in folder.iterdir()
            if p.is_file() and p.suffix in CONFIG_SUFFIXES and not p.name.startswith(".")
        ]
    files = []
    for root, dirs, names in os.walk(folder):
        dirs[:] = [d for d in dirs if d not in _SKIP_FOLDERS and not d.startswith(".")]
        files += [
            Path(root) / n
            for n in names
            if Path(n).suffix in CONFIG_SUFFIXES and not n.startswith(".")
        ]
    return files


def component_candidates(
    kind: str, incomplete: str, cwd: Path | None = None
) -> list[tuple[str, str]]:
    """Class names of the built-in and project components of ``kind`` starting with ``incomplete``.

    Args:
        kind: ``"model"`` or ``"loss"``.
        incomplete: what the user typed so far (matched case-insensitively).
        cwd: a folder inside the project (default: the current one).

    Returns:
        (name, where it is defined) pairs, project components first, each group sorted.
    """
    from gaitgen.runtime.components.scan import builtin_components, project_components

    sources = []
    project = _project_root(cwd or Path.cwd())
    if project is not None:
        sources += sorted(project_components(project, kind), key=lambda s: s.name)
    sources += sorted(builtin_components(kind), key=lambda s: s.name)
    seen: set[str] = set()
    candidates = []
    for source in sources:
        if source.name in seen or not source.name.lower().startswith(incomplete.lower()):
            continue
        seen.add(source.name)
        where = "built-in" if source.builtin else str(_relative(source.path, project))
        candidates.append((source.name, f"{kind} ({where})"))
    return candidates


def _relative(path: Path, project) -> Path:
    try:
        return path.relative_to(project.root)
    except (AttributeError, ValueError):
        return path


def complete_config(incomplete: str) -> list[str]:
    """Typer ``autocompletion`` for CONFIG arguments."""
    try:
        return config_candidates(incomplete)
    except Exception:  # noqa: BLE001 - see the module docstring
        return []


def complete_model_name(incomplete: str) -> list[tuple[str, str]]:
    """Typer ``autocompletion`` for model names (``new-model --from``)."""
    try:
        return component_candidates("model", incomplete)
    except Exception:  # noqa: BLE001 - see the module docstring
        return []
