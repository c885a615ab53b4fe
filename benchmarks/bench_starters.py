"""Training and testing time, and rank-1, of starter configs as a user runs them.

    python benchmarks/bench_starters.py                        # the project's baseline.yaml
    python benchmarks/bench_starters.py gaitgl.yaml gaitset.yaml --workdir /tmp/starters
    python benchmarks/bench_starters.py baseline.yaml --set trainer_cfg.total_iter=20

Makes one project with ``gaitgen init --defaults`` (or reuses the one in ``--workdir``), then
for each config: a zoo config (``gaitgl.yaml``) is copied into the project's ``configs/`` as
the README says to, ``baseline.yaml`` is the project's own; then ``gaitgen train CONFIG`` and
``gaitgen test CONFIG``, each a new process timed from start to exit, as a user's command is.
Before them ``gaitgen check CONFIG`` makes the config's dataset (or finds it in the machine's
cache), so the times leave generation out.

Prints, per config: iterations, training and testing wall time, the CPU time (user + sys) of
each, and the mean rank-1 of every condition in ``results.json``; and the 1-minute load
average before and after. On a shared machine the wall time is inflated; CPU time divided by
the cores in use estimates it on a quiet one. These are the figures of the README's model
table and of the starter configs' headers.
"""

from __future__ import annotations

import argparse
import json
import os
import shutil
import sys
import tempfile
from pathlib import Path

from bench_check import timed_command  # beside this script
from bench_cli import gaitgen_command


def gaitgen(*args: str, cwd: Path) -> tuple[float, float, str]:
    """Run ``gaitgen ARGS`` (the console script users run) in ``cwd``; its wall time, its CPU
    time and its output."""
    return timed_command([*gaitgen_command(), *args], cwd)


def run_folder_of(output: str) -> Path:
    """The run folder ``gaitgen test`` names on its first line."""
    for line in output.splitlines():
        if "run folder " in line:
            return Path(line.split("run folder ", 1)[1].split(")")[0].split(" on ")[0])
    raise SystemExit(f"no run folder in gaitgen's output:\n{output[-2000:]}")


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("configs", nargs="*", default=["baseline.yaml"])
    parser.add_argument("--workdir", type=Path, help="where the project goes (kept)")
    parser.add_argument("--set", action="append", default=[], help="passed to train and test")
    parser.add_argument(
        "--no-test",
        nargs="*",
        default=[],
        metavar="CONFIG",
        help="configs only trained (a pre-training with no protocol, say)",
    )
    args = parser.parse_args()

    workdir = args.workdir or Path(tempfile.mkdtemp(prefix="gaitgen-starters-"))
    workdir.mkdir(parents=True, exist_ok=True)
    project = workdir / "starters"
    if not (project / "pyproject.toml").exists():
        gaitgen("init", str(project), "--defaults", "--no-git", cwd=workdir)
    from gaitgen.runtime.zoo import ZOO_DIR

    overrides = [item for value in args.set for item in ("--set", value)]
    print(f"project {project}; {os.cpu_count()} CPUs; load {os.getloadavg()[0]:.1f}")
    print(
        f"{'config':<34} {'it':>5} {'train s':>8} {'cpu s':>8} {'test s':>7} {'cpu s':>7}  "
        "figures                            load before/after",
        flush=True,
    )
    for name in args.configs:
        config = project / "configs" / name
        if not config.exists():
            source = ZOO_DIR / name
            if not source.exists():
                sys.exit(f"{name}: neither in {project / 'configs'} nor in the zoo ({ZOO_DIR})")
            shutil.copy(source, config)
        gaitgen("check", str(config), *overrides, cwd=project)  # its dataset, made or linked
        load = os.getloadavg()[0]
        train_wall, train_cpu, _ = gaitgen("train", str(config), *overrides, cwd=project)
        if name in args.no_test:
            test_wall = test_cpu = float("nan")
            results = {"iteration": "-"}
        else:
            test_wall, test_cpu, out = gaitgen("test", str(config), *overrides, cwd=project)
            results = json.loads((run_folder_of(out) / "results.json").read_text())
        print(
            f"{name:<34} {results['iteration']:>5} {train_wall:>8.1f} {train_cpu:>8.1f} "
            f"{test_wall:>7.1f} {test_cpu:>7.1f}  {figures(results):<34} "
            f"{load:.1f} / {os.getloadavg()[0]:.1f}",
            flush=True,
        )


def figures(results: dict) -> str:
    """``NM 94.1 / BG 86.4 / CL 83.8`` (mean rank-1 per condition); for a condition without a
    rank-1 (a classification, say) its own figures (``scoliosis: accuracy 70.8, f1 71.4``)."""
    shown = []
    for condition, values in results.get("conditions", {}).items():
        if not isinstance(values, dict):
            continue
        if isinstance(values.get("rank1"), (int, float)):
            shown.append(f"{condition} {values['rank1']:.1f}")
            continue
        numbers = [
            f"{key} {value:.1f}"
            for key, value in values.items()
            if isinstance(value, (int, float)) and not isinstance(value, bool)
        ]
        if numbers:
            shown.append(f"{condition}: {', '.join(numbers)}")
    return " / ".join(shown)


if __name__ == "__main__":
    main()
