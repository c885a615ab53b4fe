"""Skeleton maps per second of ``gaitgen prepare --skeleton-maps``, with 1 and 2 workers.

    python benchmarks/bench_skeleton_maps.py                 # 24 sequences of 60 frames
    python benchmarks/bench_skeleton_maps.py --sequences 48 --frames 90 --workers 1 2 4

Writes COCO-17 pose pickles (a walking stick figure with jitter, some joints missing) into a
temporary folder, runs :func:`prepare_skeleton_maps` on them once per worker count, and
prints frames (maps) per second and sequences per second. Worker processes are spawned, so
each count's time includes their start-up, as a user's run does.
"""

from __future__ import annotations

import argparse
import pickle
import tempfile
import time
from pathlib import Path

import numpy as np
from gaitgen.runtime.data.prepare_skeleton import prepare_skeleton_maps

# a standing COCO-17 figure in pixels (nose, eyes, ears, shoulders, elbows, wrists, hips, ...)
FIGURE = np.array(
    [
        [320, 100], [328, 92], [312, 92], [336, 96], [304, 96], [350, 150], [290, 150],
        [360, 210], [280, 210], [365, 265], [275, 265], [340, 280], [300, 280], [345, 370],
        [295, 370], [350, 460], [290, 460],
    ],
    dtype=np.float64,
)  # fmt: skip


def write_poses(root: Path, sequences: int, frames: int, seed: int = 0) -> None:
    """``sequences`` pose pickles ``[frames, 17, 3]`` under ``root/<id>/nm-01/000/``."""
    rng = np.random.default_rng(seed)
    phase = np.linspace(0, 4 * np.pi, frames)[:, None]
    for s in range(sequences):
        swing = np.zeros((frames, 17, 2))
        swing[:, [9, 15], 0] = 30 * np.sin(phase)
        swing[:, [10, 16], 0] = -30 * np.sin(phase)
        xy = FIGURE + swing + rng.normal(0, 2, (frames, 17, 2)) + [s * 3, 0]
        score = rng.uniform(0.3, 1.0, (frames, 17, 1))
        pose = np.concatenate([xy, score], axis=-1)
        pose[rng.random((frames, 17)) < 0.03] = 0  # missing joints
        folder = root / f"{s:03d}" / "nm-01" / "000"
        folder.mkdir(parents=True)
        (folder / "000.pkl").write_bytes(pickle.dumps(pose, protocol=4))


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--sequences", type=int, default=24)
    parser.add_argument("--frames", type=int, default=60)
    parser.add_argument("--workers", type=int, nargs="+", default=[1, 2])
    args = parser.parse_args()
    with tempfile.TemporaryDirectory() as scratch:
        poses = Path(scratch) / "poses"
        write_poses(poses, args.sequences, args.frames)
        total = args.sequences * args.frames
        for workers in args.workers:
            start = time.perf_counter()
            summary = prepare_skeleton_maps(poses, Path(scratch) / f"out{workers}", workers=workers)
            seconds = time.perf_counter() - start
            assert summary.frames == total, summary.skipped[:1]
            print(
                f"workers={workers}: {total / seconds:7.1f} maps/s "
                f"({args.sequences / seconds:.2f} sequences/s, {seconds:.1f} s for "
                f"{args.sequences} x {args.frames} frames)"
            )


if __name__ == "__main__":
    main()
