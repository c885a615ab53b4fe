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

from .modalities import DEFAULT_MODALITY, Modality, check_modality
from .names import (
    default_package_name,
    module_name,
    validate_package_name,
    validate_project_name,
)
from .render import project_template_dir
from .settings import (
    DEFAULT_SYNTH_FRAMES,
    DEFAULT_SYNTH_SUBJECTS,
    read_settings,
    synthetic_train_ids,
)

# the starter config of the copier template, and the line of pyproject.toml that names it
DEFAULT_STARTER = "configs/baseline.yaml"


@dataclass(frozen=True)
class InitResult:
    """What ``gaitgen init`` made.

    Attributes:
        root: the project folder.
        package: its Python package.
        files: the files written, relative to ``root``, sorted.
        starter_config: the config to train first (``[tool.gaitgen] default_config``),
            relative to ``root``.
        starter_model: the model it builds.
        modality_summary: what that model reads.
    """

    root: Path
    package: str
    files: list[Path]
    starter_config: str = DEFAULT_STARTER
    starter_model: str = "Baseline"
    modality_summary: str = "silhouettes"


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
    modality: str | None = None,
) -> InitResult:
    """Create a project in ``dest`` from the copier template.

    With a ``modality`` other than silhouettes, the project also gets a starter model of it
    (``gaitgen new-model``'s model, config and test, named by
    :data:`~gaitgen.generate.modalities.MODALITIES`), and ``[tool.gaitgen] default_config``
    names its config.

    Args:
        dest: the project folder; must not exist or be empty, unless ``force``.
        name: the distribution name (default: the folder name).
        package: the Python package (default: derived from the name).
        description: one line for pyproject.toml and the README.
        interactive: ask the questions not answered by the arguments.
        force: write into a non-empty folder, overwriting files the template makes.
        modality: what the starter model reads (default: silhouettes, GaitBase).

    Raises:
        GenerateError: ``dest`` is a non-empty folder (without force) or a file, or an
            answer or the modality is invalid.
    """
    body = check_modality(modality or DEFAULT_MODALITY)
    if dest.exists() and not dest.is_dir():
        raise GenerateError(f"{dest} exists and is not a folder; choose another destination")
    if dest.is_dir() and any(dest.iterdir()) and not force:
        raise GenerateError(
            f"{dest} exists and is not empty; choose a new folder, or --force to write the "
            f"project's files into it (overwriting files of the same name)"
        )
    data, user_defaults = _answers(dest, name, package, description, interactive)
    data["modality"] = body.name
    if body.name != DEFAULT_MODALITY:  # the template's pyproject.toml names it
        data["default_config"] = f"configs/{module_name(body.starter)}.yaml"
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
    from .upgrade import write_template_source

    write_template_source(dest)
    package_name = str(worker.answers.combined.get("package", data.get("package")))
    result = InitResult(root=dest, package=package_name, files=[])
    if body.name != DEFAULT_MODALITY:
        result = _add_starter(result, body)
    files = sorted(path for path in _files(dest) if path not in before or force)
    return InitResult(
        dest,
        package_name,
        files,
        result.starter_config,
        result.starter_model,
        result.modality_summary,
    )


def _add_starter(result: InitResult, body: Modality) -> InitResult:
    """Write the starter model of ``body`` (its model, config and test) into the new
    project, whose ``[tool.gaitgen] default_config`` the template already points at its
    config (all files or none)."""
    from gaitgen.runtime.project import require_project

    from .model import model_files
    from .plan import apply, plan

    project = require_project(result.root)
    files = model_files(project, body.starter, modality=body.name)
    config = files[1].path.relative_to(project.root).as_posix()
    named = read_settings(project).default_config
    if named != files[1].path:  # the template or the generator changed without the other
        raise GenerateError(
            f"init: pyproject.toml names {named} as the default config, but the starter's is "
            f"{config}"
        )
    apply(plan(files, force=True), root=project.root, echo=lambda status, path: None)
    return InitResult(result.root, result.package, [], config, body.starter, body.summary)


def _files(root: Path) -> set[Path]:
    if not root.is_dir():
        return set()
    return {path.relative_to(root) for path in root.rglob("*") if path.is_file()}


def make_repository(root: Path) -> str:
    """Make ``root`` a git repository with one commit of everything in it (``gaitgen init``).

    ``gaitgen upgrade`` needs one (it merges the template's changes into a clean tree). The
    commit is made with the user's git identity, or ``gaitgen <gaitgen@localhost>`` when
    git has none configured.

    Returns:
        One line for the user: what was made, or why not (git missing, ``root`` already in
        a git repository, git failing), never an error: the project is complete without it.
    """
    import shutil
    import subprocess

    if shutil.which("git") is None:
        return (
            "git is not installed, so the project is not a git repository (gaitgen upgrade "
            "needs one: git init && git add -A && git commit -m init)"
        )

    def git(*args: str) -> subprocess.CompletedProcess[str]:
        return subprocess.run(["git", *args], cwd=root, capture_output=True, text=True)

    inside = git("rev-parse", "--show-toplevel")
    if inside.returncode == 0:
        return f"{root} is inside the git repository {inside.stdout.strip()}: no new one made"
    identity = []
    if not git("config", "user.email").stdout.strip():
        identity = ["-c", "user.name=gaitgen", "-c", "user.email=gaitgen@localhost"]
    for args in (
        ["init", "-q"],
        ["add", "-A"],
        [*identity, "commit", "-q", "-m", f"gaitgen init (gaitgen {__version__})"],
    ):
        done = git(*args)
        if done.returncode != 0:
            problem = (done.stderr.strip().splitlines() or ["no message"])[-1]
            command = "commit" if "commit" in args else args[0]
            return (
                f"git {command} failed ({problem}); the project is complete, but not a "
                "committed git repository"
            )
    return "git repository made, with a first commit of the project"
