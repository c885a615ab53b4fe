"""The copier adapter: the copier versions it supports, and an update through its private API.

``gaitgen upgrade`` reaches into copier's private objects in one module,
``gaitgen/generate/copier_adapter.py``. These tests fail when the installed copier leaves the
range that module is written for, or when the private names it uses stop working.
"""

from __future__ import annotations

import shutil
import subprocess
from pathlib import Path

import copier
import pytest
from gaitgen.runtime.errors import GenerateError
from packaging.specifiers import SpecifierSet
from packaging.version import Version

from gaitgen.generate.copier_adapter import SUPPORTED_COPIER, check_copier_version, update_from
from gaitgen.generate.upgrade import build_template_repo

needs_git = pytest.mark.skipif(shutil.which("git") is None, reason="git is not installed")


def test_the_installed_copier_is_one_the_adapter_supports() -> None:
    assert Version(copier.__version__) in SpecifierSet(SUPPORTED_COPIER), (
        f"copier {copier.__version__} is installed but gaitgen/generate/copier_adapter.py is "
        f"written for copier{SUPPORTED_COPIER}: check its private accesses against this "
        "copier, then widen SUPPORTED_COPIER"
    )
    check_copier_version(copier.__version__)  # no error


@pytest.mark.parametrize("version", ["8.3.0", "10.0.0", "not-a-version"])
def test_other_copier_versions_are_refused_in_one_line(version: str) -> None:
    with pytest.raises(GenerateError, match=f"copier {version} is installed: pip install"):
        check_copier_version(version)


def git(cwd: Path, *args: str) -> str:
    identity = ["-c", "user.name=test", "-c", "user.email=test@localhost"]
    done = subprocess.run(["git", *identity, *args], cwd=cwd, capture_output=True, text=True)
    assert done.returncode == 0, done.stderr
    return done.stdout


def template(folder: Path, closing_line: str) -> Path:
    """A copier template with one question and one file whose last line is ``closing_line``."""
    folder.mkdir(parents=True)
    (folder / "copier.yml").write_text(
        "_answers_file: .copier-answers.yml\n_templates_suffix: .jinja\nname:\n  type: str\n"
    )
    (folder / "{{_copier_conf.answers_file}}.jinja").write_text(
        "{{ _copier_answers | to_nice_yaml -}}\n"
    )
    (folder / "hello.txt.jinja").write_text(f"Hello {{{{ name }}}}\n\n{closing_line}\n")
    return folder


@needs_git
def test_an_update_takes_the_new_template_keeps_the_edits_and_ignores_the_answers_source(
    tmp_path: Path,
) -> None:
    repository = build_template_repo(
        tmp_path / "repo",
        [
            ("1", template(tmp_path / "v1", "Bye.")),
            ("2", template(tmp_path / "v2", "Goodbye.")),
        ],
    )
    project = tmp_path / "project"
    copier.run_copy(
        str(repository), project, data={"name": "gait"}, vcs_ref="v1", defaults=True, quiet=True
    )
    answers = project / ".copier-answers.yml"
    # as with gaitgen init, the answers name a template that is not the repository: the
    # adapter must use the old ref it is given, not this
    text = answers.read_text()
    answers.write_text(
        "\n".join(
            "_src_path: /nowhere/template" if line.startswith("_src_path:") else line
            for line in text.splitlines()
        )
        + "\n"
    )
    hello = project / "hello.txt"
    hello.write_text(hello.read_text().replace("Hello gait\n", "Hello gait, my edit\n"))
    git(project, "init", "-q")
    git(project, "add", "-A")
    git(project, "commit", "-qm", "project at v1, edited")

    update_from(project, repository, "v1", "v2", data={})

    assert hello.read_text() == "Hello gait, my edit\n\nGoodbye.\n"
    assert "_commit: v2" in answers.read_text()


def test_an_unsupported_copier_changes_nothing(tmp_path: Path, monkeypatch) -> None:
    monkeypatch.setattr(copier, "__version__", "10.1.0")
    project = tmp_path / "project"
    project.mkdir()
    with pytest.raises(GenerateError, match="works with copier"):
        update_from(project, tmp_path / "no-repository", "v1", "v2", data={})
    assert list(project.iterdir()) == []
