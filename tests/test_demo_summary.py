"""``scripts/demo.sh`` ends by saying what its numbers mean (``scripts/demo_summary.py``)."""

from __future__ import annotations

import json
import subprocess
import sys
from pathlib import Path

from typer.testing import CliRunner

from gaitgen.cli.app import app

REPOSITORY = Path(__file__).resolve().parent.parent
SCRIPT = REPOSITORY / "scripts" / "demo_summary.py"
RUN = "output/SynthGait/MyGait/MyGait"


def _fake_demo(folder: Path, test_ids: int = 16) -> Path:
    run = folder / RUN
    run.mkdir(parents=True)
    results = {
        "protocol": "CASIA-B",
        "conditions": {"NM": {"rank1": 31.25}, "BG": {"rank1": 20.5}, "CL": {"rank1": 12.0}},
    }
    (run / "results.json").write_text(json.dumps(results))
    data = folder / "data" / "synthgait"
    data.mkdir(parents=True)
    ids = [f"{i:03d}" for i in range(1, 25 + test_ids)]
    partition = {"TRAIN_SET": ids[:24], "TEST_SET": ids[24:]}
    (data / "partition.json").write_text(json.dumps(partition))
    return run


def test_the_summary_explains_the_numbers_and_says_what_next(tmp_path: Path) -> None:
    demo = tmp_path / "demo-run"
    run = _fake_demo(demo)
    result = subprocess.run(
        [sys.executable, str(SCRIPT), str(demo), str(run), "50"],
        capture_output=True,
        text=True,
        timeout=60,
    )
    assert result.returncode == 0, result.stderr
    text = " ".join(result.stdout.split())  # as read, whatever the line breaks
    assert "CASIA-B after 50 iterations: rank-1 NM 31.2, BG 20.5, CL 12.0" in text
    assert "Guessing would score 6.2 (1 of the 16 test identities)" in text
    row = next(
        line
        for line in (REPOSITORY / "README.md").read_text().splitlines()
        if line.startswith("| GaitBase (`Baseline`)")
    )
    cells = [cell.strip() for cell in row.strip("|").split("|")]
    assert f"reaches NM / BG / CL {cells[4]} on SynthGait" in text  # the README's own figures
    assert f"({cells[5]} on 2 CPU cores)" in text
    assert f"cd {demo}" in text and "gaitgen train configs/baseline.yaml" in text


def test_without_the_readme_table_the_starter_line_is_left_out(tmp_path: Path) -> None:
    sys.path.insert(0, str(SCRIPT.parent))
    try:
        import demo_summary
    finally:
        sys.path.remove(str(SCRIPT.parent))
    run = _fake_demo(tmp_path / "demo", test_ids=8)
    text = " ".join(demo_summary.summary(tmp_path / "demo", run, 50, tmp_path / "x.md").split())
    assert "Guessing would score 12.5 (1 of the 8 test identities)" in text
    assert "starter config" not in text and "Next" in text


def test_the_demo_reads_the_run_folder_its_test_writes(project: Path) -> None:
    from gaitgen.runtime.engine.run import load_run

    assert CliRunner().invoke(app, ["new-model", "MyGait"]).exit_code == 0
    folder = load_run(project / "configs" / "mygait.yaml").run_folder("test").path
    assert folder.relative_to(project).as_posix() == RUN
    demo = (REPOSITORY / "scripts" / "demo.sh").read_text()
    assert f'python scripts/demo_summary.py "$demo" "$demo/{RUN}" "$iterations"' in demo
    assert "gaitgen test configs/mygait.yaml" in demo
