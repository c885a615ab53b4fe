"""``gaitgen --help`` and the generators stay light: no torch, numpy or copier imported.

Each check runs the CLI in a fresh interpreter and lists the heavy modules it loaded.
"""

from __future__ import annotations

import json
import subprocess
import sys
from pathlib import Path

import pytest

HEAVY = ("torch", "numpy", "copier")

PROBE = """
import json, sys
from gaitgen.cli.app import main
sys.argv = ["gaitgen", *json.loads(sys.argv[1])]
try:
    main()
except SystemExit as exc:
    code = exc.code
else:
    code = 0
print("\\nHEAVY=" + json.dumps([m for m in {heavy} if m in sys.modules]) + " CODE=" + str(code))
"""


def loaded_heavy_modules(args: list[str], cwd: Path) -> list[str]:
    """Run ``gaitgen ARGS`` in a new interpreter; return the heavy modules it imported."""
    result = subprocess.run(
        [sys.executable, "-c", PROBE.format(heavy=HEAVY), json.dumps(args)],
        cwd=cwd,
        capture_output=True,
        text=True,
        timeout=120,
    )
    marker = result.stdout.rsplit("HEAVY=", 1)
    assert len(marker) == 2, result.stdout + result.stderr
    heavy, code = marker[1].split(" CODE=")
    assert code.strip() == "0", result.stdout + result.stderr
    return json.loads(heavy)


def test_help_imports_no_torch_numpy_or_copier(tmp_path):
    assert loaded_heavy_modules(["--help"], tmp_path) == []


@pytest.fixture
def project(tmp_path: Path) -> Path:
    (tmp_path / "lab" / "models").mkdir(parents=True)
    (tmp_path / "lab" / "losses").mkdir()
    (tmp_path / "pyproject.toml").write_text('[tool.gaitgen]\npackage = "lab"\n')
    return tmp_path


@pytest.mark.parametrize(
    "args",
    [["new-model", "MyGait"], ["new-loss", "MyLoss", "--no-pairwise"], ["list"]],
    ids=["new-model", "new-loss", "list"],
)
def test_generators_and_list_import_no_torch(project, args):
    assert loaded_heavy_modules(args, project) == []
    if args[0] == "new-model":
        assert (project / "lab" / "models" / "mygait.py").is_file()  # it did run
