"""``gaitgen upgrade``: update a project from the template it was made with to the installed one.

copier updates a project by rendering the *old* template version with the project's answers,
diffing that against the project (the user's edits), rendering the *new* version and applying
the diff on top, with conflicts shown inline (``<<<<<<< before updating``). It finds the old
version through a git tag of the template, and gaitgen's template ships as package files, not
as a git repository. So the upgrade builds a throwaway git repository with two tagged commits,
``v<old>`` and ``v<new>``, and points copier at it:

- the new version is the installed template (``templates/project``) at gaitgen's version;
- the old version is the installed template when the versions match, else a snapshot from
  ``templates/project_history/<version>.tar.gz`` (each release adds the snapshot of the one
  before: ``python -m gaitgen.generate.upgrade snapshot`` writes it).

The project's ``.copier-answers.yml`` records the template version (``gaitgen_version``) and
the answers; projects made before it recorded the version are taken as 0.1.0. A template
change that needs more than a file diff (a renamed config key, a moved file) adds a copier
``_migrations`` entry to ``copier.yml``; the templates are gaitgen's own, so their migrations
are allowed to run (copier's ``unsafe``).

copier needs the project under git with no uncommitted changes, so that the upgrade's
changes can be reviewed (``git diff``) and undone (``git checkout .``).
"""

from __future__ import annotations

import shutil
import subprocess
import sys
import tarfile
import tempfile
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from gaitgen import __version__
from gaitgen.runtime.atomic import disk_error
from gaitgen.runtime.errors import GenerateError, ProjectError

from .copier_adapter import update_from
from .render import project_template_dir, templates_dir
from .settings import DEFAULT_SYNTH_FRAMES, DEFAULT_SYNTH_SUBJECTS, synthetic_train_ids

ANSWERS_FILE = ".copier-answers.yml"
# the answers file's _src_path: the project template inside whichever gaitgen is installed
# (gaitgen/templates/project), the same on every machine; never a local path
TEMPLATE_SOURCE = "gaitgen:templates/project"
# the version of projects whose answers file does not record one (made by gaitgen 0.1.0)
FIRST_VERSION = "0.1.0"
CONFLICT_MARKER = "<<<<<<< "
_GIT_IDENTITY = ["-c", "user.name=gaitgen", "-c", "user.email=gaitgen@localhost"]


def history_dir() -> Path:
    """Where snapshots of earlier template versions ship (``<version>.tar.gz``)."""
    return templates_dir() / "project_history"


@dataclass(frozen=True)
class UpgradeResult:
    """What ``gaitgen upgrade`` did.

    Attributes:
        root: the project folder.
        old_version, new_version: the template versions from and to.
        changed: the files the upgrade changed, added or removed (relative to ``root``).
        conflicts: those of them with inline conflict markers to resolve.
        created, deleted: those of them that are new, or gone.
    """

    root: Path
    old_version: str
    new_version: str
    changed: list[str] = field(default_factory=list)
    conflicts: list[str] = field(default_factory=list)
    created: list[str] = field(default_factory=list)
    deleted: list[str] = field(default_factory=list)

    def status(self, path: str) -> str:
        """``conflict``, ``create``, ``delete`` or ``update``: how ``path`` changed."""
        if path in self.conflicts:
            return "conflict"
        if path in self.created:
            return "create"
        return "delete" if path in self.deleted else "update"

    @property
    def up_to_date(self) -> bool:
        return self.old_version == self.new_version


def find_project_root(start: Path) -> Path:
    """The nearest folder from ``start`` upwards that holds ``.copier-answers.yml``.

    Raises:
        ProjectError: none is found (the message tells a gaitgen project that lost its answers
            file from a folder that is not a project).
    """
    start = start.resolve()
    for folder in (start, *start.parents):
        if (folder / ANSWERS_FILE).is_file():
            return folder
    for folder in (start, *start.parents):
        pyproject = folder / "pyproject.toml"
        if pyproject.is_file() and "[tool.gaitgen]" in pyproject.read_text(errors="replace"):
            raise ProjectError(
                f"{folder} has no {ANSWERS_FILE}, which records the template version and "
                "answers an upgrade needs; restore it from git (git checkout -- "
                f"{ANSWERS_FILE}), or make a fresh project with 'gaitgen init' and move your "
                "files into it"
            )
    raise ProjectError(
        f"not inside a gaitgen project: no {ANSWERS_FILE} in {start} or above; cd into a "
        "project made with 'gaitgen init'"
    )


def read_answers(root: Path) -> dict[str, Any]:
    """The answers file of the project at ``root``."""
    import yaml

    path = root / ANSWERS_FILE
    try:
        answers = yaml.safe_load(path.read_text(encoding="utf-8"))
    except (OSError, UnicodeDecodeError, yaml.YAMLError) as exc:
        raise ProjectError(f"{path}: not a readable YAML file ({exc})") from None
    if not isinstance(answers, dict) or not answers.get("project_name"):
        raise ProjectError(
            f"{path}: not an answers file of 'gaitgen init' (no project_name); restore it "
            "from git"
        )
    return answers


def _version_key(version: str) -> Any:
    from packaging.version import InvalidVersion, Version

    try:
        return Version(version)
    except InvalidVersion:
        raise ProjectError(
            f"{ANSWERS_FILE}: gaitgen_version {version!r} is not a version number"
        ) from None


def old_template(version: str, current: Path, current_version: str, history: Path) -> Path:
    """The folder of template ``version``: the current one, or a snapshot from ``history``.

    Snapshots are extracted into a temporary folder the caller removes
    (the returned path's parent).
    """
    if _version_key(version) == _version_key(current_version):
        return current
    if (history / version).is_dir():
        return history / version
    archive = history / f"{version}.tar.gz"
    if not archive.is_file():
        raise GenerateError(
            f"this gaitgen ({current_version}) ships no copy of the template version "
            f"{version} the project was made with ({history} has no {archive.name}); "
            f"install gaitgen=={version} to upgrade from it step by step, or compare by hand "
            "with a fresh 'gaitgen init'"
        )
    target = Path(tempfile.mkdtemp(prefix="gaitgen-template-")) / version
    with tarfile.open(archive, "r:gz") as tar:
        members = tar.getmembers()
        for member in members:  # a snapshot holds plain files inside it, nothing else
            if not member.isfile() or member.name.startswith(("/", "..")) or ".." in member.name:
                raise GenerateError(f"{archive}: {member.name!r} is not a template file")
        if hasattr(tarfile, "data_filter"):  # Python >= 3.10.12 / 3.11.4: refuse odd members
            tar.extractall(target, members=members, filter="data")
        else:
            tar.extractall(target, members=members)  # noqa: S202 - members checked above
    return target


def snapshot_template(dest: Path, template: Path | None = None, version: str = __version__) -> Path:
    """Write ``dest/<version>.tar.gz``: the template as this release ships it.

    Run before changing the template for the next release, so that projects of this version
    can be upgraded: ``python -m gaitgen.generate.upgrade snapshot``.
    """
    from gaitgen.runtime.atomic import atomic_path

    template = template or project_template_dir()
    path = dest / f"{version}.tar.gz"
    with atomic_path(path) as temporary, tarfile.open(temporary, "w:gz") as tar:
        for item in sorted(template.rglob("*")):
            if item.is_file() and "__pycache__" not in item.parts:
                tar.add(item, arcname=str(item.relative_to(template)), recursive=False)
    return path


def _git(args: list[str], cwd: Path, check: bool = True) -> subprocess.CompletedProcess:
    return subprocess.run(
        ["git", *_GIT_IDENTITY, *args], cwd=cwd, capture_output=True, text=True, check=check
    )


def build_template_repo(folder: Path, versions: list[tuple[str, Path]]) -> Path:
    """A git repository in ``folder`` with one commit tagged ``v<version>`` per template."""
    folder.mkdir(parents=True, exist_ok=True)
    _git(["init", "-q", "-b", "main"], folder)
    for version, template in versions:
        for item in folder.iterdir():
            if item.name != ".git":
                shutil.rmtree(item) if item.is_dir() else item.unlink()
        shutil.copytree(
            template, folder, dirs_exist_ok=True, ignore=shutil.ignore_patterns("__pycache__")
        )
        _git(["add", "-A", "."], folder)
        _git(["commit", "-q", "--allow-empty", "-m", f"template {version}"], folder)
        _git(["tag", f"v{version}"], folder)
    return folder


def check_git_state(root: Path) -> None:
    """Raise unless ``root`` is in a git repository without uncommitted changes."""
    if shutil.which("git") is None:
        raise GenerateError("gaitgen upgrade needs git, which is not installed")
    inside = _git(["rev-parse", "--show-toplevel"], root, check=False)
    if inside.returncode != 0:
        raise GenerateError(
            f"{root} is not under git; the upgrade merges the template's changes with yours "
            "through git, so first: git init && git add -A && git commit -m 'before upgrade'"
        )
    status = _git(["status", "--porcelain", "--", "."], root).stdout.splitlines()
    if status:
        example = status[0][3:]
        raise GenerateError(
            f"{root} has uncommitted changes ({len(status)} file(s), e.g. {example}); commit "
            "or stash them first, so that the upgrade's changes can be reviewed with git diff"
        )


def computed_answers(version: str) -> dict[str, Any]:
    """The values ``gaitgen init`` computes instead of asking (as the installed gaitgen does)."""
    return {
        "gaitgen_version": version,
        "synth_subjects": DEFAULT_SYNTH_SUBJECTS,
        "synth_frames": DEFAULT_SYNTH_FRAMES,
        "train_ids": synthetic_train_ids(DEFAULT_SYNTH_SUBJECTS),
    }


def upgrade_project(
    start: Path,
    *,
    template: Path | None = None,
    version: str = __version__,
    history: Path | None = None,
) -> UpgradeResult:
    """Update the project at or above ``start`` to the template ``template`` of ``version``.

    Args:
        start: a folder inside the project.
        template: the new template (default: the installed one).
        version: its version (default: gaitgen's).
        history: where snapshots of older template versions are (default: the installed
            ``templates/project_history``).

    Raises:
        ProjectError: no project, or a bad answers file.
        GenerateError: not under git or uncommitted changes, no copy of the old template,
            a downgrade, or copier failing.
    """
    from gaitgen.runtime.atomic import folder_lock

    root = find_project_root(start)
    with folder_lock(root):  # no generator edits the project while it is upgraded
        return _upgrade(root, template, version, history)


def _upgrade(
    root: Path, template: Path | None, version: str, history: Path | None
) -> UpgradeResult:
    answers = read_answers(root)
    old_version = str(answers.get("gaitgen_version") or FIRST_VERSION)
    if _version_key(old_version) == _version_key(version):
        return UpgradeResult(root, old_version, version)
    if _version_key(old_version) > _version_key(version):
        raise GenerateError(
            f"{root / ANSWERS_FILE}: the project is at template {old_version}, newer than "
            f"this gaitgen's {version}; install gaitgen>={old_version}"
        )
    check_git_state(root)
    template = template or project_template_dir()
    copies = f"the temporary copies of the template in {tempfile.gettempdir()}"
    try:  # a full disk here names where the copies go (tarfile's writes carry no file name)
        old = old_template(
            old_version, project_template_dir(), __version__, history or history_dir()
        )
        workspace = Path(tempfile.mkdtemp(prefix="gaitgen-upgrade-"))
    except OSError as exc:
        raise (disk_error(exc, copies) or exc) from exc
    try:
        try:
            repo = build_template_repo(
                workspace / "template", [(old_version, old), (version, template)]
            )
        except OSError as exc:
            raise (disk_error(exc, copies) or exc) from exc
        try:
            update_from(root, repo, f"v{old_version}", f"v{version}", computed_answers(version))
        except BaseException as exc:
            # the tree was clean before: whatever is changed now is the failed upgrade's
            _git(["checkout", "HEAD", "--", "."], root, check=False)
            _git(["clean", "-fdq", "--", "."], root, check=False)
            if isinstance(exc, GenerateError):
                raise
            full = disk_error(exc, exc.filename or root) if isinstance(exc, OSError) else None
            if full is not None:  # copier's writes carry no file name: name the project
                raise GenerateError(f"{full}; the project was left as it was") from exc
            if isinstance(exc, Exception):
                raise GenerateError(
                    f"upgrade failed ({type(exc).__name__}: {exc}); the project was left as "
                    "it was"
                ) from exc
            raise
    finally:
        shutil.rmtree(workspace, ignore_errors=True)
        if old != project_template_dir() and old.parent.name.startswith("gaitgen-template-"):
            shutil.rmtree(old.parent, ignore_errors=True)
    write_template_source(root)
    codes = _changed_files(root)
    changed = sorted(codes)
    conflicts = [path for path in changed if _has_conflict_markers(root / path)]
    created = [path for path in changed if codes[path] in ("??", "A ")]
    deleted = [path for path in changed if "D" in codes[path] and path not in conflicts]
    return UpgradeResult(root, old_version, version, changed, conflicts, created, deleted)


def write_template_source(root: Path) -> None:
    """Record the template in the answers file as :data:`TEMPLATE_SOURCE`, not as a path.

    copier writes the folder it rendered from (gaitgen's installed template for ``init``,
    the throwaway repository for ``upgrade``, plus its ``_commit``): a path of the machine
    that made the project. ``upgrade`` never reads it (it takes the installed template and
    the shipped snapshots), so the project records which template it is, portably.
    """
    from gaitgen.runtime.atomic import atomic_write_text

    path = root / ANSWERS_FILE
    lines = path.read_text(encoding="utf-8").splitlines()
    kept = []
    for line in lines:
        if line.startswith("_commit:"):
            continue
        if line.startswith("_src_path:"):
            line = f"_src_path: {TEMPLATE_SOURCE}"
        kept.append(line)
    atomic_write_text(path, "\n".join(kept) + "\n")


def _changed_files(root: Path) -> dict[str, str]:
    """Path relative to ``root`` -> git's two-letter status code, for every changed file."""
    status = _git(["status", "--porcelain", "--untracked-files=all", "--", "."], root)
    top = Path(_git(["rev-parse", "--show-toplevel"], root).stdout.strip())
    changed = {}
    for line in status.stdout.splitlines():
        name = line[3:].split(" -> ")[-1].strip('"')
        changed[str((top / name).resolve().relative_to(root.resolve()))] = line[:2]
    return changed


def _has_conflict_markers(path: Path) -> bool:
    if not path.is_file():
        return False
    with open(path, encoding="utf-8", errors="replace") as handle:
        return any(line.startswith(CONFLICT_MARKER) for line in handle)


def _main(argv: list[str]) -> int:
    if argv[:1] != ["snapshot"]:
        print("usage: python -m gaitgen.generate.upgrade snapshot [DEST]", file=sys.stderr)
        return 2
    dest = Path(argv[1]) if len(argv) > 1 else history_dir()
    print(f"wrote {snapshot_template(dest)}")
    return 0


if __name__ == "__main__":
    sys.exit(_main(sys.argv[1:]))
