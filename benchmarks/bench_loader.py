"""Sequences per second delivered by the training loader, as training-ready batches.

Builds, in a temporary folder, a CASIA-B-layout dataset of 1,760 training sequences
(16 ids x 10 types x 11 views) of 60-100 frames of 64x64 uint8 pickles, then times the
training loader (TripletSampler P x K = 8 x 16, fixed_unordered, 30 frames) with 1 and 2
workers for two transform sets: GaitBase-DA (BaseSilCuttingTransform, RandomRotate p=0.3,
RandomErasing p=0.3) and none (BaseSilCuttingTransform only). Compare with OpenGait's figures
in REFERENCE.md (719/686 and 884/880 sequences/s on 2 cores).

Run::

    python benchmarks/bench_loader.py            # full size (~600 MB of pickles in /tmp)
    python benchmarks/bench_loader.py --batches 10 --ids 4   # quick check
"""

from __future__ import annotations

import argparse
import statistics
import tempfile
import time
from pathlib import Path

import torch
from gaitgen.runtime.data import build_loader
from gaitgen.runtime.data.dummy import write_dummy_dataset

TYPES = [f"nm-0{i}" for i in range(1, 7)] + ["bg-01", "bg-02", "cl-01", "cl-02"]
VIEWS = [f"{angle:03d}" for angle in range(0, 181, 18)]
TRANSFORMS = {
    "GaitBase-DA (cut, rotate 0.3, erase 0.3)": [
        {
            "type": "Compose",
            "trf_cfg": [
                {"type": "BaseSilCuttingTransform"},
                {"type": "RandomRotate", "prob": 0.3},
                {"type": "RandomErasing", "prob": 0.3},
            ],
        }
    ],
    "none (BaseSilCuttingTransform only)": [{"type": "BaseSilCuttingTransform"}],
}
REFERENCE = {  # OpenGait, REFERENCE.md: sequences/s with 1 and 2 workers
    "GaitBase-DA (cut, rotate 0.3, erase 0.3)": (719, 686),
    "none (BaseSilCuttingTransform only)": (884, 880),
}


def config(root: Path, partition: Path, workers: int, transform: list) -> dict:
    """A resolved config for the training loader."""
    return {
        "data_cfg": {
            "dataset_name": "CASIA-B",
            "dataset_root": str(root),
            "dataset_partition": str(partition),
            "num_workers": workers,
            "cache": False,
        },
        "trainer_cfg": {
            "sampler": {
                "type": "TripletSampler",
                "batch_size": [8, 16],
                "batch_shuffle": True,
                "sample_type": "fixed_unordered",
                "frames_num_fixed": 30,
            },
            "transform": transform,
        },
    }


def measure(cfgs: dict, batches: int, warmup: int) -> tuple[float, float]:
    """Sequences per second (wall clock, and per CPU second of this process) after warm-up.

    The CPU-time rate is meaningful with 0 workers (all work in this process): it is what
    one worker delivers on an otherwise idle core, whatever else the machine is doing.
    """
    loader = build_loader(cfgs, training=True, seed=0)
    iterator = iter(loader)
    for _ in range(warmup):
        next(iterator)
    sequences = 0
    start, start_cpu = time.perf_counter(), time.process_time()
    for _ in range(batches):
        ipts, labs, *_ = next(iterator)
        assert ipts[0].shape == (128, 30, 64, 44) and ipts[0].dtype == torch.float32
        sequences += len(labs)
    elapsed, cpu = time.perf_counter() - start, time.process_time() - start_cpu
    del iterator
    return sequences / elapsed, sequences / cpu


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--ids", type=int, default=16, help="training ids (x 110 sequences)")
    parser.add_argument("--batches", type=int, default=40, help="timed batches per run")
    parser.add_argument("--warmup", type=int, default=4, help="untimed batches per run")
    parser.add_argument("--repeats", type=int, default=3, help="runs per setting (median)")
    parser.add_argument("--workers", type=int, nargs="+", default=[0, 1, 2])
    args = parser.parse_args()
    torch.set_num_threads(1)  # the workers do the work; keep the main process light
    with tempfile.TemporaryDirectory() as folder:
        root = Path(folder) / "CASIA-B"
        ids = [f"{i:03d}" for i in range(1, args.ids + 1)]
        start = time.perf_counter()
        partition = write_dummy_dataset(
            root, ids, TYPES, VIEWS, frames=(60, 100), size=(64, 64), train_ids=ids, seed=0
        )
        sequences = len(ids) * len(TYPES) * len(VIEWS)
        print(
            f"dataset: {sequences} training sequences of 60-100 frames of 64x64 uint8 pickles "
            f"(written in {time.perf_counter() - start:.1f} s)"
        )
        print(
            f"batches: P x K = 8 x 16, fixed_unordered 30 frames -> [128, 30, 64, 44] float32; "
            f"median of {args.repeats} runs of {args.batches} batches"
        )
        print("workers 0 = in the training process; 'seq/CPU-s' = sequences per CPU second")
        print(
            f"{'transforms':<42} {'workers':>7} {'seq/s':>8} {'seq/CPU-s':>9} {'OpenGait':>9} {'ratio':>6}"
        )
        for name, transform in TRANSFORMS.items():
            for workers in args.workers:
                runs = [
                    measure(config(root, partition, workers, transform), args.batches, args.warmup)
                    for _ in range(args.repeats)
                ]
                rate = statistics.median(r[0] for r in runs)
                cpu_rate = (
                    f"{statistics.median(r[1] for r in runs):9.0f}" if workers == 0 else f"{'-':>9}"
                )
                reference = REFERENCE[name][workers - 1] if workers in (1, 2) else None
                ratio = f"{rate / reference:5.1f}x" if reference else f"{'-':>6}"
                print(
                    f"{name:<42} {workers:>7} {rate:>8.0f} {cpu_rate} {reference or '-':>9} {ratio:>6}",
                    flush=True,
                )


if __name__ == "__main__":
    main()
