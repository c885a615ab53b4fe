"""Each shared option is defined once, and every entry point reports a failure the same way."""

from __future__ import annotations

import io
import os
import subprocess
import sys
from pathlib import Path

import pytest
import typer
from gaitgen.runtime import progress
from gaitgen.runtime.errors import DataError
from typer.core import TyperOption
from typer.testing import CliRunner

from gaitgen.cli.app import app

SHARED = ("--set", "--device", "--quiet", "--dry-run", "--json", "--metric", "--log-to-file")


def command_options() -> dict[str, dict[str, TyperOption]]:
    """Command name -> its options by their first flag."""
    group = typer.main.get_command(app)
    return {
        name: {p.opts[0]: p for p in command.params if isinstance(p, TyperOption)}
        for name, command in group.commands.items()  # type: ignore[attr-defined]
    }


def definition(option: TyperOption) -> tuple:
    callback = getattr(option.callback, "__wrapped__", option.callback)
    return (tuple(option.opts), option.help, option.metavar, callback, option.default)


@pytest.mark.parametrize("flag", SHARED)
def test_a_shared_option_is_the_same_in_every_command(flag: str) -> None:
    found = {name: opts[flag] for name, opts in command_options().items() if flag in opts}
    assert len(found) >= 2, f"{flag} is no longer shared: {sorted(found)}"
    definitions = {definition(option) for option in found.values()}
    assert len(definitions) == 1, f"{flag} is defined {len(definitions)} ways: {definitions}"


def test_device_is_one_option_everywhere_it_is_taken() -> None:
    takers = {name for name, opts in command_options().items() if "--device" in opts}
    assert {"train", "test", "check", "extract", "search", "evaluate"} <= takers


def test_debug_is_the_root_commands_and_every_command_takes_it_hidden() -> None:
    root = typer.main.get_command(app)
    (debug,) = [p for p in root.params if "--debug" in p.opts]
    for name, opts in command_options().items():  # gaitgen CMD ... --debug (gaitgen/cli/help.py)
        assert opts["--debug"].hidden and opts["--debug"].help == debug.help, name


class FakeTerminal(io.StringIO):
    def isatty(self) -> bool:
        return True


def test_quiet_silences_progress_for_the_command_only(tmp_path: Path, monkeypatch) -> None:
    import gaitgen.runtime.data.layout as layout

    monkeypatch.delenv(progress.QUIET_ENV, raising=False)
    monkeypatch.delenv("RANK", raising=False)
    monkeypatch.delenv("SLURM_PROCID", raising=False)
    progress.set_quiet(False)
    seen = []

    def require_root(root, key):
        seen.append(
            (progress.progress_enabled(stream=FakeTerminal()), os.environ.get("GAITGEN_QUIET"))
        )
        raise DataError(f"{root}: stop here")

    monkeypatch.setattr(layout, "require_root", require_root)
    for extra in ([], ["--quiet"]):
        result = CliRunner().invoke(app, ["check-data", str(tmp_path), *extra])
        assert result.exit_code == 1 and result.stderr == f"error: {tmp_path}: stop here\n"
    assert seen == [(True, None), (False, "1")]  # quiet inside the quiet command only
    assert progress.progress_enabled(stream=FakeTerminal())  # and not after it
    assert progress.QUIET_ENV not in os.environ


BAD_CONFIG = "model_cfg:\n  model: Baseline\ntrainer_cfg:\n  total_iter: lots\n"


def test_the_runtime_entry_point_and_gaitgen_train_print_the_same_error(tmp_path: Path) -> None:
    config = tmp_path / "bad.yaml"
    config.write_text(BAD_CONFIG)
    environment = {k: v for k, v in os.environ.items() if k not in ("RANK", "WORLD_SIZE")}
    runtime = subprocess.run(
        [sys.executable, "-m", "gaitgen.runtime", "--cfgs", str(config), "--phase", "train"],
        cwd=tmp_path,
        env=environment,
        capture_output=True,
        text=True,
        timeout=300,
    )
    cli = CliRunner().invoke(app, ["train", str(config)])
    expected = (
        f"error: {config}:4: trainer_cfg.total_iter: expected a whole number, got 'lots' (str)\n"
    )
    assert cli.stderr == expected and cli.exit_code == 1
    assert (runtime.stderr, runtime.returncode) == (expected, 1)


def test_a_bug_is_one_line_from_both_entry_points_and_debug_shows_it(monkeypatch) -> None:
    from gaitgen.runtime import main as entry

    import gaitgen.cli.run as run_command

    def bug(*args, **kwargs):
        raise RuntimeError("boom")

    monkeypatch.setattr(entry, "run_phase", bug)
    monkeypatch.setattr(run_command, "run_or_launch", bug)
    monkeypatch.delenv("WORLD_SIZE", raising=False)

    cli = CliRunner().invoke(app, ["train", "x.yaml"])
    assert cli.exit_code == 1
    assert cli.stderr == (
        "error: internal error in 'gaitgen train x.yaml': RuntimeError: boom "
        "(run 'gaitgen --debug ...' for the traceback; please report it)\n"
    )
    with pytest.raises(RuntimeError, match="boom"):
        CliRunner().invoke(app, ["--debug", "train", "x.yaml"], catch_exceptions=False)
    with pytest.raises(RuntimeError, match="boom"):  # after the command as well
        CliRunner().invoke(app, ["train", "x.yaml", "--debug"], catch_exceptions=False)

    args = ["--cfgs", "x.yaml", "--phase", "train"]
    stderr = io.StringIO()
    monkeypatch.setattr(sys, "stderr", stderr)
    assert entry.main(args) == 1
    assert stderr.getvalue() == (
        "error: internal error in 'python -m gaitgen.runtime --cfgs x.yaml --phase train': "
        "RuntimeError: boom (add --debug for the traceback; please report it)\n"
    )
    with pytest.raises(RuntimeError, match="boom"):
        entry.main([*args, "--debug"])


def test_in_a_job_of_several_processes_each_line_names_its_rank(monkeypatch, capsys) -> None:
    from gaitgen.runtime.error_report import report_error
    from gaitgen.runtime.errors import ConfigError

    monkeypatch.setenv("WORLD_SIZE", "4")
    monkeypatch.setenv("RANK", "3")
    assert report_error(ConfigError("bad key"), debug=False, debug_hint="-") == 1
    assert report_error(KeyboardInterrupt(), debug=True, debug_hint="-") == 130
    assert capsys.readouterr().err == "error: [rank 3] bad key\nerror: interrupted\n"
