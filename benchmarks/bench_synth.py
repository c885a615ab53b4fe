"""Time the generation of SynthGait's default demo dataset, silhouettes only and with every
modality.

    python benchmarks/bench_synth.py                 # default dataset, 1 and 2 workers
    python benchmarks/bench_synth.py --workers 2     # one worker count only
    python benchmarks/bench_synth.py --subjects 10   # a smaller dataset
    python benchmarks/bench_synth.py --modalities silhouette silhouette,skeleton

Prints, per modality list and worker count, the wall time, sequences per second, the size on
disk and the time relative to the silhouettes alone.
Targets: the default dataset in under 60 s on 2 cores; every modality within 3x that.
"""

from __future__ import annotations

import argparse
import os
import shutil
import tempfile
import time
from pathlib import Path

from gaitgen.runtime.synth import DEFAULT_FRAMES, DEFAULT_SUBJECTS, DEFAULT_VIEWS, generate_dataset
from gaitgen.runtime.synth.spec import CONDITIONS


def _size_on_disk(root: Path) -> int:
    return sum(path.stat().st_size for path in root.rglob("*") if path.is_file())


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--subjects", type=int, default=DEFAULT_SUBJECTS)
    parser.add_argument("--frames", type=int, default=DEFAULT_FRAMES)
    parser.add_argument("--workers", type=int, nargs="+", default=[1, 2])
    parser.add_argument("--repeats", type=int, default=1)
    parser.add_argument(
        "--modalities",
        nargs="+",
        default=["silhouette", "all"],
        help="modality lists to time (as gaitgen synth --modalities takes them)",
    )
    args = parser.parse_args()

    sequences = args.subjects * len(CONDITIONS) * len(DEFAULT_VIEWS)
    print(
        f"SynthGait: {args.subjects} subjects x {len(CONDITIONS)} conditions x "
        f"{len(DEFAULT_VIEWS)} views = {sequences} sequences of {args.frames} frames; "
        f"{os.cpu_count()} CPUs visible"
    )
    baseline: dict[int, float] = {}
    for modalities in args.modalities:
        for workers in args.workers:
            times = []
            for _ in range(args.repeats):
                scratch = Path(tempfile.mkdtemp(prefix="bench_synth_"))
                try:
                    started = time.perf_counter()
                    generate_dataset(
                        scratch / "data",
                        subjects=args.subjects,
                        frames=args.frames,
                        workers=workers,
                        modalities=modalities,
                    )
                    times.append(time.perf_counter() - started)
                    size = _size_on_disk(scratch / "data")
                finally:
                    shutil.rmtree(scratch, ignore_errors=True)
            best = min(times)
            baseline.setdefault(workers, best)  # the first list is the reference
            print(
                f"{modalities:>34s} workers={workers}: {best:6.1f} s (best of {len(times)})  "
                f"{sequences / best:7.1f} sequences/s  {size / 2**20:6.0f} MiB  "
                f"{best / baseline[workers]:5.2f}x"
            )


if __name__ == "__main__":
    main()
