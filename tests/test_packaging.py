"""A non-editable install carries the runtime, its defaults and every template."""

from __future__ import annotations

import subprocess
import sys
import zipfile
from pathlib import Path

import pytest

REPO = Path(__file__).resolve().parents[1]


def test_wheel_maps_runtime_and_templates_into_the_package(tmp_path: Path) -> None:
    pytest.importorskip("setuptools")
    result = subprocess.run(
        [
            sys.executable,
            "-m",
            "pip",
            "wheel",
            "--no-deps",
            "--no-build-isolation",
            "-q",
            "-w",
            str(tmp_path),
            str(REPO),
        ],
        capture_output=True,
        text=True,
    )
    assert result.returncode == 0, result.stderr
    (wheel,) = tmp_path.glob("gaitgen-*.whl")
    names = set(zipfile.ZipFile(wheel).namelist())
    expected = {
        "gaitgen/cli/app.py",
        "gaitgen/runtime/__init__.py",
        "gaitgen/runtime/config/defaults.yaml",
        "gaitgen/runtime/models/baseline.py",
        "gaitgen/runtime/data/sampler.py",
        "gaitgen/runtime/evaluation/__init__.py",
        "gaitgen/runtime/synth/__init__.py",
        "gaitgen/templates/model.py.jinja",
        "gaitgen/templates/project/copier.yml",
        "gaitgen/templates/project/template/.gitignore",
    }
    assert expected <= names, sorted(expected - names)
    sources = {p.relative_to(REPO).as_posix() for p in (REPO / "runtime").rglob("*.py")}
    packaged = {n.removeprefix("gaitgen/") for n in names}  # gaitgen/runtime/x.py -> runtime/x.py
    assert sources <= packaged, sorted(sources - packaged)
    assert not any(n.startswith(("tests/", "benchmarks/")) for n in names)
