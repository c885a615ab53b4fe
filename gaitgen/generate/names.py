"""Checking the names users give to generated classes, packages and loss prefixes."""

from __future__ import annotations

import builtins
import keyword
import re
from pathlib import Path

from gaitgen.runtime.components.scan import taken_names
from gaitgen.runtime.errors import GenerateError
from gaitgen.runtime.project import Project

# ASCII only: the name also becomes a file name (<name lowercased>.py)
_CLASS_NAME = re.compile(r"[A-Za-z][A-Za-z0-9_]*")
_PACKAGE_NAME = re.compile(r"[a-z_][a-z0-9_]*")
_PREFIX = re.compile(r"[A-Za-z_][A-Za-z0-9_]*")
_PROJECT_NAME = re.compile(r"[A-Za-z0-9]([A-Za-z0-9._-]*[A-Za-z0-9])?")

# packages a project must not be called: importing them would pick the project instead
_RESERVED_PACKAGES = {"gaitgen", "torch", "numpy", "yaml", "tests", "test", "configs", "data"}

# the runtime's base classes: a model or loss of that name is the abstract base itself to
# every reader and to the component lookup's "one class, one name" rule, and could never train
BASE_CLASSES = {
    "BaseModel": "gaitgen's base class of every model",
    "MetaModel": "OpenGait's abstract model class",
    "BaseLoss": "gaitgen's base class of every loss",
    "LossAggregator": "gaitgen's class that sums the configured losses",
    "SequenceTransform": "gaitgen's base class of every transform",
    "Module": "torch.nn.Module, the base of every network",
}

# a class name longer than this would make file names (tests/test_<name>.py) too long for
# some filesystems (255 bytes on most, less on encrypted home folders)
MAX_CLASS_NAME = 100


def _is_keyword(name: str) -> bool:
    return keyword.iskeyword(name) or keyword.issoftkeyword(name)


def _camelize(name: str) -> str:
    """Rails's ``camelize``: ``my_bad_name`` -> ``MyBadName``, ``myGait`` -> ``MyGait``.

    A CamelCase name without underscores comes back unchanged.
    """
    return "".join(part[0].upper() + part[1:] for part in name.split("_") if part)


def validate_class_name(name: str, kind: str) -> str:
    """Return the class name of a new model or loss called ``name``, normalised as Rails does.

    ``MyGait`` stays ``MyGait``; a snake_case or lowercase name becomes CamelCase
    (``my_bad_name`` -> ``MyBadName``, its file :func:`module_name` ``my_bad_name.py``);
    :func:`renamed_note` says so in one line.

    Args:
        name: the name the user typed, e.g. ``MyGait`` or ``my_gait``.
        kind: ``"model"`` or ``"loss"``, for the message.

    Returns:
        The class name (``name`` itself when it is CamelCase already).

    Raises:
        GenerateError: not an ASCII identifier starting with a letter, a keyword, or the
            name of a Python built-in.
    """
    if not _CLASS_NAME.fullmatch(name):
        raise GenerateError(
            f"{kind} name {name!r} is not a valid Python class name: use ASCII letters, digits "
            f"and underscores, starting with a letter (for example 'MyGait')"
        )
    if len(name) > MAX_CLASS_NAME:
        raise GenerateError(
            f"{kind} name {name[:20]}... is {len(name)} characters long; its files "
            f"(<name>.py, test_<name>.py) need a name of at most {MAX_CLASS_NAME} characters"
        )
    if _is_keyword(name):
        raise GenerateError(f"{kind} name {name!r} is a Python keyword; choose another name")
    name = _camelize(name)
    if name in BASE_CLASSES:
        raise GenerateError(
            f"{kind} name {name!r} is {BASE_CLASSES[name]}, not a {kind} that can "
            f"train; choose another name (e.g. 'My{name.removeprefix('Base')}')"
        )

    if hasattr(builtins, name):
        raise GenerateError(
            f"{kind} name {name!r} would shadow Python's built-in {name!r}; choose another name"
        )
    return name


def _runtime_exports() -> set[str]:
    """The names ``from gaitgen.runtime import ...`` offers (read without importing torch)."""
    import gaitgen.runtime

    return set(getattr(gaitgen.runtime, "__all__", ()))


def check_targets_are_text(paths: list[Path]) -> None:
    """Fail if a file a generator would compare or overwrite is not UTF-8 text.

    Raises:
        GenerateError: naming the file, before anything is written.
    """
    for path in paths:
        if not path.is_file():
            continue
        try:
            path.read_text(encoding="utf-8")
        except UnicodeDecodeError:
            raise GenerateError(
                f"{path}: exists and is not UTF-8 text, so gaitgen cannot compare it with what "
                "it would write; move it away (or re-save it as UTF-8) and run again"
            ) from None
        except OSError as exc:
            raise GenerateError(f"{path}: exists but cannot be read ({exc.strerror})") from None


def module_name(name: str) -> str:
    """The file stem a model or loss goes to, from the name as typed or its class name.

    A CamelCase name is lowercased as OpenGait names its files (``MyGait`` -> ``mygait``);
    a snake_case one keeps its words (``my_bad_name`` -> ``my_bad_name``, class
    ``MyBadName``), as Rails does.
    """
    return "_".join(part for part in name.split("_") if part).lower()


def renamed_note(name: str, kind: str) -> str | None:
    """One line saying how ``name`` was normalised, or None when it is used as typed.

    Raises:
        GenerateError: ``name`` is not a valid name (see :func:`validate_class_name`).
    """
    class_name = validate_class_name(name, kind)
    if class_name == name:
        return None
    return (
        f"{kind} name {name!r} became class {class_name} in {module_name(name)}.py "
        "(Python class names are CamelCase)"
    )


def check_name_free(
    name: str, project: Project, kind: str, replaceable: Path | None = None
) -> None:
    """Fail if a built-in or project model/loss already uses ``name``.

    Args:
        name: the new class name.
        project: the project the class goes into.
        kind: ``"model"`` or ``"loss"``, for the message.
        replaceable: with ``--force``, the file the generator would overwrite: a class of
            that name defined in this very file may be regenerated.

    Raises:
        GenerateError: the name is taken, naming the file that defines it.
    """
    taken = taken_names(project)
    path = taken.get(name)
    if path is None:
        if name in _runtime_exports():
            raise GenerateError(
                f"{kind} name {name!r} is a public name of gaitgen.runtime (a building block); "
                f"choose another name so that imports stay unambiguous"
            )
        return
    if replaceable is not None and path.resolve() == replaceable.resolve():
        return
    try:
        where = path.resolve().relative_to(project.root)
        where_text = f"the project's {where}"
    except ValueError:
        where_text = f"gaitgen's built-in {path.parent.name}/{path.name}"
    hint = (
        "choose another name"
        if "built-in" in where_text
        else "choose another name, or --force to regenerate it"
    )
    raise GenerateError(f"{kind} name {name!r} is taken: it is defined in {where_text}; {hint}")


def validate_package_name(name: str) -> str:
    """Return ``name`` if it can be a project's Python package (lowercase identifier).

    Raises:
        GenerateError: what is wrong with it and what to use instead.
    """
    if not _PACKAGE_NAME.fullmatch(name) or _is_keyword(name):
        raise GenerateError(
            f"package name {name!r} is not a lowercase Python identifier that is not a keyword "
            f"(for example 'mygait_lab'); pass another with --package"
        )
    if name in _RESERVED_PACKAGES:
        raise GenerateError(
            f"package name {name!r} would hide a package the project needs; "
            f"pass another with --package"
        )
    return name


def validate_project_name(name: str) -> str:
    """Return ``name`` if it is a valid distribution name for pyproject.toml (PEP 508).

    Raises:
        GenerateError: the name has characters a distribution name cannot have.
    """
    if not _PROJECT_NAME.fullmatch(name):
        raise GenerateError(
            f"project name {name!r} is not a valid distribution name: use letters, digits, "
            f"'.', '-' and '_', starting and ending with a letter or digit (pass --name)"
        )
    return name


def default_package_name(project_name: str) -> str:
    """A package name derived from a folder or project name (``My-Gait`` -> ``my_gait``)."""
    package = re.sub(r"[^a-z0-9_]+", "_", project_name.lower()).strip("_") or "gait_project"
    if package[0].isdigit() or _is_keyword(package) or package in _RESERVED_PACKAGES:
        package = f"gait_{package}"
    return package


def validate_prefix(prefix: str) -> str:
    """Return ``prefix`` if it can be a loss ``log_prefix`` (an identifier-like key).

    Raises:
        GenerateError: the prefix has other characters.
    """
    if not _PREFIX.fullmatch(prefix):
        raise GenerateError(
            f"--prefix {prefix!r} is not a valid log_prefix: use ASCII letters, digits and "
            f"underscores, not starting with a digit (for example 'myloss')"
        )
    return prefix
