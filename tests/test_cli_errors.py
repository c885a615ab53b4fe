"""Every CLI failure is one line: a full disk or a read-only folder met anywhere included."""

from __future__ import annotations

import errno
from pathlib import Path

import pytest
import typer
from typer.testing import CliRunner

from gaitgen.cli.app import app
from gaitgen.cli.common import handle_errors


@pytest.mark.parametrize(
    "code, message",
    [
        (
            errno.ENOSPC,
            "no space left on device while writing /data/proj/README.md: free some space",
        ),
        (errno.EROFS, "cannot write /data/proj/README.md: Read-only file system"),
    ],
)
def test_disk_errors_from_libraries_are_one_line_with_the_path(code, message, capsys) -> None:
    @handle_errors
    def command() -> None:
        raise OSError(
            code, "Read-only file system" if code == errno.EROFS else "full", "/data/proj/README.md"
        )

    with pytest.raises(typer.Exit) as caught:
        command()
    assert caught.value.exit_code == 1
    assert capsys.readouterr().err == f"error: {message}\n"


def test_init_on_a_full_disk_says_so(tmp_path: Path, monkeypatch) -> None:
    import gaitgen.generate.project as project

    def full(*args, **kwargs):
        raise OSError(errno.ENOSPC, "No space left on device", str(tmp_path / "p" / "x.toml"))

    monkeypatch.setattr(project, "init_project", full)
    result = CliRunner().invoke(app, ["init", str(tmp_path / "p"), "--defaults"])
    assert result.exit_code == 1
    assert result.stderr == (
        f"error: no space left on device while writing {tmp_path / 'p' / 'x.toml'}: "
        "free some space\n"
    )


def test_the_runtime_entry_point_names_a_full_disk(monkeypatch, capsys) -> None:
    from gaitgen.runtime import main as entry

    def full(*args, **kwargs):
        raise OSError(errno.ENOSPC, "No space left on device", "/data/output/run/train.lock")

    monkeypatch.setattr(entry, "run_phase", full)
    assert entry.main(["--cfgs", "x.yaml", "--phase", "train"]) == 1
    assert capsys.readouterr().err == (
        "error: no space left on device while writing /data/output/run/train.lock: "
        "free some space\n"
    )
