"""How ``gaitgen --help`` and each command's help read, and what a usage error suggests."""

from __future__ import annotations

import re

import pytest
import typer
from typer.testing import CliRunner

from gaitgen.cli.app import app

WIDE = {"COLUMNS": "200", "TERMINAL_WIDTH": "200"}


def _commands() -> dict:
    return typer.main.get_command(app).commands  # type: ignore[attr-defined]


def _help(*args: str) -> str:
    result = CliRunner().invoke(app, [*args, "--help"], env=WIDE)
    assert result.exit_code == 0, result.output
    return result.output


def test_bare_gaitgen_prints_the_help_and_exits_0() -> None:
    result = CliRunner().invoke(app, [], env=WIDE)
    assert result.exit_code == 0, result.output
    assert "Usage: gaitgen [OPTIONS] COMMAND" in result.output
    assert "train" in result.output and "Example: gaitgen init" in result.output


@pytest.mark.parametrize("name", sorted(_commands()))
def test_every_command_has_an_example_and_real_metavars(name: str) -> None:
    text = _help(name)
    assert f"Example: gaitgen {name}" in text or f"&& gaitgen {name}" in text
    assert not re.search(r"<(bool|int|str|path|float|text)>", text), text
    assert "{" not in text.split("\n", 3)[1]  # the usage line: CONFIG, not {CONFIG}


def test_a_default_given_in_the_text_is_not_shown_again() -> None:
    text = _help("test")
    assert "(default: the latest)" in text and "[default: 0]" not in text
    # a metavar where one is taken, none after a flag
    assert re.search(r"--iter +N +Test this", text) and re.search(r"--log-to-file +Also", text)


def test_brackets_in_help_text_are_shown_as_typed() -> None:
    text = _help("init")
    assert "[default: from DEST]" in text and "[default: DEST's name]" in text
    assert "models and losses ." not in text


def test_docstrings_read_as_sentences() -> None:
    listing = _help()
    (line,) = [row for row in listing.splitlines() if "│ synth " in row]
    assert "another evaluation's layout with --layout)" in line  # not cut after "another"
    text = _help("init")
    assert "an answer flag is given. With --modality (other than silhouette)" in text


def test_each_short_flag_has_one_meaning_across_commands() -> None:
    meanings: dict[str, set[str]] = {}
    for command in _commands().values():
        for parameter in command.params:
            shorts = [o for o in parameter.opts if not o.startswith("--")]
            longs = [o for o in parameter.opts if o.startswith("--")]
            for short in shorts:
                meanings.setdefault(short, set()).update(longs)
    assert {short: longs for short, longs in meanings.items() if len(longs) > 1} == {}
    assert meanings["-p"] == {"--partition"}


@pytest.mark.parametrize(
    "args, expected, not_expected",
    [
        (["train", "x.yaml", "--overwrit"], "Did you mean --overwrite?", "Possible"),
        (
            ["train", "x.yaml", "--dry-run"],
            "--dry-run is an option of gaitgen destroy, new-loss, new-model, port.",
            "--node-rank",
        ),
        (["test", "x.yaml", "--zzzz"], "No such option: --zzzz. See --help", "--nnodes"),
    ],
)
def test_a_usage_error_suggests_only_a_close_option(args, expected, not_expected) -> None:
    result = CliRunner().invoke(app, args, env=WIDE)
    assert result.exit_code == 2
    assert expected in result.output and not_expected not in result.output


def test_list_modules_shows_the_building_blocks() -> None:
    from gaitgen.runtime import modules

    result = CliRunner().invoke(app, ["list", "modules"])
    assert result.exit_code == 0, result.output
    rows = [line.split() for line in result.output.splitlines()[1:]]
    assert [row[0] for row in rows] == modules.__all__
    assert ["SetBlockWrapper", "built-in", "gaitgen.runtime.modules.blocks"] in rows
    everything = CliRunner().invoke(app, ["list"]).output
    assert f"modules ({len(modules.__all__)})" in everything
