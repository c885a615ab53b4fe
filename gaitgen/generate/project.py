"""``gaitgen init DEST``: a new research project from the copier template ``templates/project``.

The template asks for the project name, the package and a description; the CLI passes
answers given as flags and the values computed here (gaitgen's version, the SynthGait size
and its number of training identities). copier records the answers in
``.copier-answers.yml``, so a project can later be updated from a newer template.
"""

from __future__ import annotations

from dataclasses import dataclass
from pathlib import Path
from typing import Any

from gaitgen import __version__
from gaitgen.runtime.atomic import disk_error
from gaitgen.runtime.errors import GenerateError

from .names import (
    default_package_name,
    validate_package_name,
    validate_project_name,
)
from .render import project_template_dir
from .settings import DEFAULT_SYNTH_FRAMES, DEFAULT_SYNTH_SUBJECTS, synthetic_train_ids


@dataclass(frozen=True)
class InitResult:
    """What ``gaitgen init`` made.

    Attributes:
        root: the project folder.
        package: its Python package.
        files: the files written, relative to ``root``, sorted.
    """

    root: Path
    package: str
    files: list[Path]


def _answers(
    dest: Path,
    name: str | None,
    package: str | None,
    description: str | None,
    interactive: bool,
) -> tuple[dict[str, Any], dict[str, Any]]:
    """Split the answers into given ones (``data``: not asked) and defaults for the questions.

    Asked interactively, the package defaults to the template's expression over the answered
    project name; without questions it is derived here (and validated) from the name.
    """
    data: dict[str, Any] = {
        "gaitgen_version": __version__,
        "synth_subjects": DEFAULT_SYNTH_SUBJECTS,
        "synth_frames": DEFAULT_SYNTH_FRAMES,
        "train_ids": synthetic_train_ids(DEFAULT_SYNTH_SUBJECTS),
    }
    if description is not None:
        data["description"] = description
    project_name = validate_project_name(name) if name is not None else None
    if package is not None:
        data["package"] = validate_package_name(package)
    if interactive:
        if project_name is not None:
            data["project_name"] = project_name
        return data, {"project_name": dest.resolve().name}
    data["project_name"] = validate_project_name(project_name or dest.resolve().name)
    data.setdefault("package", validate_package_name(default_package_name(data["project_name"])))
    return data, {}


def init_project(
    dest: Path,
    *,
    name: str | None = None,
    package: str | None = None,
    description: str | None = None,
    interactive: bool = False,
    force: bool = False,
) -> InitResult:
    """Create a project in ``dest`` from the copier template.

    Args:
        dest: the project folder; must not exist or be empty, unless ``force``.
        name: the distribution name (default: the folder name).
        package: the Python package (default: derived from the name).
        description: one line for pyproject.toml and the README.
        interactive: ask the questions not answered by the arguments.
        force: write into a non-empty folder, overwriting files the template makes.

    Raises:
        GenerateError: ``dest`` is a non-empty folder (without force) or a file, or an
            answer is invalid.
    """
    if dest.exists() and not dest.is_dir():
        raise GenerateError(f"{dest} exists and is not a folder; choose another destination")
    if dest.is_dir() and any(dest.iterdir()) and not force:
        raise GenerateError(
            f"{dest} exists and is not empty; choose a new folder, or --force to write the "
            f"project's files into it (overwriting files of the same name)"
        )
    data, user_defaults = _answers(dest, name, package, description, interactive)
    before = _files(dest)

    import copier

    try:
        worker = copier.run_copy(
            str(project_template_dir()),
            dest,
            data=data,
            user_defaults=user_defaults,
            defaults=not interactive,
            overwrite=force,
            quiet=True,
            unsafe=False,
        )
    except copier.errors.CopierAnswersInterrupt:
        raise GenerateError("init cancelled; nothing was written") from None
    except (copier.errors.UserMessageError, ValueError) as exc:
        raise GenerateError(f"init: {exc}") from None
    except OSError as exc:  # copier's writes carry no file name: name the project at least
        raise (disk_error(exc, exc.filename or dest) or exc) from exc
    package_name = str(worker.answers.combined.get("package", data.get("package")))
    files = sorted(path for path in _files(dest) if path not in before or force)
    return InitResult(root=dest, package=package_name, files=files)


def _files(root: Path) -> set[Path]:
    if not root.is_dir():
        return set()
    return {path.relative_to(root) for path in root.rglob("*") if path.is_file()}
