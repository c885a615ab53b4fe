"""Training speed: iterations/s and the share of step time spent waiting for data.

Trains the built-in GaitBase (a CPU-sized variant) on the tiny synthetic dataset through the
real CLI (``gaitgen train``), with 1 process and with N processes (torchrun, gloo on CPU,
one thread each), and reads the speed the trainer logs every ``log_iter`` iterations; the
first window is a warm-up and is left out.

    python benchmarks/bench_train.py                  # 1 and 2 processes
    python benchmarks/bench_train.py --nproc 1 2 4 --iters 60 --device cuda
"""

from __future__ import annotations

import argparse
import os
import re
import statistics
import subprocess
import sys
import tempfile
import textwrap
from pathlib import Path

LINE = re.compile(r"iteration (\d+): .*\| ([\d.]+) s/it, data wait (\d+)%")


def write_config(
    folder: Path, data_root: Path, batch: tuple[int, int], frames: int, workers: int
) -> Path:
    config = folder / "bench.yaml"
    config.write_text(textwrap.dedent(f"""\
        data_cfg:
          dataset_name: tiny
          dataset_root: {data_root}
          dataset_partition: {data_root / 'partition.json'}
          num_workers: {workers}
        loss_cfg:
          - {{type: TripletLoss, margin: 0.2, log_prefix: triplet}}
          - {{type: CrossEntropyLoss, scale: 16, log_prefix: softmax, log_accuracy: true}}
        model_cfg:
          model: Baseline
          backbone_cfg: {{type: ResNet9, block: BasicBlock, channels: [16, 32, 64, 128],
                         layers: [1, 1, 1, 1], strides: [1, 2, 2, 1], maxpool: false}}
          SeparateFCs: {{in_channels: 128, out_channels: 64, parts_num: 16}}
          SeparateBNNecks: {{class_num: 12, in_channels: 64, parts_num: 16}}
          bin_num: [16]
        optimizer_cfg: {{solver: SGD, lr: 0.05, momentum: 0.9, weight_decay: 0.0005}}
        scheduler_cfg: {{scheduler: MultiStepLR, milestones: [100000]}}
        trainer_cfg:
          save_iter: 100000
          save_name: bench
          sampler: {{type: TripletSampler, batch_size: [{batch[0]}, {batch[1]}],
                    frames_num_fixed: {frames}, sample_type: fixed_unordered}}
        """))
    return config


def measure(
    config: Path, nproc: int, iters: int, log_iter: int, device: str | None
) -> tuple[float, float]:
    """(iterations/s, data-wait share) after the first log window."""
    command = [
        sys.executable,
        "-m",
        "gaitgen",
        "train",
        str(config),
        "--nproc",
        str(nproc),
        "--set",
        f"trainer_cfg.total_iter={iters}",
        "--set",
        f"trainer_cfg.log_iter={log_iter}",
    ]
    if device:
        command += ["--device", device]
    env = {**os.environ, "OMP_NUM_THREADS": str(max(1, (os.cpu_count() or 1) // nproc))}
    result = subprocess.run(command, cwd=config.parent, env=env, capture_output=True, text=True)
    if result.returncode != 0:
        sys.exit(f"training failed:\n{result.stderr[-3000:]}")
    windows = [(float(m[2]), int(m[3])) for m in LINE.finditer(result.stdout)][1:]
    if not windows:
        sys.exit("no timing lines after the warm-up window: raise --iters")
    seconds = statistics.mean(w[0] for w in windows)
    return 1.0 / seconds, statistics.mean(w[1] for w in windows) / 100.0


def main() -> None:
    parser = argparse.ArgumentParser(
        description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter
    )
    parser.add_argument("--nproc", type=int, nargs="+", default=[1, 2])
    parser.add_argument("--iters", type=int, default=40)
    parser.add_argument("--log-iter", type=int, default=10)
    parser.add_argument("--batch", type=int, nargs=2, default=[4, 4], metavar=("P", "K"))
    parser.add_argument("--frames", type=int, default=30)
    parser.add_argument("--workers", type=int, default=1)
    parser.add_argument("--device", default=None)
    args = parser.parse_args()

    from gaitgen.runtime.tiny_data import generate_dataset

    with tempfile.TemporaryDirectory() as tmp:
        folder = Path(tmp)
        generate_dataset(folder / "tiny", subjects=20, frames=40, seed=0)
        config = write_config(folder, folder / "tiny", tuple(args.batch), args.frames, args.workers)
        print(
            f"GaitBase (channels 16-32-64-128), P x K = {args.batch[0]} x {args.batch[1]}, "
            f"{args.frames} frames of 64x44, {args.workers} loader worker(s) per process, "
            f"{os.cpu_count()} CPU cores"
        )
        print(f"{'processes':>9} {'it/s':>8} {'seq/s':>8} {'data wait':>10}")
        for nproc in args.nproc:
            rate, wait = measure(config, nproc, args.iters, args.log_iter, args.device)
            sequences = rate * args.batch[0] * args.batch[1]
            print(f"{nproc:>9} {rate:>8.2f} {sequences:>8.1f} {wait:>9.0%}")


if __name__ == "__main__":
    main()
