"""Is SynthGait learnable but not trivial? Train a small GaitBase on it and compare with GEI.

    python benchmarks/synth_learnability.py                      # default dataset, 500 iterations
    python benchmarks/synth_learnability.py --iters 400 --workdir /tmp/learn
    python benchmarks/synth_learnability.py --gei-only           # the GEI baseline alone

Steps, all through the public runtime:

1. generate the default SynthGait dataset (``generate_dataset``, timed);
2. train the built-in GaitBase (``model_cfg.model: Baseline``; a small variant: channels
   16-32-64-128, 16 parts, 30 frames of 64x44) with ``python -m gaitgen.runtime --phase
   train`` and test it with ``--phase test`` (CASIA-B protocol, identical views excluded);
3. a baseline without learning: the GEI (average silhouette, cut to 64x44 like the model's
   input) of each test sequence, Euclidean nearest neighbour, the same protocol.

Prints the rank-1 of NM, BG and CL for the model and for GEI, and the times. Targets: model
NM >= 90%, CL clearly below NM, GEI clearly below the model.
"""

from __future__ import annotations

import argparse
import json
import os
import subprocess
import sys
import tempfile
import time
from pathlib import Path

import yaml

CONDITIONS = ("NM", "BG", "CL")


def make_config(data_root: Path, subjects: int, frames: int, iters: int) -> dict:
    """The small GaitBase recipe for SynthGait (OpenGait's config schema)."""
    from gaitgen.runtime.synth import train_subject_count

    return {
        "data_cfg": {
            "dataset_name": "SynthGait",
            "test_dataset_name": "CASIA-B",
            "dataset_root": str(data_root),
            "dataset_partition": str(data_root / "partition.json"),
            "num_workers": 1,
            "cache": True,
            "synthetic": {
                "generator": "synthgait",
                "subjects": subjects,
                "seed": 0,
                "frames": frames,
            },
        },
        "evaluator_cfg": {
            "save_name": "learnability",
            "sampler": {"type": "InferenceSampler", "batch_size": 16, "sample_type": "all_ordered"},
            "transform": [{"type": "BaseSilCuttingTransform"}],
            "metric": "euc",
        },
        "loss_cfg": [
            {
                "type": "TripletLoss",
                "margin": 0.2,
                "loss_term_weight": 1.0,
                "log_prefix": "triplet",
            },
            {
                "type": "CrossEntropyLoss",
                "scale": 16,
                "label_smooth": True,
                "loss_term_weight": 1.0,
                "log_prefix": "softmax",
            },
        ],
        "model_cfg": {
            "model": "Baseline",
            "backbone_cfg": {
                "type": "ResNet9",
                "block": "BasicBlock",
                "channels": [16, 32, 64, 128],
                "layers": [1, 1, 1, 1],
                "strides": [1, 2, 2, 1],
                "maxpool": True,
            },
            "SeparateFCs": {"in_channels": 128, "out_channels": 128, "parts_num": 16},
            "SeparateBNNecks": {
                "class_num": train_subject_count(subjects),
                "in_channels": 128,
                "parts_num": 16,
            },
            "bin_num": [16],
        },
        "optimizer_cfg": {"solver": "Adam", "lr": 1.0e-3, "weight_decay": 5.0e-4},
        "scheduler_cfg": {
            "scheduler": "MultiStepLR",
            "milestones": [int(iters * 0.8)],
            "gamma": 0.1,
        },
        "trainer_cfg": {
            "total_iter": iters,
            "save_iter": max(1, iters // 4),
            "log_iter": 50,
            "save_name": "learnability",
            "with_test": False,
            "sampler": {
                "type": "TripletSampler",
                "batch_size": [8, 4],
                "frames_num_fixed": 30,
                "sample_type": "fixed_unordered",
                "batch_shuffle": True,
            },
            "transform": [{"type": "BaseSilCuttingTransform"}],
        },
    }


def gei_baseline(data_root: Path) -> dict[str, float]:
    """Rank-1 per condition of a Euclidean nearest neighbour on GEIs of the test set."""
    import numpy as np
    from gaitgen.runtime.data import load_sequence_file
    from gaitgen.runtime.evaluation import evaluate

    partition = json.loads((data_root / "partition.json").read_text())
    features, labels, types, views = [], [], [], []
    for subject in partition["TEST_SET"]:
        for path in sorted((data_root / subject).glob("*/*/*.pkl")):
            silhouettes = load_sequence_file(path)  # [t, 64, 64] uint8
            gei = silhouettes[:, :, 10:54].astype(np.float32).mean(axis=0) / 255.0  # [64, 44]
            features.append(gei.reshape(-1, 1))  # [c, p=1]
            labels.append(subject)
            types.append(path.parent.parent.name)
            views.append(path.parent.name)
    result = evaluate(np.stack(features), labels, types, views, protocol="CASIA-B", metric="euc")
    return _rank1(result.to_dict())


def _rank1(result: dict) -> dict[str, float]:
    return {name: float(result["conditions"][name]["rank1"]) for name in CONDITIONS}


def _runtime(config: Path, phase: str, workdir: Path) -> float:
    started = time.perf_counter()
    command = [sys.executable, "-m", "gaitgen.runtime", "--cfgs", str(config), "--phase", phase]
    subprocess.run(command, cwd=workdir, check=True)
    return time.perf_counter() - started


def main() -> None:
    from gaitgen.runtime.synth import DEFAULT_FRAMES, DEFAULT_SUBJECTS, generate_dataset

    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--iters", type=int, default=500, help="training iterations")
    parser.add_argument("--subjects", type=int, default=DEFAULT_SUBJECTS)
    parser.add_argument("--frames", type=int, default=DEFAULT_FRAMES)
    parser.add_argument("--workers", type=int, default=2, help="generator processes")
    parser.add_argument("--workdir", type=Path, default=None, help="default: a temp folder")
    parser.add_argument("--gei-only", action="store_true", help="skip training")
    args = parser.parse_args()

    workdir = args.workdir or Path(tempfile.mkdtemp(prefix="synth_learnability_"))
    workdir.mkdir(parents=True, exist_ok=True)
    data_root = (workdir / "data" / "synthgait").absolute()
    if not data_root.is_dir():
        started = time.perf_counter()
        generate_dataset(
            data_root, subjects=args.subjects, frames=args.frames, workers=args.workers
        )
        print(f"generated {data_root} in {time.perf_counter() - started:.1f} s", flush=True)

    gei = gei_baseline(data_root)
    model = None
    if not args.gei_only:
        config = workdir / "synthgait_gaitbase_small.yaml"
        cfg = make_config(data_root, args.subjects, args.frames, args.iters)
        config.write_text(yaml.safe_dump(cfg, sort_keys=False))
        train_s = _runtime(config, "train", workdir)
        test_s = _runtime(config, "test", workdir)
        results = workdir / "output" / "SynthGait" / "Baseline" / "learnability" / "results.json"
        model = _rank1(json.loads(results.read_text()))
        print(f"training: {args.iters} iterations in {train_s:.0f} s; test in {test_s:.0f} s")

    print(
        f"\nSynthGait ({args.subjects} subjects, {args.frames} frames), CASIA-B protocol, "
        f"rank-1 %, identical views excluded; {os.cpu_count()} CPUs"
    )
    print(f"{'':24s}" + "".join(f"{name:>8s}" for name in CONDITIONS))
    if model is not None:
        print(f"{'GaitBase-small':24s}" + "".join(f"{model[n]:8.1f}" for n in CONDITIONS))
    print(f"{'GEI nearest neighbour':24s}" + "".join(f"{gei[n]:8.1f}" for n in CONDITIONS))
    print(f"workdir: {workdir}")


if __name__ == "__main__":
    main()
