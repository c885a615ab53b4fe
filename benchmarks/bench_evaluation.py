"""Evaluation speed against the matrix-multiply floor, and peak memory.

    python benchmarks/bench_evaluation.py                      # CASIA-B + OU-MVLP 250/500/1000
    python benchmarks/bench_evaluation.py --sizes 250 1000     # chosen OU-MVLP sizes
    python benchmarks/bench_evaluation.py --full               # adds all 5,153 OU-MVLP subjects
    python benchmarks/bench_evaluation.py --modes single       # only the single-view gallery
    python benchmarks/bench_evaluation.py --threads 1          # evaluation and floor on 1 thread
    python benchmarks/bench_evaluation.py --repeat 3           # fastest of 3 (noisy machines)
    python benchmarks/bench_evaluation.py --functions          # every evaluation function
    python benchmarks/bench_evaluation.py --functions evaluate_CCPG --opengait ../OpenGait/opengait

``--functions [NAME ...]`` times every function of gaitgen's evaluation table (``gaitgen list
evaluation``; or the ones named) at the test-set size of each dataset it evaluates (the
layouts are in ``bench_functions.py``); with ``--opengait DIR`` (OpenGait's ``opengait/``
source folder, e.g. of a clone) OpenGait's function of the same name runs on the same
inputs in the same run, for the side-by-side time.

For each set (random features ``[N, 256, 16]`` float32, metric euc) it prints the
evaluation time, the *floor* -- the time of plain ``torch.matmul`` calls doing the same
number of multiply-adds (probes x gallery x c x p), measured in the same run -- their ratio,
and the peak resident memory of the process that ran the case (features included). Each
case runs in a fresh subprocess so one case's peak does not hide another's. When the floor
would take longer than ``--floor-budget`` seconds, it is measured on part of the work and
scaled (marked ``~``). ``--threads`` sets torch's thread count for both the evaluation and
the floor (default: torch's default). OpenGait's own evaluation on 2 CPU cores took 4.5 s
(CASIA-B, single-view gallery) and 451 s (OU-MVLP 1,000 ids, cross-view); the README has
the side-by-side figures.
"""

from __future__ import annotations

import argparse
import json
import resource
import subprocess
import sys
import time

CHANNELS, PARTS = 256, 16
CASIA_B_TYPES = [f"nm-0{i}" for i in range(1, 7)] + ["bg-01", "bg-02", "cl-01", "cl-02"]
CASIA_B_VIEWS = [f"{v:03d}" for v in range(0, 181, 18)]
OUMVLP_VIEWS = [f"{v:03d}" for v in (0, 15, 30, 45, 60, 75, 90, 180, 195, 210, 225, 240, 255, 270)]


def make_set(name: str, ids: int):
    """Random features and labels with the layout of the named dataset."""
    import numpy as np
    import torch

    types, views = (CASIA_B_TYPES, CASIA_B_VIEWS) if name == "CASIA-B" else (["00", "01"], OUMVLP_VIEWS)  # fmt: skip
    n = ids * len(types) * len(views)
    feature = torch.empty(n, CHANNELS, PARTS)
    generator = torch.Generator().manual_seed(0)
    for start in range(0, n, 8192):
        feature[start : start + 8192].normal_(generator=generator)
    per_id = len(types) * len(views)
    label = np.repeat(np.array([f"{i:05d}" for i in range(ids)]), per_id)
    type_ = np.tile(np.repeat(np.array(types), len(views)), ids)
    view = np.tile(np.array(views), ids * len(types))
    return feature.numpy(), label, type_, view


def multiply_adds(name: str, ids: int, cross_view: bool) -> int:
    """Probes x gallery x c x p, as OpenGait's evaluator computes them."""
    views = len(CASIA_B_VIEWS) if name == "CASIA-B" else len(OUMVLP_VIEWS)
    if name == "CASIA-B":
        probes, gallery = (3, 3) if cross_view else (6, 4)  # sequences per subject and view
    else:
        probes, gallery = 1, 1
    return probes * ids * views * gallery * ids * views * CHANNELS * PARTS


def matmul_floor(total: int, device: str, budget: float) -> tuple[float, bool]:
    """Seconds that plain matmuls of ``total`` multiply-adds take (scaled past ``budget``)."""
    import torch

    side, depth = 4096, CHANNELS * PARTS
    a = torch.randn(side, depth, device=device)
    b = torch.randn(depth, side, device=device)
    out = torch.empty(side, side, device=device)
    torch.matmul(a, b, out=out)  # warm-up
    done, elapsed = 0, 0.0
    while done < total and elapsed < budget:
        rows = min(side, max(1, (total - done) // (side * depth)))
        start = time.perf_counter()
        torch.matmul(a[:rows], b, out=out[:rows])
        if device != "cpu":
            torch.cuda.synchronize()
        elapsed += time.perf_counter() - start
        done += rows * side * depth
    return elapsed * total / done, done < total


def run_case(
    name: str, ids: int, cross_view: bool, device: str, budget: float, repeat: int = 1
) -> dict:
    """One case in this process: evaluation time, floor, peak memory.

    With ``repeat`` > 1, evaluation and floor alternate that many times and the fastest of
    each is reported (the first evaluation runs in a cold process either way).
    """
    import torch
    from gaitgen.runtime.evaluation import evaluate

    feature, label, type_, view = make_set(name, ids)
    seconds, floor, scaled, peak_gb = float("inf"), float("inf"), False, 0.0
    for _ in range(repeat):
        if device != "cpu":
            torch.cuda.synchronize()
        start = time.perf_counter()
        result = evaluate(feature, label, type_, view, protocol=name, cross_view=cross_view, device=device)  # fmt: skip
        seconds = min(seconds, time.perf_counter() - start)
        peak_gb = max(peak_gb, resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024**2)
        this_floor, scaled = matmul_floor(multiply_adds(name, ids, cross_view), device, budget)
        floor = min(floor, this_floor)
    first = next(iter(result.to_dict()["conditions"].values()))
    return {
        "sequences": len(label),
        "seconds": seconds,
        "floor": floor,
        "floor_scaled": scaled,
        "peak_gb": peak_gb,
        "rank1": first["rank1"],
    }


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--sizes", type=int, nargs="*", default=[250, 500, 1000],
                        help="OU-MVLP-like subject counts (default: 250 500 1000)")  # fmt: skip
    parser.add_argument("--full", action="store_true", help="also all 5,153 OU-MVLP subjects")
    parser.add_argument("--no-casia-b", action="store_true", help="skip the CASIA-B-sized set")
    parser.add_argument("--modes", nargs="*", default=["single", "cross"], choices=["single", "cross"])  # fmt: skip
    parser.add_argument("--device", default="cpu", help="cpu or cuda")
    parser.add_argument("--threads", type=int, default=0,
                        help="torch threads for evaluation and floor (default: torch's default)")  # fmt: skip
    parser.add_argument("--floor-budget", type=float, default=60.0,
                        help="seconds of floor matmul before scaling the rest")  # fmt: skip
    parser.add_argument("--repeat", type=int, default=1,
                        help="alternate evaluation and floor this many times, report the fastest")  # fmt: skip
    parser.add_argument("--case", nargs=3, metavar=("NAME", "IDS", "MODE"), help=argparse.SUPPRESS)
    parser.add_argument("--functions", nargs="*", metavar="NAME",
                        help="time the evaluation functions (all, or those named)")  # fmt: skip
    parser.add_argument("--opengait", metavar="DIR",
                        help="with --functions: OpenGait's opengait/ folder, timed beside")  # fmt: skip
    parser.add_argument("--scale", type=float, default=1.0,
                        help="with --functions: subjects (frames) times this (quick runs)")  # fmt: skip
    args = parser.parse_args()

    if args.functions is not None:
        from bench_functions import bench_functions

        bench_functions(args.functions, args.device, args.threads, args.opengait, args.scale)
        return

    if args.case:  # child process: run one case, print its JSON
        if args.threads:
            import torch

            torch.set_num_threads(args.threads)
        name, ids, mode = args.case
        case = run_case(
            name, int(ids), mode == "cross", args.device, args.floor_budget, args.repeat
        )
        print(json.dumps(case))
        return

    import torch

    cases = [] if args.no_casia_b else [("CASIA-B", 50)]
    sizes = list(args.sizes) + ([5153] if args.full and 5153 not in args.sizes else [])
    cases += [("OU-MVLP", ids) for ids in sizes]
    threads = args.threads or torch.get_num_threads()
    print(f"device {args.device}, torch {torch.__version__}, {threads} threads; "
          f"features [N, {CHANNELS}, {PARTS}] float32, metric euc")  # fmt: skip
    header = (
        f"{'set':<22}{'gallery':<13}{'N':>8}{'eval s':>10}{'floor s':>10}{'ratio':>7}{'peak GB':>9}"
    )
    print(header)
    print("-" * len(header))
    for name, ids in cases:
        for mode in args.modes:
            command = [sys.executable, __file__, "--case", name, str(ids), mode,
                       "--device", args.device, "--floor-budget", str(args.floor_budget),
                       "--threads", str(args.threads), "--repeat", str(args.repeat)]  # fmt: skip
            done = subprocess.run(command, capture_output=True, text=True)
            label = f"{name} {ids} ids"
            if done.returncode != 0:
                print(f"{label:<22}{mode + '-view':<13} failed: {done.stderr.strip()[-300:]}")
                continue
            r = json.loads(done.stdout.strip().splitlines()[-1])
            floor = ("~" if r["floor_scaled"] else "") + f"{r['floor']:.2f}"
            print(f"{label:<22}{mode + '-view':<13}{r['sequences']:>8}{r['seconds']:>10.2f}"
                  f"{floor:>10}{r['seconds'] / r['floor']:>7.2f}{r['peak_gb']:>9.2f}", flush=True)  # fmt: skip


if __name__ == "__main__":
    main()
