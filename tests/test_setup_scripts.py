"""scripts/setup.sh, the README's set-up, run against stand-ins for python, pip and uv.

A copy of the script runs in a folder whose ``.venv`` holds a stand-in ``python`` (it answers
the script's probes and records every ``pip`` call) and whose ``PATH`` may hold a stand-in
``uv`` (it records its calls, and fails when asked to): what is installed, with which tool and
which sources, and every line the script prints, without installing anything.
"""

from __future__ import annotations

import shutil
import subprocess
import sys
from pathlib import Path

import pytest

REPOSITORY = Path(__file__).resolve().parent.parent
ACTIVATE = "setup: done; activate with: source .venv/bin/activate"
CPU_INDEX = "https://download.pytorch.org/whl/cpu"

FAKE_PYTHON = """#!/usr/bin/env bash
# a venv's python as setup.sh uses it: probes answered from the environment, pip recorded
case "$1" in
  -c)
    case "$2" in
      *"import torch"*) [ -n "${FAKE_TORCH_INSTALLED:-}" ] && exit 0; exit 1 ;;
      *urlopen*) [ -n "${FAKE_INDEX_REACHABLE:-}" ] && exit 0; exit 1 ;;
    esac
    exit 0 ;;
  -m)
    if [ "$2" = pip ] && [ "$3" = config ]; then echo /local/wheels; exit 0; fi
    echo "${*:3}" >>"$FAKE_LOG/pip"
    if [ "${*: -1}" = uv ]; then  # pip fetching uv into the venv, when PyPI has it
      [ -z "${FAKE_PIP_GETS_UV:-}" ] && exit 1
      cp "$FAKE_LOG/../uv-stand-in" .venv/bin/uv
    fi
    exit 0 ;;
esac
exit 0
"""

FAKE_UV = """#!/usr/bin/env bash
echo "$*" >>"$FAKE_LOG/uv"
[ -n "${FAKE_UV_FAILS:-}" ] && { echo "uv: cannot reach the index" >&2; exit 2; }
exit 0
"""


@pytest.fixture
def setup_copy(tmp_path: Path) -> Path:
    """A folder with setup.sh, pyproject.toml and a .venv of stand-ins."""
    root = tmp_path / "repo"
    (root / "scripts").mkdir(parents=True)
    shutil.copy(REPOSITORY / "scripts" / "setup.sh", root / "scripts" / "setup.sh")
    shutil.copy(REPOSITORY / "pyproject.toml", root / "pyproject.toml")
    venv = root / ".venv" / "bin"
    venv.mkdir(parents=True)
    (venv / "activate").write_text(f'export PATH="{venv}:$PATH"\n')
    (venv / "python").write_text(FAKE_PYTHON)
    (venv / "python").chmod(0o755)
    (tmp_path / "log").mkdir()
    (tmp_path / "uv-stand-in").write_text(FAKE_UV)
    (tmp_path / "uv-stand-in").chmod(0o755)
    return root


def run_setup(root: Path, *, uv: bool = True, **env: str) -> tuple[list[str], dict[str, list]]:
    """Run the copy's setup.sh; its output lines and the pip / uv calls it made."""
    tools = root.parent / "tools"
    tools.mkdir(exist_ok=True)
    if uv:
        shutil.copy(root.parent / "uv-stand-in", tools / "uv")
    else:
        (tools / "uv").unlink(missing_ok=True)
    log = root.parent / "log"
    for name in ("pip", "uv"):
        (log / name).unlink(missing_ok=True)
    environment = {
        "PATH": f"{tools}:/usr/bin:/bin",
        "HOME": str(root.parent),
        "PYTHON": sys.executable,
        "PIP_FIND_LINKS": "/env/wheels",
        "FAKE_LOG": str(log),
        **env,
    }
    done = subprocess.run(
        ["bash", "scripts/setup.sh"],
        cwd=root,
        env=environment,
        capture_output=True,
        text=True,
        timeout=60,
    )
    assert done.returncode == 0, done.stdout + done.stderr
    calls = {
        name: (log / name).read_text().splitlines() if (log / name).exists() else []
        for name in ("pip", "uv")
    }
    return done.stdout.splitlines(), calls


def test_uv_installs_everything_with_pip_s_local_sources_and_says_how_to_activate(
    setup_copy: Path,
) -> None:
    lines, calls = run_setup(setup_copy)
    assert lines == [
        f"setup: no GPU found, and PyTorch's CPU index ({CPU_INDEX}) cannot be reached: "
        "installing torch==2.13.0+cpu from pip's other sources (a local wheel, PyPI)",
        "setup: installing gaitgen (editable) with its extras [dev,tensorboard,plot] with uv",
        ACTIVATE,
    ]
    sources = "--find-links /env/wheels --find-links /local/wheels"
    python = "--python .venv/bin/python"
    assert calls["uv"] == [
        f"pip install -q --compile-bytecode {python} {sources} torch==2.13.0+cpu",
        f"pip install -q --compile-bytecode {python} {sources} -e .[dev,tensorboard,plot]",
    ]
    assert calls["pip"] == []


def test_a_second_run_installs_nothing_until_pyproject_changes(setup_copy: Path) -> None:
    run_setup(setup_copy)
    lines, calls = run_setup(setup_copy)
    assert lines == ["setup: up to date (pyproject.toml unchanged since the last set-up)", ACTIVATE]
    assert calls == {"pip": [], "uv": []}
    with (setup_copy / "pyproject.toml").open("a") as pyproject:
        pyproject.write("# changed\n")
    lines, calls = run_setup(setup_copy, FAKE_TORCH_INSTALLED="1")
    assert lines[-1] == ACTIVATE
    assert [call.split()[-1] for call in calls["uv"]] == [".[dev,tensorboard,plot]"]  # torch kept


def test_a_failing_uv_hands_over_to_pip_in_one_line(setup_copy: Path) -> None:
    lines, calls = run_setup(setup_copy, FAKE_UV_FAILS="1")
    assert "setup: uv could not install torch==2.13.0+cpu; pip installs from here on" in lines
    assert lines[-1] == ACTIVATE
    assert len(calls["uv"]) == 1  # not tried again for gaitgen itself
    assert calls["pip"] == ["install -q torch==2.13.0+cpu", "install -q -e .[dev,tensorboard,plot]"]


def test_pip_alone_without_uv_or_when_asked(setup_copy: Path) -> None:
    """No uv on PATH and none to fetch (pip's try is quiet), or GAITGEN_INSTALLER=pip."""
    for uv, env in ((False, {}), (True, {"GAITGEN_INSTALLER": "pip"})):
        (setup_copy / ".venv" / ".gaitgen-setup-stamp").unlink(missing_ok=True)
        lines, calls = run_setup(setup_copy, uv=uv, **env)
        assert calls["uv"] == []
        assert calls["pip"][-2:] == [
            "install -q torch==2.13.0+cpu",
            "install -q -e .[dev,tensorboard,plot]",
        ]
        assert lines[-1] == ACTIVATE and "uv" not in " ".join(lines)


def test_uv_fetched_by_pip_when_not_on_path(setup_copy: Path) -> None:
    lines, calls = run_setup(setup_copy, uv=False, FAKE_PIP_GETS_UV="1")
    assert calls["pip"] == ["install -q --retries 1 --timeout 10 uv"]
    assert [call.split()[-1] for call in calls["uv"]] == [
        "torch==2.13.0+cpu",
        ".[dev,tensorboard,plot]",
    ]
    assert (setup_copy / ".venv" / "bin" / "uv").exists() and lines[-1] == ACTIVATE


def test_a_reachable_cpu_index_is_used_and_the_extras_can_be_chosen(setup_copy: Path) -> None:
    lines, calls = run_setup(
        setup_copy, FAKE_INDEX_REACHABLE="1", GAITGEN_EXTRAS="dev,wandb,mlflow"
    )
    assert lines[0] == "setup: no GPU found: installing the CPU build of torch (torch==2.13.0+cpu)"
    assert calls["uv"][0].endswith(f"torch==2.13.0+cpu --extra-index-url {CPU_INDEX}")
    assert calls["uv"][1].endswith("-e .[dev,wandb,mlflow]")


def test_the_test_script_adds_the_loggers_extras() -> None:
    script = (REPOSITORY / "scripts" / "test.sh").read_text()
    assert "GAITGEN_EXTRAS=${GAITGEN_EXTRAS:-dev,tensorboard,plot,wandb,mlflow} bash" in script
