"""Sequences per second delivered by the training loader, as training-ready batches.

Builds, in a temporary folder, a CASIA-B-layout dataset of 1,760 training sequences
(16 ids x 10 types x 11 views) of 60-100 frames of 64x64 uint8 pickles, then times the
training loader (TripletSampler P x K = 8 x 16, fixed_unordered, 30 frames) with 1 and 2
workers for two transform sets: GaitBase-DA (BaseSilCuttingTransform, RandomRotate p=0.3,
RandomErasing p=0.3) and none (BaseSilCuttingTransform only), and for two delivery paths:
uint8 batches finished (float32 / 255) in the training process by ``loader.to_device`` (the
engine's path; the conversion is timed) and float32 batches made in the workers. Compare with
OpenGait's own loader, measured on 2 cores (719/686 and 884/880 sequences/s; the README's
loader table).

With ``--modalities``, it times instead the training batches of each body representation,
through the real loader and transforms of a zoo model's starter config, on SynthGait data of
the starter's modalities (generated first, ``--subjects`` of them, in a temporary folder):
silhouette (GaitSet), pose (GaitGraph2), skeleton (SkeletonGaitPP: silhouettes and skeleton
maps, raw batches through its ``inputs_pretreament``), parsing (ParsingGait), smpl (SMPLGait:
silhouettes and SMPL). Each batch is the starter's sampler (P x K, frames) and counts once it
is finished as the engine finishes it (``engine.step.model_inputs``: float32 on the device).

Run::

    python benchmarks/bench_loader.py            # full size (~600 MB of pickles in /tmp)
    python benchmarks/bench_loader.py --batches 10 --ids 8   # quick check
    python benchmarks/bench_loader.py --device cuda --workers 1 2 4   # finished on a GPU
    python benchmarks/bench_loader.py --modalities all --workers 1 2   # each modality
    python benchmarks/bench_loader.py --modalities pose --models GaitGraph1 GaitTR
"""

from __future__ import annotations

import argparse
import copy
import os
import statistics
import tempfile
import time
from collections.abc import Callable
from pathlib import Path
from typing import Any

import torch
from gaitgen.runtime.components import build, get
from gaitgen.runtime.config import load_config
from gaitgen.runtime.data import build_loader
from gaitgen.runtime.data.dummy import write_dummy_dataset
from gaitgen.runtime.engine.step import model_inputs
from gaitgen.runtime.model import overrides_pretreatment
from gaitgen.runtime.zoo import starter_config

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
# each body representation -> the zoo model whose starter config's training batches are timed
MODALITY_MODELS = {
    "silhouette": "GaitSet",
    "pose": "GaitGraph2",
    "skeleton": "SkeletonGaitPP",
    "parsing": "ParsingGait",
    "smpl": "SMPLGait",
}
REFERENCE = {  # OpenGait 0efafd4 on 2 cores: sequences/s with 1 and 2 workers
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


def make_loader(cfgs: dict, fast: bool, warm: bool, device: str) -> Any:
    """The training loader; ``warm``: every sequence loaded once first (a run after 1 epoch).

    A pickle is unpickled in full the first time a process loads it; afterwards only its
    sampled frames are read (the layouts found are shared with the workers).
    """
    loader = build_loader(
        cfgs, training=True, seed=0, float_inputs=not fast, device_type=torch.device(device).type
    )
    if warm:
        for index in range(len(loader.dataset)):
            loader.dataset[index]
    return loader


def _children() -> list[int]:
    """The live child processes of this process (the loader's workers), from /proc."""
    pids = []
    for entry in os.listdir("/proc"):
        if not entry.isdigit():
            continue
        try:
            with open(f"/proc/{entry}/stat") as file:
                fields = file.read().rsplit(")", 1)[1].split()
        except OSError:
            continue
        if int(fields[1]) == os.getpid():  # ppid
            pids.append(int(entry))
    return pids


def _cpu_seconds(pid: int) -> float:
    """CPU time (user + system) of a live process (0 once it has exited)."""
    try:
        with open(f"/proc/{pid}/stat") as file:
            fields = file.read().rsplit(")", 1)[1].split()
    except OSError:
        return 0.0
    return (int(fields[11]) + int(fields[12])) / os.sysconf("SC_CLK_TCK")  # utime + stime


def measure(
    loader: Any,
    batches: int,
    warmup: int,
    repeats: int,
    fast: bool,
    device: torch.device,
    finish: Callable[[list[Any]], list[Any]] | None = None,
) -> list[tuple[float, float]]:
    """Sequences per second (wall clock) and per CPU second, for ``repeats`` windows of
    ``batches`` batches of one iterator, after ``warmup`` batches.

    ``fast``: the loader delivers uint8 batches and each is finished here with
    ``loader.to_device(batch, device)`` (float32 / 255, what the engine's ``move_inputs``
    does), timed: a sequence counts once it is a float32 batch on the device, as OpenGait's
    figure counts it after ``inputs_pretreament``. Else the workers deliver float32 (moved to
    the device, timed).

    ``finish`` (the per-modality mode): each batch is finished by it instead (timed), and its
    shape is not checked against the silhouette batches'.

    The CPU rate divides the sequences of a window by the CPU time that this process and its
    workers spent in it: what one core delivers, whatever else the machine is doing.
    """
    if finish is None:
        finish = (lambda batch: loader.to_device(batch, device)) if fast else None
    iterator = iter(loader)
    for _ in range(warmup):
        finish(next(iterator)) if finish is not None else next(iterator)
    results = []
    width = loader.collate_fn.frames.frames_num_fixed
    for _ in range(repeats):
        sequences = 0
        start, start_cpu = time.perf_counter(), time.process_time()
        workers_before = {pid: _cpu_seconds(pid) for pid in _children()}  # none before a start
        for _ in range(batches):
            batch = next(iterator)
            ipts, labs, *_ = finish(batch) if finish is not None else batch
            if finish is None:
                ipts = [t.to(device, non_blocking=True) for t in ipts]
            if fast or finish is None:  # the silhouette batches of the default mode
                assert ipts[0].shape[:2] == (128, width) and ipts[0].dtype == torch.float32
            assert all(t.dtype == torch.float32 for t in ipts)
            sequences += len(labs)
        if device.type == "cuda":
            torch.cuda.synchronize()
        elapsed = time.perf_counter() - start
        cpu = time.process_time() - start_cpu
        cpu += sum(_cpu_seconds(pid) - workers_before.get(pid, 0.0) for pid in _children())
        results.append((sequences / elapsed, sequences / cpu))
    del iterator
    return results


def starter_on(model: str, folder: Path, subjects: int, workers: int) -> tuple[dict, str]:
    """``model``'s starter config reading SynthGait data of its modalities under ``folder``
    (``subjects`` of them, generated as ``data_cfg.synthetic`` asks, if not there yet), and
    those modalities."""
    path = starter_config(model)
    if path is None:
        raise SystemExit(f"bench_loader: {model} has no starter config in the zoo")
    cfgs = load_config(path)
    data_cfg = cfgs["data_cfg"]
    spec = dict(data_cfg["synthetic"], subjects=subjects)
    root, partition = folder / model / "data", folder / model / "partition.json"
    if not partition.is_file():
        where = f"{path}: data_cfg.synthetic"
        build("generator", copy.deepcopy(spec), where=where, default="synthgait").generate(
            root, partition
        )
    data_cfg.update(
        dataset_root=str(root),
        dataset_partition=str(partition),
        num_workers=workers,
        cache=False,
        synthetic=None,
    )
    return cfgs, str(spec.get("modalities") or "silhouette")


def per_modality(args: argparse.Namespace) -> None:
    """The ``--modalities`` mode: each modality's starter training batches, per worker count."""
    names = list(MODALITY_MODELS) if args.modalities == ["all"] else args.modalities
    unknown = sorted(set(names) - set(MODALITY_MODELS))
    if unknown:
        raise SystemExit(f"bench_loader: unknown modality {unknown}; choose from {MODALITY_MODELS}")
    models = args.models or [MODALITY_MODELS[name] for name in names]
    device = torch.device(args.device)
    print(
        f"SynthGait starters, {args.subjects} subjects; each batch as its starter samples it and "
        f"finished by model_inputs on {device}; median of {args.repeats} windows of "
        f"{args.batches} batches after {args.warmup if args.warmup is not None else 5} "
        "warm-up batches per worker, every sequence loaded once before"
    )
    print(f"load before: {_load()}")
    print(
        f"{'model (starter)':<20} {'modalities':<20} {'batch (P x K)':<16} {'workers':>7} "
        f"{'seq/s':>7} {'seq/CPU-s':>9}  load"
    )
    with tempfile.TemporaryDirectory() as folder:
        for model_name in models:
            for workers in args.workers:
                cfgs, modalities = starter_on(model_name, Path(folder), args.subjects, workers)
                torch.manual_seed(0)
                model = get("model", model_name)(cfgs, True)
                raw = overrides_pretreatment(model)
                loader = build_loader(
                    cfgs, training=True, seed=0, device_type=device.type, raw_batches=raw
                )
                for index in range(len(loader.dataset)):  # steady state, as make_loader
                    loader.dataset[index]
                warmup = args.warmup if args.warmup is not None else 5 * max(workers, 1)
                runs = measure(
                    loader,
                    args.batches,
                    warmup,
                    args.repeats,
                    False,
                    device,
                    finish=lambda batch, model=model: model_inputs(model, batch, device),
                )
                sampler = cfgs["trainer_cfg"]["sampler"]
                size = sampler["batch_size"]
                size = "x".join(map(str, size)) if isinstance(size, list) else str(size)
                shape = f"{size}, {sampler.get('frames_num_fixed', 'all')} frames"
                print(
                    f"{model_name:<20} {modalities:<20} {shape:<16} {workers:>7} "
                    f"{statistics.median(r[0] for r in runs):>7.0f} "
                    f"{statistics.median(r[1] for r in runs):>9.0f}  {_load()}",
                    flush=True,
                )


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--ids", type=int, default=16, help="training ids (x 110 sequences)")
    parser.add_argument("--batches", type=int, default=30, help="timed batches per window")
    parser.add_argument(
        "--warmup",
        type=int,
        default=None,
        help="untimed batches first (default: 20 per worker, 0 with --cold; with --modalities "
        "5 per worker)",
    )
    parser.add_argument("--repeats", type=int, default=3, help="timed windows (median)")
    parser.add_argument("--device", default="cpu", help="where batches are finished: cpu, cuda")
    parser.add_argument("--workers", type=int, nargs="+", default=[0, 1, 2])
    parser.add_argument(
        "--cold",
        action="store_true",
        help="start each setting with no sequence loaded before (the first epoch of a run)",
    )
    parser.add_argument(
        "--paths", nargs="+", default=["uint8", "float32"], choices=["uint8", "float32"]
    )
    parser.add_argument(
        "--modalities",
        nargs="+",
        default=None,
        help=f"time each modality's starter batches instead: {', '.join(MODALITY_MODELS)} or all",
    )
    parser.add_argument(
        "--models", nargs="+", default=None, help="with --modalities: these zoo models' starters"
    )
    parser.add_argument(
        "--subjects", type=int, default=14, help="with --modalities: SynthGait subjects"
    )
    args = parser.parse_args()
    torch.set_num_threads(1)  # the workers do the work; keep the main process light
    if args.modalities:
        per_modality(args)
        return
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
            "batches: P x K = 8 x 16, fixed_unordered 30 frames -> [128, 30, 64, 44] float32 on "
            f"{args.device}; median of {args.repeats} windows of {args.batches} batches of one "
            "iterator"
        )
        print(
            f"path uint8 = the loader delivers uint8, finished by loader.to_device(batch, "
            f"'{args.device}') in the training process (timed); float32 = workers deliver float32"
        )
        print(
            "workers 0 = all in the training process; seq/CPU-s = sequences per CPU second of "
            "all processes; ratio = seq/s / OpenGait's seq/s"
        )
        state = (
            "cold: no sequence loaded before, no warm-up batch (a run's first batches)"
            if args.cold
            else (
                "steady state: every sequence loaded once before and 20 warm-up batches per "
                "worker (as after a run's first epoch: later loads of a pickle copy only its "
                "sampled frames, from files the worker has mapped); --cold for the first batches"
            )
        )
        print(state)
        print(f"load before: {_load()}")
        print(
            f"{'transforms':<42} {'path':>7} {'workers':>7} {'seq/s':>7} {'seq/CPU-s':>9} "
            f"{'OpenGait':>8} {'ratio':>6}  load"
        )
        for name, transform in TRANSFORMS.items():
            for path in args.paths:
                for workers in args.workers:
                    cfgs = config(root, partition, workers, transform)
                    loader = make_loader(cfgs, path == "uint8", not args.cold, args.device)
                    warmup = args.warmup
                    if warmup is None:
                        warmup = 0 if args.cold else 20 * max(workers, 1)
                    runs = measure(
                        loader,
                        args.batches,
                        warmup,
                        args.repeats,
                        path == "uint8",
                        torch.device(args.device),
                    )
                    rate = statistics.median(r[0] for r in runs)
                    cpu_rate = statistics.median(r[1] for r in runs)
                    reference = REFERENCE[name][workers - 1] if workers in (1, 2) else None
                    ratio = f"{rate / reference:5.1f}x" if reference else f"{'-':>6}"
                    print(
                        f"{name:<42} {path:>7} {workers:>7} {rate:>7.0f} {cpu_rate:>9.0f} "
                        f"{reference or '-':>8} {ratio:>6}  {_load()}",
                        flush=True,
                    )


def _load() -> str:
    """The 1-minute load average and the number of CPUs (the machine may be shared)."""
    return f"{os.getloadavg()[0]:.1f} on {os.cpu_count()} CPUs"


if __name__ == "__main__":
    main()
