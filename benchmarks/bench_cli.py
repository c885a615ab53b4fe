"""How fast the CLI answers: ``gaitgen --help`` and ``gaitgen new-model X`` (median wall time).

    python benchmarks/bench_cli.py              # 15 runs each
    python benchmarks/bench_cli.py --runs 31

Goals (2 cores): ``--help`` under 0.3 s, ``new-model`` under 1 s. Each run is a new process,
as a user's command is; ``new-model`` runs in a fresh copy of a project made once with
``gaitgen init --defaults``, so every run creates its three files. Timings include the
interpreter's start-up; on a shared machine they are noisy: look at the median and minimum.
"""

from __future__ import annotations

import argparse
import shutil
import statistics
import subprocess
import sys
import tempfile
import time
from pathlib import Path


def gaitgen_command() -> list[str]:
    """The console script if installed (what users run), else ``python -m gaitgen``."""
    script = Path(sys.executable).with_name("gaitgen")
    if script.is_file():
        return [str(script)]
    found = shutil.which("gaitgen")
    return [found] if found else [sys.executable, "-m", "gaitgen"]


def timed(command: list[str], cwd: Path) -> float:
    start = time.perf_counter()
    subprocess.run(command, cwd=cwd, check=True, stdout=subprocess.DEVNULL)
    return time.perf_counter() - start


def report(name: str, times: list[float], goal: float) -> None:
    median = statistics.median(times)
    verdict = "ok" if median < goal else "over the goal"
    print(
        f"{name:<22} median {median:.3f} s  min {min(times):.3f} s  max {max(times):.3f} s  "
        f"(goal < {goal} s: {verdict}; {len(times)} runs)"
    )


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--runs", type=int, default=15, help="runs per command")
    args = parser.parse_args()
    gaitgen = gaitgen_command()
    print(f"command: {' '.join(gaitgen)}")
    with tempfile.TemporaryDirectory() as tmp:
        work = Path(tmp)
        subprocess.run([*gaitgen, "--help"], cwd=work, check=True, stdout=subprocess.DEVNULL)
        help_times = [timed([*gaitgen, "--help"], work) for _ in range(args.runs)]

        pristine = work / "pristine"
        subprocess.run(
            [*gaitgen, "init", str(pristine), "--defaults"],
            cwd=work,
            check=True,
            stdout=subprocess.DEVNULL,
        )
        model_times = []
        for run in range(args.runs):
            project = work / f"project{run}"
            shutil.copytree(pristine, project)
            model_times.append(timed([*gaitgen, "new-model", "X"], project))
            assert (project / "pristine" / "models" / "x.py").is_file()
    report("gaitgen --help", help_times, 0.3)
    report("gaitgen new-model X", model_times, 1.0)


if __name__ == "__main__":
    main()
