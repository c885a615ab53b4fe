"""From a name to a class (:func:`get`), and from a config block to an object (:func:`build`).

Every kind is looked up here, with one error shape for an unknown name::

    <where>: unknown <kind> 'X' (did you mean 'Y'?); available: A, B, C

A dotted path (``mypkg.models.mine.MyModel``) names any importable member. Otherwise the
name is looked up among the built-ins and the project's files (see :mod:`.scan`); only the
file defining it is imported, and an error in it is reported with its path.
"""

from __future__ import annotations

import contextlib
import contextvars
import importlib
import logging
import sys
import traceback
from collections.abc import Iterator, Mapping
from pathlib import Path
from typing import Any

from ..errors import RegistryError, did_you_mean
from ..project import Project
from .arguments import Ignored, check_arguments
from .kinds import KINDS, Kind
from .scan import (
    Component,
    builtin_components,
    builtin_files,
    classes_in_file,
    project_components,
    project_files,
    unreadable_files,
)

log = logging.getLogger("gaitgen")

_SHADOW_WARNED: set[tuple[str, str]] = set()

# the project whose members count while a model is built (a model's build_network builds its
# backbone by name, and cannot be handed the project: OpenGait fixes its signature)
_ACTIVE_PROJECT: contextvars.ContextVar[Project | None] = contextvars.ContextVar(
    "gaitgen_active_project", default=None
)


@contextlib.contextmanager
def using_project(project: Project | None) -> Iterator[None]:
    """Within the block, lookups that are given no project use ``project``."""
    token = _ACTIVE_PROJECT.set(project)
    try:
        yield
    finally:
        _ACTIVE_PROJECT.reset(token)


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


def _failed_at(exc: BaseException, file: Path | str | None) -> str:
    """`` at line N`` (in ``file``) or `` at other.py:N`` where ``exc`` was raised: the last
    frame of its traceback outside Python's import machinery (the failing statement)."""
    frames = [f for f in traceback.extract_tb(exc.__traceback__) if not f.filename.startswith("<")]
    if not frames:
        return ""
    last = frames[-1]
    if file is not None and Path(last.filename) == Path(file):
        return f" at line {last.lineno}"
    return f" at {last.filename}:{last.lineno}"


def _import_failure(exc: ImportError, file: Path | str | None, what: str) -> RegistryError:
    """The error for an import that failed while a component file was imported or built.

    Args:
        exc: the ImportError (a module that is not installed, a name it lacks).
        file: the component's file, which the message starts with.
        what: what was being done, e.g. ``"importing it"``, ``"building model 'Mine'"``.
    """
    where = f"{file}: {what} failed{_failed_at(exc, file)}"
    if isinstance(exc, ModuleNotFoundError) and exc.name:
        top = exc.name.partition(".")[0]
        return RegistryError(
            f"{where}: module {exc.name!r} is not installed: install the package that "
            f"provides it (e.g. pip install {top}), or fix the import"
        )
    return RegistryError(f"{where}: {type(exc).__name__}: {exc}: fix the import")


@contextlib.contextmanager
def building(kind: str, cls: type) -> Iterator[None]:
    """Within the block (the constructor of ``cls``), an import that fails is one
    RegistryError naming the class's file and line and the missing module, not a bare
    ``ModuleNotFoundError`` (a model's ``build_network`` may import an optional package)."""
    try:
        yield
    except ImportError as exc:
        file = getattr(sys.modules.get(cls.__module__), "__file__", None)
        what = f"building {kind} {cls.__name__!r}"
        raise _import_failure(exc, file, what) from exc


def _base(kind: Kind) -> type:
    module, _, name = kind.base.partition(":")
    return getattr(importlib.import_module(module), name)


def available(kind: str, project: Project | None = None) -> list[Component]:
    """Every member of a kind: the built-ins, then the project's."""
    found = builtin_components(kind)
    if project is not None:
        found += project_components(project, kind)
    return found


def _same(a: str, b: str, kind: Kind) -> bool:
    return a.lower() == b.lower() if kind.ignore_case else a == b


def _aliases(kind: Kind) -> dict[str, str]:
    if not kind.aliases:
        return {}
    module, _, attribute = kind.aliases.partition(":")
    return dict(getattr(importlib.import_module(module), attribute))


def _choose(kind: Kind, name: str, matches: list[Component]) -> Component | None:
    """The one match; a project member shadows a built-in of its name (one warning).

    A researcher who copies OpenGait's ``baseline.py`` into the project to change it means
    their copy when a config says ``model: Baseline``; refusing would break every config
    naming it. Two project classes of one name stay an error (which one is meant is a guess).
    """
    own = [m for m in matches if not m.builtin]
    if len(own) == 1 and len(matches) > 1:
        builtin = next(m for m in matches if m.builtin)
        if (kind.name, name) not in _SHADOW_WARNED:
            _SHADOW_WARNED.add((kind.name, name))
            log.warning(
                "%s %s of %s shadows the built-in one (%s); rename the class to use both",
                kind.name,
                name,
                own[0].path,
                builtin.path.name if builtin.path else builtin.module,
            )
        return own[0]
    if len(matches) > 1:
        files = ", ".join(str(m.path or m.module) for m in matches)
        raise RegistryError(
            f"{kind.name} {name!r} is defined more than once ({files}); rename one of the classes"
        )
    return matches[0] if matches else None


def unknown_name_error(
    kind: str, name: Any, where: str, project: Project | None = None, names: Any = None
) -> RegistryError:
    """The one error for a name no member of ``kind`` has, with the close matches."""
    spec = KINDS[kind]
    known = sorted({c.name for c in available(kind, project)} if names is None else set(names))
    message = (
        f"{where}: unknown {kind} {name!r}{did_you_mean(str(name), known)}; "
        f"available: {', '.join(known)}"
    )
    broken = unreadable_files(project, kind)
    if broken:
        message += "; these files could not be read: " + "; ".join(
            f"{path}: {error}" for path, error in broken.items()
        )
    if spec.project_folder and project is None and spec.builtin:
        message += (
            f"; no gaitgen project was found above the config, so only built-in "
            f"{spec.plural} are known"
        )
    elif not spec.table:
        message += " (or give a dotted path package.module.Class)"
    return RegistryError(message)


def _refuse_non_member(kind: Kind, name: str, project: Project | None) -> None:
    """A class of that name in the kind's files that is no member: say so, with its file."""
    files = builtin_files(kind)
    if project is not None:
        files += project_files(project, kind.name)
    for file in files:
        if name in classes_in_file(file):
            raise RegistryError(
                f"{kind.name} {name!r} ({file}) is not a subclass of {kind.base_name}: "
                f"derive it from {kind.base.replace(':', '.')}"
            )


def get(kind: str, name: Any, project: Project | None = None, where: str | None = None) -> Any:
    """The member of ``kind`` called ``name``: a class (or a table's entry).

    Args:
        kind: a key of :data:`.kinds.KINDS`.
        name: the name from the config: a class name, an alias, or a dotted path.
        project: the project whose own members count too.
        where: the config key or option, for messages (default: the kind's config key).

    Raises:
        RegistryError: unknown name (with close matches), a name defined twice (both files
            named), a file that fails to import (its path and error), or a class that does
            not derive from the kind's base.
    """
    spec = KINDS[kind]
    where = where or spec.config_key
    project = project or _ACTIVE_PROJECT.get()
    if not isinstance(name, str) or not name:
        raise RegistryError(f"{where}: expected a {kind} name, got {name!r}")
    add_project_to_path(project)
    if spec.table:
        name = next((k for a, k in _aliases(spec).items() if _same(a, name, spec)), name)
        module, _, attribute = spec.table.partition(":")
        table = getattr(importlib.import_module(module), attribute)
        key = next((k for k in table if _same(str(k), name, spec)), None)
        if key is None:
            raise unknown_name_error(kind, name, where, project, names=table)
        return table[key]
    if "." in name:
        member = import_dotted(name, f"{where}: {kind} {name!r}")
    else:
        matches = [c for c in available(kind, project) if _same(c.name, name, spec)]
        chosen = _choose(spec, name, matches)
        if chosen is None:
            _refuse_non_member(spec, name, project)
            raise unknown_name_error(kind, name, where, project)
        try:
            module = importlib.import_module(chosen.module)
        except ImportError as exc:
            if not chosen.module.startswith(exc.name or "\0"):  # an import inside the file
                raise _import_failure(exc, chosen.path or chosen.module, "importing it") from exc
            raise RegistryError(  # the file's own module (a package of that name shadows it)
                f"{chosen.path or chosen.module}: importing it failed: {type(exc).__name__}: {exc}"
            ) from exc
        except Exception as exc:  # noqa: BLE001 - any error in a user's file, with its path
            raise RegistryError(
                f"{chosen.path or chosen.module}: importing it failed: "
                f"{type(exc).__name__}: {exc}"
            ) from exc
        member = getattr(module, chosen.name)
    base = _base(spec)
    if not (isinstance(member, type) and issubclass(member, base)):
        raise RegistryError(
            f"{where}: {kind} {name!r} is not a subclass of {spec.base_name}: "
            f"derive it from {spec.base.replace(':', '.')}"
        )
    return member


def build(
    kind: str,
    cfg: Mapping[str, Any],
    *args: Any,
    where: str | None = None,
    project: Project | None = None,
    skip: tuple[str, ...] = (),
    default: str | None = None,
    found: list[Ignored] | None = None,
) -> Any:
    """Build a member from its config block ``{<name key>: Name, **arguments}``.

    Args:
        kind: a key of :data:`.kinds.KINDS`.
        cfg: the block; its name key (``type``, ``solver``...) names the member, the other
            keys are constructor arguments (less the kind's ``not_arguments``, ``skip`` and
            gaitgen's own keys of the section, :func:`..config.schema.class_section_keys`).
        *args: positional arguments the caller supplies (``params`` of an optimizer...).
        where: the config key of the block, for messages.
        project: the project whose own members count too.
        skip: more keys of ``cfg`` that are not arguments.
        default: the name to use when the block names none.
        found: collects the OpenGait-dropped keys met (see :func:`.arguments.check_arguments`).

    Raises:
        RegistryError: the name is unknown.
        ConfigError: the arguments do not fit the member's signature.
    """
    spec = KINDS[kind]
    where = where or spec.config_key.rpartition(".")[0]
    if not isinstance(cfg, Mapping):
        raise RegistryError(
            f"{where}: expected a mapping with {spec.name_key!r} naming a {kind}, "
            f"got {type(cfg).__name__}"
        )
    name = cfg.get(spec.name_key, default)
    cls = get(kind, name, project, f"{where}.{spec.name_key}")
    from ..config.schema import class_section_keys, ignored_in

    own = class_section_keys(spec.config_key.partition(".")[0])  # gaitgen's, read elsewhere
    params = {
        k: v
        for k, v in cfg.items()
        if k != spec.name_key and k not in spec.not_arguments and k not in skip and k not in own
    }

    kwargs = check_arguments(
        cls,
        params,
        where,
        supplied=spec.supplied,
        dropped=ignored_in(spec.dropped_section) if spec.dropped_section else None,
        found=found,
    )
    with building(kind, cls):
        return cls(*args, **kwargs)
