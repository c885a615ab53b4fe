"""Is SynthGait learnable but not trivial? Train a small GaitBase on it and compare with GEI.

    python benchmarks/synth_learnability.py                      # default dataset and recipe
    python benchmarks/synth_learnability.py --data-root /tmp/synth_default --workdir /tmp/learn
    python benchmarks/synth_learnability.py --iters 400 --workdir /tmp/learn
    python benchmarks/synth_learnability.py --gei-only           # the GEI baseline alone

Steps, all through the public runtime:

1. generate the default SynthGait dataset (``generate_dataset``, timed), unless
   ``--data-root`` names one already made;
2. train the built-in GaitBase (``model_cfg.model: Baseline``) in the small CPU recipe of
   :data:`RECIPE` with ``python -m gaitgen.runtime --phase train`` and test it with
   ``--phase test`` (CASIA-B protocol, identical views excluded, all frames of a sequence);
3. a baseline without learning: the GEI (average silhouette, cut to 64x44 like the model's
   input) of each test sequence, Euclidean nearest neighbour, the same protocol.

Prints the rank-1 of NM, BG and CL for the model and for GEI, and for training its wall time,
the CPU time of the training process (user + sys) and the 1-minute load average before and
after. On a shared machine the wall time is inflated; CPU time divided by the cores used is
the estimate of the wall time on an idle machine. Targets: model NM >= 90% within the demo's
budget (a few minutes on 2 cores), CL clearly below NM, GEI clearly below the model.
"""

from __future__ import annotations

import argparse
import json
import os
import resource
import subprocess
import sys
import tempfile
import time
from pathlib import Path

import yaml
from gaitgen.runtime.engine.run_folder import RunFolder

CONDITIONS = ("NM", "BG", "CL")


# The small GaitBase recipe for SynthGait on a CPU (also the project template's starter config,
# templates/project/template/configs/baseline.yaml.jinja): measured by this script.
RECIPE = {
    "channels": [16, 32, 64, 128],  # GaitBase: [64, 128, 256, 512]
    "frames": 16,  # frames per training sequence (testing uses all of them)
    "batch_size": [8, 4],  # P identities x K sequences
    "lr": 2.0e-3,  # Adam
    "iters": 360,
    "lr_drop": 0.75,  # x0.1 at this fraction of the iterations
}


def make_config(data_root: Path, subjects: int, frames: int, iters: int) -> dict:
    """The config of :data:`RECIPE` (OpenGait's config schema) for ``iters`` iterations."""
    from gaitgen.runtime.synth import train_subject_count

    channels = RECIPE["channels"]
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
                "channels": list(channels),
                "layers": [1, 1, 1, 1],
                "strides": [1, 2, 2, 1],
                "maxpool": True,
            },
            "SeparateFCs": {"in_channels": channels[-1], "out_channels": 128, "parts_num": 16},
            "SeparateBNNecks": {
                "class_num": train_subject_count(subjects),
                "in_channels": 128,
                "parts_num": 16,
            },
            "bin_num": [16],
        },
        "optimizer_cfg": {"solver": "Adam", "lr": RECIPE["lr"], "weight_decay": 5.0e-4},
        "scheduler_cfg": {
            "scheduler": "MultiStepLR",
            "milestones": [int(iters * RECIPE["lr_drop"])],
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
                "batch_size": list(RECIPE["batch_size"]),
                "frames_num_fixed": RECIPE["frames"],
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


def _runtime(config: Path, phase: str, workdir: Path) -> dict[str, float]:
    """Run one phase in a child process; its wall time, CPU time and the load around it."""
    load_before = os.getloadavg()[0]
    cpu_before = resource.getrusage(resource.RUSAGE_CHILDREN)
    started = time.perf_counter()
    command = [sys.executable, "-m", "gaitgen.runtime", "--cfgs", str(config), "--phase", phase]
    subprocess.run(command, cwd=workdir, check=True)
    wall = time.perf_counter() - started
    cpu_after = resource.getrusage(resource.RUSAGE_CHILDREN)
    cpu = (cpu_after.ru_utime - cpu_before.ru_utime) + (cpu_after.ru_stime - cpu_before.ru_stime)
    return {"wall": wall, "cpu": cpu, "load_before": load_before, "load_after": os.getloadavg()[0]}


def torch_threads() -> int:
    """The threads torch uses in a fresh process (OMP_NUM_THREADS, else the CPU count)."""
    value = os.environ.get("OMP_NUM_THREADS", "")
    return int(value) if value.isdigit() and int(value) > 0 else (os.cpu_count() or 1)


def main() -> None:
    from gaitgen.runtime.synth import DEFAULT_FRAMES, DEFAULT_SUBJECTS, generate_dataset

    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--iters", type=int, default=RECIPE["iters"], help="training iterations")
    parser.add_argument("--subjects", type=int, default=DEFAULT_SUBJECTS)
    parser.add_argument("--frames", type=int, default=DEFAULT_FRAMES)
    parser.add_argument("--workers", type=int, default=2, help="generator processes")
    parser.add_argument("--workdir", type=Path, default=None, help="default: a temp folder")
    parser.add_argument(
        "--data-root",
        type=Path,
        default=None,
        help="an existing SynthGait dataset (read only); default: <workdir>/data/synthgait",
    )
    parser.add_argument("--gei-only", action="store_true", help="skip training")
    args = parser.parse_args()

    workdir = args.workdir or Path(tempfile.mkdtemp(prefix="synth_learnability_"))
    workdir.mkdir(parents=True, exist_ok=True)
    data_root = (args.data_root or workdir / "data" / "synthgait").absolute()
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
        train = _runtime(config, "train", workdir)
        test = _runtime(config, "test", workdir)
        folder = RunFolder.under(workdir, "SynthGait", "Baseline", "learnability")
        results = folder.results_file
        model = _rank1(json.loads(results.read_text()))
        cores = min(os.cpu_count() or 1, torch_threads())
        print(
            f"\ntraining: {args.iters} iterations, wall {train['wall']:.0f} s, CPU (user+sys) "
            f"{train['cpu']:.0f} s = {train['cpu'] / cores:.0f} s on {cores} idle cores, "
            f"load {train['load_before']:.2f} -> {train['load_after']:.2f}"
        )
        print(
            f"test: wall {test['wall']:.0f} s, CPU {test['cpu']:.0f} s, "
            f"load {test['load_before']:.2f} -> {test['load_after']:.2f}"
        )

    print(
        f"\nSynthGait ({args.subjects} subjects, {args.frames} frames), CASIA-B protocol, "
        f"rank-1 %, identical views excluded; {os.cpu_count()} CPUs"
    )
    if model is not None:
        print(f"recipe: {RECIPE} ({args.iters} iterations)")
    print(f"{'':24s}" + "".join(f"{name:>8s}" for name in CONDITIONS))
    if model is not None:
        print(f"{'GaitBase-small':24s}" + "".join(f"{model[n]:8.1f}" for n in CONDITIONS))
    print(f"{'GEI nearest neighbour':24s}" + "".join(f"{gei[n]:8.1f}" for n in CONDITIONS))
    print(f"workdir: {workdir}")


if __name__ == "__main__":
    main()
