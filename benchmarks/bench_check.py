"""Wall time of ``gaitgen check`` on the starter config of a fresh ``gaitgen init`` project.

    python benchmarks/bench_check.py             # 3 timed runs, CPU
    python benchmarks/bench_check.py --runs 5 --device cuda

Goal (2 CPU cores): under 20 s. The project is made once with ``gaitgen init --defaults``;
its first check also generates the SynthGait dataset the starter config names (a one-time
cost, timed and printed on its own line), every later run finds the data in place. Each run
is a new process, as a user's command is, so the times include the interpreter's start-up,
the imports and the loader workers' start. The step times ``check`` itself reports (train
step, eval forward) are printed from the last run. On a shared machine timings are noisy:
look at the median and the minimum, and at the CPU time, which other load does not inflate.
"""

from __future__ import annotations

import argparse
import os
import resource
import statistics
import subprocess
import sys
import tempfile
import time
from pathlib import Path

from bench_cli import gaitgen_command  # beside this script: the same command users run


def _children_cpu() -> float:
    usage = resource.getrusage(resource.RUSAGE_CHILDREN)
    return usage.ru_utime + usage.ru_stime


def timed_command(command: list[str], cwd: Path) -> tuple[float, float, str]:
    """Wall and CPU seconds of one command (its processes and loader workers: the CPU time of
    this script's children) and its standard output; a failure stops the benchmark."""
    start, cpu_start = time.perf_counter(), _children_cpu()
    result = subprocess.run(command, cwd=cwd, capture_output=True, text=True)
    seconds, cpu = time.perf_counter() - start, _children_cpu() - cpu_start
    if result.returncode != 0:
        sys.exit(
            f"{' '.join(command)} failed (exit {result.returncode}):\n"
            f"{result.stdout}{result.stderr[-3000:]}"
        )
    return seconds, cpu, result.stdout


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--runs", type=int, default=3, help="timed runs after the first")
    parser.add_argument("--device", default="cpu", help="cpu or cuda")
    parser.add_argument("--goal", type=float, default=20.0, help="seconds")
    parser.add_argument(
        "--project", type=Path, default=None, help="an existing 'gaitgen init' project to use"
    )
    args = parser.parse_args()
    gaitgen = gaitgen_command()
    print(f"command: {' '.join(gaitgen)} check configs/baseline.yaml --device {args.device}")
    print(f"CPU cores visible: {len(os.sched_getaffinity(0))}")
    with tempfile.TemporaryDirectory() as tmp:
        project = args.project or Path(tmp) / "benchproj"
        if args.project is None:
            subprocess.run(
                [*gaitgen, "init", str(project), "--defaults"],
                check=True,
                stdout=subprocess.DEVNULL,
            )
        check = [*gaitgen, "check", "configs/baseline.yaml", "--device", args.device]
        first, first_cpu, _ = timed_command(check, project)
        what = (
            "makes SynthGait, or links the machine's cached copy"
            if args.project is None
            else "warm-up"
        )
        print(f"first run ({what}): {first:.2f} s ({first_cpu:.1f} s CPU)")
        times, cpu_times, report = [], [], ""
        for _ in range(args.runs):
            seconds, cpu, report = timed_command(check, project)
            times.append(seconds)
            cpu_times.append(cpu)
        if (project / "output").exists():
            sys.exit("gaitgen check wrote output/: it must not")
    median = statistics.median(times)
    verdict = "ok" if median < args.goal else "over the goal"
    print(
        f"gaitgen check: median {median:.2f} s  min {min(times):.2f} s  max {max(times):.2f} s "
        f"(goal < {args.goal:g} s: {verdict}; {len(times)} runs)"
    )
    # CPU seconds do not grow when other processes share the cores, unlike the wall time
    print(f"CPU time (user + sys, all processes): median {statistics.median(cpu_times):.2f} s")
    for line in report.splitlines():
        if line.startswith(("train step", "eval forward", "FLOPs/seq", "model", "memory")):
            print("  " + line)


if __name__ == "__main__":
    main()
