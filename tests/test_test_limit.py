"""``gaitgen test --limit N``: a quick test on the first N test identities, said so."""

from __future__ import annotations

import json
from pathlib import Path

import numpy as np
from typer.testing import CliRunner

from gaitgen.cli.app import app


def test_limit_tests_a_subset_and_says_so(small_config_file: Path, monkeypatch) -> None:
    monkeypatch.chdir(small_config_file.parent)
    runner = CliRunner()
    trained = runner.invoke(app, ["train", str(small_config_file), "--device", "cpu", "-q"])
    assert trained.exit_code == 0, trained.output
    run_dir = small_config_file.parent / "output" / "tiny" / "Baseline" / "small"

    full = runner.invoke(app, ["test", str(small_config_file), "--device", "cpu", "-q"])
    assert full.exit_code == 0, full.output
    assert "subset: " not in full.output
    assert "subset" not in json.loads((run_dir / "results.json").read_text())
    assert len(set(np.load(run_dir / "embeddings.npz")["label"])) == 2

    quick = runner.invoke(
        app, ["test", str(small_config_file), "--device", "cpu", "-q", "--limit", "1"]
    )
    assert quick.exit_code == 0, quick.output
    assert "subset: the first 1 of the 2 test identities" in quick.output
    results = json.loads((run_dir / "results.json").read_text())
    assert results["subset"] == {"identities": 1, "of": 2}
    assert list(np.unique(np.load(run_dir / "embeddings.npz")["label"])) == ["005"]


def test_limit_must_be_positive(small_config_file: Path) -> None:
    result = CliRunner().invoke(app, ["test", str(small_config_file), "--limit", "0"])
    assert result.exit_code == 2
    assert "--limit" in result.output
