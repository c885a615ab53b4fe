"""Resolving the names in a config to classes: models, losses, optimizers, schedulers.

Models and losses are found by class name among the built-ins and the project's
``<package>/models`` and ``<package>/losses`` files (no registration code), or by a dotted
path (``mypkg.models.mine.MyModel``). Files are read with :mod:`ast` first and only the file
that defines the asked-for class is imported, so one broken file does not hide the others
and reports its own path and error.
"""

from __future__ import annotations

import importlib
import logging
import sys
from pathlib import Path
from typing import Any

import torch

from .catalog import builtin_components, project_components, unreadable_project_files
from .errors import RegistryError, did_you_mean
from .project import Project

_KIND_FOLDER = {"model": "models", "loss": "losses"}


def _base_class(kind: str) -> type:
    if kind == "model":
        from .model import BaseModel

        return BaseModel
    from .losses.base import BaseLoss

    return BaseLoss


def add_project_to_path(project: Project | None) -> None:
    """Put the project root first on sys.path so ``<package>`` imports (idempotent)."""
    if project is not None and str(project.root) not in sys.path:
        sys.path.insert(0, str(project.root))


def import_dotted(path: str, where: str) -> Any:
    """The object a dotted path ``package.module.Name`` names; errors start with ``where``."""
    module_name, _, attribute = path.rpartition(".")
    try:
        module = importlib.import_module(module_name)
    except ImportError as exc:
        raise RegistryError(f"{where}: cannot import module {module_name!r}: {exc}") from None
    if not hasattr(module, attribute):
        candidates = [n for n in dir(module) if not n.startswith("_")]
        raise RegistryError(
            f"{where}: module {module_name!r} has no {attribute!r}"
            f"{did_you_mean(attribute, candidates)}"
        )
    return getattr(module, attribute)


def _module_name(source_path: Path, builtin: bool, project: Project | None, kind: str) -> str:
    if builtin:
        relative = source_path.relative_to(Path(__file__).resolve().parent).with_suffix("")
        return "gaitgen.runtime." + ".".join(relative.parts)
    assert project is not None
    return f"{project.package}.{_KIND_FOLDER[kind]}.{source_path.stem}"


def _prefer_project(matches: list[Any], kind: str, name: str) -> list[Any]:
    """A project class named like a built-in one shadows it, with a warning.

    A researcher who copies OpenGait's ``baseline.py`` into the project to change it means
    their copy when a config says ``model: Baseline``; refusing would break every config
    naming it. Two project classes of one name stay an error (which one is meant is a guess).
    """
    own = [m for m in matches if not m.builtin]
    if len(own) == 1 and len(matches) > 1:
        builtin = next(m for m in matches if m.builtin)
        if (kind, name) not in _SHADOW_WARNED:
            _SHADOW_WARNED.add((kind, name))
            logging.getLogger("gaitgen").warning(
                "%s %s of %s shadows the built-in one (%s); rename the class to use both",
                kind,
                name,
                own[0].path,
                builtin.path.name,
            )
        return own
    return matches


_SHADOW_WARNED: set[tuple[str, str]] = set()


def _refuse_non_component(kind: str, name: str, project: Project | None, base: type) -> None:
    """A class of that name that is no BaseModel/BaseLoss subclass: say so, with its file."""
    from .catalog import BUILTIN_SOURCES, PROJECT_FOLDERS, RUNTIME_DIR, classes_in_file

    folders = [RUNTIME_DIR / relative for relative in BUILTIN_SOURCES[kind]]
    if project is not None:
        folders.append(project.package_dir / PROJECT_FOLDERS[kind])
    for folder in folders:
        for file in sorted(folder.glob("*.py")) if folder.is_dir() else []:
            if name in classes_in_file(file):
                raise RegistryError(
                    f"{kind} {name!r} ({file}) is not a subclass of {base.__name__}: "
                    f"derive it from gaitgen.runtime.{base.__name__}"
                )


def resolve(kind: str, name: str, project: Project | None) -> type:
    """Return the class called ``name`` of ``kind`` ("model" or "loss").

    Raises:
        RegistryError: unknown name (with close matches), a name defined twice (both files
            named), a file that fails to import (its path and error), or a class that is
            not a BaseModel/BaseLoss subclass.
    """
    add_project_to_path(project)
    base = _base_class(kind)
    if "." in name:
        cls = import_dotted(name, f"{kind} {name!r}")
    else:
        sources = builtin_components(kind)
        if project is not None:
            sources += project_components(project, kind)
        matches = [s for s in sources if s.name == name]
        matches = _prefer_project(matches, kind, name)
        if len(matches) > 1:
            files = ", ".join(str(m.path) for m in matches)
            raise RegistryError(
                f"{kind} {name!r} is defined more than once ({files}); rename one of the classes"
            )
        if not matches:
            _refuse_non_component(kind, name, project, base)
            known = sorted({s.name for s in sources})
            message = f"unknown {kind} {name!r}{did_you_mean(name, known)}; available: {known}"
            broken = unreadable_project_files(project, kind) if project is not None else {}
            if broken:
                message += "; these files could not be read: " + "; ".join(
                    f"{path}: {error}" for path, error in broken.items()
                )
            if project is None:
                message += (
                    "; no gaitgen project was found above the config, so only built-in "
                    f"{kind}s are known"
                )
            raise RegistryError(message)
        source = matches[0]
        module_name = _module_name(source.path, source.builtin, project, kind)
        try:
            module = importlib.import_module(module_name)
        except (
            Exception
        ) as exc:  # noqa: BLE001 - any error in the user's file, reported with its path
            raise RegistryError(
                f"{source.path}: importing it failed: {type(exc).__name__}: {exc}"
            ) from exc
        cls = getattr(module, name)
    if not (isinstance(cls, type) and issubclass(cls, base)):
        raise RegistryError(f"{kind} {name!r} is not a subclass of {base.__name__}")
    return cls


def resolve_torch_class(module: Any, name: Any, where: str) -> type:
    """A class of ``torch.optim`` or ``torch.optim.lr_scheduler`` by name, with hints."""
    candidates = [
        n for n in dir(module) if not n.startswith("_") and isinstance(getattr(module, n), type)
    ]
    if not isinstance(name, str) or name not in candidates:
        raise RegistryError(
            f"{where}: unknown {module.__name__} class {name!r}"
            f"{did_you_mean(str(name), candidates)}"
        )
    return getattr(module, name)


def build_optimizer(optimizer_cfg: dict, parameters: Any) -> torch.optim.Optimizer:
    """``optimizer_cfg.solver`` names a torch.optim class; the other keys are its arguments."""
    from .config.validate import check_call_arguments

    params = dict(optimizer_cfg)
    cls = resolve_torch_class(torch.optim, params.pop("solver", None), "optimizer_cfg.solver")
    check_call_arguments(cls, params, f"optimizer_cfg ({cls.__name__})")
    return cls(parameters, **params)


def build_scheduler(scheduler_cfg: dict, optimizer: torch.optim.Optimizer) -> Any:
    """``scheduler_cfg.scheduler`` names a torch.optim.lr_scheduler class."""
    from .config.validate import check_call_arguments

    params = dict(scheduler_cfg)
    cls = resolve_torch_class(
        torch.optim.lr_scheduler, params.pop("scheduler", None), "scheduler_cfg.scheduler"
    )
    check_call_arguments(cls, params, f"scheduler_cfg ({cls.__name__})")
    return cls(optimizer, **params)
