"""``gaitgen upgrade``: a project takes a newer template and keeps its owner's edits."""

from __future__ import annotations

import shutil
import subprocess
from pathlib import Path

import pytest
from typer.testing import CliRunner

from gaitgen.cli.app import app
from gaitgen.generate.project import init_project
from gaitgen.generate.render import project_template_dir
from gaitgen.generate.upgrade import TEMPLATE_SOURCE, snapshot_template, upgrade_project

runner = CliRunner()
pytestmark = pytest.mark.skipif(shutil.which("git") is None, reason="git is not installed")


def git(cwd: Path, *args: str) -> str:
    identity = ["-c", "user.name=test", "-c", "user.email=test@localhost"]
    done = subprocess.run(["git", *identity, *args], cwd=cwd, capture_output=True, text=True)
    assert done.returncode == 0, done.stderr
    return done.stdout


def committed_project(tmp_path: Path) -> Path:
    root = tmp_path / "proj"
    init_project(root, name="proj")
    git(root, "init", "-q")
    git(root, "add", "-A")
    git(root, "commit", "-qm", "init")
    return root


def newer_template(tmp_path: Path) -> Path:
    """The installed template with a few changes, as the next release might make them."""
    template = tmp_path / "template-next"
    shutil.copytree(project_template_dir(), template)
    config = template / "template" / "configs" / "baseline.yaml.jinja"
    text = config.read_text()
    assert "lr: 0.002" in text and "margin: 0.2" in text
    config.write_text(text.replace("lr: 0.002", "lr: 0.003").replace("margin: 0.2", "margin: 0.25"))
    (template / "template" / "CHANGELOG.md").write_text("# Changes\n")
    return template


def test_upgrade_keeps_the_users_edits_and_takes_the_templates(tmp_path, monkeypatch):
    root = committed_project(tmp_path)
    readme = root / "README.md"
    readme.write_text(readme.read_text() + "\nMy notes on the experiments.\n")
    (root / "proj" / "models" / "mine.py").write_text("X = 1\n")
    git(root, "add", "-A")
    git(root, "commit", "-qm", "my edits")
    monkeypatch.chdir(root / "configs")  # anywhere inside the project

    result = upgrade_project(Path("."), template=newer_template(tmp_path), version="0.2.0")

    assert (result.old_version, result.new_version, result.conflicts) == ("0.1.0", "0.2.0", [])
    assert result.created == ["CHANGELOG.md"] and result.deleted == []
    assert result.changed == [
        ".copier-answers.yml",
        "CHANGELOG.md",
        "configs/baseline.yaml",
        "pyproject.toml",
    ]
    config = (root / "configs" / "baseline.yaml").read_text()
    assert "lr: 0.003" in config and "margin: 0.25" in config  # the template's changes
    assert readme.read_text().endswith("My notes on the experiments.\n")  # the user's
    assert (root / "proj" / "models" / "mine.py").read_text() == "X = 1\n"
    assert 'dependencies = ["gaitgen>=0.2.0"]' in (root / "pyproject.toml").read_text()
    answers = (root / ".copier-answers.yml").read_text()
    assert "gaitgen_version: 0.2.0" in answers and "_commit" not in answers
    assert f"_src_path: {TEMPLATE_SOURCE}\n" in answers  # no path: not the throwaway repository
    assert str(project_template_dir()) not in answers
    # a second upgrade to the same version has nothing to do
    git(root, "add", "-A")
    git(root, "commit", "-qm", "upgraded")
    again = upgrade_project(root, template=newer_template(tmp_path / "again"), version="0.2.0")
    assert again.up_to_date and again.changed == []


def test_a_conflicting_edit_shows_inline_markers(tmp_path, monkeypatch):
    root = committed_project(tmp_path)
    config = root / "configs" / "baseline.yaml"
    config.write_text(config.read_text().replace("margin: 0.2", "margin: 0.3"))
    git(root, "commit", "-qam", "my margin")
    template = newer_template(tmp_path)
    monkeypatch.chdir(root)
    result = runner.invoke(app, ["upgrade", *next_release(template)])
    assert result.exit_code == 1
    assert f"upgraded {root} from template 0.1.0 to 0.2.0" in result.stdout
    assert "  conflict  configs/baseline.yaml" in result.stdout
    assert "    create  CHANGELOG.md" in result.stdout
    assert "    update  pyproject.toml" in result.stdout
    assert (
        result.stderr.startswith("error: 1 file(s) with conflicts")
        and result.stderr.count("\n") == 1
    )
    text = config.read_text()
    assert (
        "<<<<<<< before updating\n    margin: 0.3\n=======\n    margin: 0.25\n>>>>>>> after updating"
        in text
    )
    assert "lr: 0.003" in text  # the part without a conflict is merged


def test_an_old_version_comes_from_the_shipped_snapshot(tmp_path):
    root = committed_project(tmp_path)
    history = tmp_path / "history"
    snapshot_template(history, version="0.0.9")  # the 0.1.0 template, as if it were 0.0.9
    answers = root / ".copier-answers.yml"
    answers.write_text(
        answers.read_text().replace("gaitgen_version: 0.1.0", "gaitgen_version: 0.0.9")
    )
    git(root, "commit", "-qam", "pretend 0.0.9")
    result = upgrade_project(
        root, template=newer_template(tmp_path), version="0.2.0", history=history
    )
    assert result.old_version == "0.0.9" and "CHANGELOG.md" in result.changed
    assert "margin: 0.25" in (root / "configs" / "baseline.yaml").read_text()
    (history / "0.0.9.tar.gz").unlink()
    git(root, "checkout", "-q", ".")
    git(root, "clean", "-qfd")
    result = runner.invoke(
        app, ["upgrade", "-C", str(root), *next_release(tmp_path / "template-next")]
    )
    assert result.exit_code == 1 and "ships no copy of the template version 0.0.9" in result.stderr


NEXT: list[str] = []


def next_release(template: Path) -> list[str]:
    """The hidden options that stand in for a newer installed gaitgen."""
    return ["--template", str(template), "--template-version", "0.2.0"]


def run_upgrade(cwd: Path) -> tuple[int, str]:
    result = runner.invoke(app, ["upgrade", "--project", str(cwd), *NEXT])
    assert result.stderr.count("\n") == 1, result.output
    return result.exit_code, result.stderr


def test_bad_states_are_one_clear_line(tmp_path, monkeypatch):
    monkeypatch.setattr(f"{__name__}.NEXT", next_release(newer_template(tmp_path)))
    outside = tmp_path / "nowhere"
    outside.mkdir()
    assert run_upgrade(outside) == (
        1,
        f"error: not inside a gaitgen project: no .copier-answers.yml in {outside} or above; "
        "cd into a project made with 'gaitgen init'\n",
    )
    root = tmp_path / "plain"
    init_project(root, name="plain")
    code, message = run_upgrade(root)
    assert code == 1 and message.startswith(f"error: {root} is not under git;")
    assert "git init && git add -A && git commit" in message
    git(root, "init", "-q")
    git(root, "add", "-A")
    git(root, "commit", "-qm", "init")
    (root / "README.md").write_text("changed\n")
    code, message = run_upgrade(root / "configs")
    assert code == 1 and message.startswith(f"error: {root} has uncommitted changes (1 file(s)")
    assert (root / "README.md").read_text() == "changed\n"  # nothing touched
    (root / ".copier-answers.yml").unlink()
    code, message = run_upgrade(root)
    assert code == 1 and message.startswith(f"error: {root} has no .copier-answers.yml")


def test_a_migration_of_the_new_template_runs_and_a_failing_one_changes_nothing(tmp_path):
    root = committed_project(tmp_path)
    template = newer_template(tmp_path)
    copier_yml = template / "copier.yml"
    base = copier_yml.read_text()
    script = "open('configs/MIGRATED', 'w').write('keys renamed')"
    copier_yml.write_text(
        base + "\n_migrations:\n  - version: v0.2.0\n"
        f'    command: ["{{{{ _copier_python }}}}", "-c", "{script}"]\n'
        "    when: \"{{ _stage == 'after' }}\"\n"
    )
    result = upgrade_project(root, template=template, version="0.2.0")
    assert (root / "configs" / "MIGRATED").read_text() == "keys renamed"
    assert "configs/MIGRATED" in result.created
    git(root, "checkout", "-q", "HEAD", "--", ".")
    git(root, "clean", "-qfd")
    copier_yml.write_text(
        base + '\n_migrations:\n  - version: v0.2.0\n    command: ["false"]\n'
        "    when: \"{{ _stage == 'after' }}\"\n"
    )
    result = runner.invoke(app, ["upgrade", "-C", str(root), *next_release(template)])
    assert result.exit_code == 1 and result.stderr.startswith("error: upgrade")
    assert "the project was left as it was" in result.stderr and result.stderr.count("\n") == 1
    assert git(root, "status", "--porcelain") == ""


def files_of(root: Path) -> dict[Path, bytes]:
    return {
        path: path.read_bytes()
        for path in root.rglob("*")
        if path.is_file() and ".git" not in path.parts
    }


def test_sigterm_during_an_upgrade_rolls_it_back(tmp_path):
    """Issue 17, item 4: SIGTERM mid-upgrade left the project half-upgraded, a committed edit
    lost in the working copy, and temporary folders. It now rolls back as Ctrl-C does."""
    import os
    import sys

    root = committed_project(tmp_path)
    readme = root / "README.md"
    readme.write_text(readme.read_text() + "\nMy notes.\n")
    git(root, "commit", "-qam", "my edit")
    before = files_of(root)
    template = newer_template(tmp_path)
    # a migration that runs once the new files are in place, and signals the upgrade
    script = (
        "import os, signal, time; open('configs/MIGRATED', 'w').write('x'); "
        "os.kill(os.getppid(), signal.SIGTERM); time.sleep(30)"
    )
    (template / "copier.yml").write_text(
        (template / "copier.yml").read_text() + "\n_migrations:\n  - version: v0.2.0\n"
        f'    command: ["{{{{ _copier_python }}}}", "-c", "{script}"]\n'
        "    when: \"{{ _stage == 'after' }}\"\n"
    )
    scratch = tmp_path / "scratch"
    scratch.mkdir()
    done = subprocess.run(
        [sys.executable, "-m", "gaitgen", "upgrade", "-C", str(root), *next_release(template)],
        env={**os.environ, "TMPDIR": str(scratch)},
        capture_output=True,
        text=True,
        timeout=120,
    )
    assert done.returncode == 143, done.stderr
    assert done.stderr.strip().splitlines() == ["error: stopped by SIGTERM"], done.stderr
    assert files_of(root) == before  # nothing new (no MIGRATED), the committed edit in place
    assert git(root, "status", "--porcelain") == ""
    assert list(scratch.iterdir()) == []  # no temporary folder left


def test_a_full_disk_during_an_upgrade_names_the_project_and_rolls_back(tmp_path, monkeypatch):
    """Issue 17, item 18: a full disk during upgrade said only 'OSError: [Errno 28] ...';
    it names the project being written, which is put back as it was."""
    import errno

    root = committed_project(tmp_path)
    template = newer_template(tmp_path)
    before = git(root, "rev-parse", "HEAD")

    def full(self, data):
        raise OSError(errno.ENOSPC, "No space left on device")

    monkeypatch.setattr(Path, "write_bytes", full)
    result = runner.invoke(app, ["upgrade", "-C", str(root), *next_release(template)])
    assert result.exit_code == 1
    assert result.stderr == (
        f"error: no space left on device while writing {root}: free some space; "
        "the project was left as it was\n"
    )
    assert git(root, "status", "--porcelain") == "" and git(root, "rev-parse", "HEAD") == before
